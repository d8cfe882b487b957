"""Character classes and language identification by script, shared by the filters.

Every character falls in one class of :class:`CharClass`, from its Unicode general category
and block (a table over the BMP built once per process; astral characters are looked up one
by one, they are rare). Counting a document's classes is then one table lookup and one
``bincount`` over its code points.

Language identification decides by script first, because langdetect 1.0.9 takes milliseconds
a document and is random unless seeded; it is only asked about texts written mostly in other
scripts than Han, kana and hangul, on their first ``LANGDETECT_PREFIX_CHARS`` characters, with a
fixed seed. Thresholds (chosen here, by script statistics, not taken from a paper):

* ``MIN_CJK_LETTER_SHARE = 0.25``: a text is judged by script when at least a quarter of its
  letters are Han, kana or hangul. Chinese needs far fewer characters than English needs letters
  for the same content (a Han jieba word is 1.8 characters in the CMtMedQA dialogues, an English
  word about 4.7 letters), so such a text is mostly CJK in content: a Chinese lab report full of
  ``WBC``, ``NEUT%`` and ``mmol/L`` is at 0.35, and the lowest of 17,672 real Chinese medical QA
  texts of five sources (a herb's chemical constituents, with their English names) at 0.28.
* ``MIN_KANA_SHARE = 0.1``: kana make up a third or more of running Japanese; Chinese text holds
  none, or a stray ``の`` in a brand name. Above a tenth of the CJK characters, the text is ja.
* ``MIN_HANGUL_SHARE = 0.5``: Korean is written in hangul, with occasional hanja.
"""

from __future__ import annotations

import unicodedata
from enum import IntEnum
from functools import cache

import numpy as np
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

MIN_CJK_LETTER_SHARE = 0.25
MIN_KANA_SHARE = 0.1
MIN_HANGUL_SHARE = 0.5
LANGDETECT_PREFIX_CHARS = 2000


class CharClass(IntEnum):
    OTHER = 0
    SPACE = 1
    HAN = 2
    KANA = 3
    HANGUL = 4
    LATIN = 5
    LETTER = 6
    DIGIT = 7
    CJK_PUNCT = 8
    PUNCT = 9
    SYMBOL = 10


_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))
_KANA_RANGES = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9D))
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))
_LATIN_RANGES = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF))
_CJK_PUNCT_RANGES = (
    (0x3000, 0x303F),
    (0x30FB, 0x30FB),
    (0xFE10, 0xFE1F),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF65),
)

# The class of a character is that of its general category's first letter, refined by block.
_CATEGORY_CLASS = {
    "L": CharClass.LETTER,
    "M": CharClass.LETTER,
    "N": CharClass.DIGIT,
    "P": CharClass.PUNCT,
    "S": CharClass.SYMBOL,
    "Z": CharClass.SPACE,
}
_REFINEMENTS = (
    (_HAN_RANGES, CharClass.LETTER, CharClass.HAN),
    (_KANA_RANGES, CharClass.LETTER, CharClass.KANA),
    (_HANGUL_RANGES, CharClass.LETTER, CharClass.HANGUL),
    (_LATIN_RANGES, CharClass.LETTER, CharClass.LATIN),
    (_CJK_PUNCT_RANGES, CharClass.PUNCT, CharClass.CJK_PUNCT),
)
# 〇 is the Han zero of 二〇二三年; other numerals (①, Ⅱ, ½) count as digits.
_SINGLES = {"〇": CharClass.HAN, **dict.fromkeys("\t\n\r\x0b\x0c", CharClass.SPACE)}


def classify(char: str) -> CharClass:
    """The class of one character."""
    if char in _SINGLES:
        return _SINGLES[char]
    base = _CATEGORY_CLASS.get(unicodedata.category(char)[0], CharClass.OTHER)
    code = ord(char)
    for ranges, source, target in _REFINEMENTS:
        if base == source and any(lo <= code <= hi for lo, hi in ranges):
            return target
    return base


@cache
def _bmp_table() -> np.ndarray:
    table = np.array(
        [
            _CATEGORY_CLASS.get(unicodedata.category(chr(c))[0], CharClass.OTHER)
            for c in range(0x10000)
        ],
        dtype=np.uint8,
    )
    for ranges, source, target in _REFINEMENTS:
        for lo, hi in ranges:
            block = table[lo : min(hi, 0xFFFF) + 1]
            block[block == source] = target
    for char, char_class in _SINGLES.items():
        table[ord(char)] = char_class
    return table


def codepoints(text: str) -> np.ndarray:
    """The text's code points, one ``uint32`` each."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def char_classes(text: str, points: np.ndarray) -> np.ndarray:
    """The :class:`CharClass` of every character of ``text`` (whose code points are ``points``)."""
    classes = _bmp_table().take(points, mode="clip")
    # One reduction is cheaper than looking for astral positions in every text.
    if points.max(initial=0) > 0xFFFF:
        astral = np.flatnonzero(points > 0xFFFF)
        classes[astral] = [classify(text[i]) for i in astral.tolist()]
    return classes


def batch_class_counts(texts: list[str]) -> list[list[int]]:
    """How many characters of each :class:`CharClass` each text holds, for many texts at once.

    One pass over the texts joined end to end: numpy's fixed cost per call is paid once per
    batch rather than once per short text.
    """
    joined = "".join(texts)
    classes = char_classes(joined, codepoints(joined))
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    kinds = len(CharClass)
    counts = np.bincount(owner * kinds + classes, minlength=len(texts) * kinds)
    return counts.reshape(len(texts), kinds).tolist()


def language_by_script(text: str, counts: list[int]) -> str:
    """ISO 639-1 code of ``text`` ("zh", "ja", "ko", "en", ...) or "und" when it has no letters.

    ``counts`` holds how many characters of each :class:`CharClass` the text has.
    """
    cjk = counts[CharClass.HAN] + counts[CharClass.KANA] + counts[CharClass.HANGUL]
    letters = cjk + counts[CharClass.LATIN] + counts[CharClass.LETTER]
    if letters == 0:
        return "und"
    if cjk < MIN_CJK_LETTER_SHARE * letters:
        return langdetect_language(text[:LANGDETECT_PREFIX_CHARS])
    if counts[CharClass.HANGUL] >= MIN_HANGUL_SHARE * cjk:
        return "ko"
    if counts[CharClass.KANA] > MIN_KANA_SHARE * cjk:
        return "ja"
    return "zh"


def langdetect_language(text: str) -> str:
    """langdetect's answer, seeded so it is the same on every run; zh-cn and zh-tw become zh."""
    detector = _detector_factory().create()
    detector.append(text)
    try:
        language = detector.detect()
    except LangDetectException:
        return "und"
    return "zh" if language.startswith("zh") else language


@cache
def _detector_factory() -> DetectorFactory:
    # A factory of our own, seeded on the instance: langdetect's global one stays untouched.
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory
