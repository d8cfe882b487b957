"""Parquet: read one record batch at a time, only the columns the field mapping names.

Memory stays bounded by a batch (and pyarrow's row-group buffer), whatever the file size.
Rows are named by their position, counting from 1; ``line`` of an Unreadable is that row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.readers.fields import Mapper
from pipelines.records import SourceRecord, Unreadable

BATCH_ROWS = 1024


def read_parquet(
    stream: BinaryIO, path: str, rel: str, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    """Records of the Parquet file open in ``stream`` (which must be seekable)."""
    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as exc:
        yield Unreadable(path, None, "malformed_parquet", _first_line(exc))
        return
    present = parquet.schema_arrow.names
    wanted = mapper.top_level_fields
    columns = [name for name in (present if wanted is None else wanted) if name in present]
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            values = [batch.column(name).to_pylist() for name in columns]
            for row in zip(*values, strict=True) if columns else [()] * batch.num_rows:
                number += 1
                record = dict(zip(columns, row, strict=True))
                yield mapper.to_record(record, f"{rel}:{number}", path, number)
    except (pa.ArrowException, OSError) as exc:
        yield Unreadable(path, number + 1, "malformed_parquet", _first_line(exc))


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
