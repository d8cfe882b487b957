"""Shingles of a text, folded so that copies that differ only in form share them.

Folding: traditional→simplified (OpenCC ``t2s``, only where a text needs it), then NFKC
(full-width and half-width forms become one), case folding, and every character that is not
a letter or a digit removed (punctuation, spaces, symbols). Chinese gets character n-grams of
the folded text (default 5, issue 4); text with few CJK characters gets word n-grams, and
``jieba`` gets n-grams of jieba words. A text shorter than n is one shingle; an empty one none.

``shingles`` gives the set of strings; ``shingle_hashes`` gives the same sets as 64-bit
hashes for a batch of texts at once, which is what MinHash and the pair check use: a
character n-gram's code points (21 bits each) are packed three to a word and mixed with
SplitMix64's finaliser, in numpy over the whole batch; word and jieba shingles (and a text
shorter than n) are hashed one by one with BLAKE2b. Pin ``HASH_SCHEME`` with signatures.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from pipelines.dedup.config import Shingling
from pipelines.normalize import (
    NormalizeConfig,
    normalize_text,
    to_simplified,
    to_simplified_many,
)

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
    """The text with form removed: simplified, NFKC, case-folded, no punctuation or spaces.

    One text goes through string passes (about 4× faster than numpy's set-up for one);
    ``fold_many`` gives the same for a batch.
    """
    return _fold_slowly(to_simplified(text))


def fold_many(texts: Sequence[str]) -> list[str]:
    """``fold`` of each text, a batch at a time."""
    points, offsets = _folded_points(texts)
    joined = _text_of(points)
    return [joined[offsets[i] : offsets[i + 1]] for i in range(len(texts))]


def _fold_slowly(text: str) -> str:
    """``fold`` of a simplified text by string passes (and of one whose characters need
    context to fold)."""
    # Chinese punctuation (，。：) is not NFKC: dropping it first, which folding does anyway,
    # lets the quick check spare most Chinese text the cost of NFKC.
    text = _PUNCTUATION.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _NOT_WORD.sub("", text.casefold())


@cache
def _fold_table() -> np.ndarray:
    """Per BMP code point: the code point it folds to, ``_DROPPED`` or ``_IN_CONTEXT``.

    A character folds to ``casefold(NFKC(c))`` and stays when that is one word character.
    One that NFKC may compose with its neighbours (combining marks, Hangul jamo) or that
    folds to several characters sends its text to ``_fold_slowly``. Built once, from all
    BMP characters at a time (about 50 ms).
    """
    codes = [code for code in range(0x10000) if code != _LINE_BREAK]
    folded = unicodedata.normalize("NFKC", "\n".join(map(chr, codes))).casefold().split("\n")
    table = np.full(0x10000, _DROPPED, dtype=np.int64)
    for code, result in zip(codes, folded, strict=True):
        if len(result) != 1 or unicodedata.category(chr(code))[0] == "M":
            table[code] = _IN_CONTEXT
        elif result.isalnum():
            table[code] = ord(result)
    for lo, hi in _JAMO:
        table[lo : hi + 1] = _IN_CONTEXT
    return table


_LINE_BREAK = 10
_DROPPED = -1
_IN_CONTEXT = -2
_JAMO = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))
# Astral ideographs (CJK extensions B-H) fold to themselves; other astral characters
# (emoji, compatibility ideographs) fold by string passes.
_ASTRAL_IDEOGRAPHS = ((0x20000, 0x2A6DF), (0x2A700, 0x2EBEF), (0x30000, 0x3134F))


def _folded_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The folded texts' code points, end to end, and ``len(texts) + 1`` offsets into them.

    Done on code points in numpy for the whole batch; traditional→simplified runs per text
    first, and only where the text holds a character that ``t2s`` converts.
    """
    simplified = to_simplified_many(texts)
    lengths = np.fromiter(map(len, simplified), dtype=np.int64, count=len(simplified))
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    raw = np.frombuffer(
        "".join(simplified).encode("utf-32-le", errors="surrogatepass"), dtype="<u4"
    )
    folds_to = _fold_table()[np.where(raw >= 0x10000, 0, raw)]
    astral = raw >= 0x10000
    if astral.any():
        ideograph = np.zeros(len(raw), dtype=bool)
        for lo, hi in _ASTRAL_IDEOGRAPHS:
            ideograph |= (raw >= lo) & (raw <= hi)
        folds_to = np.where(astral, np.where(ideograph, raw, _IN_CONTEXT), folds_to)
    slow = folds_to == _IN_CONTEXT
    keep = folds_to >= 0
    mapped = folds_to
    slow_before = np.concatenate(([0], np.cumsum(slow)))
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    folded = mapped[keep].astype(np.uint32)
    if not slow_before[-1]:
        return folded, kept_before[bounds]
    pieces = []
    for i, text in enumerate(simplified):
        if slow_before[bounds[i + 1]] > slow_before[bounds[i]]:
            pieces.append(
                np.frombuffer(
                    _fold_slowly(text).encode("utf-32-le", errors="surrogatepass"), dtype="<u4"
                )
            )
        else:
            pieces.append(folded[kept_before[bounds[i]] : kept_before[bounds[i + 1]]])
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=offsets[1:])
    return np.concatenate(pieces).astype(np.uint32, copy=False), offsets


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


