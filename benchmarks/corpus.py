"""Corpus pipeline benchmark: medloom on Beam's DirectRunner beside datatrove, same corpus.

Builds a corpus of ``--mb`` megabytes (UTF-8 text, 10^6 bytes) of JSONL documents
``{"id", "text"}`` from the real files in ``../shared/data/real`` (CMtMedQA dialogues,
Huatuo26M QA, the Toyhom CSV, MedicalGPT SFT conversations; 11 MB together, shuffled so
that every size mixes them alike). Copies past the first are perturbed (two adjacent
sentences swapped and one character replaced), except ``DUPLICATE_RATE`` of them, which
stay exact copies; so exact dedup has a few percent of work at any size, on top of the
duplicates the sources already hold (Toyhom: 378 rows).

Each repeat runs, one after the other and in a fresh process each:
  * medloom, in two configurations (``--configs``): ``aim``, the issue's stages (read,
    normalise, chunk, filter, exact dedup, leak gate, write; de-identification off) and
    ``default``, the default config (de-identification on), each as
    ``python -m pipelines.cli run CONFIG --output OUT`` with the DirectRunner (in-memory for
    one core, ``multi_processing`` with ``--direct_num_workers`` for more), then validation,
    the manifest and the report;
  * datatrove (the peer): JsonlReader → length bounds → GopherRepetitionFilter with the same
    thresholds as medloom's repetition filter (FineWeb-2 ``cmn_Hani``) on the same unit
    (characters by default) → JsonlWriter, then its three-stage exact dedup; ``workers``
    equal to the cores given to medloom.

Reported per tool (median over repeats): CPU seconds and characters per CPU second, for
medloom on one core also of the Beam pipeline alone (the CPU time of its "pipeline finished
in ... s (... CPU-s in this process)" line: no start-up, validation or report); wall seconds
and characters per second per core (characters read / wall seconds / cores), for medloom
also of the pipeline alone; the peak RSS of the largest process and the peak of the summed
RSS of the process tree (which counts pages shared between forked workers more than once);
the machine's one-minute load average during the run. Memory and CPU come from ``os.wait4`` of the
tool's process (its own usage and that of every descendant it waited for: per run, where
``getrusage(RUSAGE_CHILDREN)`` would keep the high-water of every earlier run) and from
sampling ``/proc`` every 0.1 s, which also sees workers nobody waits for.

    .venv/bin/python benchmarks/corpus.py --mb 10
    .venv/bin/python benchmarks/corpus.py --mb 30 --repeat 3 --cores 2

Results are printed and merged into ``benchmarks/out/corpus.json`` under ``<mb>MB-<cores>c``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime
import gzip
import io
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "data" / "real"
OUT = REPO / "benchmarks" / "out"
BUILD_VERSION = 2
DUPLICATE_RATE = 0.03
SAMPLE_SECONDS = 0.1
# A few Han characters a copy may swap in; common enough not to upset any filter.
SUBSTITUTES = "的是在有和也就都要可会能"
SENTENCE_END = re.compile(r"(?<=[。！？])")


@dataclass(frozen=True)
class CorpusInfo:
    mb: float
    files: int
    documents: int
    characters: int
    bytes: int
    base_documents: int
    exact_copies: int


@dataclass(frozen=True)
class RunMeasure:
    wall_s: float
    cpu_s: float
    max_process_rss_mb: float
    tree_rss_mb: float
    pipeline_s: float | None
    pipeline_cpu_s: float | None
    load_average: float


# --- corpus -------------------------------------------------------------------------------


def base_documents(real: Path) -> list[tuple[str, str]]:
    """(id, text) of every document the four real sources give, in a fixed order."""
    docs: list[tuple[str, str]] = []
    docs.extend(_cmtmedqa(real / "zhongjing" / "CMtMedQA_test.json"))
    docs.extend(_huatuo(real / "zhongjing" / "huatuo26M_test.json"))
    docs.extend(_toyhom(real / "toyhom" / "internal_medicine_sample.csv"))
    docs.extend(_medicalgpt(real / "medicalgpt" / "medical_sft_1K_format.jsonl"))
    return [(doc_id, text) for doc_id, text in docs if text.strip()]


def _listish(value: Any) -> list:
    """Fields stored as the repr of a Python list (``"['...']"``) become the list."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return [value]
        return parsed if isinstance(parsed, list) else [value]
    return [value] if value else []


