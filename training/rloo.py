"""Phase 3f, RLOO against the reward model (TRL's RLOOTrainer): each answer's baseline is
the mean reward of the other answers to its prompt. See `grpo.py`."""

from __future__ import annotations

from pathlib import Path

from training.config import GroupRlConfig
from training.data import PREFERENCE_HELDOUT
from training.grpo import run_group_rl
from training.runtime import PhaseResult


def run_rloo(
    config: GroupRlConfig,
    data: str | Path,
    model: str | Path,
    reward_model: str | Path,
    output: str | Path,
    resume: bool = False,
    heldout_fraction: float = PREFERENCE_HELDOUT,
) -> PhaseResult:
    return run_group_rl("rloo", config, data, model, reward_model, output, resume, heldout_fraction)
