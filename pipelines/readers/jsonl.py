"""JSON Lines: one object per line; each bad line costs that line only.

Blank lines are not records. A line that does not decode, does not parse or is not an
object becomes an Unreadable with its line number and the parser's message (which gives a
position, never content).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from pipelines.readers.encoding import Undecodable
from pipelines.readers.fields import Mapper
from pipelines.records import SourceRecord, Unreadable

NESTED_TOO_DEEP = "nested too deep to parse"


def read_jsonl(
    lines: Iterable[tuple[int, str | Undecodable]], path: str, rel: str, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    """Records of numbered decoded lines (``encoding.text_lines``) of the file at ``path``."""
    scan = json.JSONDecoder().scan_once
    to_record = mapper.to_record
    for number, line in lines:
        if type(line) is not str:
            yield Unreadable(path, number, "undecodable", line.detail)
            continue
        try:
            # The C scanner alone, for the common line: one object, nothing around it.
            value, end = scan(line, 0)
            if end != len(line) and not line[end:].isspace():
                raise ValueError
        except (StopIteration, ValueError, RecursionError):
            if not line or line.isspace():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                detail = f"{exc.msg} (column {exc.colno})"
                yield Unreadable(path, number, "malformed_json", detail)
                continue
            except RecursionError:
                yield Unreadable(path, number, "malformed_json", NESTED_TOO_DEEP)
                continue
        if type(value) is not dict:
            yield Unreadable(path, number, "not_an_object", f"a JSON {json_type(value)}")
            continue
        yield to_record(value, f"{rel}:{number}", path, number)


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "object"