def _cmtmedqa(path: Path) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        turns = [pair for pair in _listish(item.get("history")) if len(pair) == 2]
        turns.append((item.get("instruction") or item.get("instruct") or "", item["output"]))
        text = "\n".join(f"患者：{ask}\n医生：{answer}" for ask, answer in turns)
        yield f"cmtmedqa-{i}", text


def _huatuo(path: Path) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        ask = "".join(map(str, _listish(item["instruction"])))
        answer = "".join(map(str, _listish(item["output"])))
        yield f"huatuo-{i}", f"问：{ask}\n答：{answer}"


def _toyhom(path: Path) -> Iterator[tuple[str, str]]:
    text = path.read_bytes().decode("gb18030")
    for i, row in enumerate(csv.DictReader(io.StringIO(text, newline=""))):
        yield f"toyhom-{i}", f"{row['title']}\n问：{row['ask']}\n答：{row['answer']}"


def _medicalgpt(path: Path) -> Iterator[tuple[str, str]]:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        turns = json.loads(line)["conversations"]
        text = "\n".join(f"{'问' if t['from'] == 'human' else '答'}：{t['value']}" for t in turns)
        yield f"medicalgpt-{i}", text


def perturb(text: str, rng: random.Random) -> str:
    """A near copy: two adjacent sentences swapped and one Han character replaced."""
    sentences = [s for s in SENTENCE_END.split(text) if s]
    if len(sentences) >= 2:
        i = rng.randrange(len(sentences) - 1)
        sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
        text = "".join(sentences)
    han = [i for i in range(len(text)) if "\u4e00" <= text[i] <= "\u9fff"]
    if han:
        at = rng.choice(han)
        text = text[:at] + rng.choice(SUBSTITUTES) + text[at + 1 :]
    return text


def build_corpus(real: Path, folder: Path, mb: float, files: int) -> CorpusInfo:
    """Write ``files`` JSONL shards holding about ``mb`` MB of text into ``folder``/jsonl.

    A build with the same parameters is reused; its description lies beside the shards,
    not among them, so a reader of the folder sees documents only.
    """
    meta_path = folder / "meta.json"
    wanted = {"version": BUILD_VERSION, "mb": mb, "files": files}
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("wanted") == wanted:
            return CorpusInfo(**meta["info"])
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "jsonl").mkdir(parents=True)
    rng = random.Random(20240101)
    base = base_documents(real)
    # Shuffled once, so a corpus of any size mixes the four sources alike.
    rng.shuffle(base)
    target = int(mb * 1_000_000)
    shards = [
        (folder / "jsonl" / f"part-{n:05d}.jsonl").open("w", encoding="utf-8") for n in range(files)
    ]
    documents = characters = size = exact = 0
    copy = 0
    try:
        while size < target:
            for doc_id, text in base:
                if size >= target:
                    break
                if copy == 0:
                    out_id, out_text = doc_id, text
                else:
                    out_id = f"{doc_id}-copy{copy}"
                    if rng.random() < DUPLICATE_RATE:
                        out_text = text
                        exact += 1
                    else:
                        out_text = perturb(text, rng)
                line = json.dumps({"id": out_id, "text": out_text}, ensure_ascii=False)
                shards[documents % files].write(line + "\n")
                documents += 1
                characters += len(out_text)
                size += len(out_text.encode("utf-8"))
            copy += 1
    finally:
        for shard in shards:
            shard.close()
    info = CorpusInfo(mb, files, documents, characters, size, len(base), exact)
    meta_path.write_text(json.dumps({"wanted": wanted, "info": asdict(info)}), encoding="utf-8")
    return info


