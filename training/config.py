"""Training configs: one dataclass per phase and a `RunConfig` holding a section for each.

A YAML file maps onto `RunConfig` one to one (``sft: {learning_rate: 2.0e-5}``); a wrong key or
type is reported with its path (``sft.lora: unknown key 'rank'; allowed keys: ...``). Every
field has a default, so an empty file is a valid config and the defaults are the tiny-model
demo's. Real runs override the sizes, lengths and step counts.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import yaml

from pipelines.config import from_dict
from pipelines.errors import ConfigError

PhaseName = Literal["pretrain", "sft", "reward", "ppo", "dpo", "rejection_sampling", "grpo", "rloo"]
# The order `train all` runs them in; each RLHF method starts from the SFT model.
PHASE_ORDER: tuple[str, ...] = (
    "pretrain",
    "sft",
    "reward",
    "ppo",
    "dpo",
    "rejection_sampling",
    "grpo",
    "rloo",
)
Precision = Literal["auto", "bf16", "fp16", "fp32"]


@dataclass
class LoraOptions:
    """A LoRA adapter instead of full fine-tuning. After training the adapter is kept in
    ``PHASE/adapter`` and merged into the saved model, so the next phase loads a plain one."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    # "all-linear" adapts every linear layer but the output head (PEFT's shorthand).
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError(f"lora.r: expected at least 1, got {self.r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"lora.dropout: expected 0 to 1, got {self.dropout}")


@dataclass
class PhaseConfig:
    """What every phase shares: optimisation, checkpoints, precision and LoRA.

    ``max_steps`` (optimizer steps, or PPO rollout batches) wins over ``epochs`` when set.
    ``precision: auto`` is bf16 on a GPU that has it and fp32 otherwise.
    """

    learning_rate: float = 1e-3
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    warmup_steps: int = 0
    weight_decay: float = 0.0
    logging_steps: int = 1
    save_steps: int = 50
    save_total_limit: int = 2
    seed: int = 42
    precision: Precision = "auto"
    gradient_checkpointing: bool = False
    lora: LoraOptions | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "gradient_accumulation_steps", "logging_steps", "save_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(
                f"learning_rate: expected a positive number, got {self.learning_rate}"
            )
        if self.max_steps < 1 and self.epochs <= 0:
            raise ConfigError("epochs: expected a positive number when max_steps is not set")


@dataclass
class PretrainConfig(PhaseConfig):
    """Continued pretraining: causal LM on `pretrain_document` text packed into blocks.

    ChiMed-GPT trained at 4,096 tokens; the default suits the tiny bootstrap model.
    ``heldout_fraction`` of the documents (by a hash of their id) measure perplexity.
    """

    block_size: int = 256
    heldout_fraction: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_fraction("heldout_fraction", self.heldout_fraction)
        if self.block_size < 8:
            raise ConfigError(f"block_size: expected at least 8, got {self.block_size}")


@dataclass
class SftConfig(PhaseConfig):
    """SFT on `sft_conversation` messages; loss on every assistant turn only."""

    max_length: int = 512
    assistant_only_loss: bool = True


@dataclass
class RewardConfig(PhaseConfig):
    """A reward model (sequence classifier from the SFT model) on `preference_pair` rows.

    With ``use_margin`` the loss is -log σ(r_chosen - r_rejected - margin) (Llama 2's form).
    """

    max_length: int = 512
    use_margin: bool = True
    center_rewards_coefficient: float | None = None


@dataclass
class SamplingOptions:
    """How answers are sampled from a policy."""

    max_new_tokens: int = 48
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(
                f"sampling.max_new_tokens: expected at least 1, got {self.max_new_tokens}"
            )
        if self.temperature <= 0:
            raise ConfigError(
                f"sampling.temperature: expected a positive number, got {self.temperature}"
            )


@dataclass
class PpoConfig(PhaseConfig):
    """PPO against the reward model, as Zhongjing and ClinicalGPT ran it (see training/ppo.py).

    Each step samples ``batch_size`` answers, scores them, and runs ``ppo_epochs`` passes of
    clipped policy and value updates in minibatches of ``mini_batch_size``; the reward is
    the reward model's score minus ``kl_coef`` times the KL to the SFT model, per token.
    """

    learning_rate: float = 1e-3
    max_steps: int = 20
    batch_size: int = 8
    mini_batch_size: int = 4
    ppo_epochs: int = 2
    clip_range: float = 0.2
    clip_range_value: float = 0.2
    value_coef: float = 0.5
    kl_coef: float = 0.05
    gamma: float = 1.0
    lam: float = 0.95
    max_prompt_length: int = 256
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mini_batch_size < 1 or self.batch_size % self.mini_batch_size:
            raise ConfigError(
                f"mini_batch_size: expected a divisor of batch_size ({self.batch_size}), "
                f"got {self.mini_batch_size}"
            )
        if self.ppo_epochs < 1:
            raise ConfigError(f"ppo_epochs: expected at least 1, got {self.ppo_epochs}")


@dataclass
class DpoConfig(PhaseConfig):
    """DPO from the preference pairs, offline, with the SFT model as the reference."""

    learning_rate: float = 1e-4
    beta: float = 0.1
    loss_type: Literal["sigmoid", "hinge", "ipo"] = "sigmoid"
    max_length: int = 512


