"""Phase 3b, PPO against the reward model: what Zhongjing and ClinicalGPT ran.

TRL moved its PPOTrainer to `trl.experimental.ppo` and removed it after 1.12; medloom stays
on TRL 1.16 for every other trainer and runs PPO here, on transformers and accelerate, as in
"The N Implementation Details of RLHF with PPO" (Huang et al., 2024) and TRL 1.12:

* rollout: the policy samples one answer per prompt; the reward model scores prompt and
  answer; the reward of each answer token is -kl_coef * (log π - log π_ref), plus the score
  on its last token;
* a value model (initialised from the reward model, with a per-token head) estimates
  returns; advantages come from GAE (``gamma``, ``lam``) and are whitened;
* ``ppo_epochs`` passes over the rollout in minibatches: the clipped policy loss and the
  clipped value loss, ``loss = policy + value_coef * value``.

With LoRA the reference is the policy with its adapter switched off (one model in memory
instead of two). Checkpoints (policy, value model, optimizer, step, log) are written every
``save_steps`` and a run resumes from the last one. Runs under `accelerate launch` (DDP):
each process samples its own prompts.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForTokenClassification,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_scheduler,
)

from pipelines.errors import MedloomError
from training.config import PpoConfig
from training.data import PREFERENCE_HELDOUT, Messages, preference_pairs, unique_prompts
from training.generate import encode_prompts, generation_options
from training.reward import RewardScorer
from training.runtime import (
    CHECKPOINTS,
    PhaseResult,
    load_tokenizer,
    lora_config,
    precision_flags,
    prepare_output,
    require_model_dir,
    save_model,
    use_cpu,
)

STATE_FILE = "ppo_state.pt"


@dataclass
class Rollout:
    """One batch of sampled answers and what PPO needs of them, all aligned on answer tokens."""

    sequences: torch.Tensor  # prompt (left-padded) + answer (right-padded)
    attention_mask: torch.Tensor
    answer_mask: torch.Tensor  # 1 on answer tokens up to and including end-of-turn
    logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    scores: torch.Tensor
    kl: torch.Tensor  # per answer, summed over its tokens


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def whiten(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    return (values - mean) * torch.rsqrt(variance + 1e-8) * mask


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns over answer tokens (zero past the end)."""
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def answer_logprobs(
    model: torch.nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    temperature: float,
) -> torch.Tensor:
    """Log-probabilities of the answer tokens, at the temperature they were sampled at."""
    logits = model(
        input_ids=sequences,
        attention_mask=attention_mask,
        position_ids=position_ids(attention_mask),
    ).logits
    logits = logits[:, prompt_length - 1 : -1].float() / temperature
    targets = sequences[:, prompt_length:]
    return torch.gather(F.log_softmax(logits, dim=-1), 2, targets.unsqueeze(-1)).squeeze(-1)


def answer_values(
    value_model: torch.nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
) -> torch.Tensor:
    """The value of the state before each answer token."""
    logits = value_model(
        input_ids=sequences,
        attention_mask=attention_mask,
        position_ids=position_ids(attention_mask),
    ).logits
    return logits[:, prompt_length - 1 : -1, 0].float()


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted from the first real token, as `generate` counts them with left padding."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def batch_indices(
    count: int, step: int, batch_size: int, rank: int, world: int, seed: int
) -> list[int]:
    """The prompts process ``rank`` answers at ``step``: a fresh shuffle of all ``count``
    prompts per epoch, so a resumed run picks up exactly where it stopped."""
    global_batch = batch_size * world
    first = step * global_batch + rank * batch_size
    indices = []
    for position in range(first, first + batch_size):
        epoch, offset = divmod(position, count)
        indices.append(random.Random(seed + epoch).sample(range(count), count)[offset])
    return indices


