"""Reading medloom's Parquet outputs as trainers take them, with the `datasets` library.

An output folder ``OUT`` holds ``pretrain/*.parquet`` (pretrain_document),
``sft/*.parquet`` (sft_conversation, its `split` column respected) and
``preference/pairs/*.parquet`` (preference_pair). Every file's footer must name the expected
schema with the same major version; anything else is a one-line error before training starts.

Pretraining documents and preference pairs carry no split, so a stable fraction is held out
by a hash of the document id (of the `item_id` for pairs, so the pairs of one prompt never
straddle training and evaluation).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import datasets

from pipelines.errors import MedloomError
from schemas.registry import (
    PREFERENCE_PAIR,
    PRETRAIN_DOCUMENT,
    SFT_CONVERSATION,
    SchemaSpec,
    schema_of_file,
)

PRETRAIN_DIR = "pretrain"
SFT_DIR = "sft"
PAIRS_DIR = "preference/pairs"
SFT_SPLITS = ("train", "validation", "test")
# The share of preference prompts held out from every phase unless a config says otherwise.
PREFERENCE_HELDOUT = 0.2

Messages = list[dict[str, str]]

datasets.disable_progress_bars()


def parquet_files(folder: Path, spec: SchemaSpec) -> list[str]:
    """The Parquet files of ``folder``, each checked to hold ``spec``'s schema."""
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        raise MedloomError(f"no {spec.name} data: {folder} has no .parquet files")
    return checked_files(files, spec)


def checked_files(files: list[Path], spec: SchemaSpec) -> list[str]:
    """``files`` as strings, each checked to name ``spec`` (same major version) in its footer."""
    major = spec.version.split(".")[0]
    for path in files:
        name, version = schema_of_file(str(path))
        if name != spec.name or version.split(".")[0] != major:
            found = f"{name} {version}" if name else "no medloom schema in its footer"
            raise MedloomError(f"{path}: expected schema {spec.name} {major}.x, found {found}")
    return [str(path) for path in files]


def _load(files: list[str], columns: list[str]) -> datasets.Dataset:
    dataset = datasets.load_dataset("parquet", data_files=files, split="train")
    return dataset.select_columns(columns)


def is_heldout(key: str, fraction: float) -> bool:
    """Whether ``key`` falls in the held-out ``fraction``, by its SHA-256 (stable everywhere)."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return bucket / 2**64 < fraction


def _split_by_hash(
    dataset: datasets.Dataset, key: str, fraction: float
) -> tuple[datasets.Dataset, datasets.Dataset]:
    flags = [is_heldout(value, fraction) for value in dataset[key]]
    train = dataset.select([i for i, held in enumerate(flags) if not held])
    heldout = dataset.select([i for i, held in enumerate(flags) if held])
    return train, heldout


def pretrain_texts(
    data: str | Path, heldout_fraction: float
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(training, held-out) datasets of `text` from ``data/pretrain``."""
    files = parquet_files(Path(data) / PRETRAIN_DIR, PRETRAIN_DOCUMENT)
    train, heldout = _split_by_hash(_load(files, ["id", "text"]), "id", heldout_fraction)
    if len(train) == 0:
        raise MedloomError(f"{data}/{PRETRAIN_DIR}: every document fell in the held-out part")
    return train.remove_columns("id"), heldout.remove_columns("id")


def sft_conversations(data: str | Path) -> dict[str, datasets.Dataset]:
    """The `messages` of ``data/sft`` by their `split` column (train, validation, test)."""
    files = parquet_files(Path(data) / SFT_DIR, SFT_CONVERSATION)
    dataset = _load(files, ["messages", "split"])
    splits = {name: dataset.filter(lambda row, n=name: row["split"] == n) for name in SFT_SPLITS}
    if len(splits["train"]) == 0:
        raise MedloomError(f"{data}/{SFT_DIR}: no conversation has split 'train'")
    return {name: split.remove_columns("split") for name, split in splits.items()}


def preference_pairs(
    data: str | Path, heldout_fraction: float
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(training, held-out) `prompt`/`chosen`/`rejected`/`margin` rows of
    ``data/preference/pairs``, held out by their prompt (`item_id`)."""
    files = parquet_files(Path(data) / PAIRS_DIR, PREFERENCE_PAIR)
    dataset = _load(files, ["item_id", "prompt", "chosen", "rejected", "margin"])
    train, heldout = _split_by_hash(dataset, "item_id", heldout_fraction)
    if len(train) == 0:
        raise MedloomError(f"{data}/{PAIRS_DIR}: every pair fell in the held-out part")
    return train.remove_columns("item_id"), heldout.remove_columns("item_id")


def unique_prompts(pairs: datasets.Dataset) -> datasets.Dataset:
    """One row per distinct `prompt` of a pair dataset, in first-seen order."""
    seen: dict[str, Messages] = {}
    for prompt in pairs["prompt"]:
        seen.setdefault(json.dumps(prompt, ensure_ascii=False), prompt)
    return datasets.Dataset.from_dict({"prompt": list(seen.values())})


def prompt_of(messages: Messages) -> Messages:
    """The conversation up to its last assistant turn: what a model is asked to answer."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    return messages if last is None else messages[:last]


def read_prompts(path: str | Path) -> list[tuple[str, Messages]]:
    """(id, prompt messages) from a JSONL file or a medloom Parquet file or folder.

    JSONL lines are ``{"id", "prompt"}`` with the prompt as text or a message list.
    Parquet may be sft_conversation (the conversation up to its last answer, test split
    only when the file has one) or preference_pair (each distinct prompt once).
    """
    path = Path(path)
    if not path.exists():
        raise MedloomError(f"prompts file not found: {path}")
    if path.is_dir() or path.suffix == ".parquet":
        return _prompts_from_parquet(path)
    prompts = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            prompts.append(_prompt_from_json(line, number, path))
    if not prompts:
        raise MedloomError(f"{path}: no prompts")
    return prompts


def _prompt_from_json(line: str, number: int, path: Path) -> tuple[str, Messages]:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MedloomError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    prompt = record.get("prompt") if isinstance(record, dict) else None
    if isinstance(prompt, str) and prompt.strip():
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and prompt and all(_is_message(m) for m in prompt):
        messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    else:
        raise MedloomError(
            f'{path}:{number}: expected a "prompt" that is text or a list of '
            "{role, content} messages"
        )
    return str(record.get("id") or f"prompt-{number}"), messages


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("role"), str)
        and isinstance(value.get("content"), str)
    )


def _prompts_from_parquet(path: Path) -> list[tuple[str, Messages]]:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise MedloomError(f"{path} has no .parquet files")
    name, _ = schema_of_file(str(files[0]))
    if name == SFT_CONVERSATION.name:
        rows = _load(checked_files(files, SFT_CONVERSATION), ["id", "messages", "split"])
        if "test" in rows["split"]:
            rows = rows.filter(lambda row: row["split"] == "test")
        return [(row["id"], prompt_of(row["messages"])) for row in rows]
    if name == PREFERENCE_PAIR.name:
        rows = _load(checked_files(files, PREFERENCE_PAIR), ["item_id", "prompt"])
        seen: dict[str, Messages] = {}
        for row in rows:
            seen.setdefault(row["item_id"], row["prompt"])
        return list(seen.items())
    raise MedloomError(
        f"{files[0]}: prompts come from {SFT_CONVERSATION.name} or {PREFERENCE_PAIR.name} "
        f"Parquet, found {name or 'no medloom schema'}"
    )
