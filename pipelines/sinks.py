"""Deterministic Parquet datasets: hash-partitioned shards, rows sorted within a shard.

Rows go to shard ``hash(key) % shards`` and are sorted before writing, so the same input
gives byte-identical files on any runner and any number of workers, and every copy of a
key lands in one shard (per-shard uniqueness of ids is global uniqueness). Each shard is
written to a temporary name and renamed, so a retried bundle never leaves half a file.

A GroupByKey on the DirectRunner holds every value it groups in memory, so the datasets that
may be large are written from sorted runs instead: rows are spilled as Parquet run files,
only the runs' paths are grouped by shard, and each shard is the merge of its runs
(:class:`MergeRuns`; ``WriteRejects`` here, ``pipelines.spill`` for documents).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.counting import STATS, CountingDoFn, in_global_window
from pipelines.hashing import stable_hash
from pipelines.runtime import return_arrow_memory
from schemas import QUARANTINE, REJECT, SchemaSpec

OUTPUTS = "outputs"
# Rows per Parquet row group of a run file: what a merge holds of each run.
RUN_ROWS = 500
# Rows per Parquet row group of a merged shard: what its writer holds at once.
ROW_GROUP_ROWS = 4_096
# Rows a bundle of :class:`_SpillRows` holds before writing them out as runs.
SPILL_ROWS = 4_096
# The folder, inside a dataset's folder, of its run files while it is written.
SPILL_FOLDER = ".spill"
# The order of a reject shard's rows; rows equal on these differ at most in the excerpt,
# which is their document's.
REJECT_KEYS = ("stage", "id", "source", "source_record_id", "reason", "detail")


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


def spill_path(directory: str, kind: str, number: int) -> str:
    """A new file name in ``directory``, unique per call: a retried bundle never
    overwrites the files of one that succeeded."""
    return FileSystems.join(directory, f"{kind}-{number:05d}-{uuid.uuid4().hex}.spill")


def write_run(path: str, table: pa.Table) -> None:
    """``table`` as a Parquet file at ``path``: uncompressed, a row group every ``RUN_ROWS``
    rows (what a merge holds of it), so that its keys can be read alone and the rest a row
    group at a time."""
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
        pq.write_table(
            table, stream, row_group_size=RUN_ROWS, compression="none", write_statistics=False
        )


class _RunReader:
    """The rows of one run file, taken from its start a number at a time."""

    def __init__(self, path: str) -> None:
        self._stream = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        self._file = pq.ParquetFile(self._stream)
        self._groups = iter(range(self._file.num_row_groups))
        self._held: pa.Table | None = None

    def keys(self, columns: list[str]) -> pa.Table:
        return self._file.read(columns=columns)

    def take(self, rows: int) -> pa.Table:
        """The next ``rows`` rows; only the row groups they reach are read."""
        held = self._held
        while held is None or held.num_rows < rows:
            group = self._file.read_row_group(next(self._groups))
            held = group if held is None else pa.concat_tables([held, group])
        self._held = held.slice(rows)
        return held.slice(0, rows)

    def close(self) -> None:
        self._file.close()
        self._stream.close()


Counts = Callable[[pa.Table], Iterator[tuple[tuple[str, str], int]]]


class MergeRuns(CountingDoFn):
    """(shard, run files) → the shard's Parquet file of ``spec``, rows in ``sort_keys`` order.

    Every run is sorted by ``sort_keys`` (ascending, nulls last). The runs' key columns
    alone give the order (a stable sort, runs in path order: what a k-way merge of the runs
    gives); each row group is then taken from the runs, whose rows it uses in their order,
    a run's row group at a time. ``counts(rows)`` gives the ((source, metric), n) counts of
    each row group written.
    """

    def __init__(
        self, spec: SchemaSpec, directory: str, sort_keys: tuple[str, ...], counts: Counts
    ) -> None:
        self._spec = spec
        self._directory = directory
        self._sort_keys = sort_keys
        self._counts_of = counts

    def setup(self) -> None:
        super().setup()
        return_arrow_memory()

    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[Any]:
        shard, runs = element
        readers = [_RunReader(path) for path in sorted(runs)]
        try:
            keys = [reader.keys(list(self._sort_keys)) for reader in readers]
            sizes = np.array([table.num_rows for table in keys], dtype=np.int64)
            order = pc.sort_indices(
                pa.concat_tables(keys), sort_keys=[(key, "ascending") for key in self._sort_keys]
            ).to_numpy()
            del keys
            run_of = np.searchsorted(np.cumsum(sizes), order, side="right")
            groups = self._row_groups(readers, run_of)
            path, rows = write_shard(self._spec, self._directory, shard, groups)
        finally:
            for reader in readers:
                reader.close()
        yield beam.pvalue.TaggedOutput(OUTPUTS, (self._spec.name, path, rows))

    def _row_groups(self, readers: list[_RunReader], run_of: np.ndarray) -> Iterator[pa.Table]:
        for start in range(0, run_of.size, ROW_GROUP_ROWS):
            group_runs = run_of[start : start + ROW_GROUP_ROWS]
            taken = np.bincount(group_runs, minlength=len(readers))
            pieces = [readers[r].take(int(n)) for r, n in enumerate(taken.tolist()) if n]
            # A row's place among the pieces: its run's piece, then its rank in that run.
            piece_start = np.concatenate(([0], np.cumsum(taken)[:-1]))
            rank = np.empty(group_runs.size, dtype=np.int64)
            by_run = np.argsort(group_runs, kind="stable")
            rank[by_run] = np.arange(group_runs.size) - np.repeat(piece_start, taken)
            rows = pa.concat_tables(pieces).take(piece_start[group_runs] + rank)
            for (source, metric), n in self._counts_of(rows):
                self.count(source, metric, n)
            yield rows


class SpillBuffers(beam.DoFn):
    """Base of the DoFns that spill what a bundle holds: one list per shard or bucket, each
    non-empty one written out as a file (``write``) whenever the subclass flushes and at the
    bundle's end; each file leaves as (list number, path)."""

    def __init__(self, directory: str, kind: str, lists: int) -> None:
        self._directory = directory
        self._kind = kind
        self._lists = lists

    def start_bundle(self) -> None:
        self._buffers: list[list[Any]] = [[] for _ in range(self._lists)]
        self._buffered = 0

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for spilled in self.flush():
            yield in_global_window(spilled)

    def write(self, path: str, items: list[Any]) -> None:
        raise NotImplementedError

    def flush(self) -> list[tuple[int, str]]:
        spilled = []
        for number, items in enumerate(self._buffers):
            if items:
                path = spill_path(self._directory, self._kind, number)
                self.write(path, items)
                spilled.append((number, path))
                items.clear()
        self._buffered = 0
        return spilled


