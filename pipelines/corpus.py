"""The corpus pipeline: medical corpora in, a continued-pretraining dataset out.

    read ─► normalise+chunk ─► filter ─► exact dedup ─► write pretrain/
      └─ quarantine/            └── rejects/ (every drop, with its stage and reason)

Counts from every stage are summed inside the pipeline and written beside the data;
the driver then audits them, writes ``manifest.json``, validates the dataset and
renders ``report.html``.
"""

from __future__ import annotations

import gc
import json
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, TestOptions

from pipelines import manifest as manifest_lib
from pipelines.beam_options import pipeline_options, runner_name
from pipelines.config import CorpusConfig
from pipelines.counting import ALL_SOURCES, STATS
from pipelines.dedup.decontam import Decontaminate, check_eval_sets, decontam_manifest
from pipelines.dedup.exact import ExactDedup
from pipelines.dedup.minhash import minhash_parameters
from pipelines.dedup.near import CLUSTERS, NearDedup, convergence_warning, near_dedup_stats
from pipelines.deid import load_secret
from pipelines.errors import MedloomError, ValidationFailed
from pipelines.readers import resolve_inputs
from pipelines.runtime import return_arrow_memory
from pipelines.sinks import (
    OUTPUTS,
    WriteDataset,
    WriteQuarantine,
    WriteRejects,
    by_id,
    count_written,
)
from pipelines.spill import DedupAndWrite
from pipelines.transforms import (
    INPUTS,
    QUARANTINED,
    REJECTED,
    ApplyFilters,
    Chunk,
    CountLengths,
    Deidentify,
    GuardLeaks,
    Normalise,
    ReadSources,
)
from schemas import DEDUP_CLUSTER, PRETRAIN_DOCUMENT, QUARANTINE, REJECT

# About this much input per output shard keeps one shard's rows small in a worker.
BYTES_PER_SHARD = 64 * 1024 * 1024
# About this much input per exact-dedup bucket: what one worker holds at once.
BYTES_PER_BUCKET = 8 * 1024 * 1024
# Records per element from reading to filtering: Beam's per-element cost paid per batch.
BATCH_RECORDS = 500
STATS_FILE = ".medloom/stats.json"
SPILL_DIR = ".medloom/spill"
OWNED_PATHS = (
    "pretrain",
    "rejects",
    "quarantine",
    "dedup_clusters",
    ".medloom/stats.json",
    SPILL_DIR,
    "manifest.json",
    "report.html",
)
# What the other pipelines and the demo write beside the corpus's outputs: left alone.
NEIGHBOUR_PATHS = (
    "sft",
    "sft_rejects",
    "sft_quarantine",
    "sft_clusters",
    "sft_manifest.json",
    "sft_report.html",
    "llamafactory",
    "preference",
    ".medloom",
)

Say = Callable[[str], None]


@dataclass(frozen=True)
class PlannedInputs:
    files: list[tuple[str, str]]
    total_bytes: int


def plan_inputs(config: CorpusConfig) -> PlannedInputs:
    """Every input file of every source; a missing path is an error before any work."""
    if not config.sources:
        raise MedloomError("the config lists no sources")
    names = [s.name for s in config.sources]
    if len(set(names)) != len(names):
        raise MedloomError(f"source names must be unique: {names}")
    files: list[tuple[str, str]] = []
    total = 0
    for source in config.sources:
        paths = resolve_inputs(source)
        files.extend((source.name, path) for path in paths)
        total += sum(m.size_in_bytes for r in FileSystems.match(paths) for m in r.metadata_list)
    return PlannedInputs(files, total)


