"""Counting that every stage shares: one base DoFn, one stats side output.

A stage counts into ``self.count(source, metric)``; the counts leave each bundle as
``((source, metric), n)`` pairs on the ``stats`` output and are summed by a combiner.
The run manifest and report are built from these sums, so every drop is a named count.
Beam metrics counters are kept beside them for the runner's UI (Dataflow shows them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.runtime import collect_garbage_rarely

STATS = "stats"
ALL_SOURCES = "*"

# Length histogram edges in characters; the last bucket is open-ended.
LENGTH_EDGES = (0, 50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000, 50000)


def in_global_window(value: Any) -> WindowedValue:
    """``value`` as ``finish_bundle`` must emit it: with its window (the global one)."""
    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


def length_bucket(length: int) -> int:
    """Index of the LENGTH_EDGES bucket that holds ``length``."""
    # Once per document at two stages: a binary search in C, not a loop over the edges.
    return max(0, bisect_right(LENGTH_EDGES, length) - 1)


def length_buckets(lengths: np.ndarray) -> np.ndarray:
    """``length_bucket`` of each of ``lengths``, at once."""
    return np.maximum(np.searchsorted(LENGTH_EDGES, lengths, side="right") - 1, 0)


class CountingDoFn(beam.DoFn):
    """A DoFn that counts per source and metric and emits the sums per bundle.

    Its ``setup`` makes the worker collect garbage rarely (:func:`collect_garbage_rarely`);
    a subclass with its own ``setup`` calls ``super().setup()``.
    """

    namespace = "medloom"

    def setup(self) -> None:
        collect_garbage_rarely()

    def start_bundle(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def count(self, source: str, metric: str, n: int = 1) -> None:
        self._counts[(source, metric)] += n

    def finish_bundle(self) -> Iterator[Any]:
        for key, n in self._counts.items():
            beam.metrics.Metrics.counter(self.namespace, f"{key[0]}:{key[1]}").inc(n)
            yield beam.pvalue.TaggedOutput(STATS, in_global_window((key, n)))
        self._counts.clear()
