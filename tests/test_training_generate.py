"""`medloom train generate` writes candidates that `medloom annotate import` reads: the loop
from the SFT model to annotators to the reward model is closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_support import chain_run

from annotation.importers import read_candidates
from pipelines.cli import main

pytestmark = pytest.mark.slow

PROMPTS = [
    {"id": "q-cough", "prompt": "孩子咳嗽一周了，晚上咳得厉害，需要吃抗生素吗？"},
    {
        "id": "q-dizzy",
        "prompt": [
            {"role": "user", "content": "最近早上起床头晕，量血压160/100mmHg。"},
            {"role": "assistant", "content": "以前测过血压吗？有没有头痛、胸闷？"},
            {"role": "user", "content": "以前没测过，偶尔胸闷。"},
        ],
    },
]


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generate")
    prompts = folder / "prompts.jsonl"
    prompts.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PROMPTS), encoding="utf-8"
    )
    output = folder / "candidates.jsonl"
    argv = ["train", "generate", "--model", str(chain_run() / "sft"), "--prompts", str(prompts)]
    assert main([*argv, "--n", "4", "--max-new-tokens", "24", "--output", str(output)]) == 0
    return output


def test_one_line_per_prompt_with_n_responses(candidates: Path) -> None:
    lines = [json.loads(line) for line in candidates.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["q-cough", "q-dizzy"]
    assert lines[0]["prompt"] == [{"role": "user", "content": PROMPTS[0]["prompt"]}]
    assert lines[1]["prompt"] == PROMPTS[1]["prompt"]
    for line in lines:
        assert list(line) == ["id", "prompt", "responses"]
        assert [r["id"] for r in line["responses"]] == [f"{line['id']}-{k}" for k in (1, 2, 3, 4)]
        assert {r["model"] for r in line["responses"]} == {"sft"}
        assert all(isinstance(r["content"], str) for r in line["responses"])


def test_the_annotation_importer_reads_them(candidates: Path) -> None:
    result = read_candidates(candidates, "jsonl", None)
    assert result.quarantined == []
    assert [item.metadata["source_id"] for item in result.items] == ["q-cough", "q-dizzy"]
    assert [m.content for m in result.items[1].prompt] == [
        m["content"] for m in PROMPTS[1]["prompt"]
    ]
    assert all(len(item.candidates) == 4 for item in result.items)
    assert {c.model for item in result.items for c in item.candidates} == {"sft"}
