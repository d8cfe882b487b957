"""Phase 3d, rejection sampling (ChiMed-GPT): sample several answers to each training
prompt from the SFT model, keep the one the reward model scores highest, fine-tune on them.

The kept answers are written to ``OUTPUT/samples.jsonl`` with every candidate's score, so a
person can read what the reward model preferred.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from datasets import Dataset

from pipelines.errors import MedloomError
from training.config import RejectionSamplingConfig, SftConfig
from training.data import PREFERENCE_HELDOUT
from training.generate import load_policy, sample_answers
from training.ppo import rl_prompts
from training.reward import RewardScorer
from training.runtime import PhaseResult, prepare_output, require_model_dir
from training.sft import train_conversations

SAMPLES_FILE = "samples.jsonl"


def best_of_n(
    config: RejectionSamplingConfig,
    prompts: list[list[dict[str, str]]],
    model: str | Path,
    reward_model: str | Path,
) -> list[dict]:
    """For each prompt: every sampled answer with its score, and the best one (or None when
    it scores below ``min_reward``)."""
    policy, tokenizer = load_policy(model)
    torch.manual_seed(config.seed)
    answers = sample_answers(
        policy,
        tokenizer,
        prompts,
        config.num_samples,
        config.sampling,
        batch_size=config.batch_size,
        progress="rejection sampling",
    )
    del policy
    scorer = RewardScorer(reward_model, batch_size=config.batch_size)
    records = []
    for prompt, candidates in zip(prompts, answers, strict=True):
        scores = scorer.score([[*prompt, {"role": "assistant", "content": a}] for a in candidates])
        best = max(range(len(candidates)), key=scores.__getitem__)
        kept = config.min_reward is None or scores[best] >= config.min_reward
        records.append(
            {
                "prompt": prompt,
                "candidates": [
                    {"content": a, "score": s} for a, s in zip(candidates, scores, strict=True)
                ],
                "best": candidates[best] if kept else None,
                "best_score": scores[best],
            }
        )
    return records


def run_rejection_sampling(
    config: RejectionSamplingConfig,
    data: str | Path,
    model: str | Path,
    reward_model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    """Best-of-``num_samples`` answers to the training prompts, then SFT on them from
    ``model``; the policy is saved to ``output``."""
    output = prepare_output(output, resume)
    start = time.perf_counter()
    require_model_dir(reward_model, "reward model")
    prompts = rl_prompts(data, heldout_fraction)[0]["prompt"]
    records = best_of_n(config, prompts, model, reward_model)
    with (output / SAMPLES_FILE).open("w", encoding="utf-8") as samples:
        for record in records:
            samples.write(json.dumps(record, ensure_ascii=False) + "\n")
    kept = [r for r in records if r["best"] is not None]
    if not kept:
        raise MedloomError(f"rejection sampling: no answer scored {config.min_reward} or more")
    conversations = Dataset.from_dict(
        {"messages": [[*r["prompt"], {"role": "assistant", "content": r["best"]}] for r in kept]}
    )
    sft = SftConfig(
        **{
            name: getattr(config, name)
            for name in SftConfig.__dataclass_fields__
            if hasattr(config, name)
        }
    )
    result = train_conversations(
        "rejection_sampling", sft, conversations, None, model, output, resume
    )
    all_scores = [c["score"] for r in records for c in r["candidates"]]
    result.metrics.update(
        {
            "prompts": len(records),
            "kept": len(kept),
            "mean_sample_score": sum(all_scores) / len(all_scores),
            "mean_best_score": sum(r["best_score"] for r in records) / len(records),
        }
    )
    result.seconds = time.perf_counter() - start
    result.write()
    return result
