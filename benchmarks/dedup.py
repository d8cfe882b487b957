"""Near-duplicate removal against datasketch MinHashLSH + union-find, on real medical text.

    .venv/bin/python benchmarks/dedup.py --sizes 10000 100000 [--out benchmarks/out/dedup.json]

The test set: sentences of the real files in ../shared/data/real (huatuo26M_test,
CMtMedQA_test, medical_sft_1K) recombined into distinct documents of 4-8 sentences; a share of
them get planted near-duplicates (character edits of 1-8%, reordered sentences, a header or
footer, traditional characters, full-width/half-width swaps, truncation) and hard negatives
(a distinct document that shares one long sentence). Pairs are scored by the Jaccard of the
raw texts' character 5-gram sets. Each system runs in its own process, end to end from JSONL
to JSONL, so its peak memory is its own; docs/s is per core (both run on one core here).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "data" / "real"
ACCIDENTAL = 0.7
BANDS = ((0.9, 1.01), (0.8, 0.9), (0.7, 0.8), (0.5, 0.7), (0.0, 0.5))
_SENTENCE = re.compile(r"[^。．！？!?；\n]+[。．！？!?；]?")
# A pool sentence longer than this is a whole passage (some answers run 1,000 characters with
# no sentence end the splitter knows): two "distinct" documents that drew it would be near
# copies of each other, planted in no family.
LONGEST_SENTENCE = 150
# A hard negative shares its base's longest sentence yet stays below this Jaccard with it;
# above it, it would be a near-duplicate by the very measure the pairs are scored with.
HARD_NEGATIVE_MAX_JACCARD = 0.5
_FULL = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def _real_texts() -> list[str]:
    texts = []
    for item in json.loads((REAL / "zhongjing/huatuo26M_test.json").read_text("utf-8")):
        texts += item["instruction"] + item["output"]
    for item in json.loads((REAL / "zhongjing/CMtMedQA_test.json").read_text("utf-8")):
        for q, a in item.get("history") or []:
            texts += [q, a]
        texts += [item.get("instruction") or item.get("instruct") or "", item.get("output", "")]
    with open(REAL / "medicalgpt/medical_sft_1K_format.jsonl", encoding="utf-8") as lines:
        for line in lines:
            texts += [turn["value"] for turn in json.loads(line)["conversations"]]
    return texts


def _sentences() -> list[str]:
    seen, pool = set(), []
    for text in _real_texts():
        for s in _SENTENCE.findall(text):
            s = s.strip()
            if 12 <= len(s) <= LONGEST_SENTENCE and s not in seen:
                seen.add(s)
                pool.append(s)
    return pool


def _edit(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, int(len(chars) * rate))):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.4:
            chars[i] = rng.choice("的了是在有和患者医生治疗建议")
        elif op < 0.7:
            del chars[i]
        else:
            chars.insert(i, rng.choice("啊呢吧的了"))
    return "".join(chars)


@cache
def _to_traditional() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def _variant(text: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["edit", "reorder", "header", "traditional", "width", "truncate"])
    if kind == "edit":
        return kind, _edit(text, rng.uniform(0.01, 0.08), rng)
    if kind == "reorder":
        parts = _SENTENCE.findall(text)
        i = rng.randrange(max(1, len(parts) - 1))
        parts[i : i + 2] = parts[i : i + 2][::-1]
        return kind, "".join(parts)
    if kind == "header":
        return kind, rng.choice(["【健康问答】", "来源：好大夫在线\n"]) + text + rng.choice(
            ["", "\n以上内容仅供参考，请遵医嘱。"]
        )
    if kind == "traditional":
        return kind, _to_traditional().convert(text)
    if kind == "width":
        return kind, "".join(_FULL.get(c, c) for c in text).replace("，", ",").replace("。", ".")
    return kind, text[: int(len(text) * rng.uniform(0.85, 0.95))]


def build(size: int, seed: int = 0) -> tuple[list[dict], dict[str, int]]:
    """Documents and the family (origin) of each; a family is one set of planted copies."""
    rng = random.Random(seed)
    pool = _sentences()
    docs: list[dict] = []
    family: dict[str, int] = {}
    n = 0
    while len(docs) < size:
        base = "".join(rng.sample(pool, rng.randint(4, 8)))
        fam = n
        n += 1
        docs.append({"id": f"d{len(docs)}", "text": base})
        family[docs[-1]["id"]] = fam
        roll = rng.random()
        if roll < 0.2:
            for _ in range(rng.randint(1, 3)):
                kind, text = _variant(base, rng)
                docs.append({"id": f"d{len(docs)}", "text": text, "kind": kind})
                family[docs[-1]["id"]] = fam
        elif roll < 0.3:
            parts = _SENTENCE.findall(base)
            longest = max(parts, key=len)
            other = "".join(rng.sample(pool, rng.randint(3, 6))) + longest
            while _set_jaccard(grams(base), grams(other)) >= HARD_NEGATIVE_MAX_JACCARD:
                other = rng.choice(pool) + other
            docs.append({"id": f"d{len(docs)}", "text": other, "kind": "hard_negative"})
            family[docs[-1]["id"]] = n
            n += 1
    docs = docs[:size]
    return docs, {d["id"]: family[d["id"]] for d in docs}


def grams(text: str) -> set[str]:
    return {text[i : i + 5] for i in range(max(1, len(text) - 4))}


def run_peer(input_path: str, output_path: str, threshold: float, num_perm: int) -> None:
    """datasketch 2.0 MinHash (bulk) + MinHashLSH at its optimal bands + union-find."""
    from datasketch import MinHash, MinHashLSH

    from pipelines.dedup.shingles import shingles

    with open(input_path, encoding="utf-8") as lines:
        docs = [json.loads(line) for line in lines]
    sets = [[s.encode("utf-8") for s in shingles(d["text"], 5)] for d in docs]
    hashes = MinHash.bulk(sets, num_perm=num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    parent = list(range(len(docs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(hashes):
        if not sets[i]:
            continue
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
        lsh.insert(i, m)
    with open(output_path, "w", encoding="utf-8") as out:
        for i, d in enumerate(docs):
            root = find(i)
            out.write(
                json.dumps({"id": d["id"], "cluster": docs[root]["id"], "kept": root == i}) + "\n"
            )


def signature_speed(docs: list[dict], num_perm: int) -> dict[str, float]:
    """Signatures per second from the texts: medloom's batch hashing and rensa kernel, against
    datasketch's bulk on the same shingles (as strings, which is what it takes)."""
    from datasketch import MinHash

    from pipelines.dedup.minhash import signatures
    from pipelines.dedup.shingles import shingle_hashes, shingles

    texts = [d["text"] for d in docs]
    start = time.perf_counter()
    for first in range(0, len(texts), 2048):
        signatures(*shingle_hashes(texts[first : first + 2048], 5), num_perm, 42)
    medloom_s = time.perf_counter() - start
    start = time.perf_counter()
    MinHash.bulk([[s.encode("utf-8") for s in shingles(t, 5)] for t in texts], num_perm=num_perm)
    datasketch_s = time.perf_counter() - start
    return {
        "medloom_docs_per_s": round(len(docs) / medloom_s),
        "datasketch_docs_per_s": round(len(docs) / datasketch_s),
    }


