"""Near-duplicate removal: MinHash LSH candidates, a check of each, components, one kept.

    documents ─► Sign: blocks of documents, their payloads, band entries by partition
        ─► PairsInBucket (numpy, per partition) ─► pairs by block
        ─► FirstEnds, SecondEnds: each pair meets both payloads (block files), is checked
        ─► ConnectedComponents ─► Assign (a block meets its labels) ─► KeepSmallest

Beam's cost is per element, so documents travel in blocks of ``BLOCK_DOCS``: a block is one
element keyed by a random 63-bit id, and a document is located by (block, row). Band
entries leave a block as one element per partition of the band keys, numpy arrays of
(key, rank, row); a worker holds one partition's entries, N·bands/``band_partitions`` of
them. A candidate pair is two locations; it is brought to the block of each end in turn
(two GroupByKeys by block; each block's payloads, the shingle-hash sets Sign computed, are
read from the block's scratch file, not carried through the shuffle), checked on them, and
becomes an edge.
Only pairs, edges and labels travel one by one, and there are as many as there are
duplicates, not documents.

A bucket of at most ``max_bucket_size`` members yields all its pairs; a larger one (a
boilerplate band, a thousand copies of one text) yields each member paired with the
bucket's first member only: O(n) work, never O(n²). The copy kept is the component's
smallest node, and nodes sort by source priority (higher first), then a hash of the id:
never arrival order. Every document leaves as kept or rejected, and every one gets a
``dedup_cluster`` row.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn, in_global_window
from pipelines.dedup.components import (
    FLUSH_EDGES,
    Batch,
    ConnectedComponents,
    EdgeBatches,
    partition_of,
    unconverged,
)
from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.minhash import (
    band_hashes,
    band_layout,
    check_threshold,
    estimated_jaccard,
    shared_bands,
    signatures,
)
from pipelines.dedup.shingles import hash_jaccard, hash_sets, shingle_hashes
from pipelines.hashing import stable_hash
from pipelines.transforms import REJECTED, Document, reject

CLUSTERS = "clusters"
KEPT = "kept"
CLUSTERED = "clustered"
BANDS = "bands"
COPIES = "copies"
STAGE = "near_dedup"
# Priorities are shifted into 10 non-negative digits so that the string order is the rank.
_PRIORITY_OFFSET = 1 << 31
_PREFIX = 26
# A row of a block fits in 11 bits (``_pairs_by_first_block`` packs pairs so).
BLOCK_DOCS = 2048
# A located node: the node key, then "\x1f", the block (16 hex digits), the row (8).
_LOCATION = 25

Member = tuple[str, Document]
# A member of a component on its way to be decided: (label, located node, document).
Clustered = tuple[str, str, Document]


def node_key(document_id: str, priority: int) -> str:
    """A string that sorts in keep order: higher priority, then smaller hash of the id."""
    return f"{_PRIORITY_OFFSET - priority:010d}{stable_hash(document_id):016x}{document_id}"


def node_id(node: str) -> str:
    """The document id inside a node key."""
    return node[_PREFIX:]


def _locate(node: str, block: int, row: int) -> str:
    return f"{node}\x1f{block:016x}{row:08x}"


def _location(located: str) -> tuple[int, int]:
    return int(located[-24:-8], 16), int(located[-8:], 16)


def _windowed(outputs: Iterable[Any]) -> Iterator[Any]:
    """Outputs of ``finish_bundle``, which must carry their window (main or tagged)."""
    for output in outputs:
        if isinstance(output, beam.pvalue.TaggedOutput):
            yield beam.pvalue.TaggedOutput(output.tag, in_global_window(output.value))
        else:
            yield in_global_window(output)


class _Outputs:
    """A call's outputs by tag; sent one by one, or in batched mode as one list per tag.

    Without ``documents`` only cluster rows and counts are wanted: kept and rejected
    documents are not sent.
    """

    def __init__(self, batched: bool, documents: bool) -> None:
        self._batched = batched
        self._dropped = () if documents else (KEPT, REJECTED)
        self._values: dict[str, list[Any]] = defaultdict(list)

    def add(self, tag: str, value: Any) -> None:
        if tag not in self._dropped:
            self._values[tag].append(value)

    def sent(self) -> Iterator[Any]:
        for tag, values in self._values.items():
            if self._batched:
                yield values if tag == KEPT else beam.pvalue.TaggedOutput(tag, values)
            elif tag == KEPT:
                yield from values
            else:
                yield from (beam.pvalue.TaggedOutput(tag, value) for value in values)
        self._values.clear()


class _Payloads:
    """What a pair is checked on: shingle-hash sets (true Jaccard), or MinHash signatures.

    Both travel as uint32 arrays: the sets keep the top 32 bits of each shingle hash.
    """

    def __init__(self, config: NearDedupConfig) -> None:
        self._config = config

    def of(self, texts: Sequence[str]) -> list[np.ndarray]:
        config = self._config
        flat, offsets = shingle_hashes(texts, config.ngram, config.shingling)
        if not config.true_jaccard_check:
            return list(signatures(flat, offsets, config.num_perm, config.seed))
        return hash_sets(flat, offsets, bits=32)

    def of_hashes(
        self, flat: np.ndarray, offsets: np.ndarray, rows_of_signatures: np.ndarray
    ) -> list[np.ndarray]:
        """The payloads of a batch whose shingles are hashed and signed already."""
        if not self._config.true_jaccard_check:
            return list(rows_of_signatures)
        return hash_sets(flat, offsets, bits=32)

    def read(self, sent: bytes) -> np.ndarray:
        """A payload that travelled as bytes (Beam pickles arrays, slowly)."""
        return np.frombuffer(sent, np.uint32)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        if self._config.true_jaccard_check:
            return hash_jaccard(a, b)
        return estimated_jaccard(a, b)


class _Sign(CountingDoFn):
    """Documents → blocks (block, [(node, document)]) and their band entries by partition."""

    def __init__(
        self,
        config: NearDedupConfig,
        priorities: dict[str, int],
        stage: str,
        batched: bool,
        documents: bool,
        scratch: str,
    ) -> None:
        self._stage = stage
        self._documents = documents
        self._files = _BlockFiles(scratch)
        self._config = config
        self._priorities = priorities
        self._layout = band_layout(config)
        self._partitions = config.band_partitions
        self._batched = batched
        self._payloads = _Payloads(config)

    def setup(self) -> None:
        self._random = random.Random()
        self._files.make()

    def start_bundle(self) -> None:
        super().start_bundle()
        self._batch: list[Member] = []
        self._ranks: list[int] = []

    def process(self, element: Document | list[Document]) -> Iterator[Any]:
        for document in element if self._batched else [element]:
            priority = self._priorities.get(document["source"], 0)
            hashed = stable_hash(document["id"])
            self._batch.append(
                (f"{_PRIORITY_OFFSET - priority:010d}{hashed:016x}{document['id']}", document)
            )
            self._ranks.append(hashed)
            if len(self._batch) >= BLOCK_DOCS:
                yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        yield from _windowed(self._flush())
        yield from super().finish_bundle()

    def _flush(self) -> Iterator[Any]:
        batch, self._batch = self._batch, []
        ranks, self._ranks = self._ranks, []
        if not batch:
            return
        config = self._config
        block = self._random.getrandbits(63)
        flat, offsets = shingle_hashes(
            [document["text"] for _, document in batch], config.ngram, config.shingling
        )
        rows_of_signatures = signatures(flat, offsets, config.num_perm, config.seed)
        keys = band_hashes(rows_of_signatures, *self._layout)
        signed = offsets[1:] > offsets[:-1]
        for (_, document), has_shingles in zip(batch, signed.tolist(), strict=True):
            self.count(document["source"], f"{self._stage}/documents")
            if not has_shingles:
                self.count(document["source"], f"{self._stage}/no_shingles")
        yield block, batch if self._documents else [(n, _without_text(d)) for n, d in batch]
        payloads = self._payloads.of_hashes(flat, offsets, rows_of_signatures)
        nodes = _pack([n for n, _ in batch])
        self._files.write(block, (nodes, _pack([p.tobytes() for p in payloads])))
        rows, copies = self._banded_rows(block, batch, np.flatnonzero(signed), rows_of_signatures)
        if copies:
            edges = EdgeBatches("both", self._partitions)
            for copy in copies:
                edges.add(max(copy), min(copy))
            for edge_batch in edges.drain():
                yield beam.pvalue.TaggedOutput(COPIES, edge_batch)
        bands = keys.shape[1]
        entry_keys = keys[rows].ravel()
        entry_rows = np.repeat(rows, bands)
        entry_ranks = np.repeat(np.array(ranks, dtype=np.uint64)[rows], bands)
        partition = entry_keys % np.uint64(self._partitions)
        order = np.argsort(partition, kind="stable")
        cuts = np.flatnonzero(np.diff(partition[order])) + 1
        for part in np.split(order, cuts):
            if len(part):
                yield beam.pvalue.TaggedOutput(
                    BANDS,
                    (
                        int(partition[part[0]]),
                        (
                            block,
                            entry_keys[part].tobytes(),
                            entry_ranks[part].tobytes(),
                            entry_rows[part].tobytes(),
                        ),
                    ),
                )

    def _banded_rows(
        self, block: int, batch: list[Member], rows: np.ndarray, rows_of_signatures: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """The rows that go to the bands; one whose signature repeats an earlier row's in the
        block (a copy of the same text) is linked to that row straight away (``COPIES``), so
        a million copies of one text cost the bands one entry per block, not a million."""
        minima = np.ascontiguousarray(rows_of_signatures[rows])
        whole = minima.view(np.dtype((np.void, minima.shape[1] * minima.itemsize))).ravel()
        _, first, group = np.unique(whole, return_index=True, return_inverse=True)
        same_as = rows[first[group.ravel()]]
        copies = []
        for row, earlier in zip(rows.tolist(), same_as.tolist(), strict=True):
            if row != earlier:
                self.count(ALL_SOURCES, f"{self._stage}/same_signature")
                copies.append(
                    (
                        _locate(batch[row][0], block, row),
                        _locate(batch[earlier][0], block, earlier),
                    )
                )
        return rows[same_as == rows].astype(np.uint32), copies


class _PairsInBucket(CountingDoFn):
    """A partition's band entries → candidate pairs, sent to the block of their first end,
    each with the number of the partition's bands it shares (a hot bucket's pairs count as
    ``shared``: they stand for all the bucket's pairs, which are never made)."""

    def __init__(self, max_bucket_size: int, shared: int, stage: str) -> None:
        self._stage = stage
        self._max = max_bucket_size
        self._shared = shared

    def process(self, element: tuple[int, Iterable[tuple[int, Any, Any, Any]]]) -> Iterator[Any]:
        _, batches = element
        parts = list(batches)
        keys = np.concatenate([np.frombuffer(p[1], dtype=np.uint64) for p in parts])
        ranks = np.concatenate([np.frombuffer(p[2], dtype=np.uint64) for p in parts])
        rows = np.concatenate([np.frombuffer(p[3], dtype=np.uint32) for p in parts])
        blocks = np.concatenate([np.full(len(p[1]) // 8, p[0], dtype=np.uint64) for p in parts])
        rows = rows.astype(np.uint64)
        order = np.lexsort((rows, blocks, ranks, keys))
        keys, ranks, rows, blocks = keys[order], ranks[order], rows[order], blocks[order]
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        sizes = np.diff(np.append(starts, len(keys)))
        firsts, seconds, weights = [], [], []
        for size in np.unique(sizes[sizes > 1]).tolist():
            at = starts[sizes == size][:, None]
            if size <= self._max:
                a, b = np.triu_indices(size, 1)
                weight = 1
            else:
                self.count(ALL_SOURCES, f"{self._stage}/hot_buckets", len(at))
                a, b = np.zeros(size - 1, dtype=np.int64), np.arange(1, size)
                weight = self._shared
            firsts.append((at + a).ravel())
            seconds.append((at + b).ravel())
            weights.append(np.full(len(firsts[-1]), weight, dtype=np.uint64))
        if not firsts:
            return
        first, second = np.concatenate(firsts), np.concatenate(seconds)
        yield from _pairs_by_first_block(blocks, rows, first, second, np.concatenate(weights))


def _pairs_by_first_block(
    blocks: np.ndarray, rows: np.ndarray, first: np.ndarray, second: np.ndarray, bands: np.ndarray
) -> Iterator[tuple[int, bytes]]:
    """The distinct pairs (entries ``first[i]``, ``second[i]``) with the bands each shares
    (``bands[i]`` summed), one element per first block: (block, (row, other block, other row,
    bands) as uint64 bytes)."""
    first_block, pairs, shared = _distinct_pairs(
        blocks[first], rows[first], blocks[second], rows[second], bands
    )
    cuts = np.flatnonzero(np.diff(first_block)) + 1
    starts = np.concatenate(([0], cuts)).tolist()
    rows_out = np.column_stack([pairs, shared])
    for start, group in zip(starts, np.split(rows_out, cuts), strict=True):
        yield int(first_block[start]), group.tobytes()


def _distinct_pairs(
    first_blocks: np.ndarray,
    first_rows: np.ndarray,
    blocks: np.ndarray,
    rows: np.ndarray,
    bands: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct pairs of located documents, sorted: the first block of each, (first row,
    block, row) as an (n, 3) uint64 array, and the ``bands`` of each pair's copies summed.

    A pair is packed into one uint64 to be made distinct (a 1-D sort, not numpy's slow
    ``unique(axis=0)``): the index of each end's block among the blocks present (21 bits)
    and its row (11 bits, ``BLOCK_DOCS`` = 2,048).
    """
    present, index = np.unique(np.concatenate([first_blocks, blocks]), return_inverse=True)
    if len(present) > 1 << 21:
        raise ValueError(f"{len(present)} blocks in one band partition: raise band_partitions")
    index = index.astype(np.uint64)
    first_index, index = index[: len(first_blocks)], index[len(first_blocks) :]
    packed, copies = np.unique(
        (first_index << np.uint64(43))
        | (first_rows.astype(np.uint64) << np.uint64(32))
        | (index << np.uint64(11))
        | rows.astype(np.uint64),
        return_inverse=True,
    )
    shared = np.bincount(copies, weights=bands, minlength=len(packed)).astype(np.uint64)
    pairs = np.stack(
        [
            (packed >> np.uint64(32)) & np.uint64(0x7FF),
            present[(packed >> np.uint64(11)) & np.uint64(0x1FFFFF)],
            packed & np.uint64(0x7FF),
        ],
        axis=1,
    )
    return present[packed >> np.uint64(43)], pairs, shared


Packed = tuple[str | bytes, bytes]


def _pack(pieces: Sequence[str] | Sequence[bytes]) -> Packed:
    """Strings (or bytes) end to end, with their offsets: Beam decodes one, not thousands."""
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)), out=offsets[1:])
    joiner: Any = b"" if pieces and isinstance(pieces[0], bytes) else ""
    return joiner.join(pieces), offsets.tobytes()


def _unpack(packed: Packed, rows: Iterable[int]) -> list[Any]:
    joined, raw = packed
    offsets = np.frombuffer(raw, dtype=np.int64)
    return [joined[offsets[row] : offsets[row + 1]] for row in rows]


class _BlockFiles:
    """Each block's nodes and payloads, in one scratch file per block.

    The two joins read them there, so payloads (a few KB a document) do not travel through
    the runner's shuffle, which on the DirectRunner is memory and on any runner is the
    largest part of the bytes it moves. A block that a retried bundle signed again gets a
    new random id, and so a new file; the scratch folder goes when the run has checked its
    pairs (``_remove_scratch``).
    """

    def __init__(self, scratch: str) -> None:
        self._scratch = scratch

    def make(self) -> None:
        if "://" not in self._scratch:
            os.makedirs(self._scratch, exist_ok=True)

    def write(self, block: int, packed: tuple[Packed, Packed]) -> None:
        with FileSystems.create(self._path(block)) as stream:
            stream.write(pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL))

    def read(self, block: int) -> tuple[Packed, Packed]:
        with FileSystems.open(self._path(block)) as stream:
            return pickle.loads(stream.read())

    def _path(self, block: int) -> str:
        return FileSystems.join(self._scratch, f"{block:016x}.block")


def scratch_folder(options: PipelineOptions) -> str:
    """A new folder for block files: under ``--temp_location`` when the run has one (a
    runner with remote workers needs a shared one), else in the local temporary folder."""
    name = f"medloom-near-dedup-{uuid.uuid4().hex}"
    shared = options.view_as(GoogleCloudOptions).temp_location
    return FileSystems.join(shared, name) if shared else os.path.join(tempfile.gettempdir(), name)


def _remove_scratch(scratch: str, _: Any) -> None:
    """The block files and their folder, once every pair is checked (the side input)."""
    found = FileSystems.match([FileSystems.join(scratch, "*.block")])[0].metadata_list
    if found:
        FileSystems.delete([f.path for f in found])
    if "://" not in scratch and os.path.isdir(scratch):
        os.rmdir(scratch)


def _block_of(joined: dict[str, Iterable[Any]], tag: str) -> Any:
    """What Sign sent for a block under ``tag``; None when the block is not there."""
    blocks = list(joined[tag])
    return blocks[0] if blocks else None


class _FirstEnds(beam.DoFn):
    """The pairs whose first end a block holds and that share ``shared`` bands in all meet
    its file; each goes on to its second end."""

    def __init__(self, scratch: str, shared: int) -> None:
        self._files = _BlockFiles(scratch)
        self._shared = shared

    def process(self, element: tuple[int, Iterable[bytes]]) -> Iterator[Any]:
        block, grouped = element
        found = np.concatenate([np.frombuffer(g, dtype=np.uint64).reshape(-1, 4) for g in grouped])
        _, pairs, bands = _distinct_pairs(
            np.full(len(found), block, dtype=np.uint64),
            found[:, 0],
            found[:, 1],
            found[:, 2],
            found[:, 3],
        )
        pairs = pairs[bands >= self._shared]
        if not len(pairs):
            return
        nodes, payloads_of_rows = self._files.read(block)
        wanted = np.unique(pairs[:, 0]).tolist()
        payloads = dict(zip(wanted, _unpack(payloads_of_rows, wanted), strict=True))
        located = {
            row: _locate(node, block, row)
            for row, node in zip(wanted, _unpack(nodes, wanted), strict=True)
        }
        by_block: dict[int, list[tuple[int, str, bytes]]] = defaultdict(list)
        for row, other_block, other_row in pairs.tolist():
            by_block[other_block].append((other_row, located[row], payloads[row]))
        yield from by_block.items()


class _SecondEnds(CountingDoFn):
    """The pairs whose second end a block holds meet its file: each checked, similar → edge.

    The similar pairs of a bundle are contracted by union-find before they leave: each node
    goes out as one edge to the smallest node of its group in the bundle. That keeps every
    component's connections and hands the rounds of ConnectedComponents stars, which are
    already converged when a bundle saw all of a component's pairs. The union-find goes out
    and starts again whenever it holds ``FLUSH_EDGES`` nodes, so a worker's memory is bounded.
    """

    def __init__(self, config: NearDedupConfig, stage: str, scratch: str) -> None:
        self._stage = stage
        self._files = _BlockFiles(scratch)
        self._payloads = _Payloads(config)
        self._threshold = check_threshold(config)
        self._partitions = config.band_partitions

    def start_bundle(self) -> None:
        super().start_bundle()
        self._parent: dict[str, str] = {}

    def process(self, element: tuple[int, Iterable[list[Any]]]) -> Iterator[Batch]:
        block, grouped = element
        halves = [half for group in grouped for half in group]
        nodes, payloads_of_rows = self._files.read(block)
        wanted = sorted({row for row, _, _ in halves})
        payloads = {
            row: self._payloads.read(sent)
            for row, sent in zip(wanted, _unpack(payloads_of_rows, wanted), strict=True)
        }
        located = {
            row: _locate(node, block, row)
            for row, node in zip(wanted, _unpack(nodes, wanted), strict=True)
        }
        for row, other, other_payload in halves:
            self.count(ALL_SOURCES, f"{self._stage}/candidate_pairs")
            other_set = self._payloads.read(other_payload)
            if self._payloads.similarity(payloads[row], other_set) >= self._threshold:
                self.count(ALL_SOURCES, f"{self._stage}/similar_pairs")
                self._union(other, located[row])
        if len(self._parent) >= FLUSH_EDGES:
            yield from self._contracted()

    def finish_bundle(self) -> Iterator[Any]:
        yield from _windowed(self._contracted())
        yield from super().finish_bundle()

    def _contracted(self) -> list[Batch]:
        edges = EdgeBatches("both", self._partitions)
        for node in self._parent:
            root = self._root(node)
            if root != node:
                edges.add(node, root)
        self._parent.clear()
        return edges.drain()

    def _root(self, node: str) -> str:
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def _union(self, a: str, b: str) -> None:
        for node in (a, b):
            self._parent.setdefault(node, node)
        a, b = self._root(a), self._root(b)
        if a != b:
            self._parent[max(a, b)] = min(a, b)


def _labels_by_block(labels: list[tuple[str, str]]) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """A partition's labels as one list of (row, label) per block."""
    by_block: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for located, label in labels:
        block, row = _location(located)
        by_block[block].append((row, label))
    yield from by_block.items()


class _Assign(CountingDoFn):
    """A document with no similar pair is kept alone; the others go to the partition of their
    component's label, as one list (label, located node, document) per block and partition."""

    def __init__(self, stage: str, batched: bool, documents: bool, partitions: int) -> None:
        self._stage = stage
        self._batched = batched
        self._documents = documents
        self._partitions = partitions

    def process(self, element: tuple[int, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        block, joined = element
        labels = dict(pair for group in joined["labels"] for pair in group)
        outputs = _Outputs(self._batched, self._documents)
        clustered: dict[int, list[Clustered]] = defaultdict(list)
        for row, (node, document) in enumerate(_block_of(joined, "docs") or []):
            label = labels.get(row)
            if label is None:
                self.count(document["source"], f"{self._stage}/kept")
                outputs.add(KEPT, document)
                outputs.add(CLUSTERS, _cluster_row(document["id"], document["id"], 1.0))
            else:
                clustered[partition_of(label, self._partitions)].append(
                    (label, _locate(node, block, row), document)
                )
        for partition, members in clustered.items():
            yield beam.pvalue.TaggedOutput(CLUSTERED, (partition, members))
        yield from outputs.sent()


def _without_text(document: Document) -> Document:
    """What a document's later stages need when only its cluster is wanted."""
    return {
        "id": document["id"],
        "source": document["source"],
        "source_record_id": document["source_record_id"],
        "text": "",
    }


def _cluster_row(document_id: str, kept_id: str, similarity: float | None) -> dict[str, Any]:
    return {
        "id": document_id,
        "cluster": kept_id,
        "kept": document_id == kept_id,
        "kept_id": kept_id,
        "similarity": None if similarity is None else round(similarity, 4),
    }


class _KeepSmallest(CountingDoFn):
    """Each component of a partition → its smallest node (the label) kept, the others
    rejected with their similarity to it.

    The partition's members are read twice: once to find each component's kept copy, then a
    batch of ``BLOCK_DOCS`` at a time to decide the others, their texts shingled together. A
    worker holds the kept copies of the partition's components and one batch, never a whole
    component: a million copies of one text take no more. Without documents (texts) the
    similarity is not known: None.
    """

    def __init__(
        self,
        config: NearDedupConfig,
        excerpt_chars: int,
        with_excerpt: bool,
        stage: str,
        batched: bool,
        documents: bool,
    ) -> None:
        self._stage = stage
        self._documents = documents
        self._payloads = _Payloads(config)
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt
        self._batched = batched

    def process(self, element: tuple[int, Iterable[list[Clustered]]]) -> Iterator[Any]:
        _, groups = element
        kept: dict[str, Document] = {}
        for members in groups:
            for label, node, document in members:
                if node == label:
                    kept[label] = document
        outputs = _Outputs(self._batched, self._documents)
        for document in kept.values():
            self._keep(document, outputs)
        yield from outputs.sent()
        kept_payloads: dict[str, np.ndarray | None] = {}
        batch: list[tuple[str, Document]] = []
        for members in groups:
            for label, node, document in members:
                if node != label:
                    batch.append((label, document))
                if len(batch) >= BLOCK_DOCS:
                    yield from self._reject_all(batch, kept, kept_payloads)
                    batch = []
        yield from self._reject_all(batch, kept, kept_payloads)

    def _reject_all(
        self,
        batch: list[tuple[str, Document]],
        kept: dict[str, Document],
        kept_payloads: dict[str, np.ndarray | None],
    ) -> Iterator[Any]:
        missing = sorted({label for label, _ in batch} - kept_payloads.keys())
        for label in missing:
            if label not in kept:
                raise ValueError(f"component {node_id(label)!r} came without its smallest node")
        found = self._payloads_of([kept[label] for label in missing])
        kept_payloads.update(zip(missing, found, strict=True))
        payloads = self._payloads_of([document for _, document in batch])
        outputs = _Outputs(self._batched, self._documents)
        for (label, document), payload in zip(batch, payloads, strict=True):
            self._reject(document, payload, kept[label]["id"], kept_payloads[label], outputs)
        yield from outputs.sent()

    def _payloads_of(self, documents: list[Document]) -> Sequence[np.ndarray | None]:
        if not self._documents:
            return [None] * len(documents)
        return self._payloads.of([document["text"] for document in documents])

    def _keep(self, kept: Document, outputs: _Outputs) -> None:
        self.count(ALL_SOURCES, f"{self._stage}/clusters")
        self.count(kept["source"], f"{self._stage}/kept")
        outputs.add(KEPT, kept)
        outputs.add(CLUSTERS, _cluster_row(kept["id"], kept["id"], 1.0))

    def _reject(
        self,
        document: Document,
        payload: np.ndarray | None,
        kept_id: str,
        kept_payload: np.ndarray | None,
        outputs: _Outputs,
    ) -> None:
        similarity = None
        detail = f"of {kept_id}"
        if payload is not None and kept_payload is not None:
            similarity = self._payloads.similarity(payload, kept_payload)
            detail += f", jaccard {similarity:.2f}"
        self.count(document["source"], f"{self._stage}/rejected")
        outputs.add(
            REJECTED,
            reject(
                document,
                self._stage,
                "near_duplicate",
                detail,
                self._excerpt_chars,
                self._with_excerpt,
            ),
        )
        outputs.add(CLUSTERS, _cluster_row(document["id"], kept_id, similarity))


class NearDedupOutputs(NamedTuple):
    """What NearDedup gives: documents kept, rejects, dedup_cluster rows and counts."""

    kept: beam.PCollection
    rejected: beam.PCollection
    clusters: beam.PCollection
    stats: beam.PCollection

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        """An output by its tag (``REJECTED``, ``CLUSTERS``, ``STATS``) or by position."""
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


class NearDedup(beam.PTransform):
    """Remove near-duplicates: outputs kept, rejected, clusters (dedup_cluster) and stats.

    ``batched``: documents come in as lists, and kept, rejected and clusters go out as
    lists, which spares Beam's per-element cost where nothing needs them one by one.
    ``documents=False`` is for a caller that wants the clusters only: no text travels past
    signing, kept and rejected come out empty, and a rejected copy's cluster row has
    similarity None.
    """

    def __init__(
        self,
        config: NearDedupConfig,
        priorities: dict[str, int],
        excerpt_chars: int,
        with_excerpt: bool,
        stage: str = STAGE,
        batched: bool = False,
        documents: bool = True,
    ) -> None:
        super().__init__()
        self._batched = batched
        self._documents = documents
        self._stage = stage
        self._config = config
        self._priorities = priorities
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> NearDedupOutputs:
        config = self._config
        scratch = scratch_folder(documents.pipeline.options)
        shared = shared_bands(config, band_layout(config)[0])
        signed = documents | "Sign" >> beam.ParDo(
            _Sign(config, self._priorities, self._stage, self._batched, self._documents, scratch)
        ).with_outputs(BANDS, COPIES, STATS, main="blocks")
        blocks = signed.blocks
        pairs = (
            signed[BANDS]
            | "GroupBuckets" >> beam.GroupByKey()
            | "PairsInBucket"
            >> beam.ParDo(_PairsInBucket(config.max_bucket_size, shared, self._stage)).with_outputs(
                STATS, main="pairs"
            )
        )
        halves = (
            pairs.pairs
            | "PairsByFirstEnd" >> beam.GroupByKey()
            | "FirstEnds" >> beam.ParDo(_FirstEnds(scratch, shared))
        )
        verified = (
            halves
            | "PairsBySecondEnd" >> beam.GroupByKey()
            | "Verify"
            >> beam.ParDo(_SecondEnds(config, self._stage, scratch)).with_outputs(
                STATS, main="edges"
            )
        )
        checked = verified.edges | "Checked" >> beam.combiners.Count.Globally()
        _ = (
            documents.pipeline
            | "Scratch" >> beam.Create([scratch])
            | "RemoveScratch" >> beam.Map(_remove_scratch, beam.pvalue.AsSingleton(checked))
        )
        labels = (
            (verified.edges, signed[COPIES])
            | "AllEdges" >> beam.Flatten()
            | "Components"
            >> ConnectedComponents(config.component_rounds, config.band_partitions, batched=True)
        )
        not_converged = unconverged(
            labels, config.band_partitions, batched=True
        ) | "UnconvergedStat" >> beam.Map(
            lambda n: ((ALL_SOURCES, f"{self._stage}/unconverged"), n)
        )
        assigned = (
            {"docs": blocks, "labels": labels | "LabelsByBlock" >> beam.FlatMap(_labels_by_block)}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "Assign"
            >> beam.ParDo(
                _Assign(self._stage, self._batched, self._documents, config.band_partitions)
            ).with_outputs(CLUSTERED, CLUSTERS, STATS, main=KEPT)
        )
        decided = (
            assigned[CLUSTERED]
            | "GroupClusters" >> beam.GroupByKey()
            | "KeepSmallest"
            >> beam.ParDo(
                _KeepSmallest(
                    config,
                    self._excerpt_chars,
                    self._with_excerpt,
                    self._stage,
                    self._batched,
                    self._documents,
                )
            ).with_outputs(REJECTED, CLUSTERS, STATS, main=KEPT)
        )
        branch_stats = (
            signed[STATS],
            pairs[STATS],
            verified[STATS],
            assigned[STATS],
            decided[STATS],
            not_converged,
        )
        return NearDedupOutputs(
            kept=(assigned.kept, decided.kept) | "Kept" >> beam.Flatten(),
            rejected=decided[REJECTED],
            clusters=(assigned[CLUSTERS], decided[CLUSTERS]) | "Clusters" >> beam.Flatten(),
            stats=branch_stats | "Stats" >> beam.Flatten(),
        )


def near_dedup_stats(stats: Mapping[tuple[str, str], int], stage: str = STAGE) -> dict[str, int]:
    """What a NearDedup stage counted over all sources: pairs, clusters, unconverged nodes."""
    prefix = f"{stage}/"
    found: dict[str, int] = {}
    for (_, metric), n in sorted(stats.items()):
        if metric.startswith(prefix) and metric.count("/") == 1:
            name = metric.removeprefix(prefix)
            found[name] = found.get(name, 0) + n
    return found


def convergence_warning(sections: Mapping[str, Mapping[str, int]]) -> str | None:
    """A line for the user when connected components did not converge in their rounds."""
    late = {stage: s.get("unconverged", 0) for stage, s in sections.items()}
    late = {stage: n for stage, n in late.items() if n}
    if not late:
        return None
    counts = ", ".join(f"{stage} {n}" for stage, n in late.items())
    return (
        f"medloom: WARNING: near-duplicate clusters did not converge ({counts} nodes);"
        " some copies were kept: raise dedup.near.component_rounds"
    )
