"""Phase 2, supervised fine-tuning on `sft_conversation` messages with TRL's SFTTrainer.

The loss covers every assistant turn and nothing else (multi-turn: every doctor turn is
trained, as Zhongjing did). That needs `{% generation %}` markers in the chat template: a
template that has them is kept, one TRL knows how to patch is patched, and any other is
replaced by medloom's own (`bootstrap.CHAT_TEMPLATE`), which is then saved with the model.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, PreTrainedTokenizerBase
from trl import SFTConfig, SFTTrainer
from trl.chat_template_utils import get_training_chat_template, has_generation_markers

from training.bootstrap import CHAT_TEMPLATE
from training.config import SftConfig
from training.data import sft_conversations
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


def ensure_training_template(tokenizer: PreTrainedTokenizerBase) -> str:
    """Give ``tokenizer`` a chat template with generation markers; say which one it got."""
    template = tokenizer.chat_template
    if isinstance(template, str) and has_generation_markers(template):
        return "model"
    if template:
        try:
            patched = get_training_chat_template(tokenizer)
        except ValueError:
            patched = None
        if patched:
            tokenizer.chat_template = patched
            return "trl"
    tokenizer.chat_template = CHAT_TEMPLATE
    return "medloom"


def build_trainer(
    config: SftConfig,
    train: Dataset,
    validation: Dataset | None,
    model: str | Path,
    output: Path,
) -> SFTTrainer:
    """An SFTTrainer on conversational `messages`, assistant turns only in the loss."""
    tokenizer = load_tokenizer(model)
    ensure_training_template(tokenizer)
    args = SFTConfig(
        **trainer_arguments(config, output),
        max_length=config.max_length,
        assistant_only_loss=config.assistant_only_loss,
        packing=False,
    )
    return SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(require_model_dir(model)),
        args=args,
        train_dataset=train,
        eval_dataset=validation if validation is not None and len(validation) else None,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora, "CAUSAL_LM"),
    )


def train_conversations(
    phase: str,
    config: SftConfig,
    train: Dataset,
    validation: Dataset | None,
    model: str | Path,
    output: Path,
    resume: bool,
) -> PhaseResult:
    """Fine-tune on ``train`` messages, save to ``output``; also used by rejection sampling."""
    start = time.perf_counter()
    trainer = build_trainer(config, train, validation, model, output)
    metrics: dict[str, float | int | None] = {"conversations": len(train)}
    if trainer.eval_dataset is not None:
        metrics["validation_conversations"] = len(trainer.eval_dataset)
        metrics["validation_loss_before"] = finite(trainer.evaluate()["eval_loss"])
    trainer.train(resume_from_checkpoint=resume_checkpoint(output, resume))
    if trainer.eval_dataset is not None:
        loss = trainer.evaluate()["eval_loss"]
        metrics["validation_loss_after"] = finite(loss)
        metrics["validation_perplexity_after"] = finite(math.exp(loss))
    save_trained(trainer, output, model, AutoModelForCausalLM.from_pretrained)
    result = PhaseResult(
        phase=phase,
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics=metrics,
        losses=losses_of(trainer.state.log_history),
    )
    result.write()
    return result


def run_sft(
    config: SftConfig,
    data: str | Path,
    model: str | Path,
    output: str | Path,
    resume: bool = False,
) -> PhaseResult:
    """SFT on ``data/sft``: the train split trains, the validation split measures."""
    splits = sft_conversations(data)
    return train_conversations(
        "sft",
        config,
        splits["train"],
        splits["validation"],
        model,
        prepare_output(output, resume),
        resume,
    )
