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

On a short text (a few hundred characters) those passes cost more in numpy's fixed per-call
costs than in work. :func:`open_measures` first tries a proof, in a handful of numpy calls,
that no measure exceeds its limit: the most frequent bigram bounds every top n-gram count, and
the union of the n-grams at positions repeating an earlier n-gram bounds the greedy count.
:func:`within_limits` tries the same proof for a whole batch of texts in one pass, which the
quality filters ask first: on the real QA texts it settles nine in ten documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache, cached_property

import numpy as np
import pandas as pd

# An odd 64-bit multiplier (2^64 / golden ratio); arithmetic wraps modulo 2^64.
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
# Above this many characters the cheap bounds rarely hold and only add to the exact measures
# (concatenated medical QA answers: the bounds save 25% at 1,000 characters, cost 5% at 3,000).
BOUNDS_MAX_UNITS = 2000
# Above this many positions repeating an n-gram, the Python union costs more than it saves.
_MAX_REPEATS = 64
# Positions for sort keys, sliced rather than made for each short text.
_POSITIONS = np.arange(1 << 14, dtype=np.uint64)
# Fewest bits of a bigram's hash in a 32-bit sort key (the rest number the text): with 2^20
# values, two bigrams of a 2,000-character text rarely share one.
_MIN_BIGRAM_HASH_BITS = 20
# A second odd multiplier, for the code that follows an exact 4-gram key.
_SECOND_MULTIPLIER = 0xC2B2AE3D27D4EB4F


def open_measures(
    units: str,
    top_limits: Sequence[tuple[int, float]],
    duplicate_limits: Sequence[tuple[int, float]],
) -> tuple[set[int], set[int]]:
    """The n of the top and of the duplicate n-gram measures that cheap bounds leave open.

    The limits are (n, characters) pairs, as :meth:`NgramStats.top_ngram_chars` and
    :meth:`NgramStats.duplicate_ngram_chars` take them for the characters of ``units``; for
    every n not returned, the bound proves the measure at or under its limit (both return None).
    """
    data = units.encode("utf-16-le")
    if len(data) == 2 * len(units):
        # No astral character: one 16-bit code each, and 2 or 4 of them make an exact key.
        codes = np.frombuffer(data, np.uint16)
    else:
        codes = np.frombuffer(units.encode("utf-32-le"), np.uint32)
    return _open_top(codes, top_limits), _open_duplicates(codes, duplicate_limits)


def within_limits(
    texts: Sequence[str],
    top_fractions: Sequence[tuple[int, float]],
    duplicate_fractions: Sequence[tuple[int, float]],
) -> np.ndarray:
    """For each text, whether cheap bounds prove every measure at or under its limit.

    The limits are (n, fraction) pairs: a measure's limit is the fraction times the text's
    length in characters, as :class:`NgramStats` takes it for that text. The bounds are
    :func:`open_measures`' for all the texts at once (their fixed cost paid once per batch,
    not per text): the most frequent bigram bounds every top n-gram count, and the union of
    the n-grams at positions repeating an earlier n-gram bounds the greedy count. The texts
    are joined end to end and an n-gram across two of them is counted in the first: that can
    only add occurrences and repeats, so the bounds still hold. False proves nothing: ask
    :func:`open_measures`, then the exact measures.
    """
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    proven = np.zeros(len(texts), dtype=bool)
    joined = "".join(texts)
    data = joined.encode("utf-16-le")
    small = any(n < 2 for n, _ in top_fractions) or any(n < 1 for n, _ in duplicate_fractions)
    if len(joined) < 2 or small or len(data) != 2 * len(joined):
        # A top 1-gram (the bigram bound is no bound of it), or astral characters: per text.
        return proven
    codes = np.frombuffer(data, np.uint16)
    owner = np.repeat(np.arange(len(texts), dtype=np.uint64), lengths)
    proven[:] = True
    if top_fractions:
        most = _most_frequent_bigram(codes, owner, len(texts))
        for n, fraction in top_fractions:
            proven &= (most <= 1) | (most * n <= fraction * lengths)
    if duplicate_fractions:
        first = min(n for n, _ in duplicate_fractions)
        positions = _repeating_positions(codes, owner, first)
        for n, fraction in duplicate_fractions:
            covered = _union_of_repeats_per_text(positions, owner, n - first, n, len(texts))
            proven &= covered <= fraction * lengths
    return proven


