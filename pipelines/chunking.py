"""Split a long document (a textbook chapter) into chunks of at most ``max_chars``.

A document that fits is one chunk. Otherwise it is cut at the strongest boundaries that
get every piece under the limit, in this order: section headings (outermost level
first), blank lines (paragraphs), line breaks, sentence ends (。！？；!?;), and as a last
resort a hard cut. Pieces between cuts are packed back together greedily toward an even
size (a 4,100-character section becomes two chunks of about 2,050, not 4,000 + 100);
a chunk still under ``min_chars`` joins its neighbour when one of the two sections
contains the other and the result fits.

Headings are Markdown heading lines (``## 第二节 慢性心力衰竭``) and Chinese textbook
headings on their own line: ``第X篇/部分``, ``第X章``, ``第X节``, then ``一、`` and
``（一）``, the order of structural levels set by GB/T 9704-2012 §7.3.3 (一、 > （一）
> 1. > （1）; the last two are left out as they number list items as often as sections).
A line of that form is only a heading when it is short (at most 40 characters) and does
not end like a sentence, so ``一、注意休息，避免劳累。`` stays a list item.

Each chunk starts with the heading lines of the sections it lies in whose headings it
does not already contain, so titles stay in the pretraining text, and carries their
titles as its heading path after the document's own. Time and memory are linear in the
length of the document: each level of boundaries scans only the pieces still too long,
and sentence ends are searched for near each cut rather than listed.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_HEADING_CHARS = 40

# Where a heading may start: after a line break, before "#" or a Chinese numbering form.
_HEADING_CANDIDATE = re.compile(r"\n(?=[ \t\u3000]*[#第一二三四五六七八九十（(])")
_MARKDOWN_HEADING = re.compile(r"(#{1,6})[ \t]+(\S[^\n]*?)[ \t]*(?:\n|\Z)")
_CHINESE_NUMBER = "[一二三四五六七八九十百零〇两\\d]+"
# Plain-line Chinese headings nest below Markdown's six levels unless a Markdown heading
# of the same kind in the document says otherwise.
_CHINESE_BASE_LEVEL = 7
_CHINESE_HEADINGS = tuple(
    re.compile(rf"[ \t\u3000]*({form}[^\n]{{0,{MAX_HEADING_CHARS}}}?)[ \t\u3000]*(?:\n|\Z)")
    for form in (
        rf"第{_CHINESE_NUMBER}(?:篇|部分)",
        rf"第{_CHINESE_NUMBER}章",
        rf"第{_CHINESE_NUMBER}节",
        r"[一二三四五六七八九十]+、",
        r"[（(][一二三四五六七八九十]+[）)]",
    )
)
_SENTENCE_END = "。！？；!?;"
_NOT_A_HEADING_END = _SENTENCE_END + "，,：:、"

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
_AFTER_SENTENCE_END = re.compile(r"[”’」』）)\"']*\s*")

Span = tuple[int, int]
# Room for text in a chunk: in the first span of a range, and in the others.
Budgets = tuple[int, int]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: its text, and the titles of the sections it lies in."""

    text: str
    heading_path: tuple[str, ...]


class _Headings:
    """The headings of a document as parallel lists (cheap for a book with 10^5 of them).

    ``starts``: where each heading line starts; ``ends``: where its section ends;
    ``parents``: the index of the enclosing heading, -1 for none.
    """

    def __init__(self, found: list[tuple[int, int, str, str]], text_end: int) -> None:
        self.starts = [start for start, _, _, _ in found]
        self.levels = [level for _, level, _, _ in found]
        self.lines = [line for _, _, line, _ in found]
        self.titles = [title for _, _, _, title in found]
        self.ends = [text_end] * len(found)
        self.parents = [-1] * len(found)
        open_stack: list[int] = []
        for index, level in enumerate(self.levels):
            while open_stack and self.levels[open_stack[-1]] >= level:
                self.ends[open_stack.pop()] = self.starts[index]
            self.parents[index] = open_stack[-1] if open_stack else -1
            open_stack.append(index)


def split_document(
    text: str, heading_path: tuple[str, ...], max_chars: int, min_chars: int
) -> list[Chunk]:
    """``text`` as chunks of at most ``max_chars``; never an empty list."""
    if len(text) <= max_chars and not _HEADING_CANDIDATE.search("\n" + text):
        # Fits and has no heading line: the common short record, one chunk.
        return [Chunk(text.strip(), tuple(heading_path))]
    splitter = _Splitter(text, _find_headings(text), max_chars)
    spans = splitter.merge_small(splitter.split(0, len(text)), min_chars)
    chunks = [splitter.chunk(start, end, heading_path) for start, end in spans]
    return [c for c in chunks if c.text] or [Chunk(text.strip(), tuple(heading_path))]


