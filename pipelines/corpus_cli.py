"""`medloom run`, `medloom demo`, `medloom validate` and `medloom report`."""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path

from pipelines.errors import MedloomError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_CONFIG = DATA_DIR / "demo.yaml"
BEAM_HELP = "any other option is passed to Beam (e.g. --runner DataflowRunner --project P ...)"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="run the corpus pipeline on a YAML config", epilog=BEAM_HELP
    )
    run.add_argument("config", help="pipeline config (YAML)")
    run.add_argument("--output", required=True, help="output folder")
    run.set_defaults(handler=_run, accepts_beam_options=True)

    demo = subparsers.add_parser(
        "demo", help="run the pipelines on the samples in data/", epilog=BEAM_HELP
    )
    demo.add_argument("--output", default="./medloom-demo", help="output folder")
    demo.set_defaults(handler=_demo, accepts_beam_options=True)

    validate = subparsers.add_parser("validate", help="validate an existing output folder")
    validate.add_argument("output", help="an output folder written by medloom")
    validate.set_defaults(handler=_validate)

    report = subparsers.add_parser("report", help="render report.html of an output folder")
    report.add_argument("output", help="an output folder written by medloom")
    report.set_defaults(handler=_report)


def _run_config(config_path: Path, output: str, beam_args: list[str]) -> int:
    from pipelines.config import load_corpus_config
    from pipelines.corpus import run_corpus

    config = load_corpus_config(config_path)
    manifest = run_corpus(config, output, beam_args)
    if manifest.get("dry_run"):
        return 0
    totals = manifest["totals"]
    out = Path(output).resolve()
    print(
        f"medloom: {totals['records_read']} records read, {totals['quarantined']} quarantined;"
        f" {totals['documents']} documents, {totals['written']} written,"
        f" {sum(totals['rejected'].values())} rejected"
    )
    print(f"  pretraining dataset: {out / 'pretrain'}")
    print(f"  rejects:             {out / 'rejects'}")
    print(f"  quarantine:          {out / 'quarantine'}")
    print(f"  manifest:            {out / 'manifest.json'}")
    print(f"  report:              {out / 'report.html'}")
    return 0


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    return _run_config(Path(args.config), args.output, beam_args)


def _demo(args: argparse.Namespace, beam_args: list[str]) -> int:
    if not DEMO_CONFIG.is_file():
        raise MedloomError(f"demo samples not found at {DATA_DIR}: run from a source checkout")
    if not os.environ.get("MEDLOOM_DEID_SECRET"):
        os.environ["MEDLOOM_DEID_SECRET"] = secrets.token_hex(32)
        print("medloom: MEDLOOM_DEID_SECRET is not set; the demo uses a throwaway secret")
    return _run_config(DEMO_CONFIG, args.output, beam_args)


def _load_manifest(output: str) -> dict:
    path = Path(output) / "manifest.json"
    if not path.is_file():
        raise MedloomError(f"no manifest.json in {output}: not a medloom output folder")
    return json.loads(path.read_text(encoding="utf-8"))


def _validate(args: argparse.Namespace, _: list[str]) -> int:
    from pipelines.validate import validate_pretrain

    manifest = _load_manifest(args.output)
    result = validate_pretrain(args.output, manifest["config"])
    print(result.summary())
    return 0 if result.success else 1


def _report(args: argparse.Namespace, _: list[str]) -> int:
    from pipelines.report import write_report

    path = write_report(args.output, _load_manifest(args.output))
    print(f"medloom: report written to {path}")
    return 0
