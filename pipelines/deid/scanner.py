"""One regular expression for many triggers, fast on Python's `re`.

Python's regex engine jumps from candidate to candidate in C only when every top-level
alternative of the expression starts with a literal character (or the expression starts
with one character class), and at each candidate it tries every top-level alternative
in turn. So trigger words are anchored on few, rare characters (see `choose_anchors`;
男 in ，男: the comma is everywhere, 男 is not; 号 for a hundred record-number labels),
with a lookbehind for the characters before the anchor, and the words that share an
anchor are grouped behind it. Measured on CMtMedQA: 250 anchors scan at 6 M chars/s,
50 at 47 M, 10 at 155 M. Each alternative is a named group placed after the anchor, so
the hit names its trigger and the fast path stays.

The engine scans the shapes that start with a digit with it; the trigger words go to one
Hyperscan pass (`pipelines.deid.prefilter`) unless ``Deidentifier(..., words="re")`` asks
for this scanner, the portable reference the Hyperscan pass is tested against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

try:  # Python 3.11 moved the parser of `re` behind an underscore.
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from pipelines.deid.lexicon import COMMON_CHARS
from pipelines.deid.recognizers import DIGIT, Shape, TriggerHandler
from pipelines.deid.spans import Candidate

_RANK = {char: rank for rank, char in enumerate(COMMON_CHARS)}


def rank(char: str) -> int:
    """How common a character is in medical text: low is common."""
    if char.isascii():
        # Spaces and punctuation are everywhere; units make lower case common.
        if not char.isalnum():
            return -1
        return 60 if char.islower() or char.isdigit() else 300
    return _RANK.get(char, len(_RANK))


def choose_anchors(words: Sequence[str]) -> dict[str, int]:
    """Where to anchor each word: few distinct anchors, each as rare as possible.

    The regex engine tries every top-level alternative at each candidate character, so
    the cost is about (number of anchors) x (how often they occur). A greedy set cover
    picks the character that anchors the most words still open, discounted by how common
    it is (号 anchors 住院号, 病案号 and a hundred others).
    """
    open_words = set(words)
    chosen: list[str] = []
    while open_words:
        counts: dict[str, int] = {}
        for word in open_words:
            for char in set(word):
                counts[char] = counts.get(char, 0) + 1
        best = max(counts, key=lambda c: (counts[c] / (1 + _commonness(c)), rank(c)))
        chosen.append(best)
        open_words = {w for w in open_words if best not in w}
    anchors = set(chosen)
    return {
        word: max((i for i, c in enumerate(word) if c in anchors), key=lambda i: rank(word[i]))
        for word in words
    }


def after_digits(aheads: Sequence[str]) -> str:
    """A test cheaper than the ``aheads`` together that passes wherever one of them does.

    Most runs of digits are a count or a lab value (78次, 36.9℃), and trying eight cheap
    tests in turn at each costs more than the shapes they rule out. Each test starts with
    up to a few digits and then needs a character from a short list (-/. of a date, 岁 of
    an age, 号 of an address) or a longer run: one lookahead of the most digits and every
    such character settles most runs at once. An empty string where a test's shape is not
    of that kind.
    """
    most, characters, runs = 0, set(), set()
    for ahead in aheads:
        items = list(sre_parse.parse(ahead))
        branches = (
            items[0][1][1] if len(items) == 1 and items[0][0] is sre_constants.BRANCH else [items]
        )
        for branch in branches:
            route = _route(list(branch))
            if route is None:
                return ""
            digits, firsts, run = route
            most = max(most, digits)
            characters |= firsts
            if run:
                runs.add(run)
    tests = [f"\\d{{0,{most}}}[{''.join(sorted(characters))}]"] if characters else []
    tests.extend(f"\\d{{{run}}}" for run in sorted(runs))
    return "(?=" + "|".join(tests) + ")"


def _route(items: list[tuple[object, object]]) -> tuple[int, set[str], int] | None:
    """Most leading digits, the class pieces that may follow them, and the length of a run
    of digits that passes alone (0 for none); None for a test of another kind."""
    digits = 0
    while items and _digits(items[0]):
        digits += _digits(items[0])
        items = items[1:]
    if items and items[0][0] is sre_constants.MAX_REPEAT:
        low, _, body = items[0][1]  # type: ignore[misc]
        body = list(body)
        pieces = _first(body)
        one_character = len(body) == 1 and body[0][0] is sre_constants.IN
        if low >= 1 and one_character and pieces is not None and "\\d" in pieces[0]:
            # (?:\d|[ -]){6}: six digits, or fewer and then one of the others.
            return digits + low - 1, pieces[0] - {"\\d"}, digits + low
    pieces = _first(items)
    if pieces is None or pieces[1] or "\\d" in pieces[0]:
        return None
    return digits, pieces[0], 0


def _digits(item: tuple[object, object]) -> int:
    """How many digits at most ``item`` takes if it takes only digits (\\d, \\d{0,3}), else 0."""
    op, av = item
    if op is sre_constants.IN:
        return 1 if av == [(sre_constants.CATEGORY, sre_constants.CATEGORY_DIGIT)] else 0
    if op is sre_constants.MAX_REPEAT:
        _, high, body = av  # type: ignore[misc]
        body = list(body)
        if high is not sre_constants.MAXREPEAT and len(body) == 1 and _digits(body[0]) == 1:
            return int(high)
    return 0


def _first(items: Iterable[tuple[object, object]]) -> tuple[set[str], bool] | None:
    """The class pieces a match of ``items`` may start with, and whether it may be empty;
    None where a piece is not a plain character, range, \\d or \\s."""
    pieces: set[str] = set()
    for op, av in items:
        if op is sre_constants.LITERAL:
            found, empty = {re.escape(chr(av))}, False  # type: ignore[call-overload]
        elif op is sre_constants.IN:
            found, empty = set(), False
            for kind, value in av:  # type: ignore[attr-defined]
                if kind is sre_constants.LITERAL:
                    found.add(re.escape(chr(value)))
                elif kind is sre_constants.RANGE:
                    found.add(re.escape(chr(value[0])) + "-" + re.escape(chr(value[1])))
                elif kind is sre_constants.CATEGORY and value is sre_constants.CATEGORY_DIGIT:
                    found.add("\\d")
                elif kind is sre_constants.CATEGORY and value is sre_constants.CATEGORY_SPACE:
                    found.add("\\s")
                else:
                    return None
        elif op is sre_constants.SUBPATTERN:
            inner = _first(av[-1])  # type: ignore[index]
            if inner is None:
                return None
            found, empty = inner
        elif op is sre_constants.BRANCH:
            found, empty = set(), False
            for branch in av[1]:  # type: ignore[index]
                inner = _first(branch)
                if inner is None:
                    return None
                found |= inner[0]
                empty = empty or inner[1]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _, body = av  # type: ignore[misc]
            inner = _first(body)
            if inner is None:
                return None
            found, empty = inner[0], inner[1] or low == 0
        else:
            return None
        pieces |= found
        if not empty:
            return pieces, False
    return pieces, True


def _aligned(a: str, i: int, b: str, j: int) -> bool:
    """True when ``a`` and ``b``, their anchors ``i`` and ``j`` on one place, can both fit."""
    shift = i - j
    return all(a[k + shift] == c for k, c in enumerate(b) if 0 <= k + shift < len(a))


def _commonness(char: str) -> float:
    """About how many times more frequent than a rare character ``char`` is."""
    r = rank(char)
    return 0.0 if r >= len(_RANK) else 400 / (r + 1) if r >= 0 else 1000.0


class Scanner:
    """Finds every trigger word and shape in a text and calls their handlers."""

    def __init__(self, literals: dict[str, list[TriggerHandler]], shapes: Sequence[Shape]) -> None:
        # anchor → alternatives after it, each with its sort key (longer first).
        after: dict[str, list[tuple[int, str]]] = {}
        # group name → (offset of the anchor in the word, its length, handlers); a shape's
        # hit is the whole match (length 0).
        self._groups: dict[str, tuple[int, int, list[TriggerHandler]]] = {}
        anchors = choose_anchors(list(literals))
        names = {word: f"w{n}" for n, word in enumerate(literals)}
        for word, handlers in literals.items():
            i = anchors[word]
            self._groups[names[word]] = (i, len(word), handlers)
            tail = re.escape(word[i + 1 :]) + (f"(?<={re.escape(word)})" if i else "")
            # In a lookahead: the scan goes on after the anchor, so a word that starts
            # inside this one (女士 in 孙女士) is found too.
            after.setdefault(word[i], []).append((len(word), f"(?=(?P<{names[word]}>{tail}))"))
        # One hit is one alternative; words that can overlap it at the same anchor (孙女 and
        # 女士 in 孙女士) are checked by hand, grouped by where they start and how long they
        # are, so one slice and one lookup test each group (医生 has 48 such words).
        self._overlapping: dict[str, list[tuple[int, int, dict[str, list[TriggerHandler]]]]] = {}
        for word in literals:
            i = anchors[word]
            by_place: dict[tuple[int, int], dict[str, list[TriggerHandler]]] = {}
            for other in literals:
                j = anchors[other]
                if other != word and word[i] == other[j] and _aligned(word, i, other, j):
                    by_place.setdefault((j, len(other)), {})[other] = literals[other]
            if by_place:
                self._overlapping[names[word]] = [
                    (j, n, words) for (j, n), words in by_place.items()
                ]
        digit_shapes = [s for s in shapes if s.anchor == DIGIT]
        tested = all(s.ahead for s in digit_shapes)
        digit_alternatives = []
        for n, shape in sorted(enumerate(shapes), key=lambda item: item[1].late):
            name = f"s{n}"
            self._groups[name] = (0, 0, [shape.handler])
            if shape.anchor == DIGIT:
                # A shape's pattern only where its own cheap test passes: a lab value
                # that passes the join (36.9℃) passes only half the tests.
                ahead = f"(?={shape.ahead})" if tested else ""
                digit_alternatives.append(f"{ahead}(?P<{name}>{shape.pattern})")
                continue
            tail = re.escape(shape.anchor[1:]) + f"(?P<{name}>{shape.pattern})"
            after.setdefault(shape.anchor[0], []).append((1000, tail))
        # Each expression costs a pass over the text and each anchor a test at every
        # candidate: Chinese anchors in one, Latin ones (frequent in lab units) in another,
        # digits in a third measured best (one pass: -10%; eight: -15% on CMtMedQA).
        tiers: dict[int, list[str]] = {}
        # The engine tries the branches in turn at each candidate: the commonest anchors first.
        for anchor, tails in sorted(after.items(), key=lambda item: rank(item[0])):
            branch = (
                re.escape(anchor)
                + "(?:"
                + "|".join(t for _, t in sorted(tails, key=lambda x: -x[0]))
                + ")"
            )
            # Latin anchors (units make them common in lab reports) get their own pass.
            tiers.setdefault(int(anchor.isascii()), []).append(branch)
        if digit_alternatives:
            # Only at the start of a run of digits, and (most runs are a lab value or a
            # count: 78次, 36.9℃) only where their cheap tests' join (`after_digits`) passes.
            ahead = after_digits([s.ahead for s in digit_shapes]) if tested else ""
            tiers.setdefault(-1, []).append(
                r"\d(?<![0-9０-９]\d)" + ahead + "(?:" + "|".join(digit_alternatives) + ")"
            )
        self._patterns = [re.compile("|".join(tiers[t])) for t in sorted(tiers)]

    def scan(self, text: str, found: list[Candidate]) -> None:
        """Append the candidates of every hit in ``text`` to ``found``."""
        groups = self._groups
        overlapping = self._overlapping
        extend = found.extend
        for pattern in self._patterns:
            for match in pattern.finditer(text):
                group = match.lastgroup
                offset, length, handlers = groups[group]  # type: ignore[index]
                anchor = match.start()
                if length:
                    start = anchor - offset
                    end = start + length
                else:
                    start, end = anchor, match.end()
                for handler in handlers:
                    extend(handler(text, start, end))
                others = overlapping.get(group)  # type: ignore[arg-type]
                if others:
                    self._also(text, anchor, others, found)

    @staticmethod
    def _also(
        text: str,
        anchor: int,
        others: list[tuple[int, int, dict[str, list[TriggerHandler]]]],
        found: list[Candidate],
    ) -> None:
        for offset, length, words in others:
            at = anchor - offset
            if at >= 0:
                handlers = words.get(text[at : at + length])
                if handlers:
                    for handler in handlers:
                        found.extend(handler(text, at, at + length))
