"""Recognizers: one module per family of categories, all built on `Recognizer`.

A recognizer declares what starts a finding, and handles each hit by reading the few
characters around it. Trigger words (labels such as 住院号, titles such as 医生, suffixes
such as 医院) are literals; shapes are an anchor (a literal, or a digit) followed by a
pattern (二〇二三年 after its 〇, 京A12345 after its 京A, a date after its first digit). The
engine finds the words and the literal anchors in one Hyperscan pass
(`pipelines.deid.prefilter`) and the digit shapes in one `re` pass (`pipelines.deid.scanner`,
also the reference that finds everything with `re`). What no anchor fits (e-mail, IPv6,
named speakers at the start of a line) a recognizer scans itself in `scan`.

A handler is called for every occurrence of its word, so it rules a hit out with its first,
cheapest test (the character after a label, the one before a title).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipelines.deid.spans import Candidate

TriggerHandler = Callable[[str, int, int], Iterable[Candidate]]
# The anchor of shapes that start with any digit (ASCII or full-width).
DIGIT = "<digit>"


@dataclass(frozen=True)
class Shape:
    """A hit is ``anchor`` followed by ``pattern``; ``handler`` gets the hit's span.

    ``pattern`` is a regular expression without named groups; a lookbehind in it sees the
    anchor, which is already consumed. A ``late`` shape is tried after the others. ``ahead``
    is a cheap test that every match of ``pattern`` passes (a digit shape's next few
    characters): where no shape's test passes, none of the patterns is tried.
    """

    anchor: str
    pattern: str
    handler: TriggerHandler
    # Tried after the others at the same place (a shape that would swallow a phone number).
    late: bool = False
    ahead: str = ""


HAN = "\u4e00-\u9fff"
# Characters that end a labelled value: punctuation, brackets, whitespace.
VALUE_END = "，。；;,、！!？?\n\r\t（）()【】[]「」<>《》\"'“”‘’|/"
LABEL_GAP = r"[ \t\u3000]*[:：]?[ \t\u3000]*(?:为|是)?[ \t\u3000]*"


class Recognizer:
    """A family of categories: its trigger literals, its own scans, and a final pass."""

    def triggers(self) -> dict[str, TriggerHandler]:
        """Literal → handler called with the text and the literal's span."""
        return {}

    def shapes(self) -> list[Shape]:
        """Anchored patterns: dates and runs of digits, 小陈, 二〇二三年."""
        return []

    def scan(self, text: str) -> Iterable[Candidate]:
        """A pass of the recognizer's own, for what no anchor fits (plates, e-mail)."""
        return ()

    def refine(self, text: str, found: list[Candidate]) -> Iterable[Candidate]:
        """More candidates once every other finding is known (such as repeated names)."""
        return ()


def char_class(chars: Iterable[str]) -> str:
    """A regex character class of the given characters."""
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"
