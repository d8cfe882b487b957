"""A structured record (a JSON object, a CSV row, a Parquet row) → a SourceRecord.

The field mapping of a source says where the text is: one field, several joined, or a
template over fields. Text fields are required: a record without one is unreadable with
reason ``missing_field`` (absent or null). ``id`` and ``title`` are optional per record:
without them the record is named by its file and position and has no title.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from pipelines.config import FieldMapping
from pipelines.records import SourceRecord, Unreadable


class _FieldError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _Missing(Exception):
    """A path that does not resolve."""


class Mapper(Protocol):
    """Turns what a reader finds into the records a pipeline reads.

    Structured readers (JSON, JSON Lines, CSV, Parquet) hand each object to ``to_record``;
    text readers hand each piece of text, already a SourceRecord, to ``from_text``, which
    may make several records of it (a file of many dialogues) or none.
    """

    @property
    def top_level_fields(self) -> list[str] | None: ...

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> Any: ...

    def from_text(self, record: SourceRecord, path: str) -> Iterator[Any]: ...


class RecordMapper:
    """Applies one source's field mapping to the records of a file."""

    def __init__(self, mapping: FieldMapping) -> None:
        self._joiner = mapping.joiner
        self._id_field = mapping.id
        self._title_field = mapping.title
        if mapping.template is not None:
            pieces = mapping.template_pieces()
            self._fields = [name for _, name in pieces if name]
            # The template again, positional: str.format runs it in C when all values are str.
            self._format = "".join(
                literal.replace("{", "{{").replace("}", "}}") + ("{}" if name else "")
                for literal, name in pieces
            ).format
        else:
            self._fields = list(mapping.text)
            self._format = self._joiner.join(["{}"] * len(self._fields)).format

    @property
    def top_level_fields(self) -> list[str]:
        """The top-level names the mapping reads (a Parquet reader loads only these)."""
        names = self._fields + [n for n in (self._id_field, self._title_field) if n]
        return list(dict.fromkeys(name.split(".", 1)[0] for name in names))

    def from_text(self, record: SourceRecord, path: str) -> Iterator[SourceRecord]:
        yield record

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> SourceRecord | Unreadable:
        """The SourceRecord of ``record``, or why it cannot be one (never its content)."""
        get = record.get
        try:
            text = self._format(
                *[v if type(v := get(n)) is str else self._text(record, n) for n in self._fields]
            )
            record_id = position_id
            if self._id_field is not None:
                record_id = self._optional(record, self._id_field) or position_id
            title = None
            if self._title_field is not None:
                title = self._optional(record, self._title_field)
        except _FieldError as exc:
            return Unreadable(path, line, exc.reason, exc.detail)
        return SourceRecord(record_id, text, title)

    def _text(self, record: Mapping[str, Any], name: str) -> str:
        value = record.get(name)
        if type(value) is list and all(type(v) is str for v in value):
            return self._joiner.join(value)
        try:
            value = _resolve(record, name)
        except _Missing:
            raise _FieldError("missing_field", f"field '{name}'") from None
        if value is None:
            raise _FieldError("missing_field", f"field '{name}'")
        return self._as_text(value, name)

    def _optional(self, record: Mapping[str, Any], name: str) -> str | None:
        value = record.get(name)
        if type(value) is not str:
            try:
                value = _resolve(record, name)
            except _Missing:
                return None
            value = None if value is None else self._as_text(value, name)
        return value or None

    def _as_text(self, value: Any, name: str) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, list | tuple):
            return self._joiner.join(self._as_text(v, name) for v in value if v is not None)
        kind = "an object" if isinstance(value, Mapping) else type(value).__name__
        raise _FieldError("not_text", f"field '{name}' holds {kind}")


def _resolve(record: Any, name: str) -> Any:
    """``record[name]``, or a dotted path through objects and lists (``turns.value``)."""
    if isinstance(record, Mapping) and name in record:
        return record[name]
    if isinstance(record, list):
        return [_resolve(element, name) for element in record]
    head, dot, rest = name.partition(".")
    if not dot or not isinstance(record, Mapping) or head not in record:
        raise _Missing(name)
    return _resolve(record[head], rest)
