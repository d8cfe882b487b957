"""Are the evaluation items in the training data? Each item is looked up in every training
output of the same run folder with the pipelines' decontamination index (``EvalIndex``:
folded character n-grams, default 13, an item overlaps a document holding at least
``overlap`` of its n-grams, default 0.5).

The outputs: ``pretrain`` (document text), ``sft`` (every message of the train and
validation splits; the test split is where held-out prompts come from) and
``preference/pairs`` (the prompts). ``EvalIndex`` names the one item a document overlaps
most; a document over the threshold is looked up again without the items already found,
until none is, so an item is counted whenever any document holds enough of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.dedup.config import DecontamConfig
from pipelines.dedup.decontam import EvalIndex, EvalItem
from schemas.registry import PREFERENCE_PAIR, PRETRAIN_DOCUMENT, SFT_CONVERSATION
from training.data import PAIRS_DIR, PRETRAIN_DIR, SFT_DIR, parquet_files

DEFAULTS = DecontamConfig()
EXAMPLES_SHOWN = 10


def overlapping_items(
    items: list[EvalItem], documents: Iterable[str], ngram: int, overlap: float
) -> set[str]:
    """Names (``set/id``) of the items that some document holds ``overlap`` of."""
    found: set[str] = set()
    remaining = list(items)
    candidates: Iterable[str] = documents
    while remaining:
        index = EvalIndex(remaining, ngram)
        hits: list[str] = []
        for text in candidates:
            share, name = index.best_overlap(text)
            if name is not None and share >= overlap:
                found.add(name)
                hits.append(text)
        if not hits:
            break
        remaining = [i for i in remaining if f"{i.eval_set}/{i.item_id}" not in found]
        candidates = hits
    return found


def training_texts(data: Path) -> dict[str, Iterator[str] | None]:
    """The text of each training output of ``data`` (None where the output is absent)."""

    def present(folder: str) -> bool:
        return any((data / folder).glob("*.parquet"))

    return {
        "pretrain": _pretrain(data) if present(PRETRAIN_DIR) else None,
        "sft": _sft(data) if present(SFT_DIR) else None,
        "preference_pairs": _pairs(data) if present(PAIRS_DIR) else None,
    }


def _rows(folder: Path, spec: Any, columns: list[str]) -> Iterator[dict[str, Any]]:
    for path in parquet_files(folder, spec):
        yield from pq.read_table(path, columns=columns).to_pylist()


def _pretrain(data: Path) -> Iterator[str]:
    for row in _rows(data / PRETRAIN_DIR, PRETRAIN_DOCUMENT, ["text"]):
        yield row["text"]


def _sft(data: Path) -> Iterator[str]:
    for row in _rows(data / SFT_DIR, SFT_CONVERSATION, ["messages", "split"]):
        if row["split"] != "test":
            yield "\n".join(m["content"] for m in row["messages"])


def _pairs(data: Path) -> Iterator[str]:
    seen: set[str] = set()
    for row in _rows(data / PAIRS_DIR, PREFERENCE_PAIR, ["prompt"]):
        text = "\n".join(m["content"] for m in row["prompt"])
        if text not in seen:
            seen.add(text)
            yield text


def contamination_report(
    items: list[EvalItem],
    data: Path,
    ngram: int = DEFAULTS.ngram,
    overlap: float = DEFAULTS.overlap,
) -> dict[str, Any]:
    """Per training output: how many evaluation items overlap it, by evaluation set."""
    per_set = Counter(item.eval_set for item in items)
    outputs: dict[str, Any] = {}
    for output, texts in training_texts(data).items():
        if texts is None:
            outputs[output] = {"present": False}
            continue
        found = sorted(overlapping_items(items, texts, ngram, overlap))
        by_set = Counter(name.split("/", 1)[0] for name in found)
        outputs[output] = {
            "present": True,
            "items_overlapping": len(found),
            "by_set": {name: by_set.get(name, 0) for name in sorted(per_set)},
            "examples": found[:EXAMPLES_SHOWN],
        }
    return {
        "ngram": ngram,
        "overlap": overlap,
        "items": dict(sorted(per_set.items())),
        "too_short": EvalIndex(items, ngram).too_short,
        "outputs": outputs,
    }
