"""Exam questions → SFT samples, or an evaluation set.

Multiple-choice items as CMExam, CMB and MedQA-MCMLE write them: a question; options as
a mapping ``{"A": ...}``, a list (``["A. ...", ...]`` or bare texts lettered in order) or
one text with an option a line (CMExam's ``"A 肝\\nB 肾"``); one or several answer letters
(``"B"``, ``"ACD"``, ``"A、C"``, ``["A", "C"]``) or, failing a letter, the text of an
option (MedQA-MCMLE's ``answer``); an optional explanation, subject and exam type. An item
whose options skip a letter, whose answer names a letter that is not an option, or that
has no question is Unreadable with that reason, never a sample with a wrong answer.

SFT samples answer with the letter(s) and option text and, when the item has one, the
explanation. ``export_exam_items`` writes the same items as JSONL for the evaluation
harness instead (``medloom tasks export-exams``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import ASSISTANT, USER, DialogueRecord, TaskSkip
from pipelines.errors import ConfigError
from pipelines.normalize import NormalizeConfig, normalize_text
from pipelines.readers import read_file, resolve_inputs
from pipelines.records import SourceRecord, Unreadable
from pipelines.tasks.config import ExamFields, ExamOptions, source_folder, task_options
from pipelines.tasks.templates import check_slots, load_templates, pick, render

LETTERS = "ABCDEFGH"
PROMPT_SLOTS = ("question", "options", "kind")
ANSWER_SLOTS = ("answer", "letters", "kind")
_OPTION_LINE = re.compile(r"^\s*[（(]?([A-H])\s*(?:[.．、:：)）]\s*|\s+)(.*)$")
_ANSWER_SEPARATORS = re.compile(r"[\s,，、;；/]+")


@dataclass(frozen=True)
class ExamItem:
    """One multiple-choice item; ``answer`` holds its letters in order (``"ACD"``)."""

    id: str
    question: str
    options: dict[str, str]
    answer: str
    explanation: str | None = None
    subject: str | None = None
    exam_type: str | None = None

    @property
    def kind(self) -> str:
        return "多选题" if len(self.answer) > 1 else "单选题"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "options": self.options,
            "answer": self.answer,
            "explanation": self.explanation,
            "subject": self.subject,
            "exam_type": self.exam_type,
        }


class BadItem(Exception):
    """Why a record is not an exam item: a reason code and a detail without its content."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _first_text(record: Mapping[str, Any], names: list[str]) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_options(value: Any) -> dict[str, str]:
    """Options as ``{letter: text}`` in letter order, checked: A, B, C ... with none skipped."""
    options: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, text in value.items():
            letter = str(key).strip().rstrip(".．、").upper()
            if len(letter) != 1 or letter not in LETTERS:
                raise BadItem("malformed_options", f"option key {str(key)[:8]!r} is not a letter")
            _add(options, letter, text)
    elif isinstance(value, list):
        marked = [_OPTION_LINE.match(v) if isinstance(v, str) else None for v in value]
        if value and all(marked):
            for match in marked:
                _add(options, match.group(1), match.group(2))
        elif len(value) > len(LETTERS):
            raise BadItem("malformed_options", f"more than {len(LETTERS)} options")
        else:
            for letter, text in zip(LETTERS, value, strict=False):
                _add(options, letter, text)
    elif isinstance(value, str):
        current = None
        for line in value.strip().split("\n"):
            match = _OPTION_LINE.match(line)
            if match:
                current = match.group(1)
                _add(options, current, match.group(2))
            elif current is None:
                raise BadItem("malformed_options", "the options text does not start with A")
            elif line.strip():
                options[current] = f"{options[current]} {line.strip()}"
    else:
        raise BadItem("missing_field" if value is None else "malformed_options", "no options")
    letters = sorted(options)
    expected = LETTERS[: len(letters)]
    if "".join(letters) != expected:
        missing = sorted(set(LETTERS[: LETTERS.index(letters[-1]) + 1]) - set(letters))
        raise BadItem(
            "options_missing_letter", f"options {''.join(letters)}: no {''.join(missing)}"
        )
    if len(options) < 2:
        raise BadItem("too_few_options", f"{len(options)} option")
    return {letter: options[letter] for letter in letters}


def _add(options: dict[str, str], letter: str, text: Any) -> None:
    if letter in options:
        raise BadItem("duplicate_option", f"option {letter} appears twice")
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise BadItem("empty_option", f"option {letter} is empty")
    options[letter] = text.strip()


def parse_answer(value: Any, options: dict[str, str]) -> str:
    """The answer's letters in order; an option's text stands for its letter."""
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    if not isinstance(value, str) or not value.strip():
        raise BadItem("missing_field", "no answer")
    letters = _ANSWER_SEPARATORS.sub("", value.strip()).upper()
    if not letters.isascii() or not letters.isalpha():
        by_text = [letter for letter, text in options.items() if text == value.strip()]
        if not by_text:
            raise BadItem("malformed_answer", "the answer is neither letters nor an option's text")
        return by_text[0]
    strays = sorted(set(letters) - set(options))
    if strays:
        raise BadItem(
            "answer_not_in_options",
            f"answer {''.join(strays)} is not among the options {''.join(options)}",
        )
    return "".join(sorted(set(letters)))