def _most_frequent_bigram(codes: np.ndarray, owner: np.ndarray, texts: int) -> np.ndarray:
    """Occurrences of each text's most frequent bigram, or more (0 for a text without one).

    Sort keys are 32-bit (numpy sorts them twice as fast as 64-bit ones): the text's number
    in the high bits, a hash of the bigram in the others. Equal bigrams of a text share a
    key; two bigrams of a text share one only by a collision of the hash, which merges their
    counts: the result can only grow, so it stays a bound.
    """
    most = np.zeros(texts, dtype=np.int64)
    # Two 16-bit codes read as one 32-bit word: the bigram, exactly.
    bigrams = np.ndarray((codes.size - 1,), "<u4", codes, 0, (2,))
    owner_bits = max(1, (texts - 1).bit_length())
    hash_bits = 32 - owner_bits
    if hash_bits < _MIN_BIGRAM_HASH_BITS:
        # Too many texts for a 32-bit key with a useful hash: the exact 64-bit key.
        keys = np.sort((owner[:-1] << np.uint64(32)) | bigrams)
        text_shift = np.uint64(32)
    else:
        hashed = (bigrams.astype(np.uint64) * _HASH_MULTIPLIER) >> np.uint64(64 - hash_bits)
        hashed |= owner[:-1] << np.uint64(hash_bits)
        keys = np.sort(hashed.astype(np.uint32))
        text_shift = np.uint32(hash_bits)
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    runs = np.diff(np.append(first, keys.size))
    run_text = (keys[first] >> text_shift).astype(np.int64)
    # Runs come grouped by text: the largest of each group.
    text_first = np.flatnonzero(np.concatenate(([True], run_text[1:] != run_text[:-1])))
    most[run_text[text_first]] = np.maximum.reduceat(runs, text_first)
    return most