def prepare_output(
    output_dir: str,
    owned: tuple[str, ...] = OWNED_PATHS,
    folders: tuple[str, ...] = ("pretrain", "rejects", "quarantine", ".medloom"),
) -> None:
    """Clear a previous run's ``owned`` outputs; refuse a folder that holds anything else.

    Outputs of medloom's other pipelines may share the folder and are left alone.
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise MedloomError(f"output path exists and is not a folder: {out}")
    known = {path.split("/")[0] for path in (*OWNED_PATHS, *NEIGHBOUR_PATHS)}
    if out.is_dir():
        foreign = [p.name for p in out.iterdir() if p.name not in known]
        if foreign:
            raise MedloomError(
                f"output folder {out} holds files medloom did not write ({foreign[0]}, ...);"
                " choose an empty or new folder"
            )
        for name in owned:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for sub in folders:
        (out / sub).mkdir(parents=True, exist_ok=True)


class CollectStats(beam.PTransform):
    """Stats in (from every stage), summed, and written once with the inputs and outputs.

    Applied to a tuple of stats PCollections; ``inputs`` is ReadSources' INPUTS and
    ``outputs`` the OUTPUTS of every WriteDataset. ``read_stats`` reads the file back.
    One combiner gathers all three (Beam sets up every ParDo of a pipeline at a cost, and
    a combiner per list would add a dozen).
    """

    def __init__(
        self, path: str, inputs: beam.PCollection, outputs: tuple[beam.PCollection, ...]
    ) -> None:
        super().__init__()
        self._path = path
        self._inputs = inputs
        self._outputs = outputs

    def expand(self, stats: tuple[beam.PCollection, ...]) -> beam.PCollection:
        tagged = (
            stats | "AllStats" >> beam.Flatten() | "TagStats" >> beam.Map(lambda s: ("stat", s)),
            self._inputs | "TagInputs" >> beam.Map(lambda i: ("input", i)),
            self._outputs
            | "AllOutputs" >> beam.Flatten()
            | "TagOutputs" >> beam.Map(lambda o: ("output", o)),
        )
        path = self._path
        return (
            tagged
            | "Gather" >> beam.Flatten()
            | "Summarise" >> beam.CombineGlobally(_Summary()).without_defaults()
            | "WriteStats"
            >> beam.Map(lambda payload: write_text(path, json.dumps(payload, ensure_ascii=False)))
        )


class _Summary(beam.CombineFn):
    """("stat", ((source, metric), n)), ("input", dict), ("output", tuple) → the stats file."""

    def create_accumulator(self) -> tuple[Counter, list, list]:
        return Counter(), [], []

    def add_input(self, summary: tuple[Counter, list, list], item: tuple[str, Any]) -> Any:
        stats, inputs, outputs = summary
        kind, value = item
        if kind == "stat":
            key, n = value
            stats[tuple(key)] += n
        elif kind == "input":
            inputs.append(value)
        else:
            outputs.append(list(value))
        return summary

    def merge_accumulators(self, summaries: Any) -> tuple[Counter, list, list]:
        stats, inputs, outputs = self.create_accumulator()
        for more_stats, more_inputs, more_outputs in summaries:
            # update, not +: a count that sums to 0 stays in the file.
            stats.update(more_stats)
            inputs.extend(more_inputs)
            outputs.extend(more_outputs)
        return stats, inputs, outputs

    def extract_output(self, summary: tuple[Counter, list, list]) -> dict[str, Any]:
        stats, inputs, outputs = summary
        return {
            "stats": sorted([list(key), n] for key, n in stats.items()),
            "inputs": sorted(inputs, key=lambda i: (i["source"], i["path"])),
            "outputs": sorted(outputs),
        }


def build_pipeline(
    pipeline: beam.Pipeline,
    config: CorpusConfig,
    files: list[tuple[str, str]],
    output_dir: str,
    shards: int,
    secret: bytes | None,
    buckets_per_shard: int = 1,
) -> None:
    """Add the corpus pipeline's transforms to ``pipeline``.

    ``secret`` keys the de-identification surrogates; None when it is disabled.
    ``buckets_per_shard``: how many parts exact dedup spills each shard's documents into
    (see DedupAndWrite).
    """
    excerpt_chars = config.output.excerpt_chars
    # Rejects show an excerpt only of text that has been de-identified.
    with_excerpt = config.deid.enabled
    priorities = {s.name: s.priority for s in config.sources}

    read = pipeline | "Read" >> ReadSources(files, config.sources, batch_size=BATCH_RECORDS)
    records = read.records | "Normalise" >> Normalise(config.normalize)
    stats = [read[STATS]]
    if config.deid.enabled:
        assert secret is not None
        deidentified = records | "Deidentify" >> Deidentify(config.deid, secret)
        records = deidentified.records
        stats.append(deidentified[STATS])
    documents = records | "Chunk" >> Chunk(config)
    filtered = documents.documents | "Filter" >> ApplyFilters(config, with_excerpt)
    rejects = [filtered[REJECTED]]
    stats += [documents[STATS], filtered[STATS]]
    if not (config.dedup.near.enabled or config.decontam.enabled):
        # Nothing between exact dedup and the writer: both on spilled files, no shuffle
        # of documents (DedupAndWrite).
        written = filtered.kept | "DedupAndWrite" >> DedupAndWrite(
            PRETRAIN_DOCUMENT,
            FileSystems.join(output_dir, "pretrain"),
            FileSystems.join(output_dir, SPILL_DIR),
            shards,
            buckets_per_shard,
            config.dedup.exact,
            priorities,
            excerpt_chars,
            with_excerpt,
            secret,
        )
        rejects.append(written[REJECTED])
        stats.append(written[STATS])
        outputs = [written[OUTPUTS]]
    else:
        outputs = _dedup_then_write(
            filtered.kept, config, output_dir, shards, secret, rejects, stats
        )
    _write_rejects_and_stats(pipeline, read, rejects, stats, outputs, output_dir, shards)


def _dedup_then_write(
    batches: beam.PCollection,
    config: CorpusConfig,
    output_dir: str,
    shards: int,
    secret: bytes | None,
    rejects: list[beam.PCollection],
    stats: list[beam.PCollection],
) -> list[beam.PCollection]:
    """Exact, near dedup and decontamination, leak gate and write, document by document.

    Adds to ``rejects`` and ``stats``; returns the outputs of the datasets written.
    """
    excerpt_chars = config.output.excerpt_chars
    with_excerpt = config.deid.enabled
    priorities = {s.name: s.priority for s in config.sources}
    kept = batches | "Unbatch" >> beam.FlatMap(lambda documents: documents)
    if config.dedup.exact:
        deduped = kept | "ExactDedup" >> ExactDedup(priorities, excerpt_chars, with_excerpt)
        kept = deduped.kept
        rejects.append(deduped[REJECTED])
    extra_outputs = []
    if config.dedup.near.enabled:
        near = kept | "NearDedup" >> NearDedup(
            config.dedup.near, priorities, excerpt_chars, with_excerpt
        )
        kept = near.kept
        rejects.append(near[REJECTED])
        stats.append(near[STATS])
        clusters = near[CLUSTERS] | "WriteClusters" >> WriteDataset(
            DEDUP_CLUSTER,
            FileSystems.join(output_dir, "dedup_clusters"),
            max(1, shards // 4),
            key=by_id,
            sort_key=by_id,
        )
        extra_outputs.append(clusters[OUTPUTS])
    if config.decontam.enabled:
        decontaminated = kept | "Decontaminate" >> Decontaminate(
            config.decontam, excerpt_chars, with_excerpt
        )
        kept = decontaminated["kept"]
        rejects.append(decontaminated[REJECTED])
        stats.append(decontaminated[STATS])
    guarded = kept | "LeakGate" >> GuardLeaks(secret)
    kept = guarded.clean
    rejects.append(guarded[REJECTED])
    stats.append(guarded[STATS])

    written = kept | "WritePretrain" >> WriteDataset(
        PRETRAIN_DOCUMENT,
        FileSystems.join(output_dir, "pretrain"),
        shards,
        key=by_id,
        sort_key=by_id,
        count_as=count_written,
    )
    stats += [written[STATS], kept | "LengthsAfter" >> CountLengths("length_after")]
    return [written[OUTPUTS], *extra_outputs]


def _write_rejects_and_stats(
    pipeline: beam.Pipeline,
    read: beam.pvalue.DoOutputsTuple,
    rejects: list[beam.PCollection],
    stats: list[beam.PCollection],
    outputs: list[beam.PCollection],
    output_dir: str,
    shards: int,
) -> None:
    rejected = tuple(rejects) | "WriteRejects" >> WriteRejects(
        FileSystems.join(output_dir, "rejects"), max(1, shards // 4)
    )
    quarantined = read[QUARANTINED] | "WriteQuarantine" >> WriteQuarantine(
        FileSystems.join(output_dir, "quarantine")
    )
    _ = (*stats, rejected[STATS]) | "CollectStats" >> CollectStats(
        FileSystems.join(output_dir, STATS_FILE),
        read[INPUTS],
        (*outputs, rejected[OUTPUTS], quarantined[OUTPUTS]),
    )


def prefixed(stats: dict[tuple[str, str], int], prefix: str) -> dict[str, int]:
    """Counts of every run-wide metric under ``prefix``, keyed by the rest of its name."""
    return {
        metric.removeprefix(prefix): n
        for (source, metric), n in sorted(stats.items())
        if source == ALL_SOURCES and metric.startswith(prefix)
    }


def relative_to(path: str, output_dir: str) -> str:
    prefix = output_dir.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def read_stats(output_dir: str, stats_file: str = STATS_FILE) -> dict[str, Any]:
    """The stats, inputs and outputs a run's WriteStats step left in ``output_dir``."""
    with FileSystems.open(FileSystems.join(output_dir, stats_file)) as stream:
        return json.loads(stream.read().decode("utf-8"))


