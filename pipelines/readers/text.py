"""Plain text: one record per file (a textbook chapter), per line, or per paragraph.

A whole-file record that does not decode is one Unreadable at the line of its first bad
byte. Per line or per paragraph, a line that does not decode costs its own record only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipelines.readers.encoding import Undecodable
from pipelines.records import SourceRecord, Unreadable


def read_lines(
    lines: Iterable[tuple[int, str | Undecodable]], path: str, rel: str
) -> Iterator[SourceRecord | Unreadable]:
    """One record per non-blank line, named ``rel:line``."""
    for number, line in lines:
        if isinstance(line, Undecodable):
            yield Unreadable(path, number, "undecodable", line.detail)
        elif line and not line.isspace():
            yield SourceRecord(source_record_id=f"{rel}:{number}", text=line.strip())


def read_paragraphs(
    lines: Iterable[tuple[int, str | Undecodable]], path: str, rel: str
) -> Iterator[SourceRecord | Unreadable]:
    """One record per block of lines between blank lines, named by its first line."""
    start = 0
    block: list[str] = []
    undecodable: Undecodable | None = None
    for number, line in lines:
        if isinstance(line, Undecodable):
            undecodable = undecodable or line
            start = start or number
        elif line and not line.isspace():
            block.append(line.rstrip())
            start = start or number
        elif start:
            yield _paragraph(block, undecodable, path, rel, start)
            start, block, undecodable = 0, [], None
    if start:
        yield _paragraph(block, undecodable, path, rel, start)


def _paragraph(
    block: list[str], undecodable: Undecodable | None, path: str, rel: str, start: int
) -> SourceRecord | Unreadable:
    if undecodable is not None:
        return Unreadable(
            path, start, "undecodable", f"line {undecodable.line}: {undecodable.detail}"
        )
    return SourceRecord(source_record_id=f"{rel}:{start}", text="\n".join(block))