def _repeating_positions(codes: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Positions, ascending, whose n-gram (may) repeat one seen earlier in the same text.

    Hash collisions, within a text or across texts, only add positions: a superset.
    """
    count = codes.size - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    # The text's number mixed in, so equal n-grams of two texts (mostly) differ. pandas'
    # hash table marks each key seen before in one pass, in position order: no sort.
    keys = _gram_hashes(codes, n, 0) + owner[:count] * _HASH_MULTIPLIER
    return np.flatnonzero(pd.Series(keys, copy=False).duplicated().to_numpy())


def _union_of_repeats_per_text(
    positions: np.ndarray, owner: np.ndarray, trim: int, n: int, texts: int
) -> np.ndarray:
    """:func:`_union_of_repeats` of every text at once, from the ascending ``positions``."""
    if not positions.size:
        return np.zeros(texts, dtype=np.int64)
    text = owner[positions].astype(np.int64)
    # Runs of consecutive positions of one text: [first, last].
    breaks = (np.diff(positions) != 1) | (np.diff(text) != 0)
    firsts = positions[np.concatenate(([True], breaks))]
    lasts = positions[np.concatenate((breaks, [True]))]
    run_text = text[np.concatenate(([True], breaks))]
    kept = lasts - trim >= firsts
    firsts, run_text = firsts[kept], run_text[kept]
    run_ends = lasts[kept] - trim + n
    # What the previous run of the same text reaches (ends ascend within a text).
    reach = np.concatenate(([0], run_ends[:-1]))
    reach[np.concatenate(([True], run_text[1:] != run_text[:-1]))] = 0
    covered = run_ends - np.maximum(firsts, reach)
    return np.bincount(run_text, weights=covered, minlength=texts).astype(np.int64)


def _open_top(codes: np.ndarray, limits: Sequence[tuple[int, float]]) -> set[int]:
    size, opened = codes.size, set()
    checks = []  # (n, the most occurrences of an n-gram its limit allows)
    for n, limit in limits:
        if n < 2:
            opened.add(n)
        elif n <= size:
            # An n-gram counts only when it occurs twice or more.
            checks.append((n, max(1, _floor_ratio(limit, n))))
    if not checks:
        return opened
    # An n-gram occurring k times starts with an m-gram (m < n) occurring k times or more.
    checks.sort()
    level, grams = 2, _sorted_grams(codes, 2)
    if not _occurs_more_than(grams, min(most for _, most in checks)):
        return opened
    for n, most in checks:
        if not _occurs_more_than(grams, most):
            continue
        if level < n:
            level, grams = n, _sorted_grams(codes, n)
            if not _occurs_more_than(grams, most):
                continue
        opened.add(n)
    return opened


def _open_duplicates(codes: np.ndarray, limits: Sequence[tuple[int, float]]) -> set[int]:
    limits = [(n, limit) for n, limit in limits if n <= codes.size]
    if not limits:
        return set()
    first = min(n for n, _ in limits)
    if first < 1:
        return {n for n, _ in limits}
    count = codes.size - first + 1
    bits = count.bit_length()
    # Sort keys carry the position in their low bits: an n-gram's first occurrence sorts first,
    # the positions after it in its group repeat it (hash collisions only add some).
    keys = _gram_hashes(codes, first, bits)
    keys |= _POSITIONS[:count] if count <= _POSITIONS.size else np.arange(count, dtype=np.uint64)
    keys.sort()
    low = np.uint64((1 << bits) - 1)
    repeating = (keys[1:] ^ keys[:-1]) <= low
    # The positions repeating a larger n-gram are among them, and the greedy count takes at
    # most n characters at each.
    repeated = int(np.count_nonzero(repeating))
    runs: list[list[int]] | None = None
    opened = set()
    for n, limit in limits:
        if n * repeated <= limit:
            continue
        if runs is None and repeated <= _MAX_REPEATS:
            runs = _runs(np.sort(keys[1:][repeating] & low).tolist())
        if runs is None or _union_of_repeats(runs, n - first, n) > limit:
            opened.add(n)
    return opened


def _runs(positions: list[int]) -> list[list[int]]:
    """Ascending positions as [first, last] runs of consecutive ones."""
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][1] == position - 1:
            runs[-1][1] = position
        else:
            runs.append([position, position])
    return runs


def _union_of_repeats(runs: list[list[int]], trim: int, n: int) -> int:
    """Characters covered by the n-grams at the repeating positions ``runs`` leave, less ``trim``.

    Position i repeats an earlier n-gram only if i + 1, ..., i + trim repeat earlier
    (n - trim)-grams: a run of repeating positions loses its last ``trim``. The greedy count
    takes whole n-grams at repeating positions, without overlap: at most this union.
    """
    covered = reach = 0
    # Runs are ascending, so are their ends.
    for start, last in runs:
        if last - trim >= start:
            end = last - trim + n
            covered += end - max(start, reach)
            reach = end
    return covered


def _sorted_grams(codes: np.ndarray, n: int) -> np.ndarray:
    """The n-grams of ``codes`` as sorted keys: equal n-grams have equal keys."""
    if codes.itemsize == 2 and n in (1, 2, 4):
        # n 16-bit codes read as one word: exact, and no arithmetic.
        grams = np.ndarray((codes.size - n + 1,), f"<u{2 * n}", codes, 0, (2,)).copy()
    else:
        grams = _gram_hashes(codes, n, 0)
    grams.sort()
    return grams


def _gram_hashes(codes: np.ndarray, n: int, shift: int) -> np.ndarray:
    """A 64-bit hash of each n-gram of ``codes`` (n >= 1), with its ``shift`` low bits zero."""
    count = codes.size - n + 1
    if codes.itemsize == 2 and n >= 4:
        # Four 16-bit codes read as one word, the following codes mixed in: fewer numpy calls.
        first, *following = _multipliers(n - 3, shift)
        hashes = np.ndarray((count,), "<u8", codes, 0, (2,)) * first
        for j, multiplier in enumerate(following, start=4):
            hashes ^= codes[j : j + count] * multiplier
        return hashes
    windows = np.ndarray((count, n), np.uint64, codes.astype(np.uint64), 0, (8, 8))
    return windows @ _weights(n, shift)


@cache
def _multipliers(count: int, shift: int) -> tuple[np.uint64, ...]:
    """Odd multipliers (the first, then powers of a second), shifted left by ``shift`` bits."""
    mask = (1 << 64) - 1
    seconds = (pow(_SECOND_MULTIPLIER, j, mask + 1) for j in range(1, count))
    powers = [int(_HASH_MULTIPLIER), *seconds]
    return tuple(np.uint64((power << shift) & mask) for power in powers)


def _occurs_more_than(ordered: np.ndarray, times: int) -> bool:
    """Whether a value of the sorted ``ordered`` occurs more than ``times`` (>= 1) times."""
    # Sorted, a value occurring more than ``times`` times spans ``times + 1`` slots.
    return times < ordered.size and np.count_nonzero(ordered[times:] == ordered[:-times]) > 0


@cache
def _weights(n: int, shift: int) -> np.ndarray:
    """A polynomial hash's multipliers, shifted left by ``shift`` bits (modulo 2^64)."""
    multiplier, mask = int(_HASH_MULTIPLIER), (1 << 64) - 1
    powers = [pow(multiplier, n - j, 1 << 64) for j in range(n)]
    return np.array([(power << shift) & mask for power in powers], np.uint64)


def _floor_ratio(limit: float, n: int) -> int:
    """The largest whole k with k * n <= limit (compared exactly, as the measures are)."""
    k = int(limit // n)
    while (k + 1) * n <= limit:
        k += 1
    while k > 0 and k * n > limit:
        k -= 1
    return k


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
