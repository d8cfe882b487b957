"""Character-level evaluation of de-identification against gold spans.

The measures are those of the issue: character recall and precision regardless of
category (a name found as a name or as an address is found), F2 (recall weighs four
times as much as precision: a missed identifier costs more than a redacted word), recall
per gold category, recall on direct identifiers, the document leak rate (share of
documents with any direct-identifier character left), and, on clean controls, the share
of characters redacted where there was nothing to redact.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.deid.spans import DIRECT_CATEGORIES, PhiSpan

Interval = tuple[int, int]


@dataclass
class EvalReport:
    """Counts in characters; ratios derived from them."""

    documents: int = 0
    gold_chars: int = 0
    predicted_chars: int = 0
    correct_chars: int = 0
    direct_chars: int = 0
    direct_found: int = 0
    leaked_documents: int = 0
    gold_by_category: dict[str, int] = field(default_factory=dict)
    found_by_category: dict[str, int] = field(default_factory=dict)
    clean_documents: int = 0
    clean_chars: int = 0
    clean_redacted: int = 0

    @property
    def recall(self) -> float:
        return _ratio(self.correct_chars, self.gold_chars)

    @property
    def precision(self) -> float:
        return _ratio(self.correct_chars, self.predicted_chars)

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0

    @property
    def direct_recall(self) -> float:
        return _ratio(self.direct_found, self.direct_chars)

    @property
    def leak_rate(self) -> float:
        return self.leaked_documents / self.documents if self.documents else 0.0

    @property
    def clean_redaction(self) -> float:
        return self.clean_redacted / self.clean_chars if self.clean_chars else 0.0

    def recall_by_category(self) -> dict[str, float]:
        return {
            category: _ratio(self.found_by_category.get(category, 0), chars)
            for category, chars in sorted(self.gold_by_category.items())
        }

    def add_document(self, gold: Sequence[PhiSpan], predicted: Sequence[PhiSpan]) -> None:
        """Count one annotated document."""
        found = merge((s.start, s.end) for s in predicted)
        gold_merged = merge((s.start, s.end) for s in gold)
        self.documents += 1
        self.gold_chars += _length(gold_merged)
        self.predicted_chars += _length(found)
        self.correct_chars += overlap(gold_merged, found)
        leaked = False
        ends = [end for _, end in found]
        for span in gold:
            length = span.end - span.start
            first = bisect.bisect_right(ends, span.start)
            covered = overlap([(span.start, span.end)], found[first : first + length + 1])
            category = span.category
            self.gold_by_category[category] = self.gold_by_category.get(category, 0) + length
            self.found_by_category[category] = self.found_by_category.get(category, 0) + covered
            if category in DIRECT_CATEGORIES:
                self.direct_chars += length
                self.direct_found += covered
                leaked = leaked or covered < length
        self.leaked_documents += leaked

    def add_clean(self, text: str, predicted: Sequence[PhiSpan]) -> None:
        """Count one clean control: any redaction in it is over-redaction."""
        self.clean_documents += 1
        self.clean_chars += len(text)
        self.clean_redacted += _length(merge((s.start, s.end) for s in predicted))

    def as_dict(self) -> dict[str, object]:
        return {
            "documents": self.documents,
            "gold_chars": self.gold_chars,
            "predicted_chars": self.predicted_chars,
            "correct_chars": self.correct_chars,
            "recall": self.recall,
            "precision": self.precision,
            "f2": self.f2,
            "direct_recall": self.direct_recall,
            "leak_rate": self.leak_rate,
            "leaked_documents": self.leaked_documents,
            "recall_by_category": self.recall_by_category(),
            "clean_documents": self.clean_documents,
            "clean_chars": self.clean_chars,
            "clean_redacted": self.clean_redacted,
            "clean_redaction": self.clean_redaction,
        }

    def lines(self) -> list[str]:
        """The report as a person reads it."""
        out = [
            f"documents: {self.documents}",
            f"characters: gold {self.gold_chars}, predicted {self.predicted_chars}, "
            f"correct {self.correct_chars}",
            f"recall: {self.recall:.4f}",
            f"precision: {self.precision:.4f}",
            f"F2: {self.f2:.4f}",
            f"direct-identifier recall: {self.direct_recall:.4f}",
            f"document leak rate: {self.leak_rate:.4f} "
            f"({self.leaked_documents} of {self.documents})",
            "recall by category:",
        ]
        for category, value in self.recall_by_category().items():
            out.append(f"  {category:<10} {value:.4f} ({self.gold_by_category[category]} chars)")
        if self.clean_documents:
            out.append(
                f"clean controls: {self.clean_redaction:.4f} of characters redacted "
                f"({self.clean_redacted} of {self.clean_chars}, {self.clean_documents} documents)"
            )
        return out


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same characters."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap(a: Sequence[Interval], b: Sequence[Interval]) -> int:
    """Characters two sorted, disjoint interval lists share."""
    total = i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _length(intervals: Sequence[Interval]) -> int:
    return sum(end - start for start, end in intervals)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0
