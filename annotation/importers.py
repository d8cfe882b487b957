"""Prompts with candidate responses, read from the formats that preference data comes in.

    read_candidates(path, fmt, deidentifier) -> ImportResult(items, quarantined, counts)

Formats (``FORMATS``):

* ``jsonl``: ``{id?, prompt: str | [{role, content}], responses: [str | {content, model?,
  id?}]}`` per line, what ``medloom train generate`` writes.
* ``pairwise``: MedicalGPT's ``{question, response_chosen, response_rejected}`` (a JSON
  array or JSONL). Which response was "chosen" is kept as a suggestion
  (``pairwise:chosen`` 1.0 or 0.0), not as a label: these labels are noisy.
* ``disc``: DISC-MedLLM's evaluation dialogues (a file or a folder). Each prompt was
  answered by six models in three-round dialogues whose later patient turns were simulated
  separately for each model, so they differ from model to model: only the first round is
  the same question put to every model. An item is that question (the patient's first
  turn) with each model's first doctor reply as a candidate. GPT-4's scores of each model's
  whole dialogue (``eval/gpt4_scores``, found beside the dialogues folder) are kept as
  suggestions ``gpt4:<criterion>``; they score the dialogue, not the first reply alone.
* ``zhongjing-tsv``: Zhongjing's ranking TSV (``src/rlhf_label``): a header ``id, query,
  history, rank1 … rankK``, ``history`` a Python-literal list of ``[question, answer]``
  pairs, fields quoted as pandas writes them. The column a response sits in is kept as the
  suggestion ``zhongjing:saved_rank``: the tool that wrote these files saves the responses
  permuted by their ranks, so the column order is not a trustworthy ranking.

Every record read ends in an item or in ``quarantined`` (path, line or index, reason; never
its content): ``counts["read"] == counts["in_items"] + counts["quarantined"]``. Text passes
the de-identifier before anything else sees it; ids are hashes of the de-identified content,
so the same file (and secret) gives the same ids.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from annotation.records import Candidate, Message, PromptItem
from pipelines.deid import Deidentifier
from pipelines.errors import MedloomError
from pipelines.hashing import text_key

_Parsed = TypeVar("_Parsed")

FORMATS: tuple[str, ...] = ("jsonl", "pairwise", "disc", "zhongjing-tsv")
ROLES = ("system", "user", "assistant")
MIN_CANDIDATES = 2
# Joins an item's texts for de-identification; a record separator is in no medical text.
_TEXT_SEPARATOR = "\n\x1e\n"

# DISC-MedLLM's GPT-4 criteria, as its scoring prompt names them; decimals occur (4.5).
_GPT4_CRITERIA = {
    "Proactivity": "proactivity",
    "Accuracy": "accuracy",
    "Helpfulness": "helpfulness",
    "Linguistic Quality": "linguistic_quality",
}
_GPT4_SCORE = re.compile(
    r"(Proactivity|Accuracy|Helpfulness|Linguistic Quality)\s*[:：]\s*(\d+(?:\.\d+)?)"
)
_RANK_COLUMN = re.compile(r"rank\s*(\d+)")


@dataclass
class ImportResult:
    items: list[PromptItem]
    quarantined: list[dict]
    counts: dict[str, int]


@dataclass
class _Where:
    path: Path
    line: int | None = None
    index: int | None = None


@dataclass
class _Response:
    content: str
    model: str = ""
    source_id: str = ""
    suggested_scores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Draft:
    """One would-be item as read, before de-identification and hashing."""

    where: _Where
    source: str
    prompt: list[Message]
    responses: list[_Response]
    metadata: dict[str, str] = field(default_factory=dict)
    # Input records this item stands for: DISC groups several dialogues (and score rows).
    records: int = 1


class _Bad(Exception):
    """A record that cannot become an item: where it is and why."""

    def __init__(self, where: _Where, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason
        self.detail = detail


Reader = Callable[[Path], Iterator["_Draft | _Bad"]]


def read_candidates(path: Path, fmt: str, deidentifier: Deidentifier | None) -> ImportResult:
    """The items of ``path`` in format ``fmt``; unusable records go to ``quarantined``."""
    if fmt not in FORMATS:
        raise MedloomError(f"unknown candidate format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise MedloomError(f"candidate file not found: {path}")
    builder = _Builder(deidentifier)
    for outcome in _READERS[fmt](path):
        builder.add(outcome)
    return builder.result()


class _Builder:
    """De-identifies drafts, makes them items with stable ids and keeps the counts."""

    def __init__(self, deidentifier: Deidentifier | None) -> None:
        self._deid = deidentifier
        self._items: dict[str, PromptItem] = {}
        self._quarantined: list[dict] = []
        self._counts: Counter[str] = Counter(
            read=0, in_items=0, quarantined=0, items=0, candidates=0
        )

    def add(self, outcome: _Draft | _Bad) -> None:
        if isinstance(outcome, _Bad):
            self._quarantine(outcome, records=1)
            return
        try:
            item = self._item(outcome)
        except _Bad as bad:
            self._quarantine(bad, records=outcome.records)
            return
        self._counts["read"] += outcome.records
        self._counts["in_items"] += outcome.records
        if item.id in self._items:
            self._counts["duplicate_records"] += 1
            return
        self._items[item.id] = item
        self._counts["items"] += 1
        self._counts["candidates"] += len(item.candidates)

    def result(self) -> ImportResult:
        return ImportResult(list(self._items.values()), self._quarantined, dict(self._counts))

    def _quarantine(self, bad: _Bad, records: int) -> None:
        # A group (a DISC prompt) that fails leaves one entry per record it held.
        for _ in range(records):
            self._quarantined.append(
                {
                    "path": str(bad.where.path),
                    "line": bad.where.line,
                    "index": bad.where.index,
                    "reason": bad.reason,
                    "detail": bad.detail or None,
                }
            )
        self._counts["read"] += records
        self._counts["quarantined"] += records

    def _clean(self, draft: _Draft) -> tuple[list[str], list[str]]:
        """The prompt's and the responses' texts, de-identified as one document.

        One document, so that a name given in the prompt is found again where a response
        repeats it ("张伟您好") and gets the same surrogate, and a date shifts alike.
        """
        texts = [m.content for m in draft.prompt] + [r.content for r in draft.responses]
        if self._deid is not None:
            if any("\x1e" in t for t in texts):
                raise _Bad(draft.where, "control_character", "text holds U+001E")
            joined = _TEXT_SEPARATOR.join(texts)
            cleaned = self._deid.apply(joined, text_key(joined))[0].split(_TEXT_SEPARATOR)
            if len(cleaned) != len(texts):
                raise _Bad(draft.where, "deid_joined_texts", "a surrogate spans two texts")
            texts = cleaned
        return texts[: len(draft.prompt)], texts[len(draft.prompt) :]

    def _item(self, draft: _Draft) -> PromptItem:
        prompt_texts, response_texts = self._clean(draft)
        prompt = tuple(
            Message(m.role, text) for m, text in zip(draft.prompt, prompt_texts, strict=True)
        )
        responses: list[_Response] = []
        seen: set[str] = set()
        for response, content in zip(draft.responses, response_texts, strict=True):
            key = text_key(content)
            if key in seen:
                self._counts["duplicate_responses"] += 1
                continue
            seen.add(key)
            responses.append(
                _Response(content, response.model, response.source_id, response.suggested_scores)
            )
        if len(responses) < MIN_CANDIDATES:
            raise _Bad(draft.where, "too_few_responses", f"{len(responses)} distinct")
        item_id = text_key(
            json.dumps(
                {
                    "prompt": [[m.role, m.content] for m in prompt],
                    "responses": sorted(r.content for r in responses),
                },
                ensure_ascii=False,
            )
        )
        metadata = dict(draft.metadata)
        candidates = []
        for response in responses:
            candidate_id = text_key(f"{item_id}\n{response.content}")
            if response.source_id:
                metadata[f"source_id:{candidate_id}"] = response.source_id
            candidates.append(
                Candidate(candidate_id, response.content, response.model, response.suggested_scores)
            )
        return PromptItem(item_id, draft.source, prompt, tuple(candidates), metadata)


# ---------------------------------------------------------------- shared parsing helpers


def _text(value: Any, where: _Where, name: str) -> str:
    if value is None:
        raise _Bad(where, "missing_field", name)
    if not isinstance(value, str):
        raise _Bad(where, "wrong_type", f"{name} is not text")
    if not value.strip():
        raise _Bad(where, "empty_content", name)
    return value.strip()


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in suffixes)
    if not files:
        raise MedloomError(f"no {' or '.join(suffixes)} files in {path}")
    return files


def _json_records(path: Path) -> Iterator[tuple[_Where, Any] | _Bad]:
    """Objects of a JSON array or of JSONL lines, each with where it was found."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield _Bad(_Where(path), "not_utf8", f"byte {exc.start}")
        return
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            yield _Bad(_Where(path, exc.lineno), "malformed_json", exc.msg)
            return
        for index, record in enumerate(records):
            yield _Where(path, None, index), record
        return
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = _Where(path, number, index)
        index += 1
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            yield _Bad(where, "malformed_json", f"{exc.msg} at column {exc.colno}")


