"""Language: documents in a language outside ``allowed`` (zh and en by default) are dropped.

The language is decided by script, and by langdetect only for texts written mostly in other
scripts; see :mod:`pipelines.filters.scripts` for how and for its thresholds. The detail of a
drop is the detected code (``ja``, ``fr``, ``und`` for a text without letters).
"""

from __future__ import annotations

from pipelines.filters.config import LanguageFilterConfig
from pipelines.filters.document import Drop, FilterDocument, QualityFilter


class LanguageFilter(QualityFilter):
    name = "language"

    def __init__(self, config: LanguageFilterConfig) -> None:
        self._allowed = frozenset(config.allowed)

    def reasons(self) -> list[str]:
        return ["language_not_allowed"]

    def apply(self, document: FilterDocument) -> Drop | None:
        language = document.language
        return None if language in self._allowed else Drop("language_not_allowed", language)
