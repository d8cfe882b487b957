"""The preference part of `medloom demo`: sample items, pre-labeled, settled and exported.

Reads ``data_dir/preference/`` (the project's ``data/`` folder as ``data_dir``):

* ``candidates.jsonl``: prompts with four candidate answers, the ``jsonl`` import format;
* ``annotations.jsonl``: one judgement per line, ``{item, annotator, rule_version, ranks,
  unsafe, scores, corrected, shown_order, seconds}``, where ``item`` is a candidates record's
  ``id`` and every list is by the position of the response in that record (``unsafe`` and
  ``shown_order`` hold positions, ``scores`` one list per dimension);
* ``eval_prompts.txt``: evaluation prompts to keep out, one per line.

No person is needed: the annotations stand in for the labeling tool's database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from annotation.aggregate import settle
from annotation.exports import write_preference_datasets
from annotation.importers import read_candidates
from annotation.records import DIMENSIONS, Judgement, PromptItem
from pipelines.deid import Deidentifier
from pipelines.errors import MedloomError

SAMPLES = "preference"
# Two judgements settle an item when they agree (aggregate.settle's threshold).
REQUIRED_JUDGEMENTS = 2


def build_demo_preferences(data_dir: Path, out: Path, deidentifier: Deidentifier | None) -> dict:
    """Import, settle and export the sample preferences; the import and export counts."""
    samples = Path(data_dir) / SAMPLES
    imported = read_candidates(samples / "candidates.jsonl", "jsonl", deidentifier)
    if imported.quarantined:
        first = imported.quarantined[0]
        raise MedloomError(
            f"demo candidates: line {first['line']} of {first['path']}: {first['reason']}"
        )
    by_record = {item.metadata["source_id"]: item for item in imported.items}
    judgements = _read_judgements(samples / "annotations.jsonl", by_record)
    labeled = [
        settle(item, judgements.get(record_id, []), required=REQUIRED_JUDGEMENTS)
        for record_id, item in sorted(by_record.items())
    ]
    eval_path = samples / "eval_prompts.txt"
    eval_prompts = [p for p in eval_path.read_text(encoding="utf-8").splitlines() if p.strip()]
    counts = write_preference_datasets(labeled, Path(out), eval_prompts=eval_prompts)
    return {
        "import": imported.counts,
        "judgements": sum(len(j) for j in judgements.values()),
        "export": counts,
    }


def _read_judgements(path: Path, items: dict[str, PromptItem]) -> dict[str, list[Judgement]]:
    judgements: dict[str, list[Judgement]] = defaultdict(list)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            item = items[record["item"]]
            judgements[record["item"]].append(_judgement(record, item))
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise MedloomError(
                f"demo annotations: line {number} of {path}: {type(exc).__name__} {exc}"
            ) from None
    return judgements


def _judgement(record: dict[str, Any], item: PromptItem) -> Judgement:
    ids = [c.id for c in item.candidates]
    if len(record["ranks"]) != len(ids):
        raise IndexError(f"{len(record['ranks'])} ranks for {len(ids)} responses")
    return Judgement(
        annotator=record["annotator"],
        rule_version=record["rule_version"],
        ranks=dict(zip(ids, record["ranks"], strict=True)),
        scores={
            c: {d: record["scores"][d][position] for d in DIMENSIONS}
            for position, c in enumerate(ids)
        },
        unsafe=frozenset(ids[p] for p in record["unsafe"]),
        corrected=record["corrected"],
        shown_order=tuple(ids[p] for p in record["shown_order"]),
        seconds=float(record["seconds"]),
    )