def assemble_manifest(
    config: CorpusConfig, output_dir: str, runner: str, shards: int
) -> dict[str, Any]:
    """The manifest of a finished run, from the stats the pipeline wrote."""
    payload = read_stats(output_dir)
    stats = {(source, metric): n for (source, metric), n in payload["stats"]}
    sources = [s.name for s in config.sources]
    counts = manifest_lib.source_counts(stats, sources)
    outputs: dict[str, Any] = {}
    for dataset, schema in (
        ("pretrain", PRETRAIN_DOCUMENT),
        ("rejects", REJECT),
        ("quarantine", QUARANTINE),
        ("dedup_clusters", DEDUP_CLUSTER),
    ):
        files = [(p, n) for name, p, n in payload["outputs"] if name == schema.name]
        outputs[dataset] = {
            "schema": schema.name,
            "schema_version": schema.version,
            "files": sorted(relative_to(p, output_dir) for p, _ in files),
            "rows": sum(n for _, n in files),
        }
    libraries = manifest_lib.library_versions()
    return {
        "medloom_version": libraries["medloom"],
        "pipeline": "corpus",
        "dataset": "pretrain",
        "name": config.name,
        "runner": runner,
        "config": config.to_dict(),
        "libraries": libraries,
        "inputs": payload["inputs"],
        "stages": [
            "read",
            "normalise",
            "deid",
            "filter",
            "exact_dedup",
            *(["near_dedup"] if config.dedup.near.enabled else []),
            *(["decontam"] if config.decontam.enabled else []),
            "leak_gate",
            "write",
        ],
        "minhash": minhash_parameters(config.dedup.near) if config.dedup.near.enabled else None,
        "near_dedup": (
            {"near_dedup": near_dedup_stats(stats)} if config.dedup.near.enabled else {}
        ),
        "decontam": decontam_manifest(config.decontam, stats, sources),
        "deid": {
            "enabled": config.deid.enabled,
            "mode": config.deid.mode,
            "categories": prefixed(stats, "deid/"),
            "leak_gate": {"mode": config.deid.leak_gate, "found": prefixed(stats, "leak_gate/")},
        },
        "shards": shards,
        "counts": counts,
        "totals": manifest_lib.totals(counts),
        "histograms": {
            "length_before": manifest_lib.histogram(stats, "length_before"),
            "length_after": manifest_lib.histogram(stats, "length_after"),
        },
        "outputs": outputs,
    }