def _object(record: Any, where: _Where) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _Bad(where, "not_an_object", type(record).__name__)
    return record


# ---------------------------------------------------------------------------- readers


def _each_object(
    file: Path, parse: Callable[[dict[str, Any], _Where], _Parsed]
) -> Iterator[_Parsed | _Bad]:
    """``parse`` of every JSON object in ``file``; what is not one, or fails, as a _Bad."""
    for found in _json_records(file):
        if isinstance(found, _Bad):
            yield found
            continue
        where, record = found
        try:
            yield parse(_object(record, where), where)
        except _Bad as bad:
            yield bad


def _read_jsonl(path: Path) -> Iterator[_Draft | _Bad]:
    for file in _files(path, (".jsonl", ".json")):
        yield from _each_object(file, _jsonl_draft)


def _jsonl_draft(record: dict[str, Any], where: _Where) -> _Draft:
    prompt = _prompt_messages(record.get("prompt"), where)
    raw_responses = record.get("responses")
    if raw_responses is None:
        raise _Bad(where, "missing_field", "responses")
    if not isinstance(raw_responses, list):
        raise _Bad(where, "wrong_type", "responses is not a list")
    if len(raw_responses) < MIN_CANDIDATES:
        raise _Bad(where, "too_few_responses", f"{len(raw_responses)} given")
    responses = []
    for i, response in enumerate(raw_responses):
        if isinstance(response, str):
            responses.append(_Response(_text(response, where, f"responses[{i}]")))
            continue
        response = _object(response, where)
        responses.append(
            _Response(
                _text(response.get("content"), where, f"responses[{i}].content"),
                str(response.get("model") or ""),
                str(response.get("id") or ""),
            )
        )
    metadata = {"path": where.path.name}
    if record.get("id") is not None:
        metadata["source_id"] = str(record["id"])
    return _Draft(where, f"jsonl:{where.path.stem}", prompt, responses, metadata)


