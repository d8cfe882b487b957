"""Conversations from the layouts medical dialogue data comes in.

Structured layouts (one JSON object, CSV row or Parquet row per conversation):

* ``alpaca``: CMtMedQA and alpaca-with-history ``{instruction, input, output, history:
  [[q, a], ...]}``; ``instruct`` for ``instruction`` (CMtMedQA's safety items); Huatuo26M's
  one-element lists in place of strings;
* ``sharegpt``: ``conversations: [{from, value}]``; ``openai``: ``messages: [{role, content}]``;
* ``disc``: DISC-MedLLM ``conversation: [{role: patient|doctor, content}]``, ``dataset_info``;
* ``qa``: any record through the source's ``qa`` field mapping (Toyhom's CSV);
* ``auto`` decides per record from its keys.

Text layouts: ``consultation`` (speaker markers such as 医生： and 病人： at the start of a
line, and the site's form before the conversation, which becomes the opening user turn) and
``toyhom_txt`` (blocks of ``title,ask`` then the answer).

A record that does not make a conversation is an Unreadable with a reason, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pipelines.dialogues.config import TASK_LAYOUTS, DialogueSourceConfig
from pipelines.dialogues.records import ASSISTANT, SYSTEM, USER, DialogueRecord, Turn
from pipelines.records import SourceRecord, Unreadable

SHAREGPT_ROLES = {
    "human": USER,
    "user": USER,
    "gpt": ASSISTANT,
    "assistant": ASSISTANT,
    "chatgpt": ASSISTANT,
    "bing": ASSISTANT,
    "system": SYSTEM,
}
OPENAI_ROLES = {USER: USER, ASSISTANT: ASSISTANT, SYSTEM: SYSTEM}
# DISC-MedLLM's released files write user/assistant; its docs and exports patient/doctor.
DISC_ROLES = {
    "patient": USER,
    "doctor": ASSISTANT,
    USER: USER,
    ASSISTANT: ASSISTANT,
    SYSTEM: SYSTEM,
}
# Where a record keeps its own id when the source names no id field (DISC writes _id).
ID_FIELDS = ("id", "_id")
DEPARTMENT_FIELDS = ("department", "cate1", "科室")
METADATA_FIELDS = ("model", "source", "cate2", "category")


class NotADialogue(Exception):
    """Why a record is not a conversation: a reason code and a detail without content."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def detect_layout(record: Mapping[str, Any]) -> str:
    """The structured layout a record is written in, from its keys."""
    if "conversations" in record:
        return "sharegpt"
    if "messages" in record:
        return "openai"
    if "conversation" in record:
        return "disc"
    if ("instruction" in record or "instruct" in record) and "output" in record:
        return "alpaca"
    keys = ", ".join(sorted(str(k) for k in record)[:6])
    raise NotADialogue("unknown_layout", f"no known dialogue layout has the keys {keys}")


