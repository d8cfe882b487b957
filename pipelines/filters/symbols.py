"""Shares of symbols, punctuation and digits among the non-space characters.

Classes follow Unicode general categories (S*, P*, N*; see :mod:`pipelines.filters.scripts`):
``×``, ``^``, ``℃``, ``+`` are symbols; ``%``, ``/``, ``.``, ``，`` punctuation. Gopher's symbol
rule counts ``#`` and ``...`` per word, which has no counterpart in unsegmented Chinese, so the
defaults of :class:`SymbolFilterConfig` are calibrated here, on five real Chinese medical
sources (17,672 texts) and a lab report (``血常规：WBC 12.3×10^9/L，NEUT% 85.2%，…``):

==============  ==============  ==========  =========
share           real, p99.9     lab report  maximum
==============  ==============  ==========  =========
symbols         0.05 (max .11)  0.04        0.25
punctuation     0.27            0.21        0.35
digits          0.28 (max .37)  0.22-0.32   0.5
==============  ==============  ==========  =========

Digits get the widest margin because lab reports and prescriptions (``柴胡15克枳实15克``) are
mostly numbers and are what a medical corpus is for; punctuation above 0.35 is in practice a
run of ``。。。。`` padding a short answer.
"""

from __future__ import annotations

from pipelines.filters.config import SymbolFilterConfig
from pipelines.filters.document import Drop, FilterDocument, QualityFilter, above
from pipelines.filters.scripts import CharClass


class SymbolFilter(QualityFilter):
    name = "symbols"

    def __init__(self, config: SymbolFilterConfig) -> None:
        self._limits = (
            ("high_symbol_fraction", (CharClass.SYMBOL,), config.max_symbol_fraction),
            (
                "high_punctuation_fraction",
                (CharClass.PUNCT, CharClass.CJK_PUNCT),
                config.max_punctuation_fraction,
            ),
            ("high_digit_fraction", (CharClass.DIGIT,), config.max_digit_fraction),
        )

    def reasons(self) -> list[str]:
        return [reason for reason, _, _ in self._limits]

    def apply(self, document: FilterDocument) -> Drop | None:
        counts, total = document.class_counts, document.non_space_chars
        if not total:
            return None
        for reason, classes, limit in self._limits:
            fraction = sum(counts[c] for c in classes) / total
            if fraction > limit:
                return Drop(reason, above(fraction, limit))
        return None
