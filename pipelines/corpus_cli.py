"""`medloom run`, `medloom demo`, `medloom validate` and `medloom report`.

One output folder may hold a corpus run (``manifest.json``, ``pretrain/``), a dialogue run
(``sft_manifest.json``, ``sft/``) and the preference datasets (``preference/``) side by
side: ``medloom demo`` writes all three, ``validate`` and ``report`` handle whichever runs
the folder holds.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path

from pipelines.errors import MedloomError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_CONFIG = DATA_DIR / "demo.yaml"
DEMO_DIALOGUES = DATA_DIR / "dialogues.yaml"
CORPUS_MANIFEST = "manifest.json"
SFT_MANIFEST = "sft_manifest.json"
BEAM_HELP = "any other option is passed to Beam (e.g. --runner DataflowRunner --project P ...)"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a pipeline on a YAML config (its `pipeline:` key: corpus or dialogues)",
        epilog=BEAM_HELP,
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
    from pipelines.config import config_pipeline

    if config_pipeline(config_path) == "dialogues":
        return _run_dialogues(config_path, output, beam_args)
    return _run_corpus(config_path, output, beam_args)


def _run_corpus(config_path: Path, output: str, beam_args: list[str]) -> int:
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


def _run_dialogues(config_path: Path, output: str, beam_args: list[str]) -> int:
    from pipelines.dialogues.config import load_dialogue_config
    from pipelines.dialogues.pipeline import run_dialogues

    manifest = run_dialogues(load_dialogue_config(config_path), output, beam_args)
    if manifest.get("dry_run"):
        return 0
    totals = manifest["totals"]
    splits: dict[str, int] = {}
    for per_source in manifest["splits"].values():
        for split, n in per_source.items():
            splits[split] = splits.get(split, 0) + n
    shown = ", ".join(f"{split} {n}" for split, n in splits.items())
    out = Path(output).resolve()
    print(
        f"medloom: {totals['records_read']} dialogues read, {totals['quarantined']} quarantined;"
        f" {totals['written']} SFT samples written ({shown}),"
        f" {sum(totals['rejected'].values())} rejected"
    )
    print(f"  SFT dataset:         {out / 'sft'}")
    if "exports" in manifest:
        print(f"  LLaMA-Factory:       {out / manifest['exports']['folder']}")
    print(f"  rejects:             {out / 'sft_rejects'}")
    print(f"  quarantine:          {out / 'sft_quarantine'}")
    print(f"  manifest:            {out / SFT_MANIFEST}")
    print(f"  report:              {out / 'sft_report.html'}")
    return 0


def _demo_preferences(output: str) -> None:
    from annotation.demo import build_demo_preferences
    from pipelines.deid import DeidConfig, Deidentifier, load_secret

    deidentifier = Deidentifier(DeidConfig(), load_secret(DeidConfig()))
    out = Path(output).resolve() / "preference"
    counts = build_demo_preferences(DATA_DIR, out, deidentifier)
    export = counts["export"]
    print(
        f"medloom: {export['items']} prompts with candidates,"
        f" {counts['judgements']} sample judgements; {export['ranking_rows']} rankings"
        f" ({export['settled']} settled), {export['pairs']} preference pairs written"
    )
    print(f"  preference datasets: {out}")


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    return _run_config(Path(args.config), args.output, beam_args)


def _demo(args: argparse.Namespace, beam_args: list[str]) -> int:
    if not DEMO_CONFIG.is_file():
        raise MedloomError(f"demo samples not found at {DATA_DIR}: run from a source checkout")
    if not os.environ.get("MEDLOOM_DEID_SECRET"):
        os.environ["MEDLOOM_DEID_SECRET"] = secrets.token_hex(32)
        print("medloom: MEDLOOM_DEID_SECRET is not set; the demo uses a throwaway secret")
    for config in (DEMO_CONFIG, DEMO_DIALOGUES):
        if _run_config(config, args.output, beam_args):
            return 1
    if not {"--dry_run", "--dry-run"} & {arg.split("=")[0] for arg in beam_args}:
        _demo_preferences(args.output)
    return 0


def _load_manifests(output: str) -> dict[str, dict]:
    """The run manifests in ``output``, by file name; none at all is an error."""
    manifests = {}
    for name in (CORPUS_MANIFEST, SFT_MANIFEST):
        path = Path(output) / name
        if path.is_file():
            manifests[name] = json.loads(path.read_text(encoding="utf-8"))
    if not manifests:
        raise MedloomError(
            f"no {CORPUS_MANIFEST} or {SFT_MANIFEST} in {output}: not a medloom output folder"
        )
    return manifests


def _validate(args: argparse.Namespace, _: list[str]) -> int:
    from pipelines.deid import DeidConfig, load_secret
    from pipelines.dialogues.validate import validate_sft
    from pipelines.validate import validate_pretrain

    failed = False
    for name, manifest in _load_manifests(args.output).items():
        if name == CORPUS_MANIFEST:
            result = validate_pretrain(args.output, manifest["config"])
            print(f"pretrain/: {result.summary()}")
        else:
            deid = manifest["config"].get("deid") or {}
            secret = None
            if deid.get("enabled", True) and (
                deid.get("secret_file") or os.environ.get(deid.get("secret_env", ""))
            ):
                secret = load_secret(DeidConfig(**deid))
            result = validate_sft(args.output, manifest["config"], secret)
            print(f"sft/: {result.summary()}")
            if secret is None and deid.get("enabled", True):
                print(
                    "sft/: identifiers not re-checked: the run's de-identification secret"
                    " is not set (the run itself checked them with its leak gate)"
                )
        failed = failed or not result.success
    return 1 if failed else 0


def _report(args: argparse.Namespace, _: list[str]) -> int:
    from pipelines.dialogues.report import write_sft_report
    from pipelines.report import write_report

    for name, manifest in _load_manifests(args.output).items():
        writer = write_report if name == CORPUS_MANIFEST else write_sft_report
        print(f"medloom: report written to {writer(args.output, manifest)}")
    return 0