class PpoRunner:
    """The policy, its reference, the value and reward models; rollouts and updates."""

    def __init__(
        self,
        config: PpoConfig,
        policy_path: Path,
        reward_path: Path,
        steps: int,
        accelerator: Accelerator,
        resume_from: Path | None,
    ) -> None:
        self.config = config
        self.accelerator = accelerator
        self.tokenizer: PreTrainedTokenizerBase = load_tokenizer(policy_path)
        self.scorer = RewardScorer(reward_path, config.mini_batch_size, accelerator.device)
        policy = _load_trainable(
            AutoModelForCausalLM, policy_path, config, "CAUSAL_LM", _part(resume_from, "policy")
        )
        value_model = _load_trainable(
            AutoModelForTokenClassification,
            reward_path,
            config,
            "TOKEN_CLS",
            _part(resume_from, "value"),
            # The value head must be deterministic: no dropout (transformers' default is 0.1).
            model_config=_value_config(reward_path),
        )
        self.reference: PreTrainedModel | None = None
        if config.lora is None:
            self.reference = AutoModelForCausalLM.from_pretrained(policy_path).eval()
            self.reference.requires_grad_(False)
            self.reference.to(accelerator.device)
        if config.gradient_checkpointing:
            for model in (policy, value_model):
                model.gradient_checkpointing_enable()
                # With frozen embeddings (LoRA) the checkpointed blocks need an input that
                # requires grad, or no gradient reaches the adapters.
                model.enable_input_require_grads()
        self.parameters = [
            p for m in (policy, value_model) for p in m.parameters() if p.requires_grad
        ]
        optimizer = torch.optim.AdamW(
            self.parameters, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        updates = steps * config.ppo_epochs * (config.batch_size // config.mini_batch_size)
        scheduler = get_scheduler(
            "linear",
            optimizer,
            num_warmup_steps=config.warmup_steps,
            num_training_steps=math.ceil(updates / config.gradient_accumulation_steps),
        )
        self.policy, self.value_model, self.optimizer, self.scheduler = accelerator.prepare(
            policy, value_model, optimizer, scheduler
        )

    def _reference_context(self) -> AbstractContextManager[Any]:
        if self.reference is not None:
            return nullcontext()
        return self.accelerator.unwrap_model(self.policy).disable_adapter()

    @torch.no_grad()
    def rollout(self, prompts: list[Messages]) -> Rollout:
        config, tokenizer = self.config, self.tokenizer
        # Sampling and the old log-probabilities see the models as PPO's ratio will: no dropout.
        self.policy.eval()
        self.value_model.eval()
        batch = encode_prompts(tokenizer, prompts, self.accelerator.device)
        prompt_length = batch["input_ids"].shape[1]
        policy = self.accelerator.unwrap_model(self.policy)
        generated = policy.generate(**batch, **generation_options(tokenizer, config.sampling))
        answer = generated[:, prompt_length:]
        is_end = answer == tokenizer.eos_token_id
        after_end = (is_end.long().cumsum(1) - is_end.long()) > 0
        answer = answer.masked_fill(after_end, tokenizer.pad_token_id)
        mask = (~after_end).float()
        sequences = torch.cat([batch["input_ids"], answer], dim=1)
        attention_mask = torch.cat([batch["attention_mask"], mask.long()], dim=1)
        temperature = config.sampling.temperature
        logprobs = answer_logprobs(
            self.policy, sequences, attention_mask, prompt_length, temperature
        )
        with self._reference_context():
            reference = self.reference if self.reference is not None else self.policy
            ref_logprobs = answer_logprobs(
                reference, sequences, attention_mask, prompt_length, temperature
            )
        values = answer_values(self.value_model, sequences, attention_mask, prompt_length)
        texts = tokenizer.batch_decode(answer, skip_special_tokens=True)
        scores = torch.tensor(
            self.scorer.score(
                [
                    [*p, {"role": "assistant", "content": t}]
                    for p, t in zip(prompts, texts, strict=True)
                ]
            ),
            device=sequences.device,
        )
        kl = (logprobs - ref_logprobs) * mask
        rewards = -config.kl_coef * kl
        last = mask.sum(1).long() - 1
        rewards[torch.arange(len(prompts), device=rewards.device), last] += scores
        advantages, returns = gae(rewards, values, mask, config.gamma, config.lam)
        return Rollout(
            sequences=sequences,
            attention_mask=attention_mask,
            answer_mask=mask,
            logprobs=logprobs,
            values=values * mask,
            advantages=whiten(advantages, mask),
            returns=returns,
            scores=scores,
            kl=kl.sum(1),
        )

    def update(self, rollout: Rollout) -> dict[str, float]:
        """``ppo_epochs`` passes of clipped updates over the rollout; the mean of each loss."""
        config = self.config
        prompt_length = rollout.sequences.shape[1] - rollout.answer_mask.shape[1]
        totals = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0}
        updates = 0
        self.policy.train()
        self.value_model.train()
        for _ in range(config.ppo_epochs):
            order = torch.randperm(rollout.sequences.shape[0])
            for start in range(0, len(order), config.mini_batch_size):
                rows = order[start : start + config.mini_batch_size]
                losses = self._minibatch_step(rollout, rows, prompt_length)
                for key, value in losses.items():
                    totals[key] += value
                updates += 1
        return {key: value / updates for key, value in totals.items()}

    def _minibatch_step(
        self, rollout: Rollout, rows: torch.Tensor, prompt_length: int
    ) -> dict[str, float]:
        config = self.config
        mask = rollout.answer_mask[rows]
        with self.accelerator.accumulate(self.policy, self.value_model):
            logprobs = answer_logprobs(
                self.policy,
                rollout.sequences[rows],
                rollout.attention_mask[rows],
                prompt_length,
                config.sampling.temperature,
            )
            values = answer_values(
                self.value_model,
                rollout.sequences[rows],
                rollout.attention_mask[rows],
                prompt_length,
            )
            advantages = rollout.advantages[rows]
            ratio = torch.exp(logprobs - rollout.logprobs[rows])
            clipped_ratio = ratio.clamp(1 - config.clip_range, 1 + config.clip_range)
            policy_loss = masked_mean(
                torch.max(-advantages * ratio, -advantages * clipped_ratio), mask
            )
            old_values, returns = rollout.values[rows], rollout.returns[rows]
            clipped_values = old_values + (values - old_values).clamp(
                -config.clip_range_value, config.clip_range_value
            )
            value_loss = 0.5 * masked_mean(
                torch.max((values - returns) ** 2, (clipped_values - returns) ** 2), mask
            )
            loss = policy_loss + config.value_coef * value_loss
            self.accelerator.backward(loss)
            if self.accelerator.sync_gradients:
                self.accelerator.clip_grad_norm_(self.parameters, 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
        clip_fraction = masked_mean(((ratio - 1).abs() > config.clip_range).float(), mask)
        return {
            "loss": loss.item(),
            "policy_loss": policy_loss.item(),
            "value_loss": value_loss.item(),
            "clip_fraction": clip_fraction.item(),
        }

    def save_checkpoint(self, folder: Path, step: int, history: list[dict[str, float]]) -> None:
        """Policy, value model, optimizer and schedule, step and log: all a resume needs."""
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return
        folder.mkdir(parents=True, exist_ok=True)
        self.accelerator.unwrap_model(self.policy).save_pretrained(folder / "policy")
        self.accelerator.unwrap_model(self.value_model).save_pretrained(folder / "value")
        torch.save(
            {
                "step": step,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
            },
            folder / STATE_FILE,
        )
        (folder / "log_history.json").write_text(json.dumps(history) + "\n", encoding="utf-8")

    def load_state(self, folder: Path) -> tuple[int, list[dict[str, float]]]:
        """Restore optimizer and schedule from a checkpoint; its step and log."""
        state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        history = json.loads((folder / "log_history.json").read_text(encoding="utf-8"))
        return int(state["step"]), history


def _part(checkpoint: Path | None, name: str) -> Path | None:
    return checkpoint / name if checkpoint is not None else None


def _load_trainable(
    auto_class: Any,
    base: Path,
    config: PpoConfig,
    task_type: str,
    checkpoint: Path | None,
    model_config: PretrainedConfig | None = None,
) -> PreTrainedModel:
    """A model to train: from ``base``, or from a checkpoint of it (an adapter with LoRA)."""
    kwargs = {"config": model_config} if model_config is not None else {}
    if config.lora is None:
        return auto_class.from_pretrained(checkpoint or base, **kwargs)
    from peft import PeftModel, get_peft_model

    model = auto_class.from_pretrained(base, **kwargs)
    if checkpoint is not None:
        return PeftModel.from_pretrained(model, checkpoint, is_trainable=True)
    lora = lora_config(config.lora, task_type)
    # The token classifier's head is new too: train it whole beside the adapters.
    lora.modules_to_save = ["score"] if task_type == "TOKEN_CLS" else None
    return get_peft_model(model, lora)


def _value_config(reward_path: Path) -> PretrainedConfig:
    config = AutoConfig.from_pretrained(reward_path, num_labels=1)
    config.classifier_dropout = 0.0
    return config


def _last_checkpoint(output: Path) -> Path | None:
    folders = sorted(
        (p for p in (output / CHECKPOINTS).glob("checkpoint-*") if (p / STATE_FILE).is_file()),
        key=lambda p: int(p.name.rsplit("-", 1)[1]),
    )
    return folders[-1] if folders else None


def _prune_checkpoints(output: Path, keep: int) -> None:
    folders = sorted(
        (output / CHECKPOINTS).glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])
    )
    for folder in folders[:-keep]:
        shutil.rmtree(folder)


