"""The dialogue pipeline: conversations in many layouts → one multi-turn SFT dataset.

    read ─► prepare (normalise, de-identify, clean turns) ─► exact + near dedup of whole
      │        dialogues ─► exact + near dedup of opening user turns ─► decontaminate
      │        ─► fit to the token budget + split by cluster ─► leak gate ─► write sft/
      └─ sft_quarantine/          └── sft_rejects/ (every drop, with its stage and reason)

It shares its readers, dedup transforms, leak gate, sink and stats with the corpus
pipeline and writes beside it: ``sft/`` and ``sft_*`` files, so one output folder can hold
the pretraining and the SFT dataset together (``medloom demo`` does).
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines import manifest as manifest_lib
from pipelines.corpus import (
    CollectStats,
    Say,
    check_run,
    execute,
    prefixed,
    read_stats,
    relative_to,
    setup_run,
    write_text,
)
from pipelines.counting import ALL_SOURCES, STATS
from pipelines.dedup.decontam import Decontaminate, decontam_manifest
from pipelines.dedup.exact import ExactDedup
from pipelines.dedup.minhash import minhash_parameters
from pipelines.dedup.near import CLUSTERS, NearDedup, near_dedup_stats
from pipelines.dialogues.config import TASK_LAYOUTS, DialogueConfig
from pipelines.dialogues.formats import DialogueMapper
from pipelines.dialogues.transforms import (
    TOKEN_EDGES,
    TURN_EDGES,
    FitAndSplit,
    PrepareDialogues,
)
from pipelines.errors import ValidationFailed
from pipelines.sinks import (
    OUTPUTS,
    WriteDataset,
    WriteQuarantine,
    WriteRejects,
    by_id,
    count_written,
)
from pipelines.transforms import INPUTS, QUARANTINED, REJECTED, GuardLeaks, ReadSources
from schemas import DEDUP_CLUSTER, QUARANTINE, REJECT, SFT_CONVERSATION

DATASET = "sft"
STATS_FILE = ".medloom/sft_stats.json"
MANIFEST = "sft_manifest.json"
REPORT = "sft_report.html"
OWNED_PATHS = (
    "sft",
    "sft_rejects",
    "sft_quarantine",
    "sft_clusters",
    "llamafactory",
    STATS_FILE,
    MANIFEST,
    REPORT,
)
FOLDERS = ("sft", "sft_rejects", "sft_quarantine", ".medloom")


def _key_on_opening(dialogue: dict[str, Any]) -> dict[str, Any]:
    """The dialogue with its opening question as the text that dedup compares."""
    return {**dialogue, "text": dialogue["first_turn"], "whole_text": dialogue["text"]}


def _key_on_whole(dialogue: dict[str, Any]) -> dict[str, Any]:
    whole = {**dialogue, "text": dialogue["whole_text"]}
    del whole["whole_text"]
    return whole


def build_pipeline(
    pipeline: beam.Pipeline,
    config: DialogueConfig,
    files: list[tuple[str, str]],
    output_dir: str,
    shards: int,
    secret: bytes | None,
) -> None:
    """Add the dialogue pipeline's transforms to ``pipeline``."""
    excerpt = config.output.excerpt_chars
    with_excerpt = config.deid.enabled
    priorities = {s.name: s.priority for s in config.sources}
    dedup = config.dedup

    read = pipeline | "Read" >> ReadSources(files, config.sources, DialogueMapper)
    prepared = read.records | "Prepare" >> PrepareDialogues(config, secret, with_excerpt)
    dialogues = prepared.dialogues
    rejects = [prepared[REJECTED]]
    stats = [read[STATS], prepared[STATS]]
    extra_outputs = []
    if dedup.exact:
        exact = dialogues | "ExactDedup" >> ExactDedup(priorities, excerpt, with_excerpt)
        dialogues = exact.kept
        rejects.append(exact[REJECTED])
    if dedup.near.enabled:
        near = dialogues | "NearDedup" >> NearDedup(dedup.near, priorities, excerpt, with_excerpt)
        dialogues = near.kept
        rejects.append(near[REJECTED])
        stats.append(near[STATS])
        clusters = near[CLUSTERS] | "WriteClusters" >> WriteDataset(
            DEDUP_CLUSTER,
            FileSystems.join(output_dir, "sft_clusters"),
            max(1, shards // 4),
            key=by_id,
            sort_key=by_id,
        )
        extra_outputs.append(clusters[OUTPUTS])
    if dedup.first_turn:
        min_chars = dedup.first_turn_min_chars
        # Only conversations: the tasks built from one record share its case text by design.
        long_opening = dialogues | "ByOpeningLength" >> beam.Partition(
            lambda d, _: int(d["task"] == "dialogue" and len(d["first_turn"]) >= min_chars), 2
        )
        openings = long_opening[1] | "KeyOnOpening" >> beam.Map(_key_on_opening)
        if dedup.exact:
            exact_first = openings | "ExactDedupOpening" >> ExactDedup(
                priorities, excerpt, with_excerpt, stage="exact_dedup_first_turn"
            )
            openings = exact_first.kept
            rejects.append(exact_first[REJECTED])
        if dedup.near.enabled:
            near_first = openings | "NearDedupOpening" >> NearDedup(
                dedup.near, priorities, excerpt, with_excerpt, stage="near_dedup_first_turn"
            )
            openings = near_first.kept
            rejects.append(near_first[REJECTED])
            stats.append(near_first[STATS])
        dialogues = (
            long_opening[0],
            openings | "KeyOnWhole" >> beam.Map(_key_on_whole),
        ) | "RejoinOpenings" >> beam.Flatten()
    if config.decontam.enabled:
        decontaminated = dialogues | "Decontaminate" >> Decontaminate(
            config.decontam, excerpt, with_excerpt
        )
        dialogues = decontaminated["kept"]
        rejects.append(decontaminated[REJECTED])
        stats.append(decontaminated[STATS])
    fitted = dialogues | "FitAndSplit" >> FitAndSplit(config, excerpt, with_excerpt)
    rejects.append(fitted[REJECTED])
    stats.append(fitted[STATS])
    guarded = fitted.samples | "LeakGate" >> GuardLeaks(secret)
    rejects.append(guarded[REJECTED])
    stats.append(guarded[STATS])

    written = guarded.clean | "WriteSft" >> WriteDataset(
        SFT_CONVERSATION,
        FileSystems.join(output_dir, DATASET),
        shards,
        key=by_id,
        sort_key=by_id,
        count_as=count_written,
    )
    rejected = tuple(rejects) | "WriteRejects" >> WriteRejects(
        FileSystems.join(output_dir, "sft_rejects"), max(1, shards // 4)
    )
    quarantined = read[QUARANTINED] | "WriteQuarantine" >> WriteQuarantine(
        FileSystems.join(output_dir, "sft_quarantine")
    )
    _ = (*stats, written[STATS], rejected[STATS]) | "CollectStats" >> CollectStats(
        FileSystems.join(output_dir, STATS_FILE),
        read[INPUTS],
        (written[OUTPUTS], rejected[OUTPUTS], quarantined[OUTPUTS], *extra_outputs),
    )


def _buckets(stats: dict[tuple[str, str], int], name: str, edges: tuple[int, ...]) -> dict:
    return {
        "edges": list(edges),
        "counts": [stats.get((ALL_SOURCES, f"{name}/{i}"), 0) for i in range(len(edges))],
    }


def assemble_manifest(
    config: DialogueConfig, output_dir: str, runner: str, shards: int, token_counter: str
) -> dict[str, Any]:
    """The manifest of a finished dialogue run, from the stats the pipeline wrote."""
    payload = read_stats(output_dir, STATS_FILE)
    stats = {(source, metric): n for (source, metric), n in payload["stats"]}
    sources = [s.name for s in config.sources]
    counts = manifest_lib.source_counts(stats, sources)
    outputs: dict[str, Any] = {}
    for dataset, folder, schema in (
        ("sft", "sft", SFT_CONVERSATION),
        ("rejects", "sft_rejects", REJECT),
        ("quarantine", "sft_quarantine", QUARANTINE),
        ("dedup_clusters", "sft_clusters", DEDUP_CLUSTER),
    ):
        files = [
            (p, n)
            for name, p, n in payload["outputs"]
            if name == schema.name and f"/{folder}/" in p
        ]
        outputs[dataset] = {
            "schema": schema.name,
            "schema_version": schema.version,
            "files": sorted(relative_to(p, output_dir) for p, _ in files),
            "rows": sum(n for _, n in files),
        }
    splits = {
        source: {
            split: stats.get((source, f"split/{split}"), 0)
            for split in ("train", "validation", "test")
        }
        for source in sources
    }
    libraries = manifest_lib.library_versions()
    return {
        "medloom_version": libraries["medloom"],
        "pipeline": "dialogues",
        "dataset": "sft",
        "name": config.name,
        "runner": runner,
        "config": config.to_dict(),
        "libraries": libraries,
        "inputs": payload["inputs"],
        "stages": [
            "read",
            *(["tasks"] if any(s.layout in TASK_LAYOUTS for s in config.sources) else []),
            "normalise",
            "deid",
            "clean",
            *(["exact_dedup"] if config.dedup.exact else []),
            *(["near_dedup"] if config.dedup.near.enabled else []),
            *(["exact_dedup_first_turn"] if config.dedup.first_turn and config.dedup.exact else []),
            *(
                ["near_dedup_first_turn"]
                if config.dedup.first_turn and config.dedup.near.enabled
                else []
            ),
            *(["decontam"] if config.decontam.enabled else []),
            "context",
            "split",
            "leak_gate",
            "write",
        ],
        "minhash": minhash_parameters(config.dedup.near) if config.dedup.near.enabled else None,
        "near_dedup": {
            stage: near_dedup_stats(stats, stage)
            for stage in ("near_dedup", "near_dedup_first_turn")
            if config.dedup.near.enabled and (stage == "near_dedup" or config.dedup.first_turn)
        },
        "deid": {
            "enabled": config.deid.enabled,
            "mode": config.deid.mode,
            "categories": prefixed(stats, "deid/"),
            "leak_gate": {"mode": config.deid.leak_gate, "found": prefixed(stats, "leak_gate/")},
        },
        "decontam": decontam_manifest(config.decontam, stats, sources),
        "context": {
            "max_tokens": config.context.max_tokens,
            "token_counter": token_counter,
        },
        "splits": splits,
        "departments": prefixed(stats, "department/"),
        "tasks": prefixed(stats, "task/"),
        "shards": shards,
        "counts": counts,
        "totals": manifest_lib.totals(counts),
        "histograms": {
            "tokens": _buckets(stats, "tokens", TOKEN_EDGES),
            "turns": _buckets(stats, "turns", TURN_EDGES),
        },
        "outputs": outputs,
    }


def run_dialogues(
    config: DialogueConfig,
    output_dir: str,
    beam_args: list[str] | None = None,
    say: Say = print,
) -> dict[str, Any]:
    """Run the dialogue pipeline and return its manifest; raise on lost records or bad output."""
    from pipelines.dialogues.exports import write_llamafactory
    from pipelines.dialogues.report import write_sft_report
    from pipelines.dialogues.validate import validate_sft

    run = setup_run(config, output_dir, beam_args, OWNED_PATHS, FOLDERS)
    say(
        f"medloom: reading {len(run.planned.files)} dialogue files"
        f" ({run.planned.total_bytes:,} bytes) from {len(config.sources)} sources on {run.runner}"
    )
    built = execute(
        run.options,
        lambda pipeline: build_pipeline(
            pipeline, config, run.planned.files, run.output_dir, run.shards, run.secret
        ),
        say,
    )
    if not built:
        return {"pipeline": "dialogues", "runner": run.runner, "dry_run": True}
    counter = (
        f"tokenizer {config.context.tokenizer}"
        if config.context.tokenizer
        else "estimate: 1 per CJK character, 1 per 4 other characters, 4 per message"
    )
    manifest = assemble_manifest(config, run.output_dir, run.runner, run.shards, counter)
    manifest_path = FileSystems.join(run.output_dir, MANIFEST)
    write_text(manifest_path, manifest_lib.dumps(manifest))
    check_run(manifest, config.deid.leak_gate, "samples", "sft_rejects/", say)
    if run.remote:
        say("medloom: counts add up; copy the output locally to validate and export it")
        return manifest
    if config.output.llamafactory:
        manifest["exports"] = write_llamafactory(run.output_dir, config.name)
    validation = validate_sft(run.output_dir, manifest["config"], run.secret)
    manifest["validation"] = validation.to_dict()
    write_text(manifest_path, manifest_lib.dumps(manifest))
    write_sft_report(run.output_dir, manifest)
    if not validation.success:
        raise ValidationFailed(f"the output failed validation:\n{validation.summary()}")
    return manifest
