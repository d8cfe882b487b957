"""Length bounds, in characters.

Gopher (Rae et al. 2021, appendix A.1.1) keeps documents of 50 to 100,000 words. A Han word
is 1.8 characters on average (jieba, CMtMedQA), so Gopher's bounds are about 90 and 180,000
characters; the defaults of :class:`LengthFilterConfig` (50 and 200,000) are a little wider
at the short end, where a doctor's answer to a precise question is often under 90 characters.
Reasons: ``empty`` (nothing but white space), ``too_short``, ``too_long``.
"""

from __future__ import annotations

from pipelines.filters.config import LengthFilterConfig
from pipelines.filters.document import Drop, FilterDocument, QualityFilter


class LengthFilter(QualityFilter):
    name = "length"

    def __init__(self, config: LengthFilterConfig) -> None:
        self._config = config

    def reasons(self) -> list[str]:
        return ["empty", "too_short", "too_long"]

    def apply(self, document: FilterDocument) -> Drop | None:
        length, config = len(document.text), self._config
        if not document.text.strip():
            return Drop("empty", "0 chars")
        if length < config.min_chars:
            return Drop("too_short", f"{length} < {config.min_chars} chars")
        if length > config.max_chars:
            return Drop("too_long", f"{length} > {config.max_chars} chars")
        return None