def rl_prompts(data: str | Path, heldout_fraction: float) -> tuple[Dataset, Dataset]:
    """(training, held-out) distinct prompts of the preference pairs, split as the reward
    model's pairs were, so no held-out prompt is trained on."""
    train, heldout = preference_pairs(data, heldout_fraction)
    return unique_prompts(train), unique_prompts(heldout)


def run_ppo(
    config: PpoConfig,
    data: str | Path,
    model: str | Path,
    reward_model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    """PPO from the policy ``model`` against ``reward_model`` on the training prompts of
    ``data``'s preference pairs; the policy is saved to ``output``."""
    output = prepare_output(output, resume)
    start = time.perf_counter()
    policy_path, reward_path = (
        require_model_dir(model),
        require_model_dir(reward_model, "reward model"),
    )
    tokenizer = load_tokenizer(policy_path)
    prompts = [
        prompt
        for prompt in rl_prompts(data, heldout_fraction)[0]["prompt"]
        if len(
            tokenizer.apply_chat_template(
                prompt, tokenize=True, add_generation_prompt=True, return_dict=False
            )
        )
        <= config.max_prompt_length
    ]
    if not prompts:
        raise MedloomError(f"ppo: no prompt fits max_prompt_length ({config.max_prompt_length})")
    flags = precision_flags(config)
    accelerator = Accelerator(
        cpu=use_cpu(),
        mixed_precision="bf16" if flags["bf16"] else "fp16" if flags["fp16"] else "no",
        gradient_accumulation_steps=config.gradient_accumulation_steps,
    )
    world = accelerator.num_processes
    steps = (
        config.max_steps
        if config.max_steps > 0
        else math.ceil(config.epochs * len(prompts) / (config.batch_size * world))
    )
    checkpoint = _last_checkpoint(output) if resume else None
    torch.manual_seed(config.seed)
    runner = PpoRunner(config, policy_path, reward_path, steps, accelerator, checkpoint)
    first_step, history = runner.load_state(checkpoint) if checkpoint else (0, [])
    progress = tqdm(
        total=steps, initial=first_step, desc="ppo", disable=not accelerator.is_main_process
    )
    for step in range(first_step, steps):
        torch.manual_seed(config.seed + step)
        rows = batch_indices(
            len(prompts), step, config.batch_size, accelerator.process_index, world, config.seed
        )
        rollout = runner.rollout([prompts[i] for i in rows])
        losses = runner.update(rollout)
        entry = {
            "step": step + 1,
            **losses,
            "score": accelerator.reduce(rollout.scores.mean(), "mean").item(),
            "kl": accelerator.reduce(rollout.kl.mean(), "mean").item(),
            "answer_tokens": accelerator.reduce(rollout.answer_mask.sum(1).mean(), "mean").item(),
        }
        history.append(entry)
        progress.update(1)
        progress.set_postfix(score=f"{entry['score']:.3f}", kl=f"{entry['kl']:.3f}")
        if (step + 1) % config.save_steps == 0 or step + 1 == steps:
            runner.save_checkpoint(
                output / CHECKPOINTS / f"checkpoint-{step + 1}", step + 1, history
            )
            if accelerator.is_main_process:
                _prune_checkpoints(output, config.save_total_limit)
    progress.close()
    if accelerator.is_main_process:
        save_model(accelerator.unwrap_model(runner.policy), runner.tokenizer, output)
    accelerator.end_training()
    result = PhaseResult(
        phase="ppo",
        model=str(output),
        seconds=time.perf_counter() - start,
        metrics={
            "prompts": len(prompts),
            "steps": steps,
            "resumed_from_step": first_step,
            "score_first_step": history[0]["score"] if history else None,
            "score_last_step": history[-1]["score"] if history else None,
            "kl_last_step": history[-1]["kl"] if history else None,
        },
        losses=[(entry["step"], entry["loss"]) for entry in history],
    )
    if accelerator.is_main_process:
        result.write()
    return result