def _find_headings(text: str) -> _Headings:
    found: dict[int, tuple[int, str, str]] = {}
    # A Markdown heading titled 第X章 sets the level of plain 第X章 lines in the same text.
    level_of_kind: dict[int, int] = {}
    plain: list[tuple[int, int, str]] = []
    for start in itertools.chain((0,), (m.end() for m in _HEADING_CANDIDATE.finditer(text))):
        markdown = _MARKDOWN_HEADING.match(text, start)
        if markdown:
            level, title = len(markdown.group(1)), markdown.group(2)
            found[start] = (level, markdown.group(0).strip(), title)
            kind = _chinese_kind(title)
            if kind is not None:
                level_of_kind.setdefault(kind, level)
            continue
        kind = _chinese_kind(text, start)
        if kind is not None:
            title = _CHINESE_HEADINGS[kind].match(text, start).group(1)
            if len(title) <= MAX_HEADING_CHARS and title[-1] not in _NOT_A_HEADING_END:
                plain.append((start, kind, title))
    for start, kind, title in plain:
        found[start] = (level_of_kind.get(kind, _CHINESE_BASE_LEVEL + kind), title, title)
    return _Headings([(start, *found[start]) for start in sorted(found)], len(text))


def _chinese_kind(text: str, start: int = 0) -> int | None:
    for kind, pattern in enumerate(_CHINESE_HEADINGS):
        if pattern.match(text, start):
            return kind
    return None