# medloom's configurations: the aim (its stages, de-identification off), the default.
CONFIGS = {"aim": False, "default": True}


def write_medloom_config(path: Path, corpus: Path, deid: bool) -> None:
    path.write_text(
        "name: corpus-benchmark\n"
        f"deid:\n  enabled: {str(deid).lower()}\n"
        "sources:\n"
        "  - name: real-mix\n"
        f"    path: {json.dumps(str(corpus))}\n"
        "    kind: qa\n"
        "    format: jsonl\n"
        "    fields:\n"
        "      text: text\n"
        "      id: id\n",
        encoding="utf-8",
    )


# --- measuring a process tree -----------------------------------------------------------


class TreeSampler:
    """Samples a process and its descendants: summed and largest RSS, CPU seconds.

    Processes nobody waits for (datatrove's pool workers, children of its forkserver) are
    missing from ``os.wait4``'s usage; the samples see them while they live.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.tree_rss_peak = 0
        self.process_rss_peak = 0
        self._cpu_ticks: dict[tuple[int, int], int] = {}
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._ticks = os.sysconf("SC_CLK_TCK")

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu_ticks.values()) / self._ticks

    def sample(self) -> None:
        table: dict[int, list[bytes]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        # The command name may hold spaces: the fields follow its last paren.
                        table[int(entry.name)] = stat.read().rsplit(b")", 1)[1].split()
                except (OSError, IndexError):
                    continue
        children: dict[int, list[int]] = {}
        for pid, fields in table.items():
            children.setdefault(int(fields[1]), []).append(pid)
        total, stack = 0, [self.root]
        while stack:
            pid = stack.pop()
            stack.extend(children.get(pid, []))
            fields = table.get(pid)
            if fields is None:
                continue
            rss = int(fields[21]) * self._page
            total += rss
            self.process_rss_peak = max(self.process_rss_peak, rss)
            self._cpu_ticks[(pid, int(fields[19]))] = int(fields[11]) + int(fields[12])
        self.tree_rss_peak = max(self.tree_rss_peak, total)


def measure(command: list[str], log: Path, env: dict[str, str]) -> RunMeasure:
    """Run ``command`` to completion; its wall time, CPU time and memory peaks."""
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler = TreeSampler(process.pid)
        done = threading.Event()
        # The machine's one-minute load average during the run (this run counts about 1).
        loads: list[float] = []

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                sampler.sample()
                loads.append(os.getloadavg()[0])

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        # wait4 gives this child's own usage, its waited-for descendants included.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        thread.join()
    wall = time.monotonic() - started
    output = log.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        raise SystemExit(
            f"{command[:4]} failed ({process.returncode}); see {log}\n{output[-2000:]}"
        )
    found = re.search(r"pipeline finished in ([\d.]+) s \(([\d.]+) CPU-s", output)
    return RunMeasure(
        wall_s=wall,
        # Both CPU figures miss something (unwaited processes; the last sample period).
        cpu_s=max(usage.ru_utime + usage.ru_stime, sampler.cpu_s),
        max_process_rss_mb=max(usage.ru_maxrss * 1024, sampler.process_rss_peak) / 1e6,
        tree_rss_mb=sampler.tree_rss_peak / 1e6,
        pipeline_s=float(found.group(1)) if found else None,
        pipeline_cpu_s=float(found.group(2)) if found else None,
        load_average=statistics.mean(loads) if loads else os.getloadavg()[0],
    )


def beam_options(cores: int) -> list[str]:
    if cores == 1:
        return ["--direct_num_workers", "1", "--direct_running_mode", "in_memory"]
    return ["--direct_num_workers", str(cores), "--direct_running_mode", "multi_processing"]


# --- the peer -----------------------------------------------------------------------------


def document_text(document: Any) -> bytes:
    return document.text.encode("utf-8")


def run_datatrove(corpus: Path, output: Path, cores: int, unit: str) -> None:
    """datatrove's equivalent of the medloom corpus run: filter, then exact dedup."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.exact_dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
    )
    from datatrove.pipeline.filters import GopherRepetitionFilter, LambdaFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from pipelines.filters.config import LengthFilterConfig, RepetitionFilterConfig

    tokenizer = _word_tokenizer(unit)
    length = LengthFilterConfig()
    repetition = RepetitionFilterConfig()
    dedup = ExactDedupConfig(content_getter=document_text)
    tasks = len(list(corpus.glob("*.jsonl")))

    def execute(steps: list, n_tasks: int, name: str) -> None:
        LocalPipelineExecutor(
            pipeline=steps,
            tasks=n_tasks,
            workers=min(cores, n_tasks),
            logging_dir=str(output / "logs" / name),
        ).run()

    execute(
        [
            JsonlReader(str(corpus), glob_pattern="*.jsonl"),
            LambdaFilter(lambda doc: length.min_chars <= len(doc.text) <= length.max_chars),
            GopherRepetitionFilter(
                dup_line_frac=repetition.dup_line_fraction,
                dup_para_frac=repetition.dup_para_fraction,
                top_n_grams=tuple(repetition.top_ngram_fractions.items()),
                dup_n_grams=tuple(repetition.dup_ngram_fractions.items()),
                language=tokenizer,
            ),
            JsonlWriter(str(output / "filtered")),
            ExactDedupSignature(str(output / "signatures"), config=dedup),
        ],
        tasks,
        "filter",
    )
    execute(
        [ExactFindDedups(str(output / "signatures"), str(output / "duplicates"), config=dedup)],
        1,
        "find",
    )
    execute(
        [
            JsonlReader(str(output / "filtered")),
            ExactDedupFilter(str(output / "duplicates"), config=dedup),
            JsonlWriter(str(output / "deduped")),
        ],
        tasks,
        "dedup",
    )


