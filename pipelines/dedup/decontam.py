"""Decontamination: training items that hold an evaluation item's text are kept out.

Every evaluation item is folded (``shingles.fold``: simplified, NFKC, no punctuation or
spaces) and cut into character n-grams (default 13, GPT-3's test on characters). A training
item goes when it holds at least ``overlap`` of one evaluation item's n-grams. N-grams are
64-bit polynomial hashes computed with numpy over the code points (stable across processes,
so the index built in one worker is valid in every other); the index is a sorted array of
distinct n-gram hashes with, for each, the evaluation items holding it (CSR layout): a
lookup is a ``searchsorted`` of the training item's hashes, then a ``bincount`` per item.
An evaluation item shorter than n is left out of the index and counted as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.config import SourceConfig
from pipelines.dedup.config import EvalSetConfig
from pipelines.dedup.shingles import fold
from pipelines.errors import MedloomError
from pipelines.readers import read_file, resolve_inputs
from pipelines.records import SourceRecord, Unreadable

_BASE = np.uint64(1_000_003)


def ngram_hashes(text: str, n: int) -> np.ndarray:
    """Distinct 64-bit hashes of the folded text's character n-grams (empty if shorter)."""
    folded = fold(text)
    if len(folded) < n:
        return np.empty(0, dtype=np.uint64)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - n + 1
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            hashes = hashes * _BASE + codes[k : k + count]
    return np.unique(hashes)


@dataclass(frozen=True)
class EvalItem:
    eval_set: str
    item_id: str
    text: str


class EvalIndex:
    """The n-grams of every evaluation item, for overlap lookups."""

    def __init__(self, items: Sequence[EvalItem], n: int) -> None:
        self.n = n
        self.names: list[str] = []
        grams, owners, sizes = [], [], []
        self.too_short = 0
        for item in sorted(items, key=lambda i: (i.eval_set, i.item_id)):
            hashes = ngram_hashes(item.text, n)
            if not len(hashes):
                self.too_short += 1
                continue
            owner = len(self.names)
            self.names.append(f"{item.eval_set}/{item.item_id}")
            grams.append(hashes)
            owners.append(np.full(len(hashes), owner, dtype=np.int64))
            sizes.append(len(hashes))
        all_grams = np.concatenate(grams) if grams else np.empty(0, dtype=np.uint64)
        all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
        order = np.lexsort((all_owners, all_grams))
        all_grams, self._owners = all_grams[order], all_owners[order]
        self._grams, starts = np.unique(all_grams, return_index=True)
        self._offsets = np.append(starts, len(all_grams))
        self._sizes = np.array(sizes, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.names)

    def best_overlap(self, text: str) -> tuple[float, str | None]:
        """The largest share of one evaluation item's n-grams found in ``text``, and its name."""
        if not len(self._grams):
            return 0.0, None
        hashes = ngram_hashes(text, self.n)
        if not len(hashes):
            return 0.0, None
        positions = np.minimum(np.searchsorted(self._grams, hashes), len(self._grams) - 1)
        found = positions[self._grams[positions] == hashes]
        if not len(found):
            return 0.0, None
        starts, ends = self._offsets[found], self._offsets[found + 1]
        lengths = ends - starts
        index = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        shares = np.bincount(self._owners[index], minlength=len(self.names)) / self._sizes
        best = int(np.argmax(shares))
        return float(shares[best]), self.names[best]


def _flatten(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _flatten(v)


def _lookup(record: Any, name: str) -> Any:
    for part in name.split("."):
        if not isinstance(record, Mapping) or part not in record:
            return None
        record = record[part]
    return record


class _EvalMapper:
    """An evaluation record's text: its named fields that are present, lists flattened."""

    def __init__(self, eval_set: EvalSetConfig) -> None:
        self._fields = eval_set.text_fields

    @property
    def top_level_fields(self) -> list[str]:
        return list(dict.fromkeys(name.split(".", 1)[0] for name in self._fields))

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> SourceRecord | Unreadable:
        parts = [t for name in self._fields for t in _flatten(_lookup(record, name)) if t]
        if not parts:
            return Unreadable(path, line, "missing_field", f"none of {self._fields}")
        return SourceRecord(position_id, "\n".join(parts))

    def from_text(self, record: SourceRecord, path: str) -> Iterator[SourceRecord]:
        yield record


def eval_files(eval_set: EvalSetConfig) -> list[str]:
    """The files of an evaluation set; a missing path is a one-line error."""
    files: list[str] = []
    for path in eval_set.paths:
        source = SourceConfig(name=eval_set.name, path=path)
        try:
            files.extend(resolve_inputs(source))
        except MedloomError as exc:
            raise MedloomError(f"evaluation set {eval_set.name!r}: {exc}") from None
    if not files:
        raise MedloomError(f"evaluation set {eval_set.name!r} names no files")
    return files


def read_eval_items(eval_set: EvalSetConfig, path: str) -> Iterator[EvalItem | Unreadable]:
    """The items of one file of an evaluation set (text records: one per line)."""
    source = SourceConfig(name=eval_set.name, path=path, text_record="line")
    for record in read_file(path, source, _EvalMapper(eval_set)):
        if isinstance(record, SourceRecord):
            yield EvalItem(eval_set.name, record.source_record_id, record.text)
        else:
            yield record
