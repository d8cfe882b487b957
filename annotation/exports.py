"""Labeled items → the preference datasets trainers read.

    write_preference_datasets(items, out) writes
        out/ranking/part-00000.parquet        preference_ranking: every item, every judgement
        out/pairs/part-00000.parquet          preference_pair: TRL's conversational form
        out/llamafactory/preference_ranking.json + dataset_info.json  ("ranking": true)
        out/openrlhf/preference.jsonl         {prompt, chosen, rejected, margin}

Before anything is written, items whose prompt holds an evaluation prompt (at least half
of its character 13-grams, the project's decontamination rule) are kept out, then near-
duplicate prompts are removed (MinHash LSH over the prompt text, confirmed on true Jaccard
by the pipelines' rule, ``near_dup_threshold`` − 0.1): of each cluster the item with the
most judgements is kept, then the one with the smallest hash of its id.

Pairs come only from settled items (``final_ranks`` set, by agreement or adjudication): every
C(K, 2) pair of the K responses whose final ranks differ, the better-ranked one chosen; equal
ranks are ties and are dropped. The margin is the rank gap scaled by the widest gap a
K-list can have: ``margin = (rank_rejected - rank_chosen) / (K - 1)``, so neighbours in a
4-list get 0.3333 and best against worst 1.0 (RewardTrainer subtracts it inside the
log-sigmoid, asking for a wider reward gap where annotators saw a wider quality gap).
An annotator's corrected answer is a response written to be better than all K: it is
chosen against every response, counted as rank 0 in the same formula (against the best
response 1 / (K - 1)). The same correction from two annotators is one response.

``ranking/`` holds every item that passed the filters, settled or not; an unsettled item has
an empty ``final_ranks`` and an empty ``final_by``.

Deterministic: rows are sorted by id, JSON keys are written in a fixed order, so the same
items give byte-identical files.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotation.records import DIMENSIONS, Judgement, LabeledItem, Message
from pipelines.dedup.config import DecontamConfig, NearDedupConfig
from pipelines.dedup.decontam import EvalIndex, EvalItem
from pipelines.dedup.minhash import band_hashes, band_layout, check_threshold, signatures
from pipelines.dedup.shingles import hash_jaccard, hash_sets, shingle_hashes
from pipelines.errors import MedloomError
from pipelines.hashing import stable_hash, text_key
from schemas import SchemaSpec
from schemas.registry import PREFERENCE_PAIR, PREFERENCE_RANKING

LLAMAFACTORY_DATASET = "medloom_preference"
# Margins are rounded so that a reader sees 0.3333, not 0.333333333333.
MARGIN_DIGITS = 4
_SHAREGPT_ROLE = {"user": "human", "assistant": "gpt"}


def write_preference_datasets(
    items: Sequence[LabeledItem],
    out: Path,
    *,
    eval_prompts: Sequence[str] = (),
    near_dup_threshold: float = 0.8,
) -> dict:
    """Write the four preference datasets of ``items`` under ``out``; return the counts."""
    if not 0.0 < near_dup_threshold <= 1.0:
        raise MedloomError(f"near_dup_threshold must be in (0, 1], not {near_dup_threshold}")
    out = Path(out)
    for item in items:
        _check(item)
    ordered = sorted(items, key=lambda i: i.item.id)
    clean, eval_overlaps = _without_eval_overlaps(ordered, eval_prompts)
    kept, near_dups = _without_near_duplicates(clean, near_dup_threshold)
    settled = [i for i in kept if i.final_ranks is not None]

    pairs: list[dict[str, Any]] = []
    ties = corrected = 0
    for item in settled:
        item_pairs, item_ties = _pairs(item)
        pairs.extend(item_pairs)
        ties += item_ties
        corrected += sum(1 for p in item_pairs if p["chosen_id"].startswith("corrected-"))
    pairs.sort(key=lambda p: (p["item_id"], p["id"]))

    _write_parquet(PREFERENCE_RANKING, [_ranking_row(i) for i in kept], out / "ranking")
    _write_parquet(PREFERENCE_PAIR, pairs, out / "pairs")
    _write_llamafactory(pairs, out / "llamafactory")
    _write_openrlhf(pairs, out / "openrlhf")
    return {
        "items": len(items),
        "eval_overlaps_removed": eval_overlaps,
        "near_duplicates_removed": near_dups,
        "ranking_rows": len(kept),
        "settled": len(settled),
        "unsettled": len(kept) - len(settled),
        "pairs": len(pairs),
        "corrected_pairs": corrected,
        "ties_dropped": ties,
    }


def _check(labeled: LabeledItem) -> None:
    ids = {c.id for c in labeled.item.candidates}
    if labeled.final_ranks is not None and set(labeled.final_ranks) != ids:
        raise MedloomError(f"item {labeled.item.id}: final ranking does not cover its responses")


def _prompt_text(labeled: LabeledItem) -> str:
    """The text that decontamination and near-duplicate removal compare: every turn."""
    return "\n".join(m.content for m in labeled.item.prompt)


# -------------------------------------------------------------------------- filtering


def _without_eval_overlaps(
    items: list[LabeledItem], eval_prompts: Sequence[str]
) -> tuple[list[LabeledItem], int]:
    if not eval_prompts:
        return items, 0
    config = DecontamConfig()
    index = EvalIndex(
        [EvalItem("eval_prompts", str(i), text) for i, text in enumerate(eval_prompts)],
        config.ngram,
    )
    kept = [i for i in items if index.best_overlap(_prompt_text(i))[0] < config.overlap]
    return kept, len(items) - len(kept)


def _keep_order(labeled: LabeledItem) -> tuple[int, int, str]:
    """Smallest first: the most judgements, then the smallest hash of the id."""
    return (-len(labeled.judgements), stable_hash(labeled.item.id), labeled.item.id)


def _without_near_duplicates(
    items: list[LabeledItem], threshold: float
) -> tuple[list[LabeledItem], int]:
    if len(items) < 2:
        return items, 0
    config = NearDedupConfig(threshold=threshold)
    flat, offsets = shingle_hashes([_prompt_text(i) for i in items], config.ngram, config.shingling)
    shingle_sets = hash_sets(flat, offsets)
    rows = signatures(flat, offsets, config.num_perm, config.seed)
    keys = band_hashes(rows, *band_layout(config))
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for position, (shingle_set, row) in enumerate(zip(shingle_sets, keys.tolist(), strict=True)):
        if len(shingle_set):
            for band, key in enumerate(row):
                buckets[(band, key)].append(position)
    parent = list(range(len(items)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    confirm_at = check_threshold(config)
    for a, b in _candidate_pairs(buckets):
        if root(a) != root(b) and hash_jaccard(shingle_sets[a], shingle_sets[b]) >= confirm_at:
            parent[root(b)] = root(a)
    clusters: dict[int, list[LabeledItem]] = defaultdict(list)
    for position, item in enumerate(items):
        clusters[root(position)].append(item)
    keep = {min(members, key=_keep_order).item.id for members in clusters.values()}
    kept = [i for i in items if i.item.id in keep]
    return kept, len(items) - len(kept)


def _candidate_pairs(buckets: Mapping[tuple[int, int], list[int]]) -> Iterator[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    for members in buckets.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if (a, b) not in seen:
                    seen.add((a, b))
                    yield a, b


# ------------------------------------------------------------------------------- rows


def _messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _annotation(judgement: Judgement, order: list[str]) -> dict[str, Any]:
    return {
        "annotator": judgement.annotator,
        "rule_version": judgement.rule_version,
        "ranks": [judgement.ranks.get(c) for c in order],
        "unsafe": [c in judgement.unsafe for c in order],
        "scores": [
            {
                "dimension": dimension,
                "values": [judgement.scores.get(c, {}).get(dimension) for c in order],
            }
            for dimension in DIMENSIONS
        ],
        "corrected": judgement.corrected,
        "shown_order": list(judgement.shown_order),
        "seconds": float(judgement.seconds),
    }


def _ranking_row(labeled: LabeledItem) -> dict[str, Any]:
    """One item; response-aligned lists follow the item's candidate order."""
    item = labeled.item
    order = [c.id for c in item.candidates]
    judgements = sorted(labeled.judgements, key=lambda j: j.annotator)
    final = labeled.final_ranks
    return {
        "id": item.id,
        "source": item.source,
        "prompt": _messages(item.prompt),
        "responses": [
            {"id": c.id, "content": c.content, "model": c.model} for c in item.candidates
        ],
        "annotations": [_annotation(j, order) for j in judgements],
        "final_ranks": [final[c] for c in order] if final is not None else [],
        "final_by": labeled.final_by,
        "rule_version": labeled.rule_version,
    }


