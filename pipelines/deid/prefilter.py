"""One Hyperscan pass that finds every trigger word and every word-anchored shape.

`pipelines.deid.scanner` joins the triggers into expressions for Python's `re`, which
tries its alternatives at every candidate character: with five hundred words, dense
records pass at about 3 M characters per second before any recognizer runs. Hyperscan
matches all the words at once and calls back only where one occurs; a shape's own Python
expression then runs only after its anchor (〇 of 二〇二三年, 小 of 小陈).

Hyperscan reads bytes. The text goes in as UTF-32-LE, so a match that ends at byte ``b``
ends at character ``b // 4``; one that does not end on a character boundary is bytes of
two characters that happen to spell a word, and is skipped. Where `Scanner` finds a word
inside a span a shape has already taken (月 of 二〇二三年一月十七日) it does not report
it and this scanner does; the longer finding wins either way, so the spans are the same
(tests/test_deid_prefilter.py compares the two engines on the gold set and real texts).

A database's scratch space serves one scan at a time: each thread that scans gets its own
(the labeling tool's web server cleans uploads in a pool of threads with one engine).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

import hyperscan

from pipelines.deid.recognizers import DIGIT, Shape, TriggerHandler
from pipelines.deid.spans import Candidate


def utf32(text: str) -> str:
    """A Hyperscan expression that matches ``text`` encoded as UTF-32-LE."""
    return "".join(f"\\x{byte:02x}" for byte in text.encode("utf-32-le"))


class HyperScanner:
    """Finds every trigger word and every word-anchored shape in a text and calls their handlers.

    Shapes that start with a digit are not here: `Scanner`'s one expression for them skips
    from run to run of digits in C, faster than a call back at the start of every run (and
    than expressions for the runs that pass the shapes' cheap tests, one per length of
    those tests, which made this scan of the dense gold set three times slower). Nor is a
    handler's first test here: the characters it needs beside its word (a name after 患者)
    as a class in the word's expression made the scan slower than the calls it saved, and
    as a set lookup before the call saved nothing that could be measured.
    """

    def __init__(self, literals: dict[str, list[TriggerHandler]], shapes: Sequence[Shape]) -> None:
        expressions: list[str] = []
        # Per pattern: the word's length, its handlers, and for a shape the expression that
        # must match after its anchor (None for a trigger word).
        self._actions: list[tuple[int, Sequence[TriggerHandler], re.Pattern[str] | None]] = []
        for word, handlers in literals.items():
            expressions.append(utf32(word))
            self._actions.append((len(word), handlers, None))
        for shape in shapes:
            if shape.anchor == DIGIT:
                raise ValueError("shapes that start with a digit belong to Scanner")
            expressions.append(utf32(shape.anchor))
            self._actions.append((len(shape.anchor), [shape.handler], re.compile(shape.pattern)))
        self._database = _compiled(tuple(expressions))
        self._threads = threading.local()

    def scan(self, text: str, found: list[Candidate]) -> None:
        """Append the candidates of every hit in ``text`` to ``found``."""
        state = getattr(self._threads, "state", None)
        if state is None:
            state = self._threads.state = _ThreadState(self._database)
        hits = state.hits
        hits.clear()
        self._database.scan(
            text.encode("utf-32-le"), match_event_handler=state.on_match, scratch=state.scratch
        )
        actions = self._actions
        extend = found.extend
        for pattern, byte_end in hits:
            if byte_end & 3:
                continue
            end = byte_end >> 2
            length, handlers, shape = actions[pattern]
            start = end - length
            if shape is not None:
                match = shape.match(text, end)
                if match is None:
                    continue
                end = match.end()
            for handler in handlers:
                candidates = handler(text, start, end)
                # Most calls find nothing: an empty list is not extended.
                if candidates:
                    extend(candidates)


class _ThreadState:
    """One thread's scratch space and list of hits, and the callback that fills the list
    (made once per thread, not once per text)."""

    def __init__(self, database: hyperscan.Database) -> None:
        self.scratch = hyperscan.Scratch(database)
        self.hits: list[tuple[int, int]] = []
        append = self.hits.append

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            append((pattern, end))

        self.on_match = on_match


@functools.lru_cache(maxsize=8)
def _compiled(expressions: tuple[str, ...]) -> hyperscan.Database:
    """The database of ``expressions``, compiled once per process.

    Compiling the trigger words takes a few tenths of a second; engines built alike share
    one database (matching only reads it), each with its own scratch space.
    """
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[e.encode("ascii") for e in expressions],
        ids=list(range(len(expressions))),
        elements=len(expressions),
    )
    return database
