"""Shingles of a text, folded so that copies that differ only in form share them.

Folding: the project's normalisation (traditional→simplified, whitespace), then NFKC
(full-width and half-width forms become one), case folding, and every character that is not
a letter or a digit removed (punctuation, spaces, symbols). Chinese gets character n-grams of
the folded text (default 5, issue 4); text with few CJK characters gets word n-grams, and
``jieba`` gets n-grams of jieba words. A text shorter than n is one shingle; an empty one none.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from pipelines.dedup.config import Shingling
from pipelines.normalize import NormalizeConfig, normalize_text

_NOT_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_WORD = re.compile(r"\w+")
# Below this share of CJK characters a text is shingled by words (English, Latin codes).
CJK_SHARE_FOR_CHARS = 0.3
_NORMALIZE = NormalizeConfig(traditional_to_simplified=True, strip_html=False)


def _punctuation_kept_by_nfkc() -> re.Pattern[str]:
    """CJK and full-width punctuation that is punctuation before and after NFKC."""
    candidates = [chr(c) for lo, hi in _CJK_PUNCTUATION for c in range(lo, hi + 1)]
    dropped = [
        c
        for c in candidates
        if _NOT_WORD.fullmatch(c) and not _WORD.search(unicodedata.normalize("NFKC", c))
    ]
    return re.compile("[" + "".join(re.escape(c) for c in dropped) + "]+")


_CJK_PUNCTUATION = (
    (0x3000, 0x303F),
    (0xFF01, 0xFF0F),
    (0xFF1A, 0xFF20),
    (0xFF3B, 0xFF40),
    (0xFF5B, 0xFF65),
)
_PUNCTUATION = _punctuation_kept_by_nfkc()


def fold(text: str) -> str:
    """The text with form removed: simplified, NFKC, case-folded, no punctuation or spaces."""
    text = normalize_text(text, _NORMALIZE)
    # Chinese punctuation (，。：) is not NFKC: dropping it first, which folding does anyway,
    # lets the quick check spare most Chinese text the cost of NFKC.
    text = _PUNCTUATION.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _NOT_WORD.sub("", text.casefold())


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    return jieba


def _grams(tokens: list[str] | str, n: int, joiner: str) -> set[str]:
    if isinstance(tokens, str):
        return {tokens[i : i + n] for i in range(max(1, len(tokens) - n + 1))} if tokens else set()
    if len(tokens) <= n:
        return {joiner.join(tokens)} if tokens else set()
    return {joiner.join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def shingles(text: str, n: int, method: Shingling = "auto") -> set[str]:
    """The set of shingles of ``text``."""
    if method == "auto":
        folded = fold(text)
        cjk = len(_CJK.findall(folded))
        method = "char" if not folded or cjk >= CJK_SHARE_FOR_CHARS * len(folded) else "word"
        if method == "char":
            return _grams(folded, n, "")
    if method == "char":
        return _grams(fold(text), n, "")
    if method == "word":
        return _grams(_words(normalize_text(text, _NORMALIZE)), n, " ")
    words = [w for w in _jieba().lcut(fold(text)) if w]
    return _grams(words, n, " ")


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two shingle sets; two empty sets are not similar."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