def _prompt_messages(value: Any, where: _Where) -> list[Message]:
    if isinstance(value, str) or value is None:
        return [Message("user", _text(value, where, "prompt"))]
    if not isinstance(value, list) or not value:
        raise _Bad(where, "wrong_type", "prompt is neither text nor a list of messages")
    messages = []
    for i, message in enumerate(value):
        message = _object(message, where)
        role = message.get("role")
        if role not in ROLES:
            raise _Bad(where, "unknown_role", f"prompt[{i}].role")
        messages.append(Message(role, _text(message.get("content"), where, f"prompt[{i}]")))
    if messages[-1].role != "user":
        raise _Bad(where, "prompt_not_ending_on_user", f"last role {messages[-1].role}")
    return messages


def _read_pairwise(path: Path) -> Iterator[_Draft | _Bad]:
    for file in _files(path, (".jsonl", ".json")):
        yield from _each_object(file, _pairwise_draft)


def _pairwise_draft(record: dict[str, Any], where: _Where) -> _Draft:
    question = _text(record.get("question"), where, "question")
    chosen = _text(record.get("response_chosen"), where, "response_chosen")
    rejected = _text(record.get("response_rejected"), where, "response_rejected")
    return _Draft(
        where,
        f"pairwise:{where.path.stem}",
        [Message("user", question)],
        [
            _Response(chosen, suggested_scores={"pairwise:chosen": 1.0}),
            _Response(rejected, suggested_scores={"pairwise:chosen": 0.0}),
        ],
        {"path": where.path.name},
    )


def _read_zhongjing_tsv(path: Path) -> Iterator[_Draft | _Bad]:
    for file in _files(path, (".tsv",)):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            yield _Bad(_Where(file), "not_utf8", f"byte {exc.start}")
            continue
        yield from _zhongjing_rows(file, text)


def _zhongjing_rows(file: Path, text: str) -> Iterator[_Draft | _Bad]:
    rows = csv.reader(text.splitlines(keepends=True), delimiter="\t")
    header = next(rows, None)
    rank_columns = _rank_columns(header)
    if header is None or rank_columns is None:
        yield _Bad(_Where(file, 1), "bad_header", "expected id, query, history, rank1 … rankK")
        return
    width = 3 + len(rank_columns)
    last_line = rows.line_num
    for index, row in enumerate(rows):
        where = _Where(file, last_line + 1, index)
        last_line = rows.line_num
        try:
            if len(row) != width:
                raise _Bad(where, "wrong_field_count", f"{len(row)} fields, expected {width}")
            prompt = _zhongjing_history(row[2], where)
            prompt.append(Message("user", _text(row[1], where, "query")))
            responses = [
                _Response(
                    _text(row[3 + i], where, f"rank{i + 1}"),
                    suggested_scores={"zhongjing:saved_rank": float(rank)},
                )
                for i, rank in enumerate(rank_columns)
            ]
        except _Bad as bad:
            yield bad
            continue
        metadata = {"path": file.name, "source_id": row[0]}
        yield _Draft(where, f"zhongjing-tsv:{file.stem}", prompt, responses, metadata)


def _rank_columns(header: list[str] | None) -> list[int] | None:
    """The rank number of each response column, or None when the header is not Zhongjing's."""
    if header is None or [h.strip() for h in header[:3]] != ["id", "query", "history"]:
        return None
    ranks = []
    for name in header[3:]:
        match = _RANK_COLUMN.fullmatch(name.strip())
        if match is None:
            return None
        ranks.append(int(match.group(1)))
    return ranks if len(ranks) >= MIN_CANDIDATES else None


def _zhongjing_history(value: str, where: _Where) -> list[Message]:
    try:
        pairs = ast.literal_eval(value.strip() or "[]")
    except (ValueError, SyntaxError):
        raise _Bad(where, "malformed_history", "not a list literal") from None
    if not isinstance(pairs, list):
        raise _Bad(where, "malformed_history", "not a list")
    messages = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _Bad(where, "malformed_history", f"history[{i}] is not a [question, answer]")
        messages.append(Message("user", _text(pair[0], where, f"history[{i}][0]")))
        messages.append(Message("assistant", _text(pair[1], where, f"history[{i}][1]")))
    return messages


# ------------------------------------------------------------------------ DISC-MedLLM


@dataclass
class _Dialogue:
    where: _Where
    source: str
    record_id: str
    model: str
    question: str
    reply: str
    info: dict[str, str]


def _read_disc(path: Path) -> Iterator[_Draft | _Bad]:
    folder, files = _disc_files(path)
    if not files:
        raise MedloomError(f"no DISC-MedLLM dialogue files (*.json) under {path}")
    groups: dict[tuple[str, str], list[_Dialogue]] = defaultdict(list)
    for file in files:
        for dialogue in _each_object(file, _disc_dialogue):
            if isinstance(dialogue, _Bad):
                yield dialogue
            else:
                groups[(dialogue.source, dialogue.record_id)].append(dialogue)
    scores, score_records = yield from _disc_scores(folder, groups)
    for (source, record_id), dialogues in sorted(groups.items()):
        dialogues.sort(key=lambda d: d.model)
        attached = [scores.get((source, record_id, d.model)) for d in dialogues]
        first = dialogues[0]
        metadata = {"source_id": record_id, "dataset": source, **first.info}
        if any(attached):
            metadata["suggested_scores"] = "gpt4: GPT-4 1-5 on the model's whole dialogue"
        yield _Draft(
            first.where,
            f"disc:{source}",
            [Message("user", first.question)],
            [
                _Response(d.reply, d.model, suggested_scores=s or {})
                for d, s in zip(dialogues, attached, strict=True)
            ],
            metadata,
            records=len(dialogues) + score_records.get((source, record_id), 0),
        )