def write_text(path: str, text: str) -> None:
    with FileSystems.create(path) as stream:
        stream.write(text.encode("utf-8"))


@dataclass(frozen=True)
class RunSetup:
    """What a run decides before it builds its pipeline."""

    output_dir: str
    remote: bool
    planned: PlannedInputs
    secret: bytes | None
    shards: int
    options: PipelineOptions
    runner: str


def setup_run(
    config: Any,
    output_dir: str,
    beam_args: list[str] | None,
    owned: tuple[str, ...] = OWNED_PATHS,
    folders: tuple[str, ...] = ("pretrain", "rejects", "quarantine", ".medloom"),
) -> RunSetup:
    """Inputs, evaluation sets and secret checked, shards chosen, a local output prepared.

    ``config`` is a corpus or dialogue config (sources, decontam, deid, output); ``owned``
    and ``folders`` are passed to ``prepare_output``.
    """
    remote = "://" in output_dir
    if not remote:
        output_dir = str(Path(output_dir).resolve())
    planned = plan_inputs(config)
    check_eval_sets(config.decontam)
    secret = load_secret(config.deid) if config.deid.enabled else None
    shards = config.output.shards or max(1, math.ceil(planned.total_bytes / BYTES_PER_SHARD))
    options = pipeline_options(beam_args or [])
    runner = runner_name(options)
    if not remote:
        prepare_output(output_dir, owned, folders)
    return RunSetup(output_dir, remote, planned, secret, shards, options, runner)


