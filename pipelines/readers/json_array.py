"""JSON files: a top-level array of objects, or one object.

The array is parsed element by element, so a file cut short keeps every complete element
and ends with one Unreadable (``truncated_json``) for the tail; an element that is not an
object is one Unreadable (``not_an_object``). A ``.json`` file that is really JSON Lines
(an object followed by another object) is read as JSON Lines, as ``datasets`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from pipelines.readers.fields import Mapper
from pipelines.readers.jsonl import NESTED_TOO_DEEP, json_type, read_jsonl
from pipelines.records import SourceRecord, Unreadable

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def read_json(
    text: str, path: str, rel: str, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    """Records of the decoded JSON document ``text`` of the file at ``path``."""
    skip = _WHITESPACE.match
    start = skip(text).end()
    if text.startswith("[", start):
        yield from _read_array(text, start, path, rel, mapper)
        return
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        yield Unreadable(path, exc.lineno, _reason(exc, text), _describe(exc))
        return
    except RecursionError:
        yield Unreadable(path, _line(text, start), "malformed_json", NESTED_TOO_DEEP)
        return
    rest = skip(text, end).end()
    if isinstance(value, dict) and text.startswith("{", rest):
        numbered = enumerate(text.split("\n"), 1)
        yield from read_jsonl(numbered, path, rel, mapper)
        return
    if not isinstance(value, dict):
        yield Unreadable(path, 1, "not_an_object", f"a JSON {json_type(value)}")
    else:
        yield mapper.to_record(value, f"{rel}:1", path, 1)
    if rest < len(text):
        yield Unreadable(path, _line(text, rest), "malformed_json", "extra data after the object")


def _read_array(
    text: str, start: int, path: str, rel: str, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    skip = _WHITESPACE.match
    decode = json.JSONDecoder().raw_decode
    pos = skip(text, start + 1).end()
    line, counted_to = 1, 0
    number = 0
    closed = text.startswith("]", pos)
    while not closed:
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        try:
            value, pos = decode(text, pos)
        except json.JSONDecodeError as exc:
            yield Unreadable(path, line, _reason(exc, text), _describe(exc))
            return
        except RecursionError:
            yield Unreadable(path, line, "malformed_json", NESTED_TOO_DEEP)
            return
        number += 1
        if type(value) is dict:
            yield mapper.to_record(value, f"{rel}:{number}", path, line)
        else:
            yield Unreadable(path, line, "not_an_object", f"a JSON {json_type(value)}")
        pos = skip(text, pos).end()
        if text.startswith(",", pos):
            pos = skip(text, pos + 1).end()
            # A trailing comma before "]" is tolerated: no element is lost to it.
            closed = text.startswith("]", pos)
        elif text.startswith("]", pos):
            closed = True
        else:
            line += text.count("\n", counted_to, pos)
            counted_to = pos
            truncated = pos >= len(text)
            reason = "truncated_json" if truncated else "malformed_json"
            yield Unreadable(path, line, reason, "expected ',' or ']' after an element")
            return
    rest = skip(text, pos + 1).end()
    if rest < len(text):
        yield Unreadable(path, _line(text, rest), "malformed_json", "extra data after the array")


def _reason(exc: json.JSONDecodeError, text: str) -> str:
    # An unterminated string runs to the end of the file, like any other cut-off value.
    cut_off = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
    return "truncated_json" if cut_off else "malformed_json"


def _describe(exc: json.JSONDecodeError) -> str:
    return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1