def run_passthrough(input_path: str, size: int, beam_args: list[str]) -> None:
    """The floor under medloom's worker memory: Beam's own local harness carrying the same
    lines through one shuffle, in groups of about ``BLOCK_DOCS`` lines as medloom's blocks
    are, each group read once and counted; no medloom code."""
    import apache_beam as beam

    from pipelines.beam_options import pipeline_options
    from pipelines.dedup.near import BLOCK_DOCS

    groups = max(1, size // BLOCK_DOCS)
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        _ = (
            pipeline
            | beam.io.ReadFromText(input_path)
            | beam.Reshuffle()
            | beam.Map(lambda line: (zlib.crc32(line.encode("utf-8")) % groups, line))
            | beam.GroupByKey()
            | beam.Map(lambda group: sum(map(len, group[1])))
            | beam.CombineGlobally(sum)
        )


def planted(family: dict[str, int], text: dict[str, str]) -> dict[tuple[str, str], float]:
    """Every pair of one family, with the Jaccard of its raw texts (computed once per set)."""
    members: dict[int, list[str]] = defaultdict(list)
    for doc_id, fam in family.items():
        members[fam].append(doc_id)
    pairs = {tuple(sorted(p)) for m in members.values() for p in combinations(m, 2)}
    return {p: _jaccard(text, p) for p in pairs}


def score(output_path: str, truth: dict[tuple[str, str], float], text: dict[str, str]) -> dict:
    clusters: dict[str, list[str]] = defaultdict(list)
    with open(output_path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            clusters[row["cluster"]].append(row["id"])
    predicted = {tuple(sorted(p)) for m in clusters.values() for p in combinations(m, 2)}
    by_band = {}
    for lo, hi in BANDS:
        pairs = [p for p, similarity in truth.items() if lo <= similarity < hi]
        found = sum(p in predicted for p in pairs)
        by_band[f"{lo:.1f}-{min(hi, 1.0):.1f}"] = {
            "pairs": len(pairs),
            "recall": round(found / len(pairs), 4) if pairs else None,
        }
    true_positive = len(predicted & truth.keys())
    # Two "distinct" documents can still share most of their sentences (the generator draws
    # each pool sentence many times at 1M documents): such a pair is a near-duplicate by any
    # measure, though planted in no family. They are counted apart, for both tools.
    accidental = sum(_jaccard(text, p) >= ACCIDENTAL for p in predicted - truth.keys())
    return {
        "precision": round(true_positive / len(predicted), 4) if predicted else None,
        "false_pairs_at_jaccard_0.7_or_more": accidental,
        "precision_without_those": (
            round(true_positive / (len(predicted) - accidental), 4) if predicted else None
        ),
        "predicted_pairs": len(predicted),
        "planted_pairs": len(truth),
        "recall_by_jaccard": by_band,
    }


def _jaccard(text: dict[str, str], pair: tuple[str, str]) -> float:
    return _set_jaccard(grams(text[pair[0]]), grams(text[pair[1]]))


def _set_jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def _timed(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one child process.

    CPU seconds are the steadier figure on a shared machine: another job's load stretches
    the wall time of whichever tool runs beside it, not the work it does.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{command[:4]} failed with status {status}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _peak_rss_by_process(command: list[str]) -> tuple[float, float]:
    """Peak RSS (MiB) of the runner process and of its largest worker process.

    Polls each descendant's VmHWM (its own high-water mark) while the command runs: the
    runner holds what the DirectRunner keeps between stages (on Dataflow, the shuffle
    service holds that), a worker what the pipeline's code holds.
    """
    process = subprocess.Popen(command, cwd=REPO)
    peaks: dict[int, float] = {}
    while process.poll() is None:
        for pid in _descendants(process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmHWM:\s+(\d+) kB", status)
            if found:
                peaks[pid] = max(peaks.get(pid, 0.0), int(found.group(1)) / 1024)
        time.sleep(0.2)
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} failed with status {process.returncode}")
    runner = peaks.pop(process.pid, 0.0)
    return runner, max(peaks.values(), default=0.0)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--work", default="/tmp/medloom-dedup-bench")
    parser.add_argument("--out", default=str(REPO / "benchmarks/out/dedup.json"))
    parser.add_argument(
        "--worker-memory",
        action="store_true",
        help="run medloom once more on 2 worker processes, and Beam carrying the same input "
        "through one shuffle with no medloom code, and report the runner's and the largest "
        "worker's peak RSS of each",
    )
    parser.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--passthrough", nargs=2, help=argparse.SUPPRESS)
    args, beam_args = parser.parse_known_args()
    if args.passthrough:
        run_passthrough(args.passthrough[0], int(args.passthrough[1]), beam_args)
        return
    if beam_args:
        parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    if args.peer:
        run_peer(args.peer[0], args.peer[1], args.threshold, args.num_perm)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        docs, family = build(size)
        source = work / f"docs-{size}.jsonl"
        with open(source, "w", encoding="utf-8") as out:
            for d in docs:
                out.write(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n")
        text = {d["id"]: d["text"] for d in docs}
        truth = planted(family, text)
        ours_out, peer_out = work / f"ours-{size}.jsonl", work / f"peer-{size}.jsonl"
        python = sys.executable
        ours = [
            python,
            "-m",
            "pipelines.dedup.cli",
            "dedup",
            "--input",
            str(source),
            "--output",
            str(ours_out),
            "--threshold",
            str(args.threshold),
            "--num-perm",
            str(args.num_perm),
        ]
        ours_s, ours_cpu, ours_mb = _timed(ours)
        peer_s, peer_cpu, peer_mb = _timed(
            [
                python,
                __file__,
                "--peer",
                str(source),
                str(peer_out),
                "--threshold",
                str(args.threshold),
                "--num-perm",
                str(args.num_perm),
            ]
        )
        result = {
            "documents": size,
            "medloom": {
                "seconds": round(ours_s, 2),
                "cpu_seconds": round(ours_cpu, 2),
                "docs_per_s": round(size / ours_s),
                "docs_per_cpu_s": round(size / ours_cpu),
                "peak_rss_mib": round(ours_mb),
                **score(str(ours_out), truth, text),
            },
            "datasketch_peer": {
                "seconds": round(peer_s, 2),
                "cpu_seconds": round(peer_cpu, 2),
                "docs_per_s": round(size / peer_s),
                "docs_per_cpu_s": round(size / peer_cpu),
                "peak_rss_mib": round(peer_mb),
                **score(str(peer_out), truth, text),
            },
            "speed_ratio": round(peer_s / ours_s, 2),
            "cpu_ratio": round(peer_cpu / ours_cpu, 2),
            "signatures": signature_speed(docs[:5000], args.num_perm),
        }
        if args.worker_memory:
            two = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
            runner_mb, worker_mb = _peak_rss_by_process(ours + two)
            floor_runner_mb, floor_worker_mb = _peak_rss_by_process(
                [python, __file__, "--passthrough", str(source), str(size), *two]
            )
            result["medloom_on_2_worker_processes"] = {
                "runner_peak_rss_mib": round(runner_mb),
                "largest_worker_peak_rss_mib": round(worker_mb),
            }
            result["beam_passthrough_on_2_worker_processes"] = {
                "runner_peak_rss_mib": round(floor_runner_mb),
                "largest_worker_peak_rss_mib": round(floor_worker_mb),
            }
        print(json.dumps(result, ensure_ascii=False, indent=1))
        results.append(result)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
