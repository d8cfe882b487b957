"""Dialogue pipeline benchmark: 70,000 dialogues from the real files, the whole pipeline.

Builds ``--dialogues`` conversations (default 70,000, CMtMedQA's size) from the real files
in ``../shared/data/real``, each in its own layout: CMtMedQA (alpaca with history, JSON
array), Huatuo26M (one-element lists), the Toyhom CSV (GB18030), DISC-MedLLM
(``conversation``) and MedicalGPT (ShareGPT); 21,700 originals together. Copies past the
originals are written in the same layout, every text field perturbed (two adjacent
sentences swapped, one character replaced), except ``DUPLICATE_RATE`` of them, which stay
exact copies; so exact, near and first-turn dedup all have work.

Then runs ``medloom run`` on it (read, normalise, de-identify, clean, exact and near dedup
of dialogues and first turns, decontamination against CMtMedQA_test's first 200 questions
kept aside as an evaluation set, token budget, splits, leak gate, write, validate, export,
report) with the DirectRunner, in a fresh process per repeat, and reports the median wall
time, dialogues per second and memory: the peak RSS of the largest process and of the
process tree (workers included), measured as in ``benchmarks/corpus.py``.

    .venv/bin/python benchmarks/dialogues.py                       # 70k, 2 cores, 1 repeat
    .venv/bin/python benchmarks/dialogues.py --repeat 3 --cores 2

Results are printed and merged into ``benchmarks/out/dialogues.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import secrets
import shutil
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import OUT, REAL, beam_options, machine, measure, perturb

DUPLICATE_RATE = 0.05
EVAL_ITEMS = 200
BUILD_VERSION = 1


def _perturbed(value: Any, rng: random.Random) -> Any:
    """``value`` with every string in it perturbed (lists and dicts walked)."""
    if isinstance(value, str):
        return perturb(value, rng) if len(value) > 20 else value
    if isinstance(value, list):
        return [_perturbed(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("role", "from") else _perturbed(v, rng)) for k, v in value.items()}
    return value


def _load_sources(real: Path) -> dict[str, list[Any]]:
    cmt = json.loads((real / "zhongjing" / "CMtMedQA_test.json").read_text(encoding="utf-8"))
    huatuo = json.loads((real / "zhongjing" / "huatuo26M_test.json").read_text(encoding="utf-8"))
    toyhom_text = (real / "toyhom" / "internal_medicine_sample.csv").read_bytes().decode("gb18030")
    toyhom = list(csv.DictReader(io.StringIO(toyhom_text, newline="")))
    disc_path = real / "disc-medllm" / "test_examples.jsonl"
    disc = [json.loads(line) for line in disc_path.read_text(encoding="utf-8").splitlines()]
    gpt_path = real / "medicalgpt" / "medical_sft_1K_format.jsonl"
    medicalgpt = [json.loads(line) for line in gpt_path.read_text(encoding="utf-8").splitlines()]
    return {
        "cmtmedqa": cmt[EVAL_ITEMS:],
        "huatuo": huatuo,
        "toyhom": toyhom,
        "disc": disc,
        "medicalgpt": medicalgpt,
        "eval": cmt[:EVAL_ITEMS],
    }


def _write_json(path: Path, rows: list[Any]) -> None:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _write_jsonl(path: Path, rows: list[Any]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _write_toyhom(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gb18030", errors="replace"))


WRITERS: dict[str, tuple[str, Callable[[Path, list[Any]], None]]] = {
    "cmtmedqa": ("cmtmedqa.json", _write_json),
    "huatuo": ("huatuo.json", _write_json),
    "toyhom": ("toyhom.csv", _write_toyhom),
    "disc": ("disc.jsonl", _write_jsonl),
    "medicalgpt": ("medicalgpt.jsonl", _write_jsonl),
}


def build_input(real: Path, folder: Path, dialogues: int) -> dict[str, Any]:
    """Write the input files and the config into ``folder``; reuse an identical build."""
    stamp = folder / "build.json"
    wanted = {"version": BUILD_VERSION, "dialogues": dialogues}
    if stamp.is_file():
        info = json.loads(stamp.read_text(encoding="utf-8"))
        if info.get("wanted") == wanted:
            return info
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = _load_sources(real)
    originals = sum(len(v) for k, v in sources.items() if k != "eval")
    rng = random.Random(20261203)
    per_source: dict[str, int] = {}
    for name, (file_name, write) in WRITERS.items():
        base = sources[name]
        share = round(dialogues * len(base) / originals)
        rows = list(base)
        while len(rows) < share:
            original = base[len(rows) % len(base)]
            exact = rng.random() < DUPLICATE_RATE
            rows.append(original if exact else _perturbed(original, rng))
        write(folder / file_name, rows)
        per_source[name] = len(rows)
    _write_json(folder / "eval.json", sources["eval"])
    (folder / "dialogues.yaml").write_text(CONFIG, encoding="utf-8")
    info = {"wanted": wanted, "dialogues": sum(per_source.values()), "per_source": per_source}
    stamp.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


CONFIG = """\
pipeline: dialogues
name: bench
sources:
  - {name: cmtmedqa, path: cmtmedqa.json, priority: 2}
  - {name: huatuo, path: huatuo.json, layout: alpaca}
  - name: toyhom
    path: toyhom.csv
    encoding: gb18030
    layout: qa
    qa: {question: [title, ask], answer: answer, department: department}
  - {name: disc, path: disc.jsonl, layout: disc}
  - {name: medicalgpt, path: medicalgpt.jsonl, layout: sharegpt}
