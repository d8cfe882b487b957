"""LLaMA-Factory exports of the SFT dataset: ShareGPT and alpaca-with-history JSON.

For each split present in ``sft/``, two files under ``llamafactory/``:

- ``{name}_sharegpt_{split}.json``: ``[{"conversations": [{"from": "human"|"gpt", "value"}],
  "system": ...}]``, LLaMA-Factory's ``sharegpt`` formatting;
- ``{name}_alpaca_{split}.json``: ``[{"instruction", "input", "output", "system",
  "history": [[user, assistant], ...]}]``, its ``alpaca`` formatting with history: the last
  round is the instruction and output, the earlier rounds the history;

and ``dataset_info.json`` with one entry per file (columns and tags spelled out, so
LLaMA-Factory needs no guessing). Copy the folder into LLaMA-Factory's ``data/`` or point
its ``dataset_dir`` at it. Rows are written in id order, so a rerun gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.dialogues.records import ASSISTANT, SYSTEM, USER

EXPORT_DIR = "llamafactory"
DATASET_INFO = "dataset_info.json"
SPLITS = ("train", "validation", "test")


def sharegpt_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """One sample in LLaMA-Factory's ShareGPT layout."""
    system = "".join(m["content"] for m in messages if m["role"] == SYSTEM)
    speaker = {USER: "human", ASSISTANT: "gpt"}
    conversations = [
        {"from": speaker[m["role"]], "value": m["content"]} for m in messages if m["role"] != SYSTEM
    ]
    return {"conversations": conversations, "system": system}


def alpaca_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """One sample in LLaMA-Factory's alpaca layout, earlier rounds as ``history``."""
    system = "".join(m["content"] for m in messages if m["role"] == SYSTEM)
    turns = [m["content"] for m in messages if m["role"] != SYSTEM]
    rounds = [[turns[i], turns[i + 1]] for i in range(0, len(turns) - 1, 2)]
    (instruction, output), history = rounds[-1], rounds[:-1]
    return {
        "instruction": instruction,
        "input": "",
        "output": output,
        "system": system,
        "history": history,
    }


def _dataset_info(sharegpt: str, alpaca: str) -> dict[str, Any]:
    return {
        sharegpt: {
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        },
        alpaca: {
            "formatting": "alpaca",
            "columns": {
                "prompt": "instruction",
                "query": "input",
                "response": "output",
                "system": "system",
                "history": "history",
            },
        },
    }


def write_llamafactory(output_dir: str | Path, name: str) -> dict[str, Any]:
    """Write the exports of ``output_dir/sft`` and return what was written, per file."""
    output_dir = Path(output_dir)
    folder = output_dir / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    table = pq.read_table(output_dir / "sft", columns=["id", "messages", "split"])
    rows = sorted(table.to_pylist(), key=lambda row: row["id"])
    info: dict[str, Any] = {}
    written: dict[str, int] = {}
    for split in SPLITS:
        samples = [row["messages"] for row in rows if row["split"] == split]
        if not samples:
            continue
        sharegpt, alpaca = f"{name}_sharegpt_{split}", f"{name}_alpaca_{split}"
        for dataset, convert in ((sharegpt, sharegpt_row), (alpaca, alpaca_row)):
            path = folder / f"{dataset}.json"
            # One sample per line: still one JSON array, and json's C encoder writes it
            # (an indent would take the pure-Python one).
            lines = ",\n".join(json.dumps(convert(m), ensure_ascii=False) for m in samples)
            path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
            written[f"{EXPORT_DIR}/{path.name}"] = len(samples)
        entries = _dataset_info(sharegpt, alpaca)
        for dataset, entry in entries.items():
            info[dataset] = {"file_name": f"{dataset}.json", **entry}
    (folder / DATASET_INFO).write_text(
        json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return {"folder": EXPORT_DIR, "files": written, "dataset_info": f"{EXPORT_DIR}/{DATASET_INFO}"}
