"""Exact dedup, leak gate and write with documents spilled to files, so memory stays flat.

A GroupByKey on the DirectRunner holds every value it groups in memory, so grouping the
documents themselves (once to find copies, once more to shard the output) makes memory
grow with the corpus. Here only file paths are grouped:

    batches of documents ─► spill files, one per bucket and flush; a document's bucket,
                            and so its shard, is chosen by the hash of its text
    each bucket: one copy per text kept (ExactDedup's rule), leak gate, a run sorted by id,
                 written as a Parquet file of the output schema
    each shard:  the runs of its buckets merged by id ─► part-NNNNN.parquet, in row groups
                 (MergeRuns, in pipelines.sinks)

A bucket holds about ``BYTES_PER_BUCKET`` of input, a shard has a fixed number of buckets
and a merge holds the ids of its runs and one row group of each, so memory depends on those
sizes, not on the size of the corpus. The rows written, their order in a shard (by id) and
every reject (stage, reason, detail) are those of ExactDedup, GuardLeaks and WriteDataset
applied one after the other; only which shard holds a row differs (WriteDataset hashes the
id, this the text: the copies of a text, and so every copy of an id, still land in one
shard)."""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines.counting import (
    ALL_SOURCES,
    LENGTH_EDGES,
    STATS,
    CountingDoFn,
    length_buckets,
)
from pipelines.dedup.exact import STAGE, keep_rank
from pipelines.deid import LeakGate
from pipelines.hashing import text_key
from pipelines.runtime import return_arrow_memory
from pipelines.sinks import OUTPUTS, MergeRuns, SpillBuffers, by_id, spill_path, write_run
from pipelines.transforms import REJECTED, Document, hold_leaks, reject
from schemas import SchemaSpec

# A spilling bundle writes its buffers out once they hold this many characters.
SPILL_CHARS = 2_000_000
# Documents per pickled frame of a spill file.
FRAME_DOCUMENTS = 500


def write_frames(path: str, items: list[Any]) -> None:
    """``items`` into a new file at ``path``, in length-prefixed pickled frames."""
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
        for start in range(0, len(items), FRAME_DOCUMENTS):
            payload = pickle.dumps(
                items[start : start + FRAME_DOCUMENTS], protocol=pickle.HIGHEST_PROTOCOL
            )
            stream.write(len(payload).to_bytes(8, "big"))
            stream.write(payload)


