"""`medloom eval`: a thin layer that turns the flags into `EvalSettings` and runs them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.errors import MedloomError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `eval` to the medloom command line."""
    command = subparsers.add_parser(
        "eval", help="evaluate a trained model: exams, QA by reward, diagnosis, perplexity"
    )
    command.add_argument("--model", required=True, help="local model folder (e.g. RUN/ppo)")
    command.add_argument(
        "--compare", help="a second model folder: win/tie/loss by reward (e.g. RUN/sft)"
    )
    command.add_argument("--reward-model", help="reward model folder (e.g. RUN/reward)")
    command.add_argument("--data", required=True, help="the medloom output folder (OUT)")
    command.add_argument(
        "--exams", nargs="+", default=[], help="exam JSONL files (medloom tasks export-exams)"
    )
    command.add_argument(
        "--shot-pool",
        nargs="+",
        default=[],
        help="exam JSONL files the few-shot examples come from (default: the other items)",
    )
    command.add_argument("--shots", default="0,3", help="comma-separated shot counts (default 0,3)")
    command.add_argument("--output", default="eval", help="results folder (default ./eval)")
    command.add_argument("--max-new-tokens", type=int, default=64)
    command.add_argument(
        "--max-prompts", type=int, default=64, help="held-out prompts per section (default 64)"
    )
    command.add_argument(
        "--tie-margin",
        type=float,
        default=0.1,
        help="rewards this close are a tie (default 0.1)",
    )
    command.add_argument("--batch-size", type=int, default=8)
    command.set_defaults(handler=_run_eval)


def _shots(value: str) -> list[int]:
    try:
        shots = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise MedloomError(f"--shots: expected numbers like 0,3, got {value!r}") from None
    if not shots or any(k < 0 for k in shots):
        raise MedloomError(f"--shots: expected counts of 0 or more, got {value!r}")
    return list(dict.fromkeys(shots))


def _run_eval(args: argparse.Namespace, extra: list[str]) -> int:
    from training.evaluation.harness import EVAL_HTML, EVAL_JSON, EvalSettings, run_eval

    if args.max_new_tokens < 1 or args.max_prompts < 0 or args.batch_size < 1:
        raise MedloomError(
            "--max-new-tokens and --batch-size: at least 1; --max-prompts: 0 or more"
        )
    settings = EvalSettings(
        model=Path(args.model),
        data=Path(args.data),
        output=Path(args.output),
        compare=Path(args.compare) if args.compare else None,
        reward_model=Path(args.reward_model) if args.reward_model else None,
        exams=[Path(p) for p in args.exams],
        shot_pool=[Path(p) for p in args.shot_pool],
        shots=_shots(args.shots),
        max_new_tokens=args.max_new_tokens,
        max_prompts=args.max_prompts,
        tie_margin=args.tie_margin,
        batch_size=args.batch_size,
    )
    report = run_eval(settings, lambda line: print(f"medloom: {line}", file=sys.stderr))
    for name, model in report["models"].items():
        figures = [
            f"{shots} {t['accuracy']:.3f} (likelihood {t['likelihood_accuracy']:.3f})"
            for shots, t in model["exams"].items()
            if t.get("items")
        ]
        reward = model["qa"].get("reward")
        if reward and reward["mean"] is not None:
            figures.append(f"mean reward {reward['mean']:.3f}")
        if model["diagnosis"]["accuracy"] is not None:
            figures.append(f"diagnosis {model['diagnosis']['accuracy']:.3f}")
        if model["perplexity"].get("perplexity") is not None:
            figures.append(f"perplexity {model['perplexity']['perplexity']:.4g}")
        print(f"  {name}: " + ", ".join(figures))
    comparison = report["comparison"]
    if comparison:
        print(
            f"  {comparison['model']} vs {comparison['compare']}: win {comparison['win']}, "
            f"tie {comparison['tie']}, loss {comparison['loss']} "
            f"(margin {comparison['tie_margin']})"
        )
    overlapping = {
        output: facts["items_overlapping"]
        for output, facts in report["contamination"]["outputs"].items()
        if facts["present"]
    }
    print(f"  evaluation items found in training outputs: {overlapping}")
    print(f"  results: {settings.output / EVAL_JSON}, {settings.output / EVAL_HTML}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`medloom eval ...` on its own, parsed without the other groups."""
    parser = argparse.ArgumentParser(prog="medloom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.handler(args, [])
    except MedloomError as exc:
        print(f"medloom: error: {exc}", file=sys.stderr)
        return 2