class _Splitter:
    """Cuts one document; spans are (start, end) offsets into its text."""

    def __init__(self, text: str, headings: _Headings, max_chars: int) -> None:
        self._text = text
        self._headings = headings
        self._starts = headings.starts
        self._max = max_chars

    def split(self, start: int, end: int) -> list[Span]:
        """Spans covering text[start:end], each fitting in a chunk with its heading lines."""
        budgets = self._budgets(start, end)
        if self._size(start, end) <= budgets[0]:
            return [(start, end)]
        cuts = self._section_cuts(start, end)
        if cuts:
            return self._pack(start, end, cuts, budgets, self.split)
        return self._split_text(start, end, budgets, (_PARAGRAPH_BREAK, _LINE_BREAK))

    def _split_text(
        self, start: int, end: int, budgets: Budgets, boundaries: tuple[re.Pattern[str], ...]
    ) -> list[Span]:
        if self._size(start, end) <= budgets[0]:
            return [(start, end)]
        if not boundaries:
            return self._split_sentences(start, end, budgets)
        cuts = [m.end() for m in boundaries[0].finditer(self._text, start, end)]
        if cuts and cuts[-1] >= end:
            cuts.pop()
        deeper = boundaries[1:]
        if not cuts:
            return self._split_text(start, end, budgets, deeper)

        def split_piece(piece_start: int, piece_end: int) -> list[Span]:
            first = budgets[0] if piece_start == start else budgets[1]
            return self._split_text(piece_start, piece_end, (first, budgets[1]), deeper)

        return self._pack(start, end, cuts, budgets, split_piece)

    def _pack(
        self,
        start: int,
        end: int,
        cuts: list[int],
        budgets: Budgets,
        split_piece: Callable[[int, int], list[Span]],
    ) -> list[Span]:
        """Packs the pieces between ``cuts`` greedily into spans of about even size."""
        first, rest = budgets
        target = (end - start) / math.ceil((end - start) / rest)
        spans: list[Span] = []
        chunk_start = start
        for piece_start, piece_end in itertools.pairwise([start, *cuts, end]):
            if chunk_start == start < piece_start and self._only_heading(start, piece_start):
                # The section's own heading line with nothing under it before its first
                # subsection: every later chunk of the section repeats it anyway.
                chunk_start = piece_start
            if self._longer(piece_start, piece_end, first if piece_start == start else rest):
                pieces = split_piece(piece_start, piece_end)
                # What came before (a short paragraph, say) leads the first of them when
                # it fits, rather than standing alone.
                if chunk_start < piece_start:
                    room = first if chunk_start == start else rest
                    if self._longer(chunk_start, pieces[0][1], room):
                        spans.append((chunk_start, piece_start))
                    else:
                        pieces[0] = (chunk_start, pieces[0][1])
                spans.extend(pieces)
                chunk_start = piece_end
                continue
            # Close the span before this piece if the piece would overflow it, or would
            # take it further past the target than stopping short of it.
            room = first if chunk_start == start else rest
            half_piece = (piece_end - piece_start) / 2
            if chunk_start < piece_start and (
                self._longer(chunk_start, piece_end, room)
                or piece_end - chunk_start - half_piece > target
            ):
                spans.append((chunk_start, piece_start))
                chunk_start = piece_start
        if chunk_start < end:
            spans.append((chunk_start, end))
        return spans

    def _split_sentences(self, start: int, end: int, budgets: Budgets) -> list[Span]:
        """Cuts at the sentence end nearest an even share of what is left; else hard."""
        spans: list[Span] = []
        budget = budgets[0]
        while end - start > budget:
            share = math.ceil((end - start) / math.ceil((end - start) / budget))
            target = start + share
            before = self._last_sentence_end(start, target)
            after = self._first_sentence_end(target, start + budget)
            candidates = [c for c in (before, after) if start < c <= start + budget]
            cut = min(candidates, key=lambda c: abs(c - target)) if candidates else target
            spans.append((start, cut))
            start, budget = cut, budgets[1]
        spans.append((start, end))
        return spans

    def _last_sentence_end(self, start: int, end: int) -> int:
        mark = max(self._text.rfind(char, start, end) for char in _SENTENCE_END)
        return -1 if mark < 0 else _AFTER_SENTENCE_END.match(self._text, mark + 1).end()

    def _first_sentence_end(self, start: int, end: int) -> int:
        marks = [m for m in (self._text.find(char, start, end) for char in _SENTENCE_END) if m >= 0]
        return _AFTER_SENTENCE_END.match(self._text, min(marks) + 1).end() if marks else -1

    def _section_cuts(self, start: int, end: int) -> list[int]:
        """Starts of the outermost headings strictly inside text[start:end]."""
        first = bisect.bisect_right(self._starts, start)
        levels = self._headings.levels[first : bisect.bisect_left(self._starts, end)]
        if not levels:
            return []
        outermost = min(levels)
        return [self._starts[first + i] for i, level in enumerate(levels) if level == outermost]

    def _size(self, start: int, end: int) -> int:
        return len(self._text[start:end].strip())

    def _only_heading(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self._starts, start)
        return (
            index < len(self._starts)
            and self._starts[index] == start
            and self._text[start:end].strip() == self._headings.lines[index]
        )

    def _longer(self, start: int, end: int, room: int) -> bool:
        return end - start > room and self._size(start, end) > room

    def _budgets(self, start: int, end: int) -> Budgets:
        """Room for text in a chunk after the heading lines it needs: for the first span of
        text[start:end] (which holds a heading starting there), and for the others."""
        path = self._enclosing(start, end)
        lines = [self._headings.lines[i] for i in path]
        room = self._max // 2
        first = [self._headings.lines[i] for i in path if self._starts[i] < start]
        return self._max - len(_prefix(first, room)), self._max - len(_prefix(lines, room))

    def _enclosing(self, start: int, end: int) -> list[int]:
        """The headings of the sections containing text[start:end], outermost first."""
        index = bisect.bisect_right(self._starts, start) - 1
        path = []
        while index >= 0:
            if self._headings.ends[index] >= end:
                path.append(index)
            index = self._headings.parents[index]
        return path[::-1]

    def merge_small(self, spans: list[Span], min_chars: int) -> list[Span]:
        """Joins each span under ``min_chars`` to its neighbour when the sections allow."""
        merged: list[Span] = []
        for span in spans:
            if merged and self._joinable(merged[-1], span, min_chars):
                merged[-1] = (merged[-1][0], span[1])
            else:
                merged.append(span)
        return merged

    def _joinable(self, left: Span, right: Span, min_chars: int) -> bool:
        if self._size(*left) >= min_chars and self._size(*right) >= min_chars:
            return False
        joined = (left[0], right[1])
        path = self._enclosing(*joined)
        if path != self._enclosing(*left) and path != self._enclosing(*right):
            return False
        return len(self.chunk(*joined, ()).text) <= self._max

    def chunk(self, start: int, end: int, outer_path: tuple[str, ...]) -> Chunk:
        """The chunk of text[start:end]: missing heading lines first, then the text."""
        path = self._enclosing(start, end)
        body = self._text[start:end].strip()
        lines = [self._headings.lines[i] for i in path if self._starts[i] < start]
        text = (_prefix(lines, self._max - len(body)) + body).strip()
        titles = tuple(outer_path) + tuple(self._headings.titles[i] for i in path)
        return Chunk(text, titles)


def _prefix(lines: list[str], room: int) -> str:
    """Heading lines and a blank line, in at most ``room`` characters; inner lines kept."""
    while lines and sum(len(line) + 1 for line in lines) + 1 > room:
        lines = lines[1:]
    return "".join(line + "\n" for line in lines) + "\n" if lines else ""
