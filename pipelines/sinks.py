"""Deterministic Parquet datasets: hash-partitioned shards, rows sorted within a shard.

Rows go to shard ``hash(key) % shards`` and are sorted before writing, so the same input
gives byte-identical files on any runner and any number of workers, and every copy of a
key lands in one shard (per-shard uniqueness of ids is global uniqueness). Each shard is
written to a temporary name and renamed, so a retried bundle never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.counting import CountingDoFn
from pipelines.hashing import stable_hash
from schemas import QUARANTINE, REJECT, SchemaSpec

OUTPUTS = "outputs"


def shard_path(directory: str, shard: int) -> str:
    return FileSystems.join(directory, f"part-{shard:05d}.parquet")


def write_shard(
    spec: SchemaSpec,
    directory: str,
    shard: int,
    row_groups: Iterable[list[dict[str, Any]] | pa.Table],
) -> tuple[str, int]:
    """Rows of ``spec``, one Parquet row group per list (or table of ``spec``'s columns), as
    shard ``shard`` of ``directory``.

    Written under a temporary name and renamed, so a retried bundle never leaves half a
    file. Returns the file's path and its number of rows.
    """
    final = shard_path(directory, shard)
    temporary = final + ".tmp"
    written = 0
    with (
        FileSystems.create(temporary) as stream,
        pq.ParquetWriter(stream, spec.arrow, compression="zstd") as writer,
    ):
        for rows in row_groups:
            # Only the schema's columns are taken from each row; a missing one is null.
            table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, spec.arrow)
            writer.write_table(table)
            written += table.num_rows
    if FileSystems.exists(final):
        FileSystems.delete([final])
    FileSystems.rename([temporary], [final])
    return final, written


class _WriteShard(CountingDoFn):
    def __init__(
        self,
        spec: SchemaSpec,
        directory: str,
        sort_key: Callable[[dict[str, Any]], Any],
        count_as: Callable[[dict[str, Any]], tuple[str, str]] | None,
    ) -> None:
        self._spec = spec
        self._directory = directory
        self._sort_key = sort_key
        self._count_as = count_as

    def process(self, element: tuple[int, Iterable[dict[str, Any]]]) -> Iterator[Any]:
        shard, rows = element
        ordered = sorted(rows, key=self._sort_key)
        final, written = write_shard(self._spec, self._directory, shard, [ordered])
        if self._count_as is not None:
            for row in ordered:
                self.count(*self._count_as(row))
        yield beam.pvalue.TaggedOutput(OUTPUTS, (self._spec.name, final, written))


class WriteDataset(beam.PTransform):
    """Write dict rows of ``spec`` as ``directory/part-NNNNN.parquet``.

    Outputs a PCollection of ``(schema name, file path, rows)`` and, under the tag
    ``stats``, the counts made by ``count_as(row) -> (source, metric)``.
    """

    def __init__(
        self,
        spec: SchemaSpec,
        directory: str,
        shards: int,
        key: Callable[[dict[str, Any]], str],
        sort_key: Callable[[dict[str, Any]], Any],
        count_as: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self._spec = spec
        self._directory = directory
        self._shards = max(1, shards)
        self._key = key
        self._sort_key = sort_key
        self._count_as = count_as

    def expand(self, rows: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        shards, key = self._shards, self._key
        return (
            rows
            | "AssignShard" >> beam.Map(lambda row: (stable_hash(key(row)) % shards, row))
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard"
            >> beam.ParDo(
                _WriteShard(self._spec, self._directory, self._sort_key, self._count_as)
            ).with_outputs(OUTPUTS, "stats")
        )


# Keys, orders and counts of the datasets every pipeline writes (WriteDataset's arguments).
def by_id(row: dict[str, Any]) -> str:
    return row["id"]


def reject_order(row: dict[str, Any]) -> tuple[str, str]:
    return row["stage"], row["id"]


def quarantine_order(row: dict[str, Any]) -> tuple[str, int, str]:
    return row["path"], row["line"] if row["line"] is not None else -1, row["reason"]


def count_written(row: dict[str, Any]) -> tuple[str, str]:
    return row["source"], "written"


def count_rejected(row: dict[str, Any]) -> tuple[str, str]:
    return row["source"], f"rejected/{row['stage']}/{row['reason']}"


def by_path(row: dict[str, Any]) -> str:
    return row["path"]


class WriteRejects(beam.PTransform):
    """Every pipeline's rejects (schema ``reject``), from all stages, into ``folder``."""

    def __init__(self, folder: str, shards: int) -> None:
        super().__init__()
        self._folder = folder
        self._shards = shards

    def expand(self, rejects: tuple[beam.PCollection, ...]) -> beam.pvalue.DoOutputsTuple:
        return (
            rejects
            | "AllRejects" >> beam.Flatten()
            | "Write"
            >> WriteDataset(
                REJECT,
                self._folder,
                self._shards,
                key=by_id,
                sort_key=reject_order,
                count_as=count_rejected,
            )
        )


class WriteQuarantine(beam.PTransform):
    """Every unreadable record (schema ``quarantine``) into one file of ``folder``."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._folder = folder

    def expand(self, quarantined: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return quarantined | "Write" >> WriteDataset(
            QUARANTINE, self._folder, 1, key=by_path, sort_key=quarantine_order
        )
