"""Phase 3c, DPO: the policy learns from the preference pairs directly, offline, with the
SFT model as its reference (TRL's DPOTrainer). With LoRA the reference is the policy with
its adapter switched off.

Measured on the pairs of held-out prompts: how often the policy's implicit reward
(β · log π/π_ref) ranks the chosen answer above the rejected one.
"""

from __future__ import annotations

import time
from pathlib import Path

from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer

from training.config import DpoConfig
from training.data import PREFERENCE_HELDOUT, preference_pairs
from training.runtime import (
    PhaseResult,
    finite,
    load_tokenizer,
    lora_config,
    losses_of,
    prepare_output,
    require_model_dir,
    resume_checkpoint,
    save_trained,
    trainer_arguments,
)
from training.sft import ensure_training_template


def run_dpo(
    config: DpoConfig,
    data: str | Path,
    model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    """DPO on ``data/preference/pairs`` from ``model``; the policy is saved to ``output``."""
    output = prepare_output(output, resume)
    start = time.perf_counter()
    train, heldout = preference_pairs(data, heldout_fraction)
    tokenizer = load_tokenizer(model)
    ensure_training_template(tokenizer)
    args = DPOConfig(
        **trainer_arguments(config, output),
        beta=config.beta,
        loss_type=[config.loss_type],
        max_length=config.max_length,
    )
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(require_model_dir(model)),
        args=args,
        train_dataset=train.remove_columns("margin"),
        eval_dataset=heldout.remove_columns("margin") if len(heldout) else None,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora, "CAUSAL_LM"),
    )
    trainer.train(resume_from_checkpoint=resume_checkpoint(output, resume))
    metrics: dict[str, float | int | None] = {"pairs": len(train), "heldout_pairs": len(heldout)}
    if trainer.eval_dataset is not None:
        evaluation = trainer.evaluate()
        metrics["heldout_reward_accuracy"] = finite(evaluation["eval_rewards/accuracies"])
        metrics["heldout_reward_margin"] = finite(evaluation["eval_rewards/margins"])
    save_trained(trainer, output, model, AutoModelForCausalLM.from_pretrained)
    result = PhaseResult(
        phase="dpo",
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics=metrics,
        losses=losses_of(trainer.state.log_history),
    )
    result.write()
    return result