HASH_SCHEME = "medloom-pack21-splitmix64/1"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CJK_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, element-wise (uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _window_hashes(points: np.ndarray, n: int) -> np.ndarray:
    """A hash of every window of ``n`` code points, by its start."""
    width = len(points) - n + 1
    if width <= 0:
        return np.empty(0, dtype=np.uint64)
    hashes = np.zeros(width, dtype=np.uint64)
    for first in range(0, n, 3):
        packed = np.zeros(width, dtype=np.uint64)
        for k in range(first, min(first + 3, n)):
            packed = (packed << np.uint64(21)) | points[k : k + width]
        hashes = mix(hashes ^ (packed + _GOLDEN))
    return hashes


def _string_hashes(strings: set[str] | list[str]) -> np.ndarray:
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
            for s in strings
        ),
        dtype=np.uint64,
        count=len(strings),
    )


def shingle_hashes(
    texts: Sequence[str], n: int, method: Shingling = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """The shingles of each text as 64-bit hashes: a flat array and ``len(texts) + 1`` offsets.

    Text ``i`` owns ``flat[offsets[i]:offsets[i + 1]]``, which may repeat a hash; its set is
    ``hash_sets``. The sets correspond one to one with ``shingles(text, n, method)``.
    """
    if method in ("word", "jieba"):
        return _flatten([_string_hashes(shingles(text, n, method)) for text in texts])
    folded, offsets = _folded_points(texts)
    points = folded.astype(np.uint64)
    starts, ends = offsets[:-1], offsets[1:]
    is_cjk = np.zeros(len(points), dtype=np.int64)
    for lo, hi in _CJK_RANGES:
        is_cjk += (points >= lo) & (points <= hi)
    cjk_before = np.concatenate(([0], np.cumsum(is_cjk)))
    windows = _window_hashes(points, n)
    pieces = []
    for text, start, end in zip(texts, starts.tolist(), ends.tolist(), strict=True):
        length = end - start
        cjk = int(cjk_before[end] - cjk_before[start])
        if method == "auto" and length and cjk < CJK_SHARE_FOR_CHARS * length:
            pieces.append(_string_hashes(shingles(text, n, "word")))
        elif length >= n:
            pieces.append(windows[start : end - n + 1])
        elif length:
            pieces.append(_string_hashes([_text_of(folded[start:end])]))
        else:
            pieces.append(np.empty(0, dtype=np.uint64))
    return _flatten(pieces)


def _text_of(points: np.ndarray) -> str:
    return points.astype("<u4").tobytes().decode("utf-32-le", errors="surrogatepass")


def _flatten(pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=offsets[1:])
    flat = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint64)
    return flat.astype(np.uint64, copy=False), offsets


def hash_sets(flat: np.ndarray, offsets: np.ndarray, bits: int = 64) -> list[np.ndarray]:
    """Each text's shingle hashes, sorted and distinct (one sort in place per text).

    ``bits=32`` keeps the top half of each hash (uint32): half the bytes to carry, and two
    sets of a thousand shingles share a false 32-bit value with probability about 2e-4.
    """
    ordered = (flat >> np.uint64(32)).astype(np.uint32) if bits == 32 else flat.copy()
    sizes = np.diff(offsets)
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        ordered[start:end].sort()
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    first[offsets[:-1][sizes > 0]] = True
    text_of = np.repeat(np.arange(len(sizes)), sizes)
    kept = np.zeros(len(offsets), dtype=np.int64)
    np.cumsum(np.bincount(text_of[first], minlength=len(sizes)), out=kept[1:])
    distinct = ordered[first]
    return [distinct[kept[i] : kept[i + 1]] for i in range(len(sizes))]


def hash_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted, distinct hash arrays; two empty ones are not similar."""
    if not len(a) or not len(b):
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    found = np.searchsorted(b, a)
    found[found == len(b)] = 0
    common = int(np.count_nonzero(b[found] == a))
    return common / (len(a) + len(b) - common)
