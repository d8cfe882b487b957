"""The `medloom` command line: a thin layer that parses arguments and calls the packages.

Errors a user can cause end in one readable line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pipelines.errors import MedloomError
from pipelines.runtime import collect_garbage_rarely

# Each subcommand group registers itself: (module with a `register` function, its commands).
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pipelines.corpus_cli", ("run", "demo", "validate", "report")),
    ("pipelines.deid.cli", ("deid",)),
    ("pipelines.dedup.cli", ("dedup",)),
    ("pipelines.tasks.cli", ("tasks",)),
    ("annotation.cli", ("annotate",)),
    ("training.cli", ("train",)),
    ("training.evaluation.cli", ("eval",)),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every group, or only of the group that owns ``command``.

    Importing a group imports its libraries (FastAPI, scipy, great-expectations...), which
    takes seconds: a run imports only its own.
    """
    parser = argparse.ArgumentParser(
        prog="medloom",
        description="Turn medical text into pretraining, SFT and preference datasets.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    owned = [group for group in _GROUPS if command in group[1]]
    for module_name, _ in owned or _GROUPS:
        module = __import__(module_name, fromlist=["register"])
        module.register(subparsers)
    return parser


def _quiet_logging() -> None:
    """Warnings and errors on stderr; Beam's notice about optional GCP clients is noise."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addFilter(lambda record: "apitools" not in record.getMessage())
    # Reading's progress lines during a run (pipelines.transforms.ReadProgress).
    logging.getLogger("medloom.progress").setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_logging()
    collect_garbage_rarely()
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((word for word in words if not word.startswith("-")), None))
    args, extra = parser.parse_known_args(argv)
    handler: Callable[[argparse.Namespace, list[str]], int] = args.handler
    if extra and not getattr(args, "accepts_beam_options", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return handler(args, extra)
    except MedloomError as exc:
        print(f"medloom: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("medloom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
