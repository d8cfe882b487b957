"""`medloom dedup`: near-duplicate clusters of a JSONL file, as a Beam pipeline.

Reads lines ``{"id": ..., "text": ...}`` and writes one line per input line
``{"id": ..., "cluster": ..., "kept": true|false}``; the cluster is the kept copy's id.
Each line is its own document even when ids repeat (the line number tells them apart). A
line that is not a JSON object still gets a line: ``{"id": null, "cluster": null,
"kept": false, "line": n, "error": reason}``, never quoting the text. Runs on the
DirectRunner unless Beam options (``--runner``, ``--direct_num_workers``...) say otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.beam_options import pipeline_options
from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.minhash import minhash_parameters
from pipelines.dedup.near import NearDedup
from pipelines.errors import MedloomError

_SEPARATOR = "\x1f"
_SOURCE = "input"
# Lines travel in chunks until they are spread over the workers: Beam's cost is per element.
READ_CHUNK = 2048
ERRORS = "errors"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dedup` to the medloom command line."""
    defaults = NearDedupConfig()
    dedup = subparsers.add_parser("dedup", help="cluster near-duplicate texts (MinHash LSH)")
    dedup.add_argument("--input", required=True, help='JSONL of {"id", "text"}')
    dedup.add_argument("--output", required=True, help='JSONL of {"id", "cluster", "kept"}')
    dedup.add_argument("--threshold", type=float, default=defaults.threshold)
    dedup.add_argument("--num-perm", type=int, default=defaults.num_perm)
    dedup.add_argument("--bands", type=int, default=0, help="default: from the threshold")
    dedup.add_argument("--rows", type=int, default=0, help="default: from the threshold")
    dedup.add_argument(
        "--min-shared-bands",
        type=int,
        default=defaults.min_shared_bands,
        help="bands a pair must share to be a candidate (default: %(default)s)",
    )
    dedup.add_argument("--ngram", type=int, default=defaults.ngram)
    dedup.add_argument(
        "--shingling", choices=("auto", "char", "word", "jieba"), default=defaults.shingling
    )
    dedup.add_argument("--seed", type=int, default=defaults.seed)
    dedup.add_argument(
        "--no-true-jaccard",
        action="store_true",
        help="confirm candidates on the MinHash estimate instead of their shingles",
    )
    dedup.add_argument(
        "--check-threshold",
        type=float,
        default=0.0,
        help="confirm candidates at this similarity (default: threshold - 0.1)",
    )
    dedup.add_argument("--clusters", help="also write dedup_cluster rows (JSONL) here")
    dedup.set_defaults(handler=run_dedup, accepts_beam_options=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`medloom dedup ...` on its own, parsed without the other groups."""
    parser = argparse.ArgumentParser(prog="medloom")
    register(parser.add_subparsers(dest="command", required=True))
    args, extra = parser.parse_known_args(argv)
    try:
        return args.handler(args, extra)
    except MedloomError as exc:
        print(f"medloom: error: {exc}", file=sys.stderr)
        return 2


def config_from_args(args: argparse.Namespace) -> NearDedupConfig:
    """The NearDedupConfig the command-line flags describe; a bad value is a MedloomError."""
    if not 0.0 < args.threshold <= 1.0:
        raise MedloomError(f"--threshold must be in (0, 1], not {args.threshold}")
    if not 0.0 <= args.check_threshold <= 1.0:
        raise MedloomError(f"--check-threshold must be in [0, 1], not {args.check_threshold}")
    if args.num_perm < 1 or args.ngram < 1 or args.min_shared_bands < 1:
        raise MedloomError("--num-perm, --ngram and --min-shared-bands must be positive")
    if args.bands * max(args.rows, 1) > args.num_perm:
        raise MedloomError(f"--bands × --rows must not exceed --num-perm ({args.num_perm})")
    return NearDedupConfig(
        threshold=args.threshold,
        num_perm=args.num_perm,
        bands=args.bands,
        rows=args.rows,
        min_shared_bands=args.min_shared_bands,
        ngram=args.ngram,
        shingling=args.shingling,
        seed=args.seed,
        true_jaccard_check=not args.no_true_jaccard,
        check_threshold=args.check_threshold,
    )


def parse_line(number: int, line: str) -> dict[str, Any]:
    """A document of one input line, or a row that says why the line is unusable."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {"line": number, "error": "invalid JSON"}
    if not isinstance(record, dict):
        return {"line": number, "error": "not a JSON object"}
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        return {"line": number, "error": "text is not a string"}
    user_id = record.get("id")
    return {
        # Unique per line, so repeated ids stay separate documents.
        "id": f"{json.dumps(user_id, ensure_ascii=False)}{_SEPARATOR}{number}",
        "text": text or "",
        "source": _SOURCE,
        "source_record_id": str(number),
    }


def _read_chunks(path: str) -> Iterator[tuple[int, bytes]]:
    """``READ_CHUNK`` lines at a time, as (number of the first, the lines as one bytes)."""
    chunk: list[bytes] = []
    first = 1
    with FileSystems.open(path) as stream:
        for number, raw in enumerate(stream, start=1):
            chunk.append(raw)
            if len(chunk) >= READ_CHUNK:
                yield first, b"".join(chunk)
                chunk, first = [], number + 1
    if chunk:
        yield first, b"".join(chunk)


def _parse_chunk(chunk: tuple[int, bytes]) -> Iterator[Any]:
    """A chunk's documents as one list, and its unusable lines as another (``ERRORS``)."""
    first, lines = chunk
    documents, errors = [], []
    for offset, raw in enumerate(lines.split(b"\n")):
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            row = parse_line(first + offset, line)
            (errors if "error" in row else documents).append(row)
    yield documents
    if errors:
        yield beam.pvalue.TaggedOutput(ERRORS, errors)


def _user_id(document_id: str) -> Any:
    return json.loads(_user_id_json(document_id))


def _user_id_json(document_id: str) -> str:
    """The id as the input line wrote it, in JSON (the document id begins with it)."""
    return document_id.rsplit(_SEPARATOR, 1)[0]


def _output_line(row: dict[str, Any]) -> str:
    if "error" in row:
        return json.dumps({"id": None, "cluster": None, "kept": False, **row}, ensure_ascii=False)
    kept = "true" if row["kept"] else "false"
    return (
        f'{{"id": {_user_id_json(row["id"])}, "cluster": {_user_id_json(row["cluster"])}, '
        f'"kept": {kept}}}'
    )


def _cluster_line(row: dict[str, Any]) -> str:
    return json.dumps(
        {
            **row,
            "id": _user_id(row["id"]),
            "cluster": _user_id(row["cluster"]),
            "kept_id": _user_id(row["kept_id"]),
        },
        ensure_ascii=False,
    )


def run_dedup(args: argparse.Namespace, beam_args: list[str]) -> int:
    """Run the pipeline; print the counts and the MinHash parameters on stderr."""
    if not Path(args.input).is_file() and not FileSystems.exists(args.input):
        raise MedloomError(f"input file not found: {args.input}")
    config = config_from_args(args)
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        lines = (
            pipeline
            | "Input" >> beam.Create([args.input])
            | "ReadChunks" >> beam.FlatMap(_read_chunks)
            | "Spread" >> beam.Reshuffle()
            | "ParseLines" >> beam.FlatMap(_parse_chunk).with_outputs(ERRORS, main="documents")
        )
        # The output lines want ids and clusters only; the --clusters rows want similarities.
        deduped = lines.documents | "NearDedup" >> NearDedup(
            config, {}, 0, False, batched=True, documents=bool(args.clusters)
        )
        rows = (deduped.clusters, lines[ERRORS]) | "AllRows" >> beam.Flatten()
        _ = (
            rows
            | "Format" >> beam.Map(lambda batch: "\n".join(map(_output_line, batch)))
            | "Write" >> beam.io.WriteToText(args.output, num_shards=1, shard_name_template="")
        )
        if args.clusters:
            _ = (
                deduped.clusters
                | "FormatClusters" >> beam.Map(lambda batch: "\n".join(map(_cluster_line, batch)))
                | "WriteClusters"
                >> beam.io.WriteToText(args.clusters, num_shards=1, shard_name_template="")
            )
    kept = total = errors = 0
    with FileSystems.open(args.output) as written:
        for line in written:
            # The lines are ours: a kept one ends with "kept": true}, an unusable one holds
            # "kept": false, "line": (a quote inside an id would be escaped).
            total += 1
            kept += line.rstrip().endswith(b'"kept": true}')
            errors += b'"kept": false, "line": ' in line
    print(
        f"medloom dedup: {total} lines, {kept} kept, {total - kept - errors} near-duplicates, "
        f"{errors} unusable; {json.dumps(minhash_parameters(config))}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