def _word_tokenizer(unit: str) -> Any:
    """datatrove's words: characters (medloom's default unit) or jieba words.

    datatrove's own Chinese tokenizer is spaCy's with the jieba segmenter; calling jieba
    directly gives the same words without spaCy's overhead, which favours the peer.
    """
    import jieba
    from datatrove.utils.word_tokenizers import WordTokenizer

    class CharTokenizer(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return [c for c in text if not c.isspace()]

        def sent_tokenize(self, text: str) -> list[str]:
            return [s for s in SENTENCE_END.split(text) if s.strip()]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]

    class JiebaTokenizer(CharTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return [w for w in jieba.lcut(text) if not w.isspace()]

    return CharTokenizer("zh") if unit == "char" else JiebaTokenizer("zh")


# --- the benchmark ------------------------------------------------------------------------


def summarise(runs: list[RunMeasure], characters: int, cores: int) -> dict[str, Any]:
    wall = statistics.median(r.wall_s for r in runs)
    cpu = statistics.median(r.cpu_s for r in runs)
    pipeline = [r.pipeline_s for r in runs if r.pipeline_s is not None]
    pipeline_s = statistics.median(pipeline) if pipeline else None
    # The pipeline's CPU is the driver process's: all of it on one core (in-memory runner).
    pipeline_cpu = [r.pipeline_cpu_s for r in runs if r.pipeline_cpu_s and cores == 1]
    pipeline_cpu_s = statistics.median(pipeline_cpu) if pipeline_cpu else None
    return {
        "wall_s": round(wall, 2),
        "chars_per_s_per_core": round(characters / wall / cores),
        "chars_per_cpu_s": round(characters / cpu),
        "max_process_rss_mb": round(statistics.median(r.max_process_rss_mb for r in runs)),
        "tree_rss_mb": round(statistics.median(r.tree_rss_mb for r in runs)),
        "pipeline_s": round(pipeline_s, 2) if pipeline_s else None,
        "pipeline_chars_per_s_per_core": (
            round(characters / pipeline_s / cores) if pipeline_s else None
        ),
        "pipeline_cpu_s": round(pipeline_cpu_s, 2) if pipeline_cpu_s else None,
        "pipeline_chars_per_cpu_s": round(characters / pipeline_cpu_s) if pipeline_cpu_s else None,
        "cpu_s": round(cpu, 2),
        "load_average": round(statistics.median(r.load_average for r in runs), 1),
        "runs": [asdict(r) for r in runs],
    }


def medloom_counts(output: Path) -> dict[str, Any]:
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    return manifest["totals"]


def datatrove_counts(output: Path) -> dict[str, int]:
    def count(folder: str) -> int:
        lines = 0
        for path in (output / folder).glob("*.jsonl*"):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as stream:
                lines += sum(1 for _ in stream)
        return lines

    return {"after_filters": count("filtered"), "after_dedup": count("deduped")}


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }


