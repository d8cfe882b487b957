"""Multiple-choice exams: reading an evaluation set, the prompts, the shots, the scores.

An evaluation set is the JSONL that ``medloom tasks export-exams`` writes, one item a line:
``{id, question, options: {A: ..}, answer: "ACD", explanation, subject, exam_type}``. Each
line is checked as the exam builder checks a source (``pipelines.tasks.exams.parse_item``):
an item whose options skip a letter, whose answer names a letter that is not an option, or
that is not JSON is skipped and counted by reason, never scored.

The prompt is the exam builder's first template (what an SFT model trained on medloom's
exam samples has seen) with a request for the letters. Few-shot prompts put ``k`` solved
items before it as earlier turns; the shots come from a separate pool (``--shot-pool``, or
else the other items of the same sets), ranked by a hash of (item id, shot id) so the draw
is the same on every run and never includes the item itself or an item with its question.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from pipelines.errors import MedloomError
from pipelines.tasks.config import ExamFields
from pipelines.tasks.exams import BadItem, ExamItem, parse_item
from training.data import Messages

ANSWER_PREFIX = "答案："
PROMPT = (
    "以下是一道医学考试的{kind}，请选出正确答案，并以“答案：字母”作答。\n\n{question}\n{options}"
)


@dataclass
class ExamSet:
    """The valid items of one or more files, and the lines skipped with their reasons."""

    items: list[ExamItem] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(s["reason"] for s in self.skipped).items()))


def read_exam_set(paths: Iterable[str | Path]) -> ExamSet:
    """The items of the JSONL files ``paths``; a missing file is a one-line error."""
    exams = ExamSet()
    fields = ExamFields()
    for path in map(Path, paths):
        if not path.is_file():
            raise MedloomError(f"exam file not found: {path}")
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                where = {"file": path.name, "line": number}
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise BadItem("not_an_object", "the line is not a JSON object")
                    exams.items.append(parse_item(record, fields, f"{path.stem}-{number}"))
                except json.JSONDecodeError as exc:
                    exams.skipped.append({**where, "reason": "not_json", "detail": exc.msg})
                except BadItem as exc:
                    exams.skipped.append({**where, "reason": exc.reason, "detail": exc.detail})
    return exams


def question_turn(item: ExamItem) -> str:
    """The user turn asking ``item``."""
    options = "\n".join(f"{letter}. {text}" for letter, text in item.options.items())
    return PROMPT.format(kind=item.kind, question=item.question, options=options)


def draw_shots(item: ExamItem, pool: list[ExamItem], k: int) -> list[ExamItem]:
    """``k`` items of ``pool`` for ``item``, the same on every run, never ``item`` itself."""
    if k == 0:
        return []
    others = [s for s in pool if s.id != item.id and s.question != item.question]

    def rank(shot: ExamItem) -> bytes:
        return hashlib.sha256(f"{item.id}\x00{shot.id}".encode()).digest()

    return sorted(others, key=rank)[:k]


def exam_prompt(item: ExamItem, shots: list[ExamItem]) -> Messages:
    """The conversation that asks ``item``, after the solved ``shots``."""
    messages: Messages = []
    for shot in shots:
        messages.append({"role": "user", "content": question_turn(shot)})
        messages.append({"role": "assistant", "content": ANSWER_PREFIX + shot.answer})
    messages.append({"role": "user", "content": question_turn(item)})
    return messages


def candidate_answers(item: ExamItem) -> list[str]:
    """What the log-likelihood choice picks from: every letter of a single-answer item, every
    set of two or more letters of a multiple-answer one (the prompt says which it is)."""
    letters = list(item.options)
    if len(item.answer) == 1:
        return letters
    return ["".join(c) for size in range(2, len(letters) + 1) for c in combinations(letters, size)]


@dataclass(frozen=True)
class ExamOutcome:
    """One item asked one way: what was generated, parsed and chosen by likelihood."""

    item: ExamItem
    shots: int
    generated: str
    parsed: str | None
    by_likelihood: str

    @property
    def correct(self) -> bool:
        return self.parsed == self.item.answer

    @property
    def likelihood_correct(self) -> bool:
        return self.by_likelihood == self.item.answer


def accuracy_table(outcomes: list[ExamOutcome]) -> dict[str, Any]:
    """Accuracy overall, per subject and per exam type (generated and by likelihood)."""

    def score(group: list[ExamOutcome]) -> dict[str, Any]:
        n = len(group)
        return {
            "items": n,
            "accuracy": sum(o.correct for o in group) / n,
            "likelihood_accuracy": sum(o.likelihood_correct for o in group) / n,
            "unparsed": sum(o.parsed is None for o in group),
        }

    def by(key: str) -> dict[str, Any]:
        groups: dict[str, list[ExamOutcome]] = {}
        for outcome in outcomes:
            groups.setdefault(getattr(outcome.item, key) or "(none)", []).append(outcome)
        return {name: score(group) for name, group in sorted(groups.items())}

    if not outcomes:
        return {"items": 0}
    return {**score(outcomes), "by_subject": by("subject"), "by_exam_type": by("exam_type")}
