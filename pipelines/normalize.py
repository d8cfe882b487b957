"""Text normalisation: Unicode clean-up, traditional→simplified, whitespace, HTML.

Rules, in the order they run:

* HTML (``strip_html``): script/style blocks and comments dropped, block tags (``<br>``,
  ``<p>``, ``<div>``, ``<li>``, ``<tr>``, headings) become line breaks, other known tags are
  removed, entities unescaped. Only known tag names are matched, so ``血压<140/90`` stays.
* Unicode: control characters other than ``\\n`` and ``\\t`` are removed, and so are zero-width
  characters (U+200B-U+200D, U+2060, U+FEFF) and the soft hyphen. Full-width ASCII letters and
  digits (U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A) become ASCII as NFKC would map them; the
  ideographic space U+3000, no-break and other fixed-width spaces become a space. Nothing else
  is NFKC-mapped: CJK punctuation such as ，。：；（）？！ stays full-width.
* Traditional→simplified with OpenCC ``t2s``, only for a text holding at least one character
  that ``t2s`` converts on its own. Simplified text is left alone, which is faster and also
  safer: ``t2s`` phrase rules rewrite some simplified phrases (``打坏`` → ``打坯``).
* Whitespace: ``\\r\\n`` and ``\\r`` become ``\\n``; inside a line, runs of spaces and tabs become
  one space and a single space between two CJK characters is dropped (extraction noise:
  ``发热 三天``), while a run of spaces, a tab or an ideographic space there separates fields
  (``姓名：张三　性别：男``) and stays as one space; spaces at both ends of a line
  are stripped (a Chinese paragraph indent ``　　`` is layout, not content); three or more line
  breaks become one blank line. Markdown heading lines (``# 第一章 绪论``) keep their spaces.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from opencc import OpenCC


@dataclass
class NormalizeConfig:
    traditional_to_simplified: bool = True
    strip_html: bool = True


_SCRIPT_OR_COMMENT = re.compile(r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|tr|table|h[1-6]|blockquote|pre|section|article|hr)\b[^<>]*>", re.I
)
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|body|code|em|font|head|html|i|img|meta|small|span|strong|sub|sup|"
    r"td|th|tbody|thead|u|link|title|center|label|input|form|iframe)\b[^<>]*>",
    re.I,
)

# Controls other than \t, \n and \r (\r is a line break, below), the soft hyphen and the
# zero-width characters go; fixed-width spaces become a space; full-width A-Z, a-z, 0-9 ASCII.
_TRANSLATION = {
    **dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]),
    **dict.fromkeys([0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]),
    **dict.fromkeys([0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F], " "),
    # A field separator in records (姓名：张三　性别：男): a tab, so it is not taken for a
    # stray space between two Chinese characters, and then a single space.
    0x3000: "\t",
    0x2028: "\n",
    0x2029: "\n",
    **{
        c: chr(c - 0xFEE0)
        for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
        for c in range(lo, hi + 1)
    },
}
_TRANSLATED_RUN = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TRANSLATION)) + "]+")

# Han ideographs, kana, CJK and full-width punctuation: scripts written without spaces.
_CJK = (
    "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe10-\ufe1f"
    "\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f"
)
_SPACE_RUN = re.compile(r"[ \t]{2,}|\t")
_SPACE_BETWEEN_CJK = re.compile(f" (?<=[{_CJK}] )(?=[{_CJK}])")
_SPACE_AT_LINE_EDGE = re.compile(r"^ | $", re.M)
_BLANK_LINES = re.compile(r"\n{3,}")
_HEADING = re.compile(r"^#{1,6}[ \t]", re.M)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def normalize_text(text: str, config: NormalizeConfig) -> str:
    """Normalised text; paragraph breaks (blank lines) and heading lines survive."""
    # Most texts hold no character any of the rewriting rules starts from.
    if _work_pattern(config.strip_html, config.traditional_to_simplified).search(text):
        text = _rewrite(text, config)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n")


def _rewrite(text: str, config: NormalizeConfig) -> str:
    """HTML, Unicode, line break, script and space rules, in that order."""
    if config.strip_html and ("<" in text or "&" in text):
        text = _strip_html(text)
    if _TRANSLATED_RUN.search(text):
        text = _TRANSLATED_RUN.sub(lambda m: m.group().translate(_TRANSLATION), text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if config.traditional_to_simplified:
        text = to_simplified(text)
    if " " in text or "\t" in text:
        if "#" in text and _HEADING.search(text):
            text = "\n".join(
                line if _HEADING.match(line) else _normalize_spaces(line)
                for line in text.split("\n")
            )
        else:
            text = _normalize_spaces(text)
    return text


def to_simplified(text: str) -> str:
    """``text`` through OpenCC ``t2s`` when it holds a character that ``t2s`` converts alone."""
    t2s = _t2s()
    if t2s.bmp_pattern.search(text) or (_ASTRAL.search(text) and not t2s.astral.isdisjoint(text)):
        return t2s.converter.convert(text)
    return text


def to_simplified_many(texts: Sequence[str]) -> list[str]:
    """``to_simplified`` of each text; the texts that hold a character ``t2s`` converts are
    found for the whole batch at once, by one table lookup per character in numpy."""
    points = np.frombuffer("".join(texts).encode("utf-32-le", errors="surrogatepass"), "<u4")
    bmp = points < 0x10000
    # An astral character sends its text to to_simplified, which checks it by set.
    flagged = np.where(bmp, _traditional_table()[np.where(bmp, points, 0)], True)
    before = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(flagged, out=before[1:])
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=bounds[1:])
    found = (before[bounds[1:]] > before[bounds[:-1]]).tolist()
    return [to_simplified(text) if hit else text for text, hit in zip(texts, found, strict=True)]


@cache
def _traditional_table() -> np.ndarray:
    """For each BMP code point, whether ``t2s`` converts it on its own."""
    table = np.zeros(0x10000, dtype=bool)
    table[np.frombuffer(_t2s().bmp.encode("utf-32-le"), "<u4")] = True
    return table


@cache
def _work_pattern(strip_html: bool, traditional_to_simplified: bool) -> re.Pattern[str]:
    """One character class of every character that starts the work of some rule.

    HTML's ``<`` and ``&``, the characters ``_TRANSLATION`` maps, ``\\r``, spaces and tabs,
    and the characters ``t2s`` converts (any astral character stands for those beyond the
    BMP): one search for all, where each rule's own test would scan the text again.
    """
    chars = "".join(chr(c) for c in _TRANSLATION) + "\r \t"
    if strip_html:
        chars += "<&"
    ranges = ""
    if traditional_to_simplified:
        chars += _t2s().bmp
        ranges = "\U00010000-\U0010ffff"
    return re.compile("[" + "".join(map(re.escape, chars)) + ranges + "]")


def _strip_html(text: str) -> str:
    if "<" in text:
        text = _SCRIPT_OR_COMMENT.sub("", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _INLINE_TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def _normalize_spaces(text: str) -> str:
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACE_RUN.sub(" ", text)
    return _SPACE_AT_LINE_EDGE.sub("", text)


class _T2S(NamedTuple):
    converter: OpenCC
    bmp: str  # the BMP characters t2s converts on their own
    bmp_pattern: re.Pattern[str]  # a character class of them
    astral: frozenset[str]  # those beyond the BMP


@cache
def _t2s() -> _T2S:
    """The process's one ``t2s`` converter and the characters it converts on their own.

    They are derived from the converter itself (each CJK character converted on its own line),
    so they follow the installed OpenCC dictionaries; this takes about 20 ms, once. Those of
    the BMP go into a character class (a bitmap, 200M chars/s); the rest into a set, because
    ``re`` tests astral class members one by one.
    """
    converter = OpenCC("t2s")
    candidates = [
        chr(c)
        for lo, hi in ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
        for c in range(lo, hi + 1)
    ]
    converted = converter.convert("\n".join(candidates)).split("\n")
    changed = [c for c, s in zip(candidates, converted, strict=True) if c != s]
    bmp = "".join(c for c in changed if c < "\U00010000")
    astral = frozenset(c for c in changed if c >= "\U00010000")
    return _T2S(converter, bmp, re.compile(f"[{bmp}]"), astral)
