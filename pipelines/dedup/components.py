"""Connected components of the duplicate graph inside Beam: alternating large-star/small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): a large-star
step links every node to the smallest node in its neighbourhood, a small-star step links a
node's smaller neighbours to the smallest of them. Each round is a GroupByKey on edges, so
nothing is collected into the driver and no structure must hold the graph: a worker holds
one node's neighbours at a time, iterated twice (Beam pages large groups). The paper proves
O(log² n) rounds and measures about log n; the rounds are unrolled in the graph, a fixed
number (``component_rounds``, default 4), and ``unconverged`` counts the nodes whose label
is not yet their component's minimum, so a run can tell.

Edges travel in batches: one element per bundle and partition of the nodes (a stable CRC32
of the node, ``partitions`` of them), since Beam's cost is per element; a worker holds one
partition's edges, E/``partitions`` of them.

Nodes are strings that sort in keep order (pipelines.dedup.near.node_key): the minimum of a
component is the copy to keep, and a component's label is that node.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Literal

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.counting import in_global_window

Edge = tuple[str, str]
Batch = tuple[int, list[Edge]]
# What a step sends on: each edge keyed by its first node, by both nodes, or as labels (the
# first node labelled with the second, and the second with itself).
Then = Literal["first", "both", "labels"]
PARTITIONS = 64
# A step sends its edges on once it holds this many, not only at the end of its bundle
# (the DirectRunner makes one bundle of a whole stage): a worker's memory stays bounded.
FLUSH_EDGES = 100_000


def partition_of(node: str, partitions: int) -> int:
    """The partition of a node: the same in every worker process (unlike ``hash``)."""
    return zlib.crc32(node.encode("utf-8")) % partitions


class EdgeBatches:
    """Edges by the partition of their key, to leave a bundle as one element per partition.

    With ``then="both"``, ``add(u, v)`` for u > v is the input ``ConnectedComponents``
    takes when ``batched``: a DoFn that finds edges can hand them over this way.
    """

    def __init__(self, then: Then, partitions: int) -> None:
        self._then = then
        self._partitions = partitions
        self._out: dict[int, list[Edge]] = defaultdict(list)
        self._held = 0

    def add(self, a: str, b: str) -> None:
        self._out[partition_of(a, self._partitions)].append((a, b))
        self._held += 1
        if self._then == "both":
            self._out[partition_of(b, self._partitions)].append((b, a))
        elif self._then == "labels":
            self._out[partition_of(b, self._partitions)].append((b, b))

    def drain(self) -> list[Batch]:
        """The batches so far, one (partition, edges) per partition; the collector empties."""
        batches = list(self._out.items())
        self._out.clear()
        self._held = 0
        return batches

    def drain_when_full(self) -> list[Batch]:
        """``drain()`` once ``FLUSH_EDGES`` edges are held, else nothing."""
        return self.drain() if self._held >= FLUSH_EDGES else []


class _Batcher(beam.DoFn):
    """A DoFn that sends its bundle's edges in batches by partition."""

    def __init__(self, then: Then, partitions: int) -> None:
        self._then = then
        self._partitions = partitions

    def start_bundle(self) -> None:
        self._batches = EdgeBatches(self._then, self._partitions)

    def emit(self, a: str, b: str) -> None:
        self._batches.add(a, b)

    def full(self) -> list[Batch]:
        return self._batches.drain_when_full()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for batch in self._batches.drain():
            yield in_global_window(batch)


class _Orient(_Batcher):
    def process(self, edge: Edge) -> Iterator[Batch]:
        self.emit(max(edge), min(edge))
        yield from self.full()


def _neighbourhoods(batches: Iterable[list[Edge]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for edges in batches:
        for node, neighbour in edges:
            found[node].append(neighbour)
    return found


class _LargeStar(_Batcher):
    """Every larger neighbour of a node is linked to the smallest node of its neighbourhood."""

    def process(self, element: tuple[int, Iterable[list[Edge]]]) -> Iterator[Batch]:
        for node, neighbours in _neighbourhoods(element[1]).items():
            smallest = min(min(neighbours), node)
            for neighbour in neighbours:
                if neighbour > node:
                    self.emit(neighbour, smallest)
        yield from self.full()


class _SmallStar(_Batcher):
    """A node and its smaller neighbours are all linked to the smallest of them."""

    def process(self, element: tuple[int, Iterable[list[Edge]]]) -> Iterator[Batch]:
        for node, smaller in _neighbourhoods(element[1]).items():
            linked = set(smaller)
            linked.add(node)
            smallest = min(linked)
            for other in linked:
                if other != smallest:
                    self.emit(other, smallest)
        yield from self.full()


def _smallest_labels(element: tuple[int, Iterable[list[Edge]]]) -> Iterator[Edge]:
    for node, labels in _neighbourhoods(element[1]).items():
        yield node, min(labels)


class ConnectedComponents(beam.PTransform):
    """Edges (u, v) → (node, label) for every node on an edge; label = component minimum.

    ``batched``: edges come in as ``EdgeBatches("both")`` give them, and labels go out as
    lists of (node, label), one per partition.
    """

    def __init__(self, rounds: int, partitions: int = PARTITIONS, batched: bool = False) -> None:
        super().__init__()
        if rounds < 1:
            raise ValueError(f"connected components need at least one round, not {rounds}")
        self._rounds = rounds
        self._partitions = partitions
        self._batched = batched

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        parts = self._partitions
        current = edges
        if not self._batched:
            current = edges | "Orient" >> beam.ParDo(_Orient("both", parts))
        for i in range(self._rounds):
            last = i == self._rounds - 1
            current = (
                current
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.ParDo(_LargeStar("first", parts))
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.ParDo(_SmallStar("labels" if last else "both", parts))
            )
        grouped = current | "GroupLabels" >> beam.GroupByKey()
        if self._batched:
            return grouped | "SmallestLabels" >> beam.Map(lambda e: list(_smallest_labels(e)))
        return grouped | "SmallestLabel" >> beam.FlatMap(_smallest_labels)


class _MembersByLabel(_Batcher):
    def __init__(self, then: Then, partitions: int, batched: bool) -> None:
        super().__init__(then, partitions)
        self._batched = batched

    def process(self, element: Edge | list[Edge]) -> Iterator[Batch]:
        for node, label in element if self._batched else [element]:
            self.emit(label, "")
            self.emit(node, label)
        yield from self.full()


def _members_under_a_non_root(element: tuple[int, Iterable[list[Edge]]]) -> int:
    own: dict[str, str] = {}
    members: dict[str, int] = defaultdict(int)
    for edges in element[1]:
        for node, label in edges:
            if label:
                own[node] = label
            else:
                members[node] += 1
    return sum(n for label, n in members.items() if own.get(label, label) != label)


def unconverged(
    labels: beam.PCollection, partitions: int = PARTITIONS, batched: bool = False
) -> beam.PCollection:
    """How many nodes have a label that itself has a smaller label (0 once converged).

    ``batched``: labels come as lists, as ``ConnectedComponents(batched=True)`` gives them.
    """
    return (
        labels
        | "MembersAndOwnLabels" >> beam.ParDo(_MembersByLabel("first", partitions, batched))
        | "JoinLabelOfLabel" >> beam.GroupByKey()
        | "MembersUnderNonRoot" >> beam.Map(_members_under_a_non_root)
        | "CountUnconverged" >> beam.CombineGlobally(sum)
    )
