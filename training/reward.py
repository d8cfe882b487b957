"""Phase 3a, the reward model: a sequence classifier started from the SFT model and trained
with TRL's RewardTrainer on `preference_pair` rows, margin included.

Its accuracy is measured on pairs of held-out prompts: the share of pairs whose chosen
answer it scores above the rejected one. `RewardScorer` is how the later phases and the
evaluation score answers with it.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerBase
from trl import RewardConfig as TrlRewardConfig
from trl import RewardTrainer

from training.config import RewardConfig
from training.data import PREFERENCE_HELDOUT, Messages, preference_pairs
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
from training.sft import ensure_training_template


def load_reward_model(path: str | Path) -> AutoModelForSequenceClassification:
    """A one-output sequence classifier from ``path`` (a new score head on a causal LM).

    It scores the last token that is not padding, so it must know the padding token.
    """
    model = AutoModelForSequenceClassification.from_pretrained(
        require_model_dir(path), num_labels=1
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = load_tokenizer(path).pad_token_id
    return model


def build_trainer(
    config: RewardConfig, train: Dataset, model: str | Path, output: Path
) -> RewardTrainer:
    tokenizer = load_tokenizer(model)
    ensure_training_template(tokenizer)
    reward_model = load_reward_model(model)
    if not config.use_margin:
        train = train.remove_columns("margin")
    args = TrlRewardConfig(
        **trainer_arguments(config, output),
        max_length=config.max_length,
        center_rewards_coefficient=config.center_rewards_coefficient,
    )
    return RewardTrainer(
        model=reward_model,
        args=args,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=lora_config(config.lora, "SEQ_CLS"),
    )


class RewardScorer:
    """Scores whole conversations (prompt and answer) with a reward model."""

    def __init__(
        self, path: str | Path, batch_size: int = 8, device: torch.device | str | None = None
    ) -> None:
        self.tokenizer: PreTrainedTokenizerBase = load_tokenizer(path)
        self.model = load_reward_model(path).eval()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.batch_size = batch_size

    @torch.no_grad()
    def score(self, conversations: list[Messages]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(conversations), self.batch_size):
            batch = [
                self.tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=False)
                for conversation in conversations[start : start + self.batch_size]
            ]
            padded = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt").to(self.device)
            logits = self.model(**padded).logits[:, 0]
            scores.extend(float(value) for value in logits.float().cpu())
        return scores


def pairwise_accuracy(scorer: RewardScorer, pairs: Dataset) -> float | None:
    """Share of ``pairs`` whose chosen answer scores above the rejected one."""
    if len(pairs) == 0:
        return None
    chosen = scorer.score([row["prompt"] + row["chosen"] for row in pairs])
    rejected = scorer.score([row["prompt"] + row["rejected"] for row in pairs])
    return sum(c > r for c, r in zip(chosen, rejected, strict=True)) / len(pairs)


def run_reward(
    config: RewardConfig,
    data: str | Path,
    model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    """Train on ``data/preference/pairs``, save to ``output``, measure held-out accuracy."""
    output = prepare_output(output, resume)
    start = time.perf_counter()
    train, heldout = preference_pairs(data, heldout_fraction)
    trainer = build_trainer(config, train, model, output)
    trainer.train(resume_from_checkpoint=resume_checkpoint(output, resume))
    save_trained(trainer, output, model, load_reward_model)
    scorer = RewardScorer(output, batch_size=config.batch_size)
    metrics: dict[str, float | int | None] = {
        "pairs": len(train),
        "heldout_pairs": len(heldout),
        "train_accuracy": pairwise_accuracy(scorer, train),
        "heldout_accuracy": pairwise_accuracy(scorer, heldout),
    }
    result = PhaseResult(
        phase="reward",
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics=metrics,
        losses=losses_of(trainer.state.log_history),
    )
    result.write()
    return result