def execute(options: PipelineOptions, build: Callable[[beam.Pipeline], None], say: Say) -> bool:
    """Build a pipeline with ``build``, run it and wait; False when it was a dry run."""
    runner = runner_name(options)
    started, started_cpu = time.monotonic(), time.process_time()
    pipeline = beam.Pipeline(options=options)
    build(pipeline)
    # What the imports and the graph made lives as long as the run: an in-process runner's
    # garbage collections need not walk it again and again. Unfrozen after, so whatever of
    # it is garbage by then (an earlier run's graph) is still collected.
    gc.freeze()
    try:
        result = pipeline.run()
        if options.view_as(TestOptions).dry_run:
            say(f"medloom: dry run on {runner}: the job was built and nothing was submitted")
            return False
        state = result.wait_until_finish()
    finally:
        gc.unfreeze()
    if state != "DONE":
        raise MedloomError(f"the pipeline ended in state {state}")
    # The CPU time is this process's: all of a local in-memory run, none of other workers'.
    say(
        f"medloom: pipeline finished in {time.monotonic() - started:.1f} s"
        f" ({time.process_time() - started_cpu:.1f} CPU-s in this process); checking counts"
    )
    return True


def check_run(manifest: dict[str, Any], leak_gate: str, what: str, rejects: str, say: Say) -> None:
    """Counts add up, clusters converged (or say so), and the leak gate let nothing by."""
    manifest_lib.check_accounting(manifest["counts"])
    warning = convergence_warning(manifest["near_dedup"])
    if warning:
        say(warning)
    leaks = manifest["deid"]["leak_gate"]["found"]
    if leaks and leak_gate == "fail":
        found = ", ".join(f"{category}={n}" for category, n in leaks.items())
        raise MedloomError(
            f"the leak gate found direct identifiers ({found}); the {what} holding them"
            f" were not written ({rejects} names them, stage leak_gate)"
        )


def run_corpus(
    config: CorpusConfig,
    output_dir: str,
    beam_args: list[str] | None = None,
    say: Say = print,
) -> dict[str, Any]:
    """Run the corpus pipeline and return its manifest; raise on lost records or bad output."""
    from pipelines.report import write_report
    from pipelines.validate import validate_pretrain

    # Also for validation, which reads every shard back in this process.
    return_arrow_memory()
    run = setup_run(config, output_dir, beam_args)
    say(
        f"medloom: reading {len(run.planned.files)} files ({run.planned.total_bytes:,} bytes)"
        f" from {len(config.sources)} sources on {run.runner}"
    )
    buckets_per_shard = math.ceil(run.planned.total_bytes / run.shards / BYTES_PER_BUCKET)
    spill_dir = FileSystems.join(run.output_dir, SPILL_DIR)
    try:
        built = execute(
            run.options,
            lambda pipeline: build_pipeline(
                pipeline,
                config,
                run.planned.files,
                run.output_dir,
                run.shards,
                run.secret,
                max(1, buckets_per_shard),
            ),
            say,
        )
    finally:
        # A dry run wrote nothing (and a remote output is not reachable from a test).
        if not run.options.view_as(TestOptions).dry_run and FileSystems.exists(spill_dir):
            FileSystems.delete([spill_dir])
    if not built:
        return {"pipeline": "corpus", "runner": run.runner, "dry_run": True}

    manifest = assemble_manifest(config, run.output_dir, run.runner, run.shards)
    manifest_path = FileSystems.join(run.output_dir, "manifest.json")
    write_text(manifest_path, manifest_lib.dumps(manifest))
    check_run(manifest, config.deid.leak_gate, "documents", "rejects/", say)
    if run.remote:
        say(
            "medloom: counts add up; copy the output locally to run `medloom validate` and"
            " `medloom report` on it"
        )
        return manifest
    validation = validate_pretrain(run.output_dir, manifest["config"])
    manifest["validation"] = validation.to_dict()
    write_text(manifest_path, manifest_lib.dumps(manifest))
    write_report(run.output_dir, manifest)
    if not validation.success:
        raise ValidationFailed(f"the output failed validation:\n{validation.summary()}")
    return manifest
