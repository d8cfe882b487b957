"""`medloom train all` end to end on CPU: every phase runs from the previous one's checkpoint
on a tiny model, its losses fall, its checkpoint reloads, and the summary says so.

One run per test session (`training_support.chain_run`) is shared by these tests.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from training_support import ALL_PHASES, chain_run, medical_output
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from pipelines.cli import main
from training.chain import run_all
from training.config import RunConfig
from training.runtime import load_tokenizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads((chain_run() / "summary.json").read_text(encoding="utf-8"))


def test_summary_lists_every_phase_in_order_with_its_model(summary: dict) -> None:
    assert list(summary["phases"]) == list(ALL_PHASES)
    assert {name: facts["model"] for name, facts in summary["phases"].items()} == {
        name: name for name in ALL_PHASES
    }
    assert summary["base_model"] == "bootstrap"
    assert summary["versions"]["trl"] == "1.16.0"
    for facts in summary["phases"].values():
        assert facts["seconds"] > 0
        assert all(math.isfinite(loss) for _, loss in facts["losses"])
        assert (chain_run() / facts["loss_plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pretraining_lowers_held_out_perplexity(summary: dict) -> None:
    metrics = summary["phases"]["pretrain"]["metrics"]
    assert (metrics["documents"], metrics["heldout_documents"]) == (29, 3)
    assert metrics["perplexity_after"] < metrics["perplexity_before"]


def test_sft_lowers_validation_loss(summary: dict) -> None:
    metrics = summary["phases"]["sft"]["metrics"]
    assert (metrics["conversations"], metrics["validation_conversations"]) == (12, 2)
    assert metrics["validation_loss_after"] < metrics["validation_loss_before"]


def test_reward_model_beats_chance_on_held_out_pairs(summary: dict) -> None:
    facts = summary["phases"]["reward"]
    assert (facts["metrics"]["pairs"], facts["metrics"]["heldout_pairs"]) == (36, 12)
    assert facts["metrics"]["heldout_accuracy"] >= 0.75
    assert facts["last_loss"] < facts["first_loss"]


def test_dpo_loss_falls_and_prefers_the_chosen_answers(summary: dict) -> None:
    facts = summary["phases"]["dpo"]
    assert facts["last_loss"] < facts["first_loss"]
    assert facts["metrics"]["heldout_reward_accuracy"] > 0.5


def test_ppo_raises_the_mean_reward_on_held_out_prompts(summary: dict) -> None:
    evaluation = summary["evaluation"]
    assert (evaluation["prompts"], evaluation["prompt_source"]) == (4, "heldout")
    assert set(evaluation["mean_reward"]) == {"sft", *ALL_PHASES[3:]}
    assert evaluation["mean_reward"]["ppo"] > evaluation["mean_reward"]["sft"]
    ppo = summary["phases"]["ppo"]["metrics"]
    assert ppo["score_last_step"] > ppo["score_first_step"]


def test_rejection_sampling_keeps_the_best_of_four(summary: dict) -> None:
    metrics = summary["phases"]["rejection_sampling"]["metrics"]
    assert (metrics["prompts"], metrics["kept"]) == (12, 12)
    lines = (chain_run() / "rejection_sampling" / "samples.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert len(record["candidates"]) == 4
    best = max(record["candidates"], key=lambda c: c["score"])
    assert (record["best"], record["best_score"]) == (best["content"], best["score"])


@pytest.mark.parametrize("phase", ALL_PHASES)
def test_each_checkpoint_reloads_and_runs(phase: str) -> None:
    folder = chain_run() / phase
    tokenizer = load_tokenizer(folder)
    auto_class = AutoModelForSequenceClassification if phase == "reward" else AutoModelForCausalLM
    model = auto_class.from_pretrained(folder)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "头晕乏力一周，需要查血常规吗？"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        logits = model(**inputs).logits
    assert torch.isfinite(logits).all()
    assert logits.shape[-1] == (1 if phase == "reward" else len(tokenizer))


def test_resumed_chain_keeps_finished_phases(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(chain_run(), run)
    (run / "dpo" / "metrics.json").unlink()
    shutil.rmtree(run / "dpo" / "checkpoints")
    config = RunConfig(phases=["pretrain", "sft", "reward", "dpo"])
    summary = run_all(config, medical_output(), run, resume=True)
    assert {name: facts["reused"] for name, facts in summary["phases"].items()} == {
        "pretrain": True,
        "sft": True,
        "reward": True,
        "dpo": False,
    }
    assert (
        summary["phases"]["sft"]["metrics"]
        == json.loads((chain_run() / "sft" / "metrics.json").read_text())["metrics"]
    )


def test_a_second_run_into_a_finished_one_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    (run / "pretrain").mkdir(parents=True)
    shutil.copy(chain_run() / "pretrain" / "metrics.json", run / "pretrain" / "metrics.json")
    argv = ["train", "all", "--data", str(medical_output()), "--output", str(run)]
    assert main([*argv, "--phases", "pretrain,sft"]) == 2
    assert capsys.readouterr().err == (
        f"medloom: error: {run} already holds a training run: resume it (--resume) or choose "
        "another output folder\n"
    )
    # Refused before the tiny model was bootstrapped into RUN/base.
    assert sorted(p.name for p in run.iterdir()) == ["pretrain"]
