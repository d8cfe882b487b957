"""Recognizers: one module per family of categories, all built on `Recognizer`.

A recognizer declares what starts a finding, and handles each hit by reading the few
characters around it. Trigger words (labels such as 住院号, titles such as 医生, suffixes
such as 医院) are literals; shapes are an anchor (a literal, or a digit) followed by a
pattern (二〇二三年 after its 〇, a date after its first digit). The engine joins them into
a few regular expressions (`pipelines.deid.scanner`) and scans the text with each once. What
no anchor fits (plates, e-mail) a recognizer scans itself in `scan`.

Python's `re` skips to candidate positions in C only while every top-level alternative
starts with a literal character; a named group or a class in front of one alternative
costs that fast path for all (measured on CMtMedQA: 119 M chars/s for literal labels,
0.7 M chars/s with a named group around each). So the engine anchors each trigger word on
few rare characters (男 in ，男) and places lookbehinds after them.
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
