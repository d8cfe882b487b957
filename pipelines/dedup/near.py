"""Near-duplicate removal: MinHash LSH candidates, a check of each, components, one kept.

    documents ─► Sign (shingles, MinHash, band keys) ─► GroupBuckets ─► PairsInBucket
        ─► Verify (true Jaccard, or the MinHash estimate) ─► ConnectedComponents
        ─► keep the smallest node of each component; the rest are rejects

Band entries travel in batches, one element per (batch, partition of the band keys): a
shuffle of N·bands/partitions elements, not N·bands, since Beam's cost is per element; a
worker holds one partition's entries, N·bands/``band_partitions`` of them.
A bucket of at most ``max_bucket_size`` members yields all its pairs; a larger one (a
boilerplate band, a thousand copies of one text) yields each member paired with the bucket's
smallest node only: O(n) work, never O(n²). The copy kept is the component's smallest node,
and nodes sort by source priority (higher first), then a hash of the id: never arrival order.
Every document leaves as kept or rejected, and every one gets a ``dedup_cluster`` row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn
from pipelines.dedup.components import ConnectedComponents, unconverged
from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.minhash import band_keys, band_layout, estimated_jaccard, signatures
from pipelines.dedup.shingles import jaccard, shingles
from pipelines.hashing import stable_hash
from pipelines.transforms import REJECTED, Document, reject

CLUSTERS = "clusters"
BANDS = "bands"
STAGE = "near_dedup"
# Priorities are shifted into 10 non-negative digits so that the string order is the rank.
_PRIORITY_OFFSET = 1 << 31
_PREFIX = 26
SIGN_BATCH = 2048


# Texts whose shingle sets a verifier keeps while it checks candidate pairs.
SHINGLE_CACHE_TEXTS = 256


def node_key(document_id: str, priority: int) -> str:
    """A string that sorts in keep order: higher priority, then smaller hash of the id."""
    return f"{_PRIORITY_OFFSET - priority:010d}{stable_hash(document_id):016x}{document_id}"


def node_id(node: str) -> str:
    """The document id inside a node key."""
    return node[_PREFIX:]


class _Sign(CountingDoFn):
    """Documents → (node, (document, signature)) and (band key, node), a batch at a time."""

    def __init__(self, config: NearDedupConfig, priorities: dict[str, int], stage: str) -> None:
        self._stage = stage
        self._config = config
        self._priorities = priorities
        self._layout = band_layout(config)
        self._partitions = config.band_partitions

    def start_bundle(self) -> None:
        super().start_bundle()
        self._batch: list[tuple[str, Document, set[str]]] = []

    def process(self, document: Document) -> Iterator[Any]:
        node = node_key(document["id"], self._priorities.get(document["source"], 0))
        self._batch.append(
            (node, document, shingles(document["text"], self._config.ngram, self._config.shingling))
        )
        if len(self._batch) >= SIGN_BATCH:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        for output in self._flush():
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(output.tag, _in_global_window(output.value))
            else:
                yield _in_global_window(output)
        yield from super().finish_bundle()

    def _flush(self) -> Iterator[Any]:
        batch, self._batch = self._batch, []
        if not batch:
            return
        config = self._config
        rows = signatures([s for _, _, s in batch], config.num_perm, config.seed)
        partitions: dict[int, list[tuple[bytes, str]]] = defaultdict(list)
        for (node, document, shingle_set), signature in zip(batch, rows, strict=True):
            self.count(document["source"], f"{self._stage}/documents")
            yield node, (document, signature)
            if not shingle_set:
                self.count(document["source"], f"{self._stage}/no_shingles")
                continue
            for key in band_keys(signature, *self._layout):
                # The band's first minimum is already uniform: it picks the partition.
                partitions[int.from_bytes(key[2:6], "little") % self._partitions].append(
                    (key, node)
                )
        for partition, entries in partitions.items():
            yield beam.pvalue.TaggedOutput(BANDS, (partition, entries))


def _in_global_window(value: Any) -> WindowedValue:
    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


class _PairsInBucket(CountingDoFn):
    def __init__(self, max_bucket_size: int, stage: str) -> None:
        self._stage = stage
        self._max = max_bucket_size

    def process(self, element: tuple[int, Iterable[list[tuple[bytes, str]]]]) -> Iterator[Any]:
        _, batches = element
        buckets: dict[bytes, list[str]] = defaultdict(list)
        for entries in batches:
            for key, node in entries:
                buckets[key].append(node)
        for nodes in buckets.values():
            if len(nodes) > 1:
                yield from self._pairs(nodes)

    def _pairs(self, nodes: list[str]) -> Iterator[tuple[str, str]]:
        if len(nodes) <= self._max:
            members = sorted(set(nodes))
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    yield a, b
            return
        self.count(ALL_SOURCES, f"{self._stage}/hot_buckets")
        smallest = min(nodes)
        for node in nodes:
            if node != smallest:
                yield smallest, node


def _key_by_endpoints(pair: tuple[str, str]) -> Iterator[tuple[str, tuple[str, str]]]:
    yield pair[0], pair
    yield pair[1], pair


def _attach_payload(
    element: tuple[str, dict[str, Iterable[Any]]],
) -> Iterator[tuple[tuple[str, str], tuple[str, Any]]]:
    node, joined = element
    payloads = list(joined["payload"])
    if not payloads:
        return
    payload = payloads[0]
    for pair in joined["pairs"]:
        yield pair, (node, payload)


class _Similarity:
    """Similarity of two payloads: shingle sets of texts, or MinHash signatures."""

    def __init__(self, config: NearDedupConfig) -> None:
        self._config = config
        self._recent: dict[str, set[str]] = {}

    def payload(self, value: tuple[Document, np.ndarray]) -> Any:
        document, signature = value
        return document["text"] if self._config.true_jaccard_check else signature

    def __call__(self, a: Any, b: Any) -> float:
        if self._config.true_jaccard_check:
            return jaccard(self._shingles(a), self._shingles(b))
        return estimated_jaccard(a, b)

    def _shingles(self, text: str) -> set[str]:
        """Shingles of ``text``; a text in several candidate pairs is shingled once."""
        found = self._recent.get(text)
        if found is None:
            if len(self._recent) >= SHINGLE_CACHE_TEXTS:
                self._recent.clear()
            found = self._recent[text] = shingles(text, self._config.ngram, self._config.shingling)
        return found


class _Verify(CountingDoFn):
    def __init__(self, config: NearDedupConfig, stage: str) -> None:
        self._stage = stage
        self._similarity = _Similarity(config)
        self._threshold = config.threshold

    def process(self, element: tuple[tuple[str, str], Iterable[tuple[str, Any]]]) -> Iterator[Any]:
        pair, ends = element
        payloads = dict(ends)
        self.count(ALL_SOURCES, f"{self._stage}/candidate_pairs")
        if self._similarity(payloads[pair[0]], payloads[pair[1]]) >= self._threshold:
            self.count(ALL_SOURCES, f"{self._stage}/similar_pairs")
            yield pair


class _Assign(CountingDoFn):
    """A document with no similar pair is kept alone; the others go to their component."""

    def __init__(self, stage: str) -> None:
        self._stage = stage

    def process(self, element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        node, joined = element
        for document, signature in joined["document"]:
            labels = list(joined["label"])
            if not labels:
                self.count(document["source"], f"{self._stage}/kept")
                yield document
                yield beam.pvalue.TaggedOutput(
                    CLUSTERS, _cluster_row(document["id"], document["id"], 1.0)
                )
            else:
                yield beam.pvalue.TaggedOutput(
                    "clustered", (labels[0], (node, document, signature))
                )


def _cluster_row(document_id: str, kept_id: str, similarity: float) -> dict[str, Any]:
    return {
        "id": document_id,
        "cluster": kept_id,
        "kept": document_id == kept_id,
        "kept_id": kept_id,
        "similarity": round(similarity, 4),
    }


class _KeepSmallest(CountingDoFn):
    def __init__(
        self, config: NearDedupConfig, excerpt_chars: int, with_excerpt: bool, stage: str
    ) -> None:
        self._stage = stage
        self._similarity = _Similarity(config)
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def process(self, element: tuple[str, Iterable[tuple[str, Document, Any]]]) -> Iterator[Any]:
        root, members = element
        kept = next((d, s) for node, d, s in members if node == root)
        kept_payload = self._similarity.payload(kept)
        kept_id = kept[0]["id"]
        self.count(ALL_SOURCES, f"{self._stage}/clusters")
        for node, document, signature in members:
            if node == root:
                self.count(document["source"], f"{self._stage}/kept")
                yield document
                yield beam.pvalue.TaggedOutput(CLUSTERS, _cluster_row(kept_id, kept_id, 1.0))
                continue
            similarity = self._similarity(
                self._similarity.payload((document, signature)), kept_payload
            )
            self.count(document["source"], f"{self._stage}/rejected")
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                reject(
                    document,
                    self._stage,
                    "near_duplicate",
                    f"of {kept_id}, jaccard {similarity:.2f}",
                    self._excerpt_chars,
                    self._with_excerpt,
                ),
            )
            yield beam.pvalue.TaggedOutput(
                CLUSTERS, _cluster_row(document["id"], kept_id, similarity)
            )


class NearDedup(beam.PTransform):
    """Remove near-duplicates: outputs kept, rejected, clusters (dedup_cluster) and stats."""

    def __init__(
        self,
        config: NearDedupConfig,
        priorities: dict[str, int],
        excerpt_chars: int,
        with_excerpt: bool,
        stage: str = STAGE,
    ) -> None:
        super().__init__()
        self._stage = stage
        self._config = config
        self._priorities = priorities
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        config = self._config
        signed = documents | "Sign" >> beam.ParDo(
            _Sign(config, self._priorities, self._stage)
        ).with_outputs(BANDS, STATS, main="signed")
        buckets = (
            signed[BANDS]
            | "GroupBuckets" >> beam.GroupByKey()
            | "PairsInBucket"
            >> beam.ParDo(_PairsInBucket(config.max_bucket_size, self._stage)).with_outputs(
                STATS, main="pairs"
            )
        )
        similarity = _Similarity(config)
        payloads = signed.signed | "Payload" >> beam.MapTuple(
            lambda node, value: (node, similarity.payload(value))
        )
        verified = (
            {
                "pairs": buckets.pairs
                | "DistinctPairs" >> beam.Distinct()
                | "KeyByEndpoints" >> beam.FlatMap(_key_by_endpoints),
                "payload": payloads,
            }
            | "JoinPayloads" >> beam.CoGroupByKey()
            | "AttachPayloads" >> beam.FlatMap(_attach_payload)
            | "GroupPairs" >> beam.GroupByKey()
            | "Verify" >> beam.ParDo(_Verify(config, self._stage)).with_outputs(STATS, main="edges")
        )
        labels = verified.edges | "Components" >> ConnectedComponents(config.component_rounds)
        not_converged = unconverged(labels) | "UnconvergedStat" >> beam.Map(
            lambda n: ((ALL_SOURCES, f"{self._stage}/unconverged"), n)
        )
        assigned = (
            {"document": signed.signed, "label": labels}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "Assign"
            >> beam.ParDo(_Assign(self._stage)).with_outputs(
                "clustered", CLUSTERS, STATS, main="kept"
            )
        )
        decided = (
            assigned.clustered
            | "GroupClusters" >> beam.GroupByKey()
            | "KeepSmallest"
            >> beam.ParDo(
                _KeepSmallest(config, self._excerpt_chars, self._with_excerpt, self._stage)
            ).with_outputs(REJECTED, CLUSTERS, STATS, main="kept")
        )
        tagged = [
            assigned.kept | "TagKept" >> beam.Map(lambda d: ("kept", d)),
            decided.kept | "TagKeptInCluster" >> beam.Map(lambda d: ("kept", d)),
            decided[REJECTED] | "TagRejected" >> beam.Map(lambda r: (REJECTED, r)),
            assigned[CLUSTERS] | "TagSingletons" >> beam.Map(lambda r: (CLUSTERS, r)),
            decided[CLUSTERS] | "TagClusters" >> beam.Map(lambda r: (CLUSTERS, r)),
        ]
        tagged += [
            stats | f"TagStats{i}" >> beam.Map(lambda s: (STATS, s))
            for i, stats in enumerate(
                (
                    signed[STATS],
                    buckets[STATS],
                    verified[STATS],
                    assigned[STATS],
                    decided[STATS],
                    not_converged,
                )
            )
        ]
        return (
            tagged
            | "AllOutputs" >> beam.Flatten()
            | "Route" >> beam.ParDo(_route).with_outputs(REJECTED, CLUSTERS, STATS, main="kept")
        )


def _route(element: tuple[str, Any]) -> Iterator[Any]:
    """One DoOutputsTuple out of the branches: (tag, value) → the output named tag."""
    tag, value = element
    yield value if tag == "kept" else beam.pvalue.TaggedOutput(tag, value)


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