@dataclass
class RejectionSamplingConfig(PhaseConfig):
    """ChiMed-GPT's rejection sampling: sample ``num_samples`` answers per prompt, keep the one
    the reward model scores highest (if above ``min_reward``), fine-tune on the kept ones."""

    num_samples: int = 4
    min_reward: float | None = None
    max_length: int = 512
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_samples < 2:
            raise ConfigError(f"num_samples: expected at least 2, got {self.num_samples}")


@dataclass
class GroupRlConfig(PhaseConfig):
    """GRPO or RLOO with the reward model: ``num_generations`` answers per prompt, each
    judged against the others of its group (TRL's GRPOTrainer / RLOOTrainer)."""

    learning_rate: float = 1e-4
    max_steps: int = 10
    num_generations: int = 4
    beta: float = 0.05
    max_completion_length: int = 48
    temperature: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_generations < 2:
            raise ConfigError(f"num_generations: expected at least 2, got {self.num_generations}")


@dataclass
class BootstrapConfig:
    """The tiny model built when no base model is given: a byte-level BPE tokenizer trained
    on the pretraining text and a small Llama with random weights."""

    vocab_size: int = 2000
    hidden_size: int = 64
    intermediate_size: int = 172
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    max_position_embeddings: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"hidden_size: expected a multiple of num_heads ({self.num_heads}), "
                f"got {self.hidden_size}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(
                f"num_kv_heads: expected a divisor of num_heads ({self.num_heads}), "
                f"got {self.num_kv_heads}"
            )
        if self.vocab_size < 300:
            raise ConfigError(
                f"vocab_size: expected at least 300 (256 bytes and the special "
                f"tokens), got {self.vocab_size}"
            )


@dataclass
class EvalOptions:
    """The before/after measure of `train all`: the mean reward of the policies' answers to
    held-out prompts (at most ``num_prompts``, ``samples_per_prompt`` answers each, sampled
    with a fixed seed so every policy meets the same draw)."""

    num_prompts: int = 16
    samples_per_prompt: int = 4
    seed: int = 0
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    def __post_init__(self) -> None:
        if self.num_prompts < 1 or self.samples_per_prompt < 1:
            raise ConfigError("num_prompts and samples_per_prompt: expected at least 1")


@dataclass
class RunConfig:
    """A whole run. ``base_model`` is a local folder (nothing is fetched from a hub); without
    one the tiny model is bootstrapped. ``phases`` lists what `train all` runs, in order.

    ``preference_heldout_fraction`` of the preference prompts (by a hash of `item_id`) are
    never trained on by any phase: they measure the reward model and the policies.
    """

    base_model: str | None = None
    preference_heldout_fraction: float = 0.2
    phases: list[PhaseName] = field(
        default_factory=lambda: ["pretrain", "sft", "reward", "ppo", "dpo", "rejection_sampling"]
    )
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    eval: EvalOptions = field(default_factory=EvalOptions)
    pretrain: PretrainConfig = field(default_factory=lambda: PretrainConfig(epochs=3.0))
    sft: SftConfig = field(default_factory=lambda: SftConfig(epochs=10.0, learning_rate=2e-3))
    reward: RewardConfig = field(default_factory=lambda: RewardConfig(epochs=3.0))
    ppo: PpoConfig = field(default_factory=PpoConfig)
    dpo: DpoConfig = field(default_factory=lambda: DpoConfig(epochs=2.0))
    rejection_sampling: RejectionSamplingConfig = field(
        default_factory=lambda: RejectionSamplingConfig(epochs=2.0)
    )
    grpo: GroupRlConfig = field(default_factory=GroupRlConfig)
    rloo: GroupRlConfig = field(default_factory=GroupRlConfig)

    def __post_init__(self) -> None:
        _check_fraction("preference_heldout_fraction", self.preference_heldout_fraction)
        unknown = [p for p in self.phases if p not in PHASE_ORDER]
        if unknown:
            raise ConfigError(f"phases: unknown phase {unknown[0]!r}")
        if len(set(self.phases)) != len(self.phases):
            raise ConfigError("phases: a phase is listed twice")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{name}: expected a fraction between 0 and 1, got {value}")


def load_run_config(path: str | Path | None) -> RunConfig:
    """Read and validate a training YAML; None gives the defaults. A relative ``base_model``
    resolves against the file's folder."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    config = run_config_from_dict(raw, where=str(path))
    if config.base_model and not Path(config.base_model).is_absolute():
        config.base_model = str((path.parent / config.base_model).resolve())
    return config


def run_config_from_dict(raw: dict[str, Any], where: str = "config") -> RunConfig:
    """A `RunConfig` from plain data, each section checked where it sits in the file."""
    hints = typing.get_type_hints(RunConfig)
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name in hints and dataclasses.is_dataclass(hints[name]):
            located = f"{where}.{name}"
            sections[name] = _located(partial(from_dict, hints[name], value, located), located)
    rest = {name: value for name, value in raw.items() if name not in sections}
    config = _located(partial(from_dict, RunConfig, rest, where), where)
    for name, section in sections.items():
        setattr(config, name, section)
    return config


def _located(build: Callable[[], Any], where: str) -> Any:
    """Run ``build``; a check made in a ``__post_init__`` names its field but not the section
    it sits in, so prefix it with ``where``."""
    try:
        return build()
    except ConfigError as exc:
        if str(exc).startswith(where):
            raise
        raise ConfigError(f"{where}.{exc}") from None
