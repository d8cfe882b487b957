"""CSV and TSV with a header row; quoted fields may span lines.

Each row is one record named by the line it starts on. A row with more or fewer fields
than the header is ``ragged_row``; a row touching a line that does not decode is
``undecodable``; either costs that row only.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator

from pipelines.readers.encoding import Undecodable
from pipelines.readers.fields import Mapper
from pipelines.records import SourceRecord, Unreadable

# The csv module's default of 131,072 characters per field is less than one long discharge
# summary; past it the parser would resynchronise inside the field and invent rows.
FIELD_LIMIT = 2**31 - 1
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


def read_delimited(
    lines: Iterable[tuple[int, str | Undecodable]],
    path: str,
    rel: str,
    mapper: Mapper,
    delimiter: str,
) -> Iterator[SourceRecord | Unreadable]:
    """Records of numbered decoded lines (``encoding.text_lines``) of the file at ``path``."""
    bad_lines: deque[Undecodable] = deque()

    def feed() -> Iterator[str]:
        for _, line in lines:
            if isinstance(line, Undecodable):
                bad_lines.append(line)
                yield line.replaced + "\n"
            else:
                yield line + "\n"

    reader = csv.reader(feed(), delimiter=delimiter)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Unreadable(path, start, "malformed_csv", str(exc))
            continue
        undecodable = None
        while bad_lines and bad_lines[0].line <= reader.line_num:
            bad_line = bad_lines.popleft()
            undecodable = undecodable or bad_line
        if not row:
            continue
        if header is None:
            header = [name.strip() for name in row]
            if undecodable is not None:
                yield Unreadable(path, start, "undecodable", f"header row: {undecodable.detail}")
            continue
        if undecodable is not None:
            yield Unreadable(path, start, "undecodable", undecodable.detail)
        elif len(row) != len(header):
            detail = f"{len(row)} fields, the header has {len(header)}"
            yield Unreadable(path, start, "ragged_row", detail)
        else:
            yield mapper.to_record(
                dict(zip(header, row, strict=True)), f"{rel}:{start}", path, start
            )