def _disc_files(path: Path) -> tuple[Path | None, list[Path]]:
    """The dialogues folder (where the scores are looked for beside) and its files."""
    if path.is_file():
        return path.parent, [path]
    for folder in (path / "eval" / "dialogues", path / "dialogues", path):
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if files:
            return folder, files
    return None, []


def _disc_dialogue(record: dict[str, Any], where: _Where) -> _Dialogue:
    turns = record.get("conversation")
    if not isinstance(turns, list) or len(turns) < 2:
        raise _Bad(where, "missing_field", "conversation with a patient and a doctor turn")
    patient, doctor = (_object(t, where) for t in turns[:2])
    if patient.get("role") != "patient" or doctor.get("role") != "doctor":
        raise _Bad(where, "unexpected_roles", "conversation must open patient, doctor")
    info = record.get("dataset_info") or {}
    record_id = record.get("id")
    return _Dialogue(
        where,
        _text(record.get("source"), where, "source"),
        _text(str(record_id) if isinstance(record_id, int) else record_id, where, "id"),
        _text(record.get("model"), where, "model"),
        _text(patient.get("content"), where, "conversation[0].content"),
        _text(doctor.get("content"), where, "conversation[1].content"),
        {k: str(v) for k, v in info.items()} if isinstance(info, dict) else {},
    )


def _scores_folder(dialogues: Path | None) -> Path | None:
    if dialogues is None:
        return None
    for folder in (dialogues.parent / "gpt4_scores", dialogues / "gpt4_scores"):
        if folder.is_dir():
            return folder
    return None


_Scores = dict[tuple[str, str, str], dict[str, float]]


def _disc_scores(
    dialogues: Path | None, groups: dict[tuple[str, str], list[_Dialogue]]
) -> Generator[_Bad, None, tuple[_Scores, Counter[tuple[str, str]]]]:
    """Quarantines bad score rows; returns the scores and how many rows each group got.

    Only rows of a (model, dataset) that was read count: importing one model's file does
    not quarantine every other model's scores.
    """
    folder = _scores_folder(dialogues)
    scores: _Scores = {}
    per_group: Counter[tuple[str, str]] = Counter()
    if folder is None:
        return scores, per_group
    read = {(d.model, d.source) for group in groups.values() for d in group}
    present = {(d.source, d.record_id, d.model) for group in groups.values() for d in group}
    for file in sorted(folder.glob("*/*.jsonl")) + sorted(folder.glob("*.jsonl")):
        for found in _json_records(file):
            if isinstance(found, _Bad):
                yield found
                continue
            where, record = found
            if not isinstance(record, dict):
                yield _Bad(where, "not_an_object", type(record).__name__)
                continue
            model, source = record.get("model"), record.get("source")
            if (model, source) not in read:
                continue
            key = (source, str(record.get("id")), model)
            parsed = dict(_GPT4_SCORE.findall(str(record.get("scores") or "")))
            if set(parsed) != set(_GPT4_CRITERIA):
                yield _Bad(where, "unparsable_scores", "expected the four GPT-4 criteria")
            elif key not in present:
                yield _Bad(where, "scores_without_dialogue", f"id {key[1]}, model {model}")
            elif key in scores:
                yield _Bad(where, "duplicate_scores", f"id {key[1]}, model {model}")
            else:
                scores[key] = {f"gpt4:{_GPT4_CRITERIA[k]}": float(v) for k, v in parsed.items()}
                per_group[(source, key[1])] += 1
    return scores, per_group


_READERS: dict[str, Reader] = {
    "jsonl": _read_jsonl,
    "pairwise": _read_pairwise,
    "disc": _read_disc,
    "zhongjing-tsv": _read_zhongjing_tsv,
}
