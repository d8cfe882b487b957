"""Gopher's n-gram repetition measures, fast enough for the corpus hot path.

The measures are those of datatrove's ``gopher_repetition_filter.py`` (Rae et al. 2021,
Table A1), on a sequence of units (characters, or words) each of a length in characters:

* top n-gram characters: the most frequent n-gram's length times its number of occurrences,
  when it occurs twice or more;
* duplicate n-gram characters: a greedy left-to-right scan that, at an n-gram already seen,
  counts its characters and jumps past it (so overlapping repeats are not counted twice).

Computing these exactly in Python for every n costs about 100 µs per 1,000 characters and per
n. Instead, a vectorised pass (one polynomial hash per n over the units' code points, one sort)
gives an upper bound of each measure, and the exact Python computation runs only when the
bound exceeds the caller's limit, which ordinary text rarely does. The bounds hold because
hash collisions can only merge n-grams (counts grow) and because a repeated n-gram also
repeats its prefix (bounds carry from n-1 to n). Hence the API: each measure is returned
exactly when it exceeds ``limit``, otherwise None.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property

import numpy as np

# An odd 64-bit multiplier (2^64 / golden ratio); arithmetic wraps modulo 2^64.
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class NgramStats:
    """N-gram measures of one sequence of units.

    ``points`` holds one code per unit: a text's code points, or one code per distinct word;
    ``lengths`` each unit's length in characters (None when every unit is one character).
    """

    def __init__(self, points: np.ndarray, lengths: np.ndarray | None = None) -> None:
        self._points = points
        self._size = points.size
        self._lengths = lengths
        self._cumulative = None if lengths is None else np.concatenate(([0], np.cumsum(lengths)))
        self._codes = points.astype(np.uint64)
        self._hashes = {1: self._codes * _HASH_MULTIPLIER}
        # Sort keys carry the position in their low bits, the hash above them.
        self._position_bits = max(1, self._size.bit_length())
        self._sorted: dict[int, np.ndarray] = {}
        self._groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._duplicated: dict[int, np.ndarray] = {}
        self._repeat_bounds: dict[int, int] = {}

    @property
    def total_chars(self) -> int:
        return self._size if self._cumulative is None else int(self._cumulative[-1])

    @cached_property
    def _units(self) -> str:
        """One character per unit, so that an n-gram is a slice."""
        if self._lengths is None:
            return self._points.astype("<u4").tobytes().decode("utf-32-le")
        return "".join(map(chr, self._points.tolist()))

    def top_ngram_chars(self, n: int, limit: float) -> int | None:
        """Characters of the most frequent n-gram, times its count, when above ``limit``."""
        if self._size < n:
            return None
        cumulative = self._cumulative
        longest = n if cumulative is None else int(np.max(cumulative[n:] - cumulative[:-n]))
        # Only a repeated n-gram counts (datatrove's ``find_top_duplicate``), else any text under
        # n / limit characters would fail. An n-gram occurring k times starts with a bigram
        # occurring k times or more.
        most = max(1, int(limit // longest))
        if any(not self._occurs_more_than(k, most) for k in sorted({min(n, 2), n})):
            return None
        units = self._units
        grams = Counter(units[i : i + n] for i in range(self._size - n + 1))
        gram, count = grams.most_common(1)[0]
        chars = count * self._chars(units.index(gram), n)
        return chars if count > 1 and chars > limit else None

    def duplicate_ngram_chars(self, n: int, limit: float) -> int | None:
        """Characters in repeated n-grams (datatrove's greedy count), when above ``limit``."""
        if self._size < n:
            return None
        # A repeated n-gram starts with a repeated (n-1)-gram: bounds carry over to larger n.
        if any(k < n and bound <= limit for k, bound in self._repeat_bounds.items()):
            return None
        self._group(n)
        if self._repeat_bounds[n] <= limit:
            return None
        duplicated = self._duplicated_positions(n)
        units, seen = self._units, set()
        chars, resume = 0, 0
        # Positions whose n-gram occurs once only add never-seen n-grams: skip them.
        for start in duplicated.tolist():
            if start < resume:
                continue
            gram = units[start : start + n]
            if gram in seen:
                chars += self._chars(start, n)
                resume = start + n
            else:
                seen.add(gram)
        return chars if chars > limit else None

    def _chars(self, start: int, n: int) -> int:
        if self._cumulative is None:
            return n
        return int(self._cumulative[start + n] - self._cumulative[start])

    def _hash(self, n: int) -> np.ndarray:
        if n not in self._hashes:
            # Multiplying last spreads every unit into the high bits, which the sorts use.
            hashes = self._hash(n - 1)[:-1] + self._codes[n - 1 :]
            hashes *= _HASH_MULTIPLIER
            self._hashes[n] = hashes
        return self._hashes[n]

    def _occurs_more_than(self, n: int, times: int) -> bool:
        """Whether some n-gram may occur more than ``times`` times (never a false no)."""
        if n not in self._sorted:
            # The hash's high 32 bits: collisions only answer yes more often; sorts twice as fast.
            self._sorted[n] = np.sort((self._hash(n) >> np.uint64(32)).astype(np.uint32))
        ordered = self._sorted[n]
        if times == 0 or times >= ordered.size:
            return times < ordered.size
        # Sorted, an n-gram occurring more than ``times`` times spans ``times + 1`` slots.
        return bool((ordered[times:] == ordered[:-times]).any())

    def _group(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions sorted by n-gram, and where a position's n-gram equals the previous one's.

        Also records an upper bound of the greedy count: the characters covered by the
        n-grams at positions repeating an earlier one (the greedy scan counts some of those).
        """
        if n in self._groups:
            return self._groups[n]
        hashes, bits = self._hash(n), self._position_bits
        low = np.uint64((1 << bits) - 1)
        shorter = [k for k in self._groups if k < n]
        if shorter:
            # Every k-gram inside a repeated n-gram is repeated too: only those positions.
            k = max(shorter)
            candidates = self._duplicated_positions(k)
            flags = np.zeros(self._size + n, dtype=bool)
            flags[candidates] = True
            keep = candidates < hashes.size
            for offset in range(1, n - k + 1):
                keep &= flags[candidates + offset]
            positions = candidates[keep]
            keys = (hashes[positions] & ~low) | positions.astype(np.uint64)
        else:
            keys = (hashes & ~low) | np.arange(hashes.size, dtype=np.uint64)
        keys.sort()
        in_group = (keys[1:] ^ keys[:-1]) <= low
        ordered = (keys & low).astype(np.int64)
        self._groups[n] = ordered, in_group
        # The union of the n-grams at repeating positions: each ends where the next begins.
        repeats = np.sort(ordered[1:][in_group])
        ends = repeats + n
        ends[:-1] = np.minimum(ends[:-1], repeats[1:])
        if self._cumulative is None:
            self._repeat_bounds[n] = int((ends - repeats).sum())
        else:
            self._repeat_bounds[n] = int((self._cumulative[ends] - self._cumulative[repeats]).sum())
        return ordered, in_group

    def _duplicated_positions(self, n: int) -> np.ndarray:
        """Positions of the n-grams seen twice or more, in order."""
        if n not in self._duplicated:
            ordered, in_group = self._group(n)
            flags = np.zeros(self._size, dtype=bool)
            flags[ordered[1:][in_group]] = True
            flags[ordered[:-1][in_group]] = True
            self._duplicated[n] = np.flatnonzero(flags)
        return self._duplicated[n]
