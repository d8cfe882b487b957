"""Connected components of the duplicate graph inside Beam: alternating large-star/small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): a large-star
step links every node to the smallest node in its neighbourhood, a small-star step links a
node's smaller neighbours to the smallest of them. Each round is a GroupByKey on edges, so
nothing is collected into the driver and no structure must hold the graph: a worker holds
one node's neighbours at a time, iterated twice (Beam pages large groups). The paper proves
O(log² n) rounds and measures about log n; the rounds are unrolled in the graph, a fixed
number (``component_rounds``, default 8), and ``unconverged`` counts the nodes whose label
is not yet their component's minimum, so a run can tell.

Nodes are strings that sort in keep order (pipelines.dedup.near.node_key): the minimum of a
component is the copy to keep, and a component's label is that node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam

Edge = tuple[str, str]


def _both_directions(edge: Edge) -> Iterator[Edge]:
    yield edge
    yield edge[1], edge[0]


def _large_star(element: tuple[str, Iterable[str]]) -> Iterator[Edge]:
    node, neighbours = element
    smallest = min(min(neighbours), node)
    for neighbour in neighbours:
        if neighbour > node:
            yield neighbour, smallest


def _small_star(element: tuple[str, Iterable[str]]) -> Iterator[Edge]:
    node, smaller = element
    linked = set(smaller)
    linked.add(node)
    smallest = min(linked)
    for other in linked:
        if other != smallest:
            yield other, smallest


def _labels(edge: Edge) -> Iterator[Edge]:
    yield edge
    yield edge[1], edge[1]


class ConnectedComponents(beam.PTransform):
    """Edges (u, v) → (node, label) for every node on an edge; label = component minimum."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self._rounds = rounds

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        current = edges | "Orient" >> beam.Map(lambda e: (max(e), min(e)))
        for i in range(self._rounds):
            current = (
                current
                | f"LargeStarEdges{i}" >> beam.FlatMap(_both_directions)
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.FlatMap(_large_star)
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.FlatMap(_small_star)
            )
        return (
            current
            | "LabelEdges" >> beam.FlatMap(_labels)
            | "SmallestLabel" >> beam.CombinePerKey(min)
        )


def _members_under_a_non_root(element: tuple[str, dict[str, Iterable[str]]]) -> int:
    label, joined = element
    if all(own == label for own in joined["own"]):
        return 0
    return sum(1 for _ in joined["members"])


def unconverged(labels: beam.PCollection) -> beam.PCollection:
    """How many nodes have a label that itself has a smaller label (0 once converged)."""
    return (
        {"members": labels | "ByLabel" >> beam.Map(lambda kv: (kv[1], kv[0])), "own": labels}
        | "JoinLabelOfLabel" >> beam.CoGroupByKey()
        | "MembersUnderNonRoot" >> beam.Map(_members_under_a_non_root)
        | "CountUnconverged" >> beam.CombineGlobally(sum)
    )