def read_frames(path: str) -> Iterator[Any]:
    """The items :func:`write_frames` wrote to ``path``, one frame in memory at a time."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
        while header := stream.read(8):
            yield from pickle.loads(stream.read(int.from_bytes(header, "big")))


def bucket_of(key: str, shards: int, buckets_per_shard: int) -> int:
    """The bucket of the text key ``key``: shard ``bucket // buckets_per_shard``."""
    value = int(key[:16], 16)
    return (value % shards) * buckets_per_shard + (value // shards) % buckets_per_shard


class _Spill(SpillBuffers):
    """Batches of documents → (bucket, spill file) once per bucket and flush."""

    def __init__(self, directory: str, shards: int, buckets_per_shard: int) -> None:
        super().__init__(directory, "bucket", shards * buckets_per_shard)
        self._shards = shards
        self._buckets_per_shard = buckets_per_shard

    def process(self, documents: list[Document]) -> Iterator[tuple[int, str]]:
        buffers, shards, per_shard = self._buffers, self._shards, self._buckets_per_shard
        for document in documents:
            key = text_key(document["text"])
            buffers[bucket_of(key, shards, per_shard)].append((key, document))
            self._buffered += document["length"]
        if self._buffered >= SPILL_CHARS:
            yield from self.flush()

    def write(self, path: str, items: list[Any]) -> None:
        write_frames(path, items)


class _DedupBucket(CountingDoFn):
    """(bucket, spill files) → copies rejected, leaks held, (shard, run sorted by id)."""

    def __init__(
        self,
        spec: SchemaSpec,
        directory: str,
        buckets_per_shard: int,
        exact: bool,
        priorities: dict[str, int],
        excerpt_chars: int,
        with_excerpt: bool,
        secret: bytes | None,
    ) -> None:
        self._spec = spec
        self._directory = directory
        self._buckets_per_shard = buckets_per_shard
        self._exact = exact
        self._priorities = priorities
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt
        self._secret = secret

    def setup(self) -> None:
        super().setup()
        return_arrow_memory()
        self._gate = LeakGate(self._secret)

    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[Any]:
        bucket, paths = element
        copies: dict[str, list[Document]] = {}
        for path in paths:
            for key, document in read_frames(path):
                copies.setdefault(key if self._exact else document["id"], []).append(document)
        run: list[Document] = []
        for group in copies.values():
            kept = group
            if self._exact and len(group) > 1:
                group.sort(key=lambda d: keep_rank(d, self._priorities))
                kept = group[:1]
                for duplicate in group[1:]:
                    yield beam.pvalue.TaggedOutput(REJECTED, self._duplicate(duplicate, group[0]))
            for document in kept:
                rejected = hold_leaks(self._gate, document, self.count)
                if rejected is None:
                    run.append(document)
                else:
                    yield beam.pvalue.TaggedOutput(REJECTED, rejected)
        if run:
            run.sort(key=by_id)
            path = spill_path(self._directory, "run", bucket)
            write_run(path, pa.Table.from_pylist(run, schema=self._spec.arrow))
            yield bucket // self._buckets_per_shard, path

    def _duplicate(self, duplicate: Document, kept: Document) -> dict[str, Any]:
        detail = f"duplicate of {kept['id']}"
        return reject(
            duplicate, STAGE, "duplicate", detail, self._excerpt_chars, self._with_excerpt
        )


def count_documents(rows: pa.Table) -> Iterator[tuple[tuple[str, str], int]]:
    """Rows written per source and the ``length_after`` histogram, counted over rows of
    ``pretrain_document``."""
    written = pc.value_counts(rows.column("source"))
    for source, n in zip(written.field(0).to_pylist(), written.field(1).to_pylist(), strict=True):
        yield (source, "written"), n
    buckets = length_buckets(rows.column("length").to_numpy())
    for bucket, n in enumerate(np.bincount(buckets, minlength=len(LENGTH_EDGES)).tolist()):
        if n:
            yield (ALL_SOURCES, f"length_after/{bucket}"), n


class DedupAndWrite(beam.PTransform):
    """Batches of filtered documents → exact dedup → leak gate → ``spec`` shards.

    Returns a dict: ``rejected`` (duplicates and leaks, as reject rows), ``outputs``
    ((schema name, file path, rows) per shard) and ``stats`` (leak gate finds, written
    per source, the ``length_after`` histogram). Each of the ``shards`` is the merge of
    ``buckets_per_shard`` buckets. Spill and run files go to ``spill_dir``, which the
    caller removes once the pipeline is done.
    """

    def __init__(
        self,
        spec: SchemaSpec,
        directory: str,
        spill_dir: str,
        shards: int,
        buckets_per_shard: int,
        exact: bool,
        priorities: dict[str, int],
        excerpt_chars: int,
        with_excerpt: bool,
        secret: bytes | None,
    ) -> None:
        super().__init__()
        self._spec = spec
        self._directory = directory
        self._spill_dir = spill_dir
        self._shards = max(1, shards)
        self._buckets_per_shard = max(1, buckets_per_shard)
        self._dedup = (exact, priorities, excerpt_chars, with_excerpt, secret)

    def expand(self, batches: beam.PCollection) -> dict[str, beam.PCollection]:
        deduped = (
            batches
            | "SpillByText"
            >> beam.ParDo(_Spill(self._spill_dir, self._shards, self._buckets_per_shard))
            | "GroupBuckets" >> beam.GroupByKey()
            | "KeepOnePerText"
            >> beam.ParDo(
                _DedupBucket(self._spec, self._spill_dir, self._buckets_per_shard, *self._dedup)
            ).with_outputs(REJECTED, STATS, main="runs")
        )
        written = (
            deduped.runs
            | "GroupRuns" >> beam.GroupByKey()
            | "MergeShard"
            >> beam.ParDo(
                MergeRuns(self._spec, self._directory, ("id",), count_documents)
            ).with_outputs(OUTPUTS, STATS)
        )
        stats = (deduped[STATS], written[STATS]) | "AllStats" >> beam.Flatten()
        return {REJECTED: deduped[REJECTED], OUTPUTS: written[OUTPUTS], STATS: stats}
