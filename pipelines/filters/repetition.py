"""Repetition: duplicate lines and paragraphs, frequent and duplicated n-grams (Gopher).

The measures are Gopher's (Rae et al. 2021, Table A1, as implemented by datatrove's
``GopherRepetitionFilter``); the thresholds are FineWeb-2's for Chinese (``cmn_Hani`` in
datatrove's ``fineweb-2`` configs), the defaults of :class:`RepetitionFilterConfig`:

* duplicate line fraction: 0.287 (Gopher 0.30);
* duplicate paragraph fraction: 0.30 (Gopher's value, kept);
* top 2-, 3-, 4-gram character fractions: 0.256, 0.201, 0.171 (Gopher 0.20, 0.18, 0.16);
* duplicate 5- to 10-gram character fractions: 0.198, 0.180, 0.165, 0.150, 0.138, 0.127
  (Gopher 0.15 down to 0.10).

Fractions of lines and paragraphs count non-blank ones. N-gram fractions are characters over
the non-space characters of the text, on units that are characters (``unit: char``, the
default) or jieba words (``unit: word``, at jieba's speed: about 0.15 M characters a second).
On characters the FineWeb-2 thresholds, set on words, are stricter: on the 1,144 CMtMedQA
dialogues they drop 9 (0.8%; 0.200 to 0.257 against 0.198 for 5-grams) where words drop 1
(measured here). The nine repeat a long drug or finding across turns (阿立哌唑口腔崩解片,
甲状腺密度不均匀): one word for jieba, many character 5-grams. Use ``unit: word`` where that
matters more than speed.
"""

from __future__ import annotations

import re
from functools import cache

import jieba
import numpy as np

from pipelines.filters.config import RepetitionFilterConfig
from pipelines.filters.document import Drop, FilterDocument, QualityFilter, above
from pipelines.filters.ngrams import (
    BOUNDS_MAX_UNITS,
    NgramStats,
    open_measures,
    within_limits,
)
from pipelines.filters.scripts import CharClass, codepoints

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class RepetitionFilter(QualityFilter):
    name = "repetition"

    def __init__(self, config: RepetitionFilterConfig) -> None:
        self._config = config
        self._top = sorted(config.top_ngram_fractions.items())
        self._duplicate = sorted(config.dup_ngram_fractions.items())

    def reasons(self) -> list[str]:
        return [
            "dup_line_fraction",
            "dup_para_fraction",
            *(f"top_{n}gram_fraction" for n, _ in self._top),
            *(f"dup_{n}gram_fraction" for n, _ in self._duplicate),
        ]

    def apply(self, document: FilterDocument) -> Drop | None:
        return self.apply_batch([document])[0]

    def apply_batch(self, documents: list[FilterDocument]) -> list[Drop | None]:
        """Each document's drop; bounds on the n-gram measures are taken for all at once."""
        if self._config.unit != "char":
            return [self._decide(document, None, False) for document in documents]
        units = [_non_space_units(document) for document in documents]
        fractions = self._top, self._duplicate
        proven = within_limits(units, *fractions).tolist()
        return [
            self._decide(document, text_units, within)
            for document, text_units, within in zip(documents, units, proven, strict=True)
        ]

    def _decide(self, document: FilterDocument, units: str | None, within: bool) -> Drop | None:
        """The drop of one document; ``within``: its n-gram measures are proven in limits."""
        text, config = document.text, self._config
        # A text of one line has no duplicate line or paragraph: no need to split it.
        several = "\n" in text
        for reason, split, limit in (
            ("dup_line_fraction", _split_lines, config.dup_line_fraction),
            ("dup_para_fraction", _PARAGRAPH_BREAK.split, config.dup_para_fraction),
        ):
            fraction = duplicate_fraction(split(text)) if several else 0.0
            if fraction > limit:
                return Drop(reason, above(fraction, limit))
        if within:
            return None
        top, duplicate = self._top, self._duplicate
        if units is not None:
            total = len(units)
            if total <= BOUNDS_MAX_UNITS:
                top_open, duplicate_open = open_measures(
                    units,
                    [(n, limit * total) for n, limit in top],
                    [(n, limit * total) for n, limit in duplicate],
                )
                if not top_open and not duplicate_open:
                    return None
                # Measures the bounds proved within their limits are skipped: they are None.
                top = [(n, limit) for n, limit in top if n in top_open]
                duplicate = [(n, limit) for n, limit in duplicate if n in duplicate_open]
            stats = NgramStats(codepoints(units))
        else:
            stats = self._word_stats(document)
        total = stats.total_chars
        for n, limit in top:
            chars = stats.top_ngram_chars(n, limit * total)
            if chars is not None:
                return Drop(f"top_{n}gram_fraction", above(chars / total, limit))
        for n, limit in duplicate:
            chars = stats.duplicate_ngram_chars(n, limit * total)
            if chars is not None:
                return Drop(f"dup_{n}gram_fraction", above(chars / total, limit))
        return None

    def _word_stats(self, document: FilterDocument) -> NgramStats:
        words = [word for word in _tokenizer().lcut(document.text) if not word.isspace()]
        codes: dict[str, int] = {}
        points = np.array([codes.setdefault(word, len(codes)) for word in words], dtype=np.uint32)
        return NgramStats(points, np.array([len(word) for word in words]))


def _split_lines(text: str) -> list[str]:
    return text.split("\n")


def _non_space_units(document: FilterDocument) -> str:
    units = "".join(document.text.split())
    # ``str.split`` splits at every SPACE-class character and at five others (U+001C to U+001F,
    # U+0085): when as many characters remain as are not SPACE, the text holds none of those.
    if len(units) == document.non_space_chars:
        return units
    points = document.codepoints[document.classes != int(CharClass.SPACE)]
    return points.tobytes().decode("utf-32-le")


def duplicate_fraction(parts: list[str]) -> float:
    """Share of the non-blank parts (lines, paragraphs) that repeat an earlier one."""
    seen: set[str] = set()
    duplicates = total = 0
    for part in parts:
        part = part.strip()
        if not part:
            continue
        total += 1
        if part in seen:
            duplicates += 1
        else:
            seen.add(part)
    return duplicates / total if total else 0.0


@cache
def _tokenizer() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer
