"""LoRA on the phases, resuming from the last checkpoint, and one phase on its own from the
command line. The models start from the session's `train all` run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from training_support import chain_run, medical_output
from transformers import AutoModelForCausalLM

from pipelines.cli import main
from pipelines.errors import MedloomError
from training.config import DpoConfig, LoraOptions, PpoConfig, RewardConfig, SftConfig
from training.dpo import run_dpo
from training.ppo import run_ppo
from training.reward import run_reward
from training.sft import run_sft

pytestmark = pytest.mark.slow

LORA = LoraOptions(r=4, alpha=8)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def test_sft_with_lora_saves_the_adapter_and_a_merged_model(tmp_path: Path) -> None:
    start = chain_run() / "pretrain"
    config = SftConfig(max_steps=3, learning_rate=1e-2, lora=LORA)
    result = run_sft(config, medical_output(), start, tmp_path / "sft")
    adapter = json.loads((tmp_path / "sft" / "adapter" / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"], adapter["peft_type"]) == (4, 8, "LORA")
    before, after = _weights(start), _weights(tmp_path / "sft")
    assert before.keys() == after.keys()
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(before[name], after[name])
    # Only what LoRA adapts changed: the embeddings are frozen under it.
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])
    assert result.metrics["validation_loss_after"] < result.metrics["validation_loss_before"]


def test_reward_model_with_lora_trains_its_new_head(tmp_path: Path) -> None:
    config = RewardConfig(max_steps=4, lora=LORA)
    result = run_reward(config, medical_output(), chain_run() / "sft", tmp_path / "reward")
    assert (tmp_path / "reward" / "adapter" / "adapter_config.json").is_file()
    assert result.metrics["heldout_accuracy"] is not None
    assert result.losses[-1][1] < result.losses[0][1]


def test_ppo_with_lora_uses_the_policy_without_its_adapter_as_reference(tmp_path: Path) -> None:
    config = PpoConfig(
        max_steps=2, batch_size=4, mini_batch_size=2, gradient_checkpointing=True, lora=LORA
    )
    run = chain_run()
    result = run_ppo(config, medical_output(), run / "sft", run / "reward", tmp_path / "ppo")
    assert (tmp_path / "ppo" / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "ppo" / "checkpoints" / "checkpoint-2" / "value").is_dir()
    assert result.metrics["steps"] == 2
    # The first rollout is sampled before any update: the policy is its own reference.
    assert result.metrics["score_first_step"] is not None


def test_dpo_with_lora(tmp_path: Path) -> None:
    config = DpoConfig(max_steps=2, lora=LORA)
    result = run_dpo(config, medical_output(), chain_run() / "sft", tmp_path / "dpo")
    assert (tmp_path / "dpo" / "adapter" / "adapter_config.json").is_file()
    assert result.metrics["pairs"] == 36


def _interrupt_after(folder: Path, step: int) -> None:
    """Leave ``folder`` as a run killed right after writing checkpoint ``step``."""
    for checkpoint in (folder / "checkpoints").glob("checkpoint-*"):
        if int(checkpoint.name.rsplit("-", 1)[1]) > step:
            shutil.rmtree(checkpoint)
    (folder / "metrics.json").unlink()


def _losses(points: list[tuple[int, float]]) -> list[float]:
    return [loss for _, loss in points]


def test_sft_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    config = SftConfig(max_steps=4, save_steps=2, save_total_limit=3)
    start = chain_run() / "pretrain"
    whole = run_sft(config, medical_output(), start, tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    _interrupt_after(tmp_path / "cut", 2)
    resumed = run_sft(config, medical_output(), start, tmp_path / "cut", resume=True)
    assert [step for step, _ in resumed.losses] == [1, 2, 3, 4]
    assert _losses(resumed.losses) == pytest.approx(_losses(whole.losses), rel=1e-5)


def test_ppo_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    config = PpoConfig(max_steps=4, batch_size=4, mini_batch_size=4, save_steps=2)
    run = chain_run()
    arguments = (config, medical_output(), run / "sft", run / "reward")
    whole = run_ppo(*arguments, tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    _interrupt_after(tmp_path / "cut", 2)
    resumed = run_ppo(*arguments, tmp_path / "cut", resume=True)
    assert resumed.metrics["resumed_from_step"] == 2
    assert [step for step, _ in resumed.losses] == [1, 2, 3, 4]
    assert _losses(resumed.losses) == pytest.approx(_losses(whole.losses), rel=1e-4)


def test_training_over_an_earlier_run_needs_resume(tmp_path: Path) -> None:
    config = SftConfig(max_steps=1)
    run_sft(config, medical_output(), chain_run() / "pretrain", tmp_path / "sft")
    with pytest.raises(MedloomError, match=r"already holds a training run: resume it \(--resume\)"):
        run_sft(config, medical_output(), chain_run() / "pretrain", tmp_path / "sft")


def test_one_phase_from_the_command_line_bootstraps_without_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "pretrain"
    argv = ["train", "pretrain", "--data", str(medical_output()), "--output", str(output)]
    assert main([*argv, "--max-steps", "2"]) == 0
    assert (output / "base" / "tokenizer.json").is_file()
    metrics = json.loads((output / "metrics.json").read_text())
    assert [step for step, _ in metrics["losses"]] == [1, 2]
    assert "  documents: 29\n" in capsys.readouterr().out
