"""`medloom train pretrain | sft | reward | ppo | dpo | rejection-sampling | grpo | rloo |
all | generate | bootstrap`: a thin layer that reads the config and calls the phase.

A phase's settings come from its section of ``--config`` (the same YAML `train all` reads);
``--max-steps`` and ``--lora`` override it for a quick try. Without ``--model`` a phase
starts from the tiny model bootstrapped from ``DATA/pretrain``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from pipelines.errors import MedloomError

# Command name → (config section, needs a reward model).
PHASE_COMMANDS: dict[str, tuple[str, bool]] = {
    "pretrain": ("pretrain", False),
    "sft": ("sft", False),
    "reward": ("reward", False),
    "ppo": ("ppo", True),
    "dpo": ("dpo", False),
    "rejection-sampling": ("rejection_sampling", True),
    "grpo": ("grpo", True),
    "rloo": ("rloo", True),
}
PHASE_HELP = {
    "pretrain": "continued pretraining on DATA/pretrain (packed blocks)",
    "sft": "supervised fine-tuning on DATA/sft, loss on assistant turns only",
    "reward": "a reward model on DATA/preference/pairs",
    "ppo": "PPO against a reward model",
    "dpo": "DPO on DATA/preference/pairs",
    "rejection-sampling": "best-of-n answers by reward, then fine-tuning on them",
    "grpo": "GRPO against a reward model",
    "rloo": "RLOO against a reward model",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train` and its commands to the medloom command line."""
    train = subparsers.add_parser("train", help="train a model on medloom's datasets")
    commands = train.add_subparsers(dest="train_command", metavar="COMMAND", required=True)

    for name, (section, needs_reward) in PHASE_COMMANDS.items():
        phase = commands.add_parser(name, help=PHASE_HELP[name])
        _add_common(phase)
        phase.add_argument("--output", required=True, help="folder for the trained model")
        phase.add_argument(
            "--model", help="local model folder to start from (default: bootstrap a tiny one)"
        )
        if needs_reward:
            phase.add_argument("--reward-model", required=True, help="reward model folder")
        phase.add_argument("--max-steps", type=int, help="override the section's max_steps")
        phase.add_argument("--lora", action="store_true", help="train a LoRA adapter")
        phase.set_defaults(handler=_run_phase, section=section)

    chain = commands.add_parser("all", help="every phase in order, writes RUN/summary.json")
    _add_common(chain)
    chain.add_argument("--output", required=True, help="run folder (RUN)")
    chain.add_argument(
        "--phases", help="comma-separated phases to run instead of the config's list"
    )
    chain.set_defaults(handler=_run_all)

    generate = commands.add_parser(
        "generate", help="sample answers to prompts as JSONL for `medloom annotate import`"
    )
    generate.add_argument("--model", required=True, help="policy folder (e.g. RUN/sft)")
    generate.add_argument(
        "--prompts",
        required=True,
        help='JSONL of {"id", "prompt"} (text or messages), or sft/preference Parquet',
    )
    generate.add_argument("--n", type=int, default=4, help="answers per prompt (default 4)")
    generate.add_argument("--output", default="-", help="JSONL file (default: stdout)")
    generate.add_argument("--max-new-tokens", type=int, default=256)
    generate.add_argument("--temperature", type=float, default=0.8)
    generate.add_argument("--top-p", type=float, default=0.95)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--model-name", help="the responses' model field (default: folder name)")
    generate.set_defaults(handler=_run_generate)

    bootstrap = commands.add_parser(
        "bootstrap", help="build the tiny tokenizer and Llama from DATA/pretrain"
    )
    _add_common(bootstrap)
    bootstrap.add_argument("--output", required=True, help="folder for the model")
    bootstrap.set_defaults(handler=_run_bootstrap)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="a medloom output folder (OUT)")
    parser.add_argument("--config", help="training YAML (default: the built-in tiny-model one)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")


def _load_config(args: argparse.Namespace) -> Any:
    from training.config import load_run_config

    return load_run_config(args.config)


def _say(line: str) -> None:
    if _first_process():
        print(f"medloom: {line}", file=sys.stderr)


def _show(line: str) -> None:
    """A result line on stdout, from one process only under torchrun or accelerate launch."""
    if _first_process():
        print(line)


def _first_process() -> bool:
    from training.runtime import is_main_process

    return is_main_process()


def _run_phase(args: argparse.Namespace, extra: list[str]) -> int:
    from training.chain import check_plan, run_phase

    config = _load_config(args)
    section = getattr(config, args.section)
    overrides: dict[str, Any] = {}
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if args.lora and section.lora is None:
        from training.config import LoraOptions

        overrides["lora"] = LoraOptions()
    setattr(config, args.section, dataclasses.replace(section, **overrides))
    config.phases = [args.section]
    data, output = Path(args.data), Path(args.output)
    model = Path(args.model) if args.model else None
    reward = Path(args.reward_model) if getattr(args, "reward_model", None) else None
    check_plan(config, data, reward_given=reward is not None)
    try:
        result = run_phase(args.section, config, data, output, model, reward, args.resume, _say)
    finally:
        _leave_process_group()
    _say(f"{args.section} finished in {result.seconds:.1f} s; model in {output}")
    for key, value in result.metrics.items():
        _show(f"  {key}: {value}")
    return 0


def _run_all(args: argparse.Namespace, extra: list[str]) -> int:
    from training.chain import SUMMARY_FILE, run_all

    config = _load_config(args)
    if args.phases:
        from training.config import run_config_from_dict

        phases = [p.strip().replace("-", "_") for p in args.phases.split(",") if p.strip()]
        config.phases = run_config_from_dict({"phases": phases}, "--phases").phases
    summary = run_all(config, args.data, args.output, args.resume, announce=_say)
    _say(f"all phases finished in {summary['seconds']:.1f} s")
    for phase, facts in summary["phases"].items():
        measures = ", ".join(f"{k} {_short(v)}" for k, v in facts["metrics"].items())
        print(f"  {phase:<20} {facts['seconds']:7.1f} s  {measures}")
    if "evaluation" in summary:
        evaluation = summary["evaluation"]
        # With too few prompts to hold any out, the evaluation falls back on training prompts.
        source = "held-out" if evaluation["prompt_source"] == "heldout" else "training"
        print(
            f"  mean reward on {evaluation['prompts']} {source} prompts: "
            + ", ".join(f"{name} {value:.3f}" for name, value in evaluation["mean_reward"].items())
        )
    print(f"  summary: {Path(args.output) / SUMMARY_FILE}")
    return 0


def _leave_process_group() -> None:
    """Under torchrun a rank that exits with its process group open aborts the others."""
    import torch.distributed

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _run_generate(args: argparse.Namespace, extra: list[str]) -> int:
    from training.config import SamplingOptions
    from training.generate import write_candidates

    if args.n < 1:
        raise MedloomError(f"--n: expected at least 1, got {args.n}")
    sampling = SamplingOptions(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p
    )
    count = write_candidates(
        args.model, args.prompts, args.n, args.output, sampling, args.model_name, args.seed
    )
    if args.output != "-":
        _say(f"{count} prompts × {args.n} answers written to {args.output}")
    return 0


def _run_bootstrap(args: argparse.Namespace, extra: list[str]) -> int:
    from training.bootstrap import bootstrap_model
    from training.data import pretrain_texts

    config = _load_config(args)
    texts, _ = pretrain_texts(args.data, config.pretrain.heldout_fraction)
    folder = bootstrap_model(texts["text"], config.bootstrap, args.output)
    _say(f"tiny model and tokenizer written to {folder}")
    return 0
