"""Connected components in Beam: every node labelled with its component's smallest node."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines.dedup.components import ConnectedComponents, unconverged


def test_chain_and_star_get_their_smallest_node() -> None:
    edges = [("e", "d"), ("d", "c"), ("c", "b"), ("b", "a"), ("z", "x"), ("y", "x")]
    with beam.Pipeline() as p:
        labels = p | beam.Create(edges) | ConnectedComponents(rounds=6)
        assert_that(
            labels,
            equal_to([(n, "a") for n in "abcde"] + [(n, "x") for n in "xyz"]),
        )


@pytest.mark.slow
def test_long_path_converges_within_the_rounds() -> None:
    nodes = [f"n{i:03d}" for i in range(200)]
    edges = list(zip(nodes[1::2] + nodes[2::2], nodes[0::2] + nodes[1::2], strict=False))
    with beam.Pipeline() as p:
        labels = p | beam.Create(edges) | ConnectedComponents(rounds=16)
        assert_that(unconverged(labels), equal_to([0]), label="converged")
        assert_that(labels, equal_to([(n, "n000") for n in nodes]), label="labels")


def test_too_few_rounds_are_counted_as_unconverged() -> None:
    nodes = [f"n{i:03d}" for i in range(64)]
    edges = list(zip(nodes[1:], nodes[:-1], strict=True))
    with beam.Pipeline() as p:
        labels = p | beam.Create(edges) | ConnectedComponents(rounds=1)
        assert_that(unconverged(labels) | beam.Map(lambda n: n > 0), equal_to([True]))
