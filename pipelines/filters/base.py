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
from pipelines.filters.document import FilterDocument, QualityFilter
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
        """:meth:`run` on each text; the character classes of the batch counted at once."""
        counts = batch_class_counts(texts)
        return [
            self._run(FilterDocument.with_class_counts(text, text_counts))
            for text, text_counts in zip(texts, counts, strict=True)
        ]

    def _run(self, document: FilterDocument) -> FilterOutcome:
        for quality_filter in self.filters:
            drop = quality_filter.apply(document)
            if drop is not None:
                return FilterOutcome(
                    document.text,
                    document.language,
                    quality_filter.name,
                    drop.reason,
                    drop.detail,
                    document.edits,
                )
        return FilterOutcome(document.text, document.language, None, None, None, document.edits)