def _pair(
    labeled: LabeledItem,
    chosen: tuple[str, str],
    rejected: tuple[str, str],
    gap: int,
) -> dict[str, Any]:
    item = labeled.item
    (chosen_id, chosen_text), (rejected_id, rejected_text) = chosen, rejected
    return {
        "id": text_key(f"{item.id}\n{chosen_id}\n{rejected_id}"),
        "item_id": item.id,
        "source": item.source,
        "prompt": _messages(item.prompt),
        "chosen": [{"role": "assistant", "content": chosen_text}],
        "rejected": [{"role": "assistant", "content": rejected_text}],
        "chosen_id": chosen_id,
        "rejected_id": rejected_id,
        "margin": round(gap / (len(item.candidates) - 1), MARGIN_DIGITS),
        "rule_version": labeled.rule_version,
    }


def _pairs(labeled: LabeledItem) -> tuple[list[dict[str, Any]], int]:
    """Every pair of responses with different final ranks, and how many were ties."""
    final = labeled.final_ranks or {}
    candidates = labeled.item.candidates
    pairs, ties = [], 0
    for i, a in enumerate(candidates):
        for b in candidates[i + 1 :]:
            if final[a.id] == final[b.id]:
                ties += 1
                continue
            better, worse = (a, b) if final[a.id] < final[b.id] else (b, a)
            pairs.append(
                _pair(
                    labeled,
                    (better.id, better.content),
                    (worse.id, worse.content),
                    final[worse.id] - final[better.id],
                )
            )
    for text in _corrections(labeled):
        corrected_id = "corrected-" + text_key(f"{labeled.item.id}\n{text}")
        for candidate in candidates:
            pairs.append(
                _pair(
                    labeled,
                    (corrected_id, text),
                    (candidate.id, candidate.content),
                    final[candidate.id],
                )
            )
    return pairs, ties