cleaning: {strip_answer_templates: true}
decontam:
  enabled: true
  eval_sets:
    - {name: cmtmedqa_eval, paths: [eval.json], text_fields: [instruction]}
output: {excerpt_chars: 80}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialogues", type=int, default=70_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/medloom-bench-dialogues"))
    args = parser.parse_args(argv)
    if not REAL.is_dir():
        raise SystemExit(f"real data not found at {REAL}")
    info = build_input(REAL, args.work / "input", args.dialogues)
    print(f"input: {info['dialogues']:,} dialogues {info['per_source']}")
    env = {**os.environ, "MEDLOOM_DEID_SECRET": secrets.token_hex(32)}
    runs = []
    manifest: dict[str, Any] = {}
    for i in range(args.repeat):
        out = args.work / "out"
        shutil.rmtree(out, ignore_errors=True)
        command = [
            sys.executable,
            "-m",
            "pipelines.cli",
            "run",
            str(args.work / "input" / "dialogues.yaml"),
            "--output",
            str(out),
            *beam_options(args.cores),
        ]
        run = measure(command, args.work / f"run-{i}.log", env)
        runs.append(run)
        manifest = json.loads((out / "sft_manifest.json").read_text(encoding="utf-8"))
        print(
            f"run {i + 1}: {run.wall_s:.1f} s wall ({run.pipeline_s} s pipeline),"
            f" {run.cpu_s:.0f} s CPU, largest process {run.max_process_rss_mb:.0f} MB,"
            f" tree {run.tree_rss_mb:.0f} MB"
        )
    wall = statistics.median(r.wall_s for r in runs)
    totals = manifest["totals"]
    result = {
        "machine": machine(),
        "cores": args.cores,
        "input": info,
        "runs": [asdict(r) for r in runs],
        "median_wall_s": round(wall, 1),
        "dialogues_per_s": round(info["dialogues"] / wall),
        "peak_tree_rss_mb": round(max(r.tree_rss_mb for r in runs)),
        "peak_process_rss_mb": round(max(r.max_process_rss_mb for r in runs)),
        "totals": {
            "records_read": totals["records_read"],
            "quarantined": totals["quarantined"],
            "written": totals["written"],
            "rejected": totals["rejected"],
        },
    }
    print(
        json.dumps({k: v for k, v in result.items() if k != "runs"}, ensure_ascii=False, indent=1)
    )
    OUT.mkdir(exist_ok=True)
    path = OUT / "dialogues.json"
    merged = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    merged[f"{args.dialogues}-{args.cores}c"] = result
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