def versions(with_peer: bool) -> dict[str, str]:
    from importlib.metadata import version

    names = ["medloom", "apache-beam"] + (["datatrove"] if with_peer else [])
    return {name: version(name) for name in names}


def print_table(info: CorpusInfo, cores: int, results: dict[str, Any]) -> None:
    print(
        f"\ncorpus: {info.bytes / 1e6:.1f} MB, {info.documents:,} documents, "
        f"{info.characters:,} characters in {info.files} files; {cores} core(s)"
    )
    header = (
        f"{'tool':<18} {'CPU s':>6} {'chars/CPU-s':>12} {'pipeline c/CPU-s':>17} "
        f"{'wall s':>7} {'chars/s/core':>13} {'pipeline c/s/core':>18} "
        f"{'max proc RSS MB':>16} {'tree RSS MB':>12} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for tool in (*(f"medloom-{name}" for name in CONFIGS), "datatrove"):
        if tool in results:
            r = results[tool]
            pipeline = r.get("pipeline_chars_per_s_per_core")
            pipeline_cpu = r.get("pipeline_chars_per_cpu_s")
            print(
                f"{tool:<18} {r['cpu_s']:>6.1f} {r['chars_per_cpu_s']:>12,} "
                f"{f'{pipeline_cpu:,}' if pipeline_cpu else '-':>17} "
                f"{r['wall_s']:>7.1f} {r['chars_per_s_per_core']:>13,} "
                f"{f'{pipeline:,}' if pipeline else '-':>18} "
                f"{r['max_process_rss_mb']:>16,} {r['tree_rss_mb']:>12,} {r['load_average']:>5.1f}"
            )
    for tool, ratio in results.get("ratio", {}).items():
        print(
            f"{tool} / datatrove: throughput ×{ratio['throughput']:.2f}"
            f" (per CPU second ×{ratio['cpu_throughput']:.2f}),"
            f" tree memory ×{ratio['tree_rss']:.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=30.0, help="corpus size in MB of UTF-8 text")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median reported)")
    parser.add_argument("--cores", type=int, default=1, help="cores given to each tool")
    parser.add_argument("--files", type=int, default=0, help="JSONL shards (0: 4 per core)")
    parser.add_argument("--real", type=Path, default=REAL, help="folder of the real data")
    parser.add_argument("--work", type=Path, default=OUT / "corpus-work", help="scratch folder")
    parser.add_argument("--no-peer", action="store_true", help="measure medloom only")
    parser.add_argument("--no-medloom", action="store_true", help="measure the peer only")
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="medloom configurations to run, comma-separated: aim (de-identification off), "
        "default (on)",
    )
    parser.add_argument(
        "--peer-unit",
        choices=["char", "word"],
        default="char",
        help="datatrove's repetition unit: characters (as medloom) or jieba words",
    )
    parser.add_argument("--datatrove-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.datatrove_worker:
        corpus, output = args.datatrove_worker
        run_datatrove(corpus, output, args.cores, args.peer_unit)
        return 0

    if not args.real.is_dir():
        raise SystemExit(f"real data not found at {args.real}")
    files = args.files or 4 * args.cores
    corpus = args.work / f"corpus-{args.mb:g}MB-{files}f"
    print(f"building corpus in {corpus} ...", flush=True)
    started = time.monotonic()
    info = build_corpus(args.real, corpus, args.mb, files)
    print(f"corpus ready in {time.monotonic() - started:.1f} s: {info}", flush=True)
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in configs if name not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown --configs {unknown}; known: {', '.join(CONFIGS)}")
    for name in configs:
        write_medloom_config(corpus / f"medloom-{name}.yaml", corpus / "jsonl", CONFIGS[name])

    env = dict(os.environ)
    env.setdefault("MEDLOOM_DEID_SECRET", secrets.token_hex(32))
    medloom_out = args.work / "medloom-out"
    peer_out = args.work / "datatrove-out"
    peer_cmd = [sys.executable, str(Path(__file__).resolve()), "--cores", str(args.cores)]
    peer_cmd += ["--peer-unit", args.peer_unit]
    peer_cmd += ["--datatrove-worker", str(corpus / "jsonl"), str(peer_out)]
    tools = [] if args.no_medloom else [f"medloom-{name}" for name in configs]
    runs: dict[str, list[RunMeasure]] = {tool: [] for tool in (*tools, "datatrove")}
    counts: dict[str, Any] = {}
    for n in range(args.repeat):
        for tool in tools:
            shutil.rmtree(medloom_out, ignore_errors=True)
            medloom_cmd = [sys.executable, "-m", "pipelines.cli", "run"]
            medloom_cmd += [str(corpus / f"{tool}.yaml"), "--output", str(medloom_out)]
            run = measure([*medloom_cmd, *beam_options(args.cores)], args.work / f"{tool}.log", env)
            runs[tool].append(run)
            counts[tool] = medloom_counts(medloom_out)
            print(f"run {n + 1}/{args.repeat} {tool}: {run}", flush=True)
        if not args.no_peer:
            shutil.rmtree(peer_out, ignore_errors=True)
            run = measure(peer_cmd, args.work / "datatrove.log", env)
            runs["datatrove"].append(run)
            counts["datatrove"] = datatrove_counts(peer_out)
            print(f"run {n + 1}/{args.repeat} datatrove: {run}", flush=True)

    results: dict[str, Any] = {
        tool: summarise(measured, info.characters, args.cores)
        for tool, measured in runs.items()
        if measured
    }
    if "datatrove" in results:
        d = results["datatrove"]
        results["ratio"] = {
            tool: {
                "throughput": results[tool]["chars_per_s_per_core"] / d["chars_per_s_per_core"],
                "cpu_throughput": results[tool]["chars_per_cpu_s"] / d["chars_per_cpu_s"],
                "tree_rss": results[tool]["tree_rss_mb"] / d["tree_rss_mb"],
                "max_process_rss": results[tool]["max_process_rss_mb"] / d["max_process_rss_mb"],
            }
            for tool in tools
            if tool in results
        }
    print_table(info, args.cores, results)

    record = {
        "corpus": asdict(info),
        "cores": args.cores,
        "repeat": args.repeat,
        "peer_unit": args.peer_unit,
        "machine": machine(),
        "versions": versions(not args.no_peer),
        "counts": counts,
        **results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    out_file = OUT / "corpus.json"
    merged = json.loads(out_file.read_text(encoding="utf-8")) if out_file.is_file() else {}
    merged[f"{args.mb:g}MB-{args.cores}c"] = record
    out_file.write_text(json.dumps(merged, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written to {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
