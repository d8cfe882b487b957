"""Phase 1, continued pretraining: causal language modelling on `pretrain_document` text.

Documents end with the tokenizer's end-of-sequence token and are concatenated and cut into
blocks of ``block_size`` tokens (TRL's "wrapped" packing, what ChiMed-GPT did at 4,096), so
no token is padding. Perplexity on the held-out documents is measured before and after.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import SFTConfig, SFTTrainer

from training.config import PretrainConfig
from training.data import pretrain_texts
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


def build_trainer(
    config: PretrainConfig,
    train: Dataset,
    heldout: Dataset,
    model: str | Path,
    output: Path,
) -> SFTTrainer:
    """An SFTTrainer on packed `text`, with the held-out documents as its eval set."""
    tokenizer = load_tokenizer(model)
    args = SFTConfig(
        **trainer_arguments(config, output),
        dataset_text_field="text",
        max_length=config.block_size,
        packing=True,
        packing_strategy="wrapped",
        eval_packing=True,
    )
    return SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(require_model_dir(model)),
        args=args,
        train_dataset=train,
        eval_dataset=heldout if len(heldout) else None,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora, "CAUSAL_LM"),
    )


def run_pretrain(
    config: PretrainConfig,
    data: str | Path,
    model: str | Path,
    output: str | Path,
    resume: bool = False,
) -> PhaseResult:
    """Train, save the model to ``output`` and write its metrics and loss curve there."""
    output = prepare_output(output, resume)
    start = time.perf_counter()
    train, heldout = pretrain_texts(data, config.heldout_fraction)
    trainer = build_trainer(config, train, heldout, model, output)
    metrics: dict[str, float | int | None] = {
        "documents": len(train),
        "heldout_documents": len(heldout),
        "blocks": len(trainer.train_dataset),
        "block_size": config.block_size,
    }
    if trainer.eval_dataset is not None:
        metrics["perplexity_before"] = _perplexity(trainer)
    trainer.train(resume_from_checkpoint=resume_checkpoint(output, resume))
    if trainer.eval_dataset is not None:
        metrics["perplexity_after"] = _perplexity(trainer)
    save_trained(trainer, output, model, AutoModelForCausalLM.from_pretrained)
    result = PhaseResult(
        phase="pretrain",
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics=metrics,
        losses=losses_of(trainer.state.log_history),
    )
    result.write()
    return result


def _perplexity(trainer: SFTTrainer) -> float | None:
    return finite(math.exp(trainer.evaluate()["eval_loss"]))