class _SpillRows(SpillBuffers):
    """Rows → (shard, run file) per shard and flush: the rows of ``spec`` a bundle holds
    for the shard, ``hash(key(row)) % shards``, sorted by ``sort_keys``."""

    def __init__(
        self,
        spec: SchemaSpec,
        directory: str,
        shards: int,
        key: Callable[[dict[str, Any]], str],
        sort_keys: tuple[str, ...],
    ) -> None:
        super().__init__(directory, "run", shards)
        self._spec = spec
        self._shards = shards
        self._key = key
        self._order = [(name, "ascending") for name in sort_keys]

    def process(self, row: dict[str, Any]) -> Iterator[tuple[int, str]]:
        self._buffers[stable_hash(self._key(row)) % self._shards].append(row)
        self._buffered += 1
        if self._buffered >= SPILL_ROWS:
            yield from self.flush()

    def write(self, path: str, items: list[Any]) -> None:
        table = pa.Table.from_pylist(items, schema=self._spec.arrow)
        write_run(path, table.sort_by(self._order))


def _remove(_: Any, directory: str) -> None:
    if FileSystems.exists(directory):
        FileSystems.delete([directory])


# Keys and orders of the datasets every pipeline writes (WriteDataset's arguments).
def by_id(row: dict[str, Any]) -> str:
    return row["id"]


def quarantine_order(row: dict[str, Any]) -> tuple[str, int, str]:
    return row["path"], row["line"] if row["line"] is not None else -1, row["reason"]


def count_written(row: dict[str, Any]) -> tuple[str, str]:
    return row["source"], "written"


def count_rejects(rows: pa.Table) -> Iterator[tuple[tuple[str, str], int]]:
    """``rejected/STAGE/REASON`` per source, counted over reject rows."""
    keys = ["source", "stage", "reason"]
    grouped = rows.group_by(keys).aggregate([([], "count_all")])
    columns = [grouped.column(name).to_pylist() for name in (*keys, "count_all")]
    for source, stage, reason, n in zip(*columns, strict=True):
        yield (source, f"rejected/{stage}/{reason}"), n


def by_path(row: dict[str, Any]) -> str:
    return row["path"]


class WriteRejects(beam.PTransform):
    """Every pipeline's rejects (schema ``reject``), from all stages, into ``folder``.

    Outputs, like WriteDataset, ``(schema name, file path, rows)`` per shard and, under the
    tag ``stats``, the ``rejected/STAGE/REASON`` counts. A row's shard is the hash of its
    id; a shard's rows are in ``REJECT_KEYS`` order, in row groups of ``ROW_GROUP_ROWS``.
    The rejects are spilled as sorted runs (``SPILL_ROWS`` held per bundle) into
    ``folder/.spill``, which is removed once every shard is written, and each shard merged
    from its runs, so memory does not grow with the number of rejects beyond their sort
    keys, read for a shard's merge.
    """

    def __init__(self, folder: str, shards: int) -> None:
        super().__init__()
        self._folder = folder
        self._shards = max(1, shards)

    def expand(self, rejects: tuple[beam.PCollection, ...]) -> beam.pvalue.DoOutputsTuple:
        spill = FileSystems.join(self._folder, SPILL_FOLDER)
        written = (
            rejects
            | "AllRejects" >> beam.Flatten()
            | "SpillRuns" >> beam.ParDo(_SpillRows(REJECT, spill, self._shards, by_id, REJECT_KEYS))
            | "GroupRuns" >> beam.GroupByKey()
            | "MergeRuns"
            >> beam.ParDo(MergeRuns(REJECT, self._folder, REJECT_KEYS, count_rejects)).with_outputs(
                OUTPUTS, STATS
            )
        )
        _ = (
            written[OUTPUTS]
            | "AllWritten" >> beam.combiners.Count.Globally()
            | "RemoveSpill" >> beam.Map(_remove, spill)
        )
        return written


class WriteQuarantine(beam.PTransform):
    """Every unreadable record (schema ``quarantine``) into one file of ``folder``."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._folder = folder

    def expand(self, quarantined: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return quarantined | "Write" >> WriteDataset(
            QUARANTINE, self._folder, 1, key=by_path, sort_key=quarantine_order
        )
