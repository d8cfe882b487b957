"""Counting that every stage shares: one base DoFn, one stats side output.

A stage counts into ``self.count(source, metric)``; the counts leave each bundle as
``((source, metric), n)`` pairs on the ``stats`` output and are summed by a combiner.
The run manifest and report are built from these sums, so every drop is a named count.
Beam metrics counters are kept beside them for the runner's UI (Dataflow shows them).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

STATS = "stats"
ALL_SOURCES = "*"

# The cyclic garbage collector's first threshold in a worker (CPython's default: 700).
GC_FIRST_THRESHOLD = 50_000

# Length histogram edges in characters; the last bucket is open-ended.
LENGTH_EDGES = (0, 50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000, 50000)


def in_global_window(value: Any) -> WindowedValue:
    """``value`` as ``finish_bundle`` must emit it: with its window (the global one)."""
    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


def length_bucket(length: int) -> int:
    """Index of the LENGTH_EDGES bucket that holds ``length``."""
    for i in range(len(LENGTH_EDGES) - 1, -1, -1):
        if length >= LENGTH_EDGES[i]:
            return i
    return 0


def collect_garbage_rarely() -> None:
    """Run the cyclic garbage collector less often in this worker process.

    A batch of documents is thousands of small dicts and lists: at CPython's default
    threshold of 700 new containers the collector runs thousands of times a run, and every
    full collection walks all of Beam's, numpy's and pyarrow's objects as well (about a
    tenth of the pipeline's CPU on the 30 MB benchmark corpus). Documents hold no reference
    cycles (reference counting frees them): rarer collections only leave the odd cycle of
    Beam's a little longer.
    """
    first, second, third = gc.get_threshold()
    if first < GC_FIRST_THRESHOLD:
        gc.set_threshold(GC_FIRST_THRESHOLD, second, third)


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
