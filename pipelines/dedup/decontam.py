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

import apache_beam as beam
import numpy as np

from pipelines.config import SourceConfig
from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn
from pipelines.dedup.config import DecontamConfig, EvalSetConfig
from pipelines.dedup.shingles import fold
from pipelines.errors import MedloomError
from pipelines.readers import read_file, resolve_inputs
from pipelines.records import SourceRecord, Unreadable
from pipelines.transforms import REJECTED, Document, reject

_BASE = np.uint64(1_000_003)


def ngram_hashes(text: str, n: int) -> np.ndarray:
    """Distinct 64-bit hashes of the folded text's character n-grams (empty if shorter)."""
    folded = fold(text)
    if len(folded) < n:
        return np.empty(0, dtype=np.uint64)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return np.unique(_rolling_hashes(codes, n))


def _rolling_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """sum(codes[i + k] * BASE**(n - 1 - k)) mod 2**64 for every i, in log2(n) array steps.

    Hashes of length-a and length-b windows combine as h(a + b)[i] = h(a)[i] * BASE**b +
    h(b)[i + a], so windows of 1, 2, 4, 8 characters build the n-character ones.
    """
    windows = {1: codes}
    size = 1
    with np.errstate(over="ignore"):
        while size * 2 <= n:
            shorter = windows[size]
            windows[size * 2] = shorter[:-size] * _power(size) + shorter[size:]
            size *= 2
        hashes, length = windows[size], size
        for part in sorted(windows, reverse=True):
            if length + part <= n:
                count = len(codes) - (length + part) + 1
                hashes = hashes[:count] * _power(part) + windows[part][length : length + count]
                length += part
    return hashes


def _power(exponent: int) -> np.uint64:
    return np.uint64(pow(int(_BASE), exponent, 1 << 64))


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


class BuildEvalIndex(beam.CombineFn):
    """Evaluation items → one EvalIndex (the side input decontamination looks up)."""

    def __init__(self, ngram: int) -> None:
        self._ngram = ngram

    def create_accumulator(self) -> list[EvalItem]:
        return []

    def add_input(self, items: list[EvalItem], item: EvalItem) -> list[EvalItem]:
        items.append(item)
        return items

    def merge_accumulators(self, accumulators: Any) -> list[EvalItem]:
        return [item for items in accumulators for item in items]

    def extract_output(self, items: list[EvalItem]) -> EvalIndex:
        return EvalIndex(items, self._ngram)


class _Decontaminate(CountingDoFn):
    def __init__(self, config: DecontamConfig, excerpt_chars: int, with_excerpt: bool) -> None:
        self._overlap = config.overlap
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def process(self, document: Document, index: EvalIndex) -> Iterator[Any]:
        share, item = index.best_overlap(document["text"])
        if share < self._overlap or item is None:
            yield document
            return
        eval_set = item.split("/", 1)[0]
        self.count(document["source"], f"decontam/{eval_set}")
        yield beam.pvalue.TaggedOutput(
            REJECTED,
            reject(
                document,
                "decontam",
                "overlaps_eval_set",
                f"{share:.2f} of the 13-grams of {item}",
                self._excerpt_chars,
                self._with_excerpt,
            ),
        )


class _ReadEvalFile(beam.DoFn):
    def __init__(self, eval_sets: dict[str, EvalSetConfig]) -> None:
        self._eval_sets = eval_sets

    def process(self, element: tuple[str, str]) -> Iterator[Any]:
        name, path = element
        for item in read_eval_items(self._eval_sets[name], path):
            if isinstance(item, Unreadable):
                yield beam.pvalue.TaggedOutput(STATS, ((ALL_SOURCES, f"eval_unreadable/{name}"), 1))
            else:
                yield item
                yield beam.pvalue.TaggedOutput(STATS, ((ALL_SOURCES, f"eval_items/{name}"), 1))


class Decontaminate(beam.PTransform):
    """Drop documents that hold a share ``overlap`` of one evaluation item's n-grams.

    Reads the config's evaluation sets itself (one file per element), combines their items
    into one EvalIndex and looks every document up in it as a side input. Outputs: the
    documents kept (main), REJECTED rows (stage ``decontam``) and STATS: per source
    ``decontam/<set>``, and ``eval_items/<set>``, ``eval_unreadable/<set>``.
    """

    def __init__(self, config: DecontamConfig, excerpt_chars: int, with_excerpt: bool) -> None:
        super().__init__()
        self._config = config
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> dict[str, beam.PCollection]:
        config = self._config
        read = (
            documents.pipeline
            | "ListEvalFiles"
            >> beam.Create([(e.name, path) for e in config.eval_sets for path in eval_files(e)])
            | "ReadEvalFiles"
            >> beam.ParDo(_ReadEvalFile({e.name: e for e in config.eval_sets})).with_outputs(
                STATS, main="items"
            )
        )
        index = read.items | "BuildIndex" >> beam.CombineGlobally(BuildEvalIndex(config.ngram))
        looked_up = documents | "Lookup" >> beam.ParDo(
            _Decontaminate(config, self._excerpt_chars, self._with_excerpt),
            beam.pvalue.AsSingleton(index),
        ).with_outputs(REJECTED, STATS, main="kept")
        stats = (read[STATS], looked_up[STATS]) | "MergeStats" >> beam.Flatten()
        return {"kept": looked_up.kept, REJECTED: looked_up[REJECTED], STATS: stats}


def check_eval_sets(config: DecontamConfig) -> None:
    """Fail before the run starts when decontamination is on but has nothing to check."""
    if not config.enabled:
        return
    if not config.eval_sets:
        raise MedloomError("decontam is enabled but names no eval_sets")
    for eval_set in config.eval_sets:
        eval_files(eval_set)


def decontam_manifest(
    config: DecontamConfig, stats: Mapping[tuple[str, str], int], sources: Sequence[str]
) -> dict[str, Any]:
    """The manifest's ``decontam`` section: items indexed, and removals per source and set."""

    def prefixed(prefix: str) -> dict[str, int]:
        return {
            metric.removeprefix(prefix): n
            for (source, metric), n in sorted(stats.items())
            if source == ALL_SOURCES and metric.startswith(prefix)
        }

    return {
        "enabled": config.enabled,
        "ngram": config.ngram,
        "overlap": config.overlap,
        "eval_items": prefixed("eval_items/"),
        "eval_unreadable": prefixed("eval_unreadable/"),
        "removed": {
            source: {
                metric.removeprefix("decontam/"): n
                for (s, metric), n in sorted(stats.items())
                if s == source and metric.startswith("decontam/")
            }
            for source in sources
        },
    }
