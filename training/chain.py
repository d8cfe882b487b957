"""`medloom train all`: every configured phase in order, each from the previous checkpoint.

    base (given, or bootstrapped) ─► pretrain ─► sft ─┬─► reward
                                                      ├─► ppo
                                                      ├─► dpo
                                                      ├─► rejection_sampling
                                                      └─► grpo, rloo

Every RLHF phase starts from the SFT model; those that need a reward model use the reward
phase's. ``RUN/<phase>/`` holds each phase's model, metrics.json and loss.png; ``RUN/summary.json``
gathers them with the measures before and after: perplexity on held-out pretraining text,
SFT validation loss, reward-model accuracy on held-out pairs, and the mean reward of the
SFT model's and every RLHF policy's answers to held-out prompts. With ``resume`` a phase that
finished is kept and an interrupted one continues from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from pipelines.errors import ConfigError, MedloomError
from training.config import PHASE_ORDER, RunConfig
from training.data import PAIRS_DIR, PRETRAIN_DIR, SFT_DIR
from training.runtime import PhaseResult, refuse_earlier_run, require_model_dir

SUMMARY_FILE = "summary.json"
NEEDS_REWARD_MODEL = ("ppo", "rejection_sampling", "grpo", "rloo")
POLICIES = ("ppo", "dpo", "rejection_sampling", "grpo", "rloo")
# The folder of medloom output each phase reads.
PHASE_DATA = {
    "pretrain": PRETRAIN_DIR,
    "sft": SFT_DIR,
    **{phase: PAIRS_DIR for phase in ("reward", *POLICIES)},
}


def check_plan(config: RunConfig, data: Path, reward_given: bool = False) -> None:
    """Fail before any training when a phase lacks its data or its reward model."""
    needing = [p for p in config.phases if p in NEEDS_REWARD_MODEL]
    if needing and "reward" not in config.phases and not reward_given:
        raise ConfigError(f"phases: {needing[0]} needs the reward phase before it")
    for phase in config.phases:
        folder = data / PHASE_DATA[phase]
        if not any(folder.glob("*.parquet")):
            raise MedloomError(
                f"phase {phase} reads {folder}, which has no .parquet files: run the pipeline "
                f"that writes it, or leave {phase} out of the phases"
            )


def base_model(config: RunConfig, data: Path, output: Path, resume: bool) -> tuple[Path, dict]:
    """The configured base model, or the tiny one bootstrapped into ``output/base``."""
    if config.base_model:
        return require_model_dir(config.base_model, "base model"), {"base_model": config.base_model}
    from training.bootstrap import bootstrap_model
    from training.data import pretrain_texts

    folder = output / "base"
    if not (resume and (folder / "config.json").is_file()):
        texts, _ = pretrain_texts(data, config.pretrain.heldout_fraction)
        bootstrap_model(texts["text"], config.bootstrap, folder)
    parameters = sum(p.numel() for p in _load_causal_lm(folder).parameters())
    return folder, {"base_model": "bootstrap", "bootstrap_parameters": parameters}


def _load_causal_lm(path: Path) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def _phase_runner(
    phase: str, config: RunConfig, data: Path, start: Path, reward: Path | None
) -> Callable[[Path, bool], PhaseResult]:
    """A function (output folder, resume) → result that runs ``phase`` from ``start``."""
    heldout = config.preference_heldout_fraction
    if phase == "pretrain":
        from training.pretrain import run_pretrain

        return lambda out, resume: run_pretrain(config.pretrain, data, start, out, resume)
    if phase == "sft":
        from training.sft import run_sft

        return lambda out, resume: run_sft(config.sft, data, start, out, resume)
    if phase == "reward":
        from training.reward import run_reward

        return lambda out, resume: run_reward(config.reward, data, start, out, resume, heldout)
    if phase == "dpo":
        from training.dpo import run_dpo

        return lambda out, resume: run_dpo(config.dpo, data, start, out, resume, heldout)
    assert reward is not None
    if phase == "ppo":
        from training.ppo import run_ppo

        return lambda out, resume: run_ppo(config.ppo, data, start, reward, out, resume, heldout)
    if phase == "rejection_sampling":
        from training.rejection_sampling import run_rejection_sampling

        return lambda out, resume: run_rejection_sampling(
            config.rejection_sampling, data, start, reward, out, resume, heldout
        )
    from training.grpo import run_group_rl

    section = config.grpo if phase == "grpo" else config.rloo
    return lambda out, resume: run_group_rl(
        phase, section, data, start, reward, out, resume, heldout
    )


def run_phase(
    phase: str,
    config: RunConfig,
    data: Path,
    output: Path,
    model: Path | None,
    reward: Path | None,
    resume: bool,
    announce: Callable[[str], None] = lambda line: None,
) -> PhaseResult:
    """One phase on its own (`medloom train sft ...`); without ``model``, from the tiny
    model bootstrapped into ``output/base``."""
    if model is None:
        if _processes() > 1:
            raise MedloomError(
                "bootstrap the tiny model once before a multi-process run "
                "(medloom train bootstrap) and pass it as --model"
            )
        model, _ = base_model(config, data, output, resume)
        announce(f"no --model: bootstrapped the tiny model into {model}")
    return _phase_runner(phase, config, data, model, reward)(output, resume)


def mean_rewards(
    config: RunConfig, data: Path, policies: dict[str, Path], reward: Path
) -> dict[str, Any]:
    """The mean reward of each policy's answers to the same held-out prompts (the training
    prompts when the data is too small to hold any out: ``prompt_source`` says which)."""
    from training.generate import load_policy, sample_answers
    from training.ppo import rl_prompts
    from training.reward import RewardScorer

    train, heldout = rl_prompts(data, config.preference_heldout_fraction)
    source = "heldout" if len(heldout) else "train"
    prompts = (heldout if len(heldout) else train)["prompt"][: config.eval.num_prompts]
    scorer = RewardScorer(reward)
    means: dict[str, float] = {}
    for name, path in policies.items():
        model, tokenizer = load_policy(path)
        torch.manual_seed(config.eval.seed)
        answers = sample_answers(
            model,
            tokenizer,
            prompts,
            config.eval.samples_per_prompt,
            config.eval.sampling,
            progress=f"evaluate {name}",
        )
        scores = scorer.score(
            [
                [*prompt, {"role": "assistant", "content": answer}]
                for prompt, texts in zip(prompts, answers, strict=True)
                for answer in texts
            ]
        )
        means[name] = sum(scores) / len(scores)
    return {
        "prompts": len(prompts),
        "prompt_source": source,
        "samples_per_prompt": config.eval.samples_per_prompt,
        "mean_reward": means,
    }


def run_all(
    config: RunConfig,
    data: str | Path,
    output: str | Path,
    resume: bool = False,
    announce: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run ``config.phases`` on ``data`` into ``output``; write and return the summary."""
    data, output = Path(data), Path(output)
    if _processes() > 1:
        raise MedloomError(
            "train all runs in one process; under accelerate launch or torchrun run the "
            "phases one by one (medloom train sft ...)"
        )
    check_plan(config, data)
    if not resume:
        # Before the bootstrap, which would otherwise replace RUN/base under a finished run.
        refuse_earlier_run(output, [output / phase for phase in config.phases])
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base, base_facts = base_model(config, data, output, resume)
    current, reward = base, None
    phases: dict[str, dict[str, Any]] = {}
    policies: dict[str, Path] = {}
    for phase in (p for p in PHASE_ORDER if p in config.phases):
        folder = output / phase
        finished = PhaseResult.read(folder) if resume else None
        if finished is None:
            announce(f"phase {phase}: from {current.name}, into {folder}")
            result = _phase_runner(phase, config, data, current, reward)(folder, resume)
        else:
            announce(f"phase {phase}: finished earlier, kept")
            result = finished
        phases[phase] = _phase_summary(result, output, reused=finished is not None)
        if phase in ("pretrain", "sft"):
            current = folder
        elif phase == "reward":
            reward = folder
        else:
            policies[phase] = folder
    summary: dict[str, Any] = {
        "data": str(data.resolve()),
        "output": str(output.resolve()),
        **base_facts,
        "versions": {name: version(name) for name in ("torch", "transformers", "trl", "peft")},
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "config": config.to_dict(),
        "phases": phases,
    }
    if reward is not None:
        announce("evaluation: mean reward of each policy's answers to the same prompts")
        summary["evaluation"] = mean_rewards(
            config, data, {current.name: current, **policies}, reward
        )
    summary["seconds"] = time.perf_counter() - started
    (output / SUMMARY_FILE).write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def _processes() -> int:
    """How many processes torchrun or accelerate launch started (1 without them)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _phase_summary(result: PhaseResult, output: Path, reused: bool) -> dict[str, Any]:
    folder = Path(result.model)
    plot = folder / "loss.png"
    return {
        "model": str(folder.relative_to(output)) if folder.is_relative_to(output) else str(folder),
        "seconds": result.seconds,
        "reused": reused,
        "metrics": result.metrics,
        "first_loss": result.losses[0][1] if result.losses else None,
        "last_loss": result.losses[-1][1] if result.losses else None,
        "losses": [list(point) for point in result.losses],
        "loss_plot": str(plot.relative_to(output)) if plot.is_file() else None,
    }
