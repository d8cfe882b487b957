"""`medloom tasks export-exams`: an exam source's items as an evaluation set (JSONL).

The evaluation harness reads what this writes; the same YAML's dialogue run can list the
file under ``decontam.eval_sets`` (``text_fields: [question]``) so no item is trained on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipelines.dialogues.config import load_dialogue_config
from pipelines.errors import ConfigError, MedloomError
from pipelines.tasks.exams import export_exam_items


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tasks` and its commands to the medloom command line."""
    tasks = subparsers.add_parser("tasks", help="instruction data from records, exams and graphs")
    commands = tasks.add_subparsers(dest="tasks_command", metavar="COMMAND", required=True)
    export = commands.add_parser(
        "export-exams", help="write an exam source's items as an evaluation set (JSONL)"
    )
    export.add_argument("config", help="a `pipeline: dialogues` YAML")
    export.add_argument("--source", required=True, help="the name of a source with layout exam")
    export.add_argument("--output", required=True, help="the JSONL file to write")
    export.set_defaults(handler=run_export_exams)


def run_export_exams(args: argparse.Namespace, extra: list[str]) -> int:
    config = load_dialogue_config(args.config)
    source = next((s for s in config.sources if s.name == args.source), None)
    if source is None:
        names = ", ".join(s.name for s in config.sources)
        raise ConfigError(f"{args.config}: no source named {args.source!r} (sources: {names})")
    if source.layout != "exam":
        raise ConfigError(f"source {source.name!r}: layout is {source.layout}, not exam")
    result = export_exam_items(source, args.output, config.normalize)
    for item in result.unreadable:
        where = f"{item.path}:{item.line}" if item.line is not None else item.path
        print(f"medloom: skipped {where}: {item.reason}: {item.detail}", file=sys.stderr)
    skipped = ", ".join(f"{reason} {n}" for reason, n in result.by_reason().items())
    print(
        f"medloom: wrote {result.written} exam items to {args.output}"
        + (f"; {len(result.unreadable)} not valid ({skipped})" if skipped else "")
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`medloom tasks ...` on its own, parsed without the other groups."""
    parser = argparse.ArgumentParser(prog="medloom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.handler(args, [])
    except MedloomError as exc:
        print(f"medloom: error: {exc}", file=sys.stderr)
        return 2
