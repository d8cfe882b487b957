"""Phase 3e, GRPO against the reward model (TRL's GRPOTrainer): ``num_generations`` answers
per prompt, each answer's advantage its reward relative to its group's. `rloo.py` runs RLOO
the same way. Both are cheaper than PPO: no value model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from transformers import AutoModelForCausalLM
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

from training.config import GroupRlConfig
from training.data import PREFERENCE_HELDOUT
from training.ppo import rl_prompts
from training.reward import load_reward_model
from training.runtime import (
    PhaseResult,
    load_tokenizer,
    lora_config,
    losses_of,
    prepare_output,
    require_model_dir,
    resume_checkpoint,
    save_trained,
    trainer_arguments,
)


def run_group_rl(
    phase: str,
    config: GroupRlConfig,
    data: str | Path,
    model: str | Path,
    reward_model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    """GRPO (``phase`` "grpo") or RLOO ("rloo") from ``model`` on the training prompts."""
    config_class, trainer_class = {
        "grpo": (GRPOConfig, GRPOTrainer),
        "rloo": (RLOOConfig, RLOOTrainer),
    }[phase]
    output = prepare_output(output, resume)
    start = time.perf_counter()
    prompts = rl_prompts(data, heldout_fraction)[0]
    tokenizer = load_tokenizer(model)
    reward_tokenizer = load_tokenizer(require_model_dir(reward_model, "reward model"))
    arguments: dict[str, Any] = trainer_arguments(config, output)
    # TRL counts the batch in answers; a batch of `batch_size` prompts has this many.
    arguments["per_device_train_batch_size"] = config.batch_size * config.num_generations
    args = config_class(
        **arguments,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        beta=config.beta,
    )
    trainer = trainer_class(
        model=AutoModelForCausalLM.from_pretrained(require_model_dir(model)),
        reward_funcs=load_reward_model(reward_model),
        args=args,
        train_dataset=prompts,
        processing_class=tokenizer,
        reward_processing_classes=reward_tokenizer,
        peft_config=lora_config(config.lora, "CAUSAL_LM"),
    )
    trainer.train(resume_from_checkpoint=resume_checkpoint(output, resume))
    save_trained(trainer, output, model, AutoModelForCausalLM.from_pretrained)
    rewards = losses_of(trainer.state.log_history, "reward")
    result = PhaseResult(
        phase=phase,
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics={
            "prompts": len(prompts),
            "reward_first_step": rewards[0][1] if rewards else None,
            "reward_last_step": rewards[-1][1] if rewards else None,
        },
        losses=losses_of(trainer.state.log_history),
    )
    result.write()
    return result


def run_grpo(
    config: GroupRlConfig,
    data: str | Path,
    model: str | Path,
    reward_model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    return run_group_rl("grpo", config, data, model, reward_model, output, resume, heldout_fraction)
