"""Exact deduplication: one copy per normalised text, chosen by a rule.

The copy kept is the one from the source with the highest priority, then the one with
the smallest hash of its id: never the first to arrive, so every runner and every
number of workers keeps the same copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from pipelines.hashing import stable_hash, text_key
from pipelines.transforms import REJECTED, Document, reject


def keep_rank(document: Document, priorities: dict[str, int]) -> tuple[int, int, str]:
    """Sort key of the copy to keep: higher source priority, then a hash of the id."""
    return (-priorities.get(document["source"], 0), stable_hash(document["id"]), document["id"])


STAGE = "exact_dedup"


class _KeepOnePerText(beam.DoFn):
    def __init__(
        self, priorities: dict[str, int], excerpt_chars: int, with_excerpt: bool, stage: str
    ) -> None:
        self._stage = stage
        self._priorities = priorities
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def process(self, element: tuple[str, Iterable[Document]]) -> Iterator[Any]:
        _, copies = element
        ordered = sorted(copies, key=lambda d: keep_rank(d, self._priorities))
        kept = ordered[0]
        yield kept
        for duplicate in ordered[1:]:
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                reject(
                    duplicate,
                    self._stage,
                    "duplicate",
                    f"duplicate of {kept['id']}",
                    self._excerpt_chars,
                    self._with_excerpt,
                ),
            )


class ExactDedup(beam.PTransform):
    """Keep one document per normalised text, chosen by rule, never by arrival order."""

    def __init__(
        self,
        priorities: dict[str, int],
        excerpt_chars: int,
        with_excerpt: bool,
        stage: str = STAGE,
    ) -> None:
        super().__init__()
        self._stage = stage
        self._priorities = priorities
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            documents
            | "KeyByText" >> beam.Map(lambda d: (text_key(d["text"]), d))
            | "GroupCopies" >> beam.GroupByKey()
            | "KeepOne"
            >> beam.ParDo(
                _KeepOnePerText(
                    self._priorities, self._excerpt_chars, self._with_excerpt, self._stage
                )
            ).with_outputs(REJECTED, main="kept")
        )