def _text(value: Any, name: str) -> str:
    """A field's text; Huatuo26M writes one-element lists where others write strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if value is None:
        raise NotADialogue("missing_field", f"field '{name}'")
    raise NotADialogue("not_text", f"field '{name}' holds a {type(value).__name__}")


def alpaca_turns(record: Mapping[str, Any]) -> list[Turn]:
    key = "instruction" if "instruction" in record else "instruct"
    turns: list[Turn] = []
    if record.get("system"):
        turns.append((SYSTEM, _text(record["system"], "system")))
    history = record.get("history") or []
    if not isinstance(history, list):
        raise NotADialogue("malformed_history", "field 'history' is not a list")
    for index, pair in enumerate(history):
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise NotADialogue("malformed_history", f"history[{index}] is not a [question, answer]")
        turns.append((USER, _text(pair[0], f"history[{index}][0]")))
        turns.append((ASSISTANT, _text(pair[1], f"history[{index}][1]")))
    question = _text(record.get(key), key)
    extra = record.get("input")
    if extra:
        question = f"{question}\n{_text(extra, 'input')}"
    turns.append((USER, question))
    turns.append((ASSISTANT, _text(record.get("output"), "output")))
    return turns


def _message_turns(
    messages: Any, name: str, role_key: str, text_key: str, roles: Mapping[str, str]
) -> list[Turn]:
    if not isinstance(messages, list):
        raise NotADialogue("missing_field" if messages is None else "not_a_list", f"field '{name}'")
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise NotADialogue("malformed_turn", f"{name}[{index}] is not an object")
        speaker = message.get(role_key)
        role = roles.get(str(speaker).strip().lower()) if speaker is not None else None
        if role is None:
            raise NotADialogue(
                "unknown_role", f"{name}[{index}].{role_key} is not one of {sorted(roles)}"
            )
        turns.append((role, _text(message.get(text_key), f"{name}[{index}].{text_key}")))
    return turns


def _department(record: Mapping[str, Any]) -> str | None:
    info = record.get("dataset_info")
    if isinstance(info, Mapping) and isinstance(info.get("department"), str):
        return info["department"]
    for name in DEPARTMENT_FIELDS:
        value = record.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _metadata(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, str(record[name]))
        for name in METADATA_FIELDS
        if isinstance(record.get(name), str | int | float)
        and not isinstance(record.get(name), bool)
        and record.get(name) != ""
    )


def _record_id(record: Mapping[str, Any], name: str | None, position_id: str) -> str:
    for field_name in (name,) if name else ID_FIELDS:
        value = record.get(field_name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return position_id


class DialogueMapper:
    """Makes DialogueRecords of what the readers find in one dialogue source's files."""

    def __init__(self, source: DialogueSourceConfig) -> None:
        self._source = source
        self._builder: Any = None
        if source.layout in TASK_LAYOUTS:
            from pipelines.tasks import make_builder

            self._builder = make_builder(source)
        markers = sorted(source.speakers, key=len, reverse=True)
        self._speaker_line = re.compile(
            r"^\s*(" + "|".join(re.escape(m) for m in markers) + r")\s*[：:]\s?(.*)$"
        )
        self._form_line = re.compile(
            r"^\s*("
            + "|".join(re.escape(f) for f in sorted(source.form_fields, key=len, reverse=True))
            + r")\s*(?:[（(][^）)]*[）)])?\s*[：:]\s?(.*)$"
        )
        self._separator = _compiled(source.dialogue_separator)
        self._skip = _compiled(source.skip_lines)

    @property
    def top_level_fields(self) -> list[str] | None:
        return None

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> DialogueRecord | Unreadable:
        """The conversation in ``record``, or why there is none (never its content).

        A task builder returns a tuple of samples and TaskSkips instead (one record, several
        tasks), or an Unreadable.
        """
        if self._builder is not None:
            return self._builder.to_record(record, position_id, path, line)
        layout = self._source.layout
        try:
            if layout in ("auto", "alpaca", "sharegpt", "openai", "disc"):
                if layout == "auto":
                    layout = detect_layout(record)
                turns = self._structured_turns(layout, record)
                record_id = _record_id(record, None, position_id)
                department = _department(record)
            elif layout == "qa":
                turns, department = self._qa_turns(record)
                record_id = _record_id(record, self._source.qa.id, position_id)
            else:
                raise NotADialogue("wrong_layout", f"layout {layout} reads text files, not records")
        except NotADialogue as exc:
            return Unreadable(path, line, exc.reason, exc.detail)
        return DialogueRecord(
            record_id, tuple(turns), department or self._source.department, _metadata(record)
        )

    def _structured_turns(self, layout: str, record: Mapping[str, Any]) -> list[Turn]:
        if layout == "alpaca":
            return alpaca_turns(record)
        if layout == "sharegpt":
            return _message_turns(
                record.get("conversations"), "conversations", "from", "value", SHAREGPT_ROLES
            )
        if layout == "openai":
            return _message_turns(
                record.get("messages"), "messages", "role", "content", OPENAI_ROLES
            )
        return _message_turns(
            record.get("conversation"), "conversation", "role", "content", DISC_ROLES
        )

    def _qa_turns(self, record: Mapping[str, Any]) -> tuple[list[Turn], str | None]:
        mapping = self._source.qa
        parts = [_text(record.get(name), name).strip() for name in mapping.question]
        # A part that another part already contains (a title repeating the question) goes.
        kept = [
            p
            for i, p in enumerate(parts)
            if p and not any(p in q for j, q in enumerate(parts) if j != i and len(q) > len(p))
        ]
        question = "\n".join(dict.fromkeys(kept))
        answer = _text(record.get(mapping.answer), mapping.answer)
        department = None
        if mapping.department is not None and record.get(mapping.department) is not None:
            department = str(record[mapping.department])
        return [(USER, question), (ASSISTANT, answer)], department

    def from_text(self, record: SourceRecord, path: str) -> Iterator[DialogueRecord | Unreadable]:
        """The conversations of a text record (a file, or a block of lines)."""
        if self._builder is not None:
            yield from self._builder.from_text(record, path)
            return
        line = _line_of(record.source_record_id)
        layout = self._source.layout
        if layout == "toyhom_txt":
            yield self._toyhom_block(record, path, line)
        elif layout in ("consultation", "auto"):
            yield from self._consultations(record, path, line)
        else:
            yield Unreadable(path, line, "wrong_layout", f"layout {layout} reads records, not text")

    def _toyhom_block(self, record: SourceRecord, path: str, line: int | None) -> Any:
        head, _, answer = record.text.partition("\n")
        title, comma, ask = head.partition(",")
        if not comma or not answer.strip():
            return Unreadable(path, line, "malformed_block", "expected 'title,ask' then the answer")
        question = ask.strip() if title.strip() in ask else f"{title.strip()}\n{ask.strip()}"
        return DialogueRecord(
            record.source_record_id,
            ((USER, question), (ASSISTANT, answer.strip())),
            self._source.department,
        )

    def _consultations(self, record: SourceRecord, path: str, line: int | None) -> Iterator[Any]:
        lines = record.text.split("\n")
        starts = [0]
        if self._separator is not None:
            starts = [i for i, text in enumerate(lines) if self._separator.search(text)] or [0]
            if starts[0] != 0 and any(t.strip() for t in lines[: starts[0]]):
                starts.insert(0, 0)
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            block = lines[start:end]
            if self._separator is not None and block and self._separator.search(block[0]):
                block = block[1:]
            record_id = (
                record.source_record_id
                if len(starts) == 1
                else (f"{record.source_record_id}#{n + 1}")
            )
            where = (line or 1) + start if line is not None or len(starts) > 1 else None
            yield self._consultation(block, record_id, path, where)

    def _consultation(
        self, lines: list[str], record_id: str, path: str, line: int | None
    ) -> DialogueRecord | Unreadable:
        form: list[list[str]] = []  # [label, value lines...] per form field
        roles: list[str] = []
        bodies: list[list[str]] = []
        for text in lines:
            text = text.strip()
            if self._skip is not None and self._skip.search(text):
                continue
            speaker = self._speaker_line.match(text)
            if speaker:
                roles.append(self._source.speakers[speaker.group(1)])
                bodies.append([speaker.group(2)] if speaker.group(2) else [])
            elif bodies:
                if text:
                    bodies[-1].append(text)
            elif field_line := self._form_line.match(text):
                form.append(
                    [field_line.group(1)] + ([field_line.group(2)] if field_line.group(2) else [])
                )
            elif text and form:
                form[-1].append(text)
        if not bodies:
            return Unreadable(
                path, line, "no_speaker_markers", "no line starts with a known speaker"
            )
        filled = ["{}：{}".format(label, "\n".join(value)) for label, *value in form if value]
        conversation: list[Turn] = [(USER, "\n".join(filled))] if filled else []
        conversation += [(role, "\n".join(body)) for role, body in zip(roles, bodies, strict=True)]
        return DialogueRecord(record_id, tuple(conversation), self._source.department)


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _line_of(record_id: str) -> int | None:
    _, colon, number = record_id.rpartition(":")
    return int(number) if colon and number.isdigit() else None