def parse_item(record: Mapping[str, Any], fields: ExamFields, position_id: str) -> ExamItem:
    """The exam item of one record, or BadItem naming what is wrong (never the content)."""
    question = _first_text(record, [fields.question])
    if question is None:
        raise BadItem("missing_field", f"field '{fields.question}'")
    raw_options = next((record[n] for n in fields.options if record.get(n) is not None), None)
    options = parse_options(raw_options)
    raw_answer = next((record[n] for n in fields.answer if record.get(n) not in (None, "")), None)
    answer = parse_answer(raw_answer, options)
    item_id = record.get(fields.id)
    if not (isinstance(item_id, str | int) and str(item_id).strip()):
        item_id = position_id
    return ExamItem(
        id=str(item_id),
        question=question,
        options=options,
        answer=answer,
        explanation=_first_text(record, fields.explanation),
        subject=_first_text(record, fields.subject),
        exam_type=_first_text(record, fields.exam_type),
    )


class ExamBuilder:
    """Makes one SFT sample of each exam item of an ``exam`` source."""

    def __init__(self, source: DialogueSourceConfig) -> None:
        self._source = source
        self._options: ExamOptions = task_options(ExamOptions, source)
        where = f"source {source.name!r}: tasks"
        templates = load_templates(self._options.templates, source_folder(source), where).exam
        if templates is None:
            raise ConfigError(f"{where}: the templates have no exam section")
        check_slots(templates.prompts, PROMPT_SLOTS, "templates.exam.prompts")
        check_slots(templates.answers, ANSWER_SLOTS, "templates.exam.answers")
        check_slots(
            templates.answers_with_explanation,
            (*ANSWER_SLOTS, "explanation"),
            "templates.exam.answers_with_explanation",
        )
        self._templates = templates

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> tuple[DialogueRecord | TaskSkip, ...] | Unreadable:
        try:
            item = parse_item(record, self._options.fields, position_id)
        except BadItem as exc:
            return Unreadable(path, line, exc.reason, exc.detail)
        return (self.sample(item),)

    def from_text(self, record: SourceRecord, path: str) -> Iterator[Unreadable]:
        yield Unreadable(path, None, "wrong_format", "exam items are read from JSON, JSONL or CSV")

    def sample(self, item: ExamItem) -> DialogueRecord:
        """The SFT sample of one item: the question and options in, the answer out."""
        templates = self._templates
        sample_id = f"{item.id}#exam"
        prompt = pick(templates.prompts, sample_id, "prompt")
        slots = {
            "question": item.question,
            "options": "\n".join(f"{letter}. {text}" for letter, text in item.options.items()),
            "kind": item.kind,
            "letters": item.answer,
            "answer": "；".join(
                f"{letter}. {item.options[letter].rstrip('。.；;')}" for letter in item.answer
            ),
        }
        if item.explanation and self._options.with_explanation:
            slots["explanation"] = item.explanation
            answer = pick(templates.answers_with_explanation, sample_id, "answer")
        else:
            answer = pick(templates.answers, sample_id, "answer")
        metadata = tuple(
            (name, value)
            for name, value in (("subject", item.subject), ("exam_type", item.exam_type))
            if value
        )
        return DialogueRecord(
            sample_id,
            ((USER, render(prompt, slots)), (ASSISTANT, render(answer, slots))),
            self._source.department,
            metadata,
            task="exam",
        )


class _ItemMapper:
    """Reads an exam source's files into ExamItems (for the evaluation-set export)."""

    def __init__(self, fields: ExamFields) -> None:
        self._fields = fields

    @property
    def top_level_fields(self) -> None:
        return None

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> ExamItem | Unreadable:
        try:
            return parse_item(record, self._fields, position_id)
        except BadItem as exc:
            return Unreadable(path, line, exc.reason, exc.detail)

    def from_text(self, record: SourceRecord, path: str) -> Iterator[Unreadable]:
        yield Unreadable(path, None, "wrong_format", "exam items are read from JSON, JSONL or CSV")


@dataclass
class ExportResult:
    written: int
    unreadable: list[Unreadable]

    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(u.reason for u in self.unreadable).items()))


def export_exam_items(
    source: DialogueSourceConfig, output: str | Path, normalize: NormalizeConfig
) -> ExportResult:
    """Write an exam source's items as an evaluation set: JSONL sorted by id.

    Each line is ``{id, question, options: {letter: text}, answer: "ACD", explanation,
    subject, exam_type}``, its text normalised as the pipeline normalises training text so
    decontamination compares like with like. Items that are not valid are returned, not
    written.
    """
    ExamBuilder(source)  # the same option checks as a pipeline run
    fields: ExamFields = task_options(ExamOptions, source).fields
    items: list[ExamItem] = []
    unreadable: list[Unreadable] = []
    for path in resolve_inputs(source):
        for item in read_file(path, source, _ItemMapper(fields)):
            if isinstance(item, ExamItem):
                items.append(_normalised(item, normalize))
            else:
                unreadable.append(item)
    items.sort(key=lambda i: i.id)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as stream:
        for item in items:
            stream.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
    return ExportResult(len(items), unreadable)


def _normalised(item: ExamItem, config: NormalizeConfig) -> ExamItem:
    def norm(text: str | None) -> str | None:
        return normalize_text(text, config) if text else text

    return ExamItem(
        id=item.id,
        question=norm(item.question) or "",
        options={letter: norm(text) or "" for letter, text in item.options.items()},
        answer=item.answer,
        explanation=norm(item.explanation),
        subject=item.subject,
        exam_type=item.exam_type,
    )
