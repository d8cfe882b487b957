"""The filter chain: every enabled filter in a fixed order, the first drop decides.

Order (cheapest first, and boilerplate first because it edits the text the others judge):
boilerplate, length, language, CJK share, symbols, repetition. Statistics several filters
share (character classes, language) are computed once per document, in
:class:`~pipelines.filters.document.FilterDocument`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.filters.boilerplate import BoilerplateFilter
from pipelines.filters.cjk import CjkFilter
from pipelines.filters.config import FiltersConfig
from pipelines.filters.document import Drop, FilterDocument, QualityFilter
from pipelines.filters.language import LanguageFilter
from pipelines.filters.length import LengthFilter
from pipelines.filters.repetition import RepetitionFilter
from pipelines.filters.scripts import batch_class_counts
from pipelines.filters.symbols import SymbolFilter


@dataclass(frozen=True)
class FilterOutcome:
    """What the chain decided about one document."""

    text: str  # possibly edited (boilerplate lines removed)
    language: str  # ISO 639-1 code, or "und"
    rejected_by: str | None  # the filter's name; None when kept
    reason: str | None  # the named reason, e.g. "dup_line_fraction"
    detail: str | None  # the measured value against its threshold, e.g. "0.412 > 0.287"
    edits: dict[str, int] = field(default_factory=dict)  # e.g. {"boilerplate_lines_removed": 2}


class FilterChain:
    """The enabled quality filters of ``config``, in chain order."""

    def __init__(self, config: FiltersConfig) -> None:
        candidates: list[tuple[bool, QualityFilter]] = [
            (config.boilerplate.enabled, BoilerplateFilter(config.boilerplate)),
            (config.length.enabled, LengthFilter(config.length)),
            (config.language.enabled, LanguageFilter(config.language)),
            (config.cjk.enabled, CjkFilter(config.cjk)),
            (config.symbols.enabled, SymbolFilter(config.symbols)),
            (config.repetition.enabled, RepetitionFilter(config.repetition)),
        ]
        self.filters = [quality_filter for enabled, quality_filter in candidates if enabled]

    def reasons(self) -> list[tuple[str, str]]:
        """Every (filter, reason) the chain can produce, in chain order."""
        return [(f.name, reason) for f in self.filters for reason in f.reasons()]

    def run(self, text: str) -> FilterOutcome:
        return self._run(FilterDocument(text))

    def run_batch(self, texts: list[str]) -> list[FilterOutcome]:
        """:meth:`run` on each text, one filter at a time over the texts still kept.

        The character classes of the batch are counted at once, and a filter may decide
        for all its documents at once (:meth:`QualityFilter.apply_batch`).
        """
        counts = batch_class_counts(texts)
        documents = [
            FilterDocument.with_class_counts(text, text_counts)
            for text, text_counts in zip(texts, counts, strict=True)
        ]
        drops: list[tuple[str, Drop] | None] = [None] * len(documents)
        pending = list(range(len(documents)))
        for quality_filter in self.filters:
            if not pending:
                break
            decided = quality_filter.apply_batch([documents[i] for i in pending])
            for i, drop in zip(pending, decided, strict=True):
                if drop is not None:
                    drops[i] = (quality_filter.name, drop)
            pending = [i for i in pending if drops[i] is None]
        return [_outcome(document, drop) for document, drop in zip(documents, drops, strict=True)]

    def _run(self, document: FilterDocument) -> FilterOutcome:
        for quality_filter in self.filters:
            drop = quality_filter.apply(document)
            if drop is not None:
                return _outcome(document, (quality_filter.name, drop))
        return _outcome(document, None)


def _outcome(document: FilterDocument, drop: tuple[str, Drop] | None) -> FilterOutcome:
    if drop is None:
        return FilterOutcome(document.text, document.language, None, None, None, document.edits)
    name, decision = drop
    return FilterOutcome(
        document.text, document.language, name, decision.reason, decision.detail, document.edits
    )