def _corrections(labeled: LabeledItem) -> list[str]:
    """Distinct corrected answers of the item's judgements, none equal to a response."""
    responses = {text_key(c.content) for c in labeled.item.candidates}
    texts = {
        text_key(j.corrected.strip()): j.corrected.strip()
        for j in labeled.judgements
        if j.corrected and j.corrected.strip()
    }
    return [texts[k] for k in sorted(texts) if k not in responses]


# ----------------------------------------------------------------------------- writers


def _write_parquet(spec: SchemaSpec, rows: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(
        [{c: row[c] for c in spec.column_names} for row in rows], schema=spec.arrow
    )
    pq.write_table(table, directory / "part-00000.parquet", compression="zstd")


def _sharegpt(pair: dict[str, Any]) -> dict[str, Any]:
    system = "\n".join(m["content"] for m in pair["prompt"] if m["role"] == "system")
    return {
        "conversations": [
            {"from": _SHAREGPT_ROLE[m["role"]], "value": m["content"]}
            for m in pair["prompt"]
            if m["role"] != "system"
        ],
        "system": system,
        "chosen": {"from": "gpt", "value": pair["chosen"][0]["content"]},
        "rejected": {"from": "gpt", "value": pair["rejected"][0]["content"]},
    }


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_llamafactory(pairs: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _write_json(directory / "preference_ranking.json", [_sharegpt(p) for p in pairs])
    _write_json(
        directory / "dataset_info.json",
        {
            LLAMAFACTORY_DATASET: {
                "file_name": "preference_ranking.json",
                "formatting": "sharegpt",
                "ranking": True,
                "columns": {
                    "messages": "conversations",
                    "system": "system",
                    "chosen": "chosen",
                    "rejected": "rejected",
                },
            }
        },
    )


def _write_openrlhf(pairs: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {k: p[k] for k in ("prompt", "chosen", "rejected", "margin")}, ensure_ascii=False
        )
        for p in pairs
    ]
    (directory / "preference.jsonl").write_text(
        "".join(line + "\n" for line in lines), encoding="utf-8"
    )
