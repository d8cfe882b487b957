"""`medloom deid detect | apply | eval`: de-identification over JSONL, without Beam.

Every input line yields one output line: the result, or ``{"id", "line", "error"}`` when
the line cannot be used (invalid UTF-8 or JSON, no ``text``...). The same error goes to
stderr with its line number; the run goes on. Errors never quote the text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from pipelines.deid.config import DeidConfig, load_secret
from pipelines.deid.engine import Deidentifier
from pipelines.deid.metrics import EvalReport
from pipelines.deid.spans import CATEGORIES, PhiSpan
from pipelines.errors import MedloomError


@dataclass
class Line:
    """One input line: its number, its record when readable, or why it is not."""

    number: int
    record: dict[str, Any] | None
    error: str | None = None

    @property
    def id(self) -> Any:
        return self.record.get("id") if self.record else None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `deid` and its three commands to the medloom command line."""
    deid = subparsers.add_parser("deid", help="detect and replace personal identifiers")
    commands = deid.add_subparsers(dest="deid_command", metavar="COMMAND", required=True)

    detect = commands.add_parser("detect", help="write the identifier spans of each text")
    detect.add_argument("--input", required=True, help='JSONL of {"id", "text"}')
    detect.add_argument("--output", required=True, help='JSONL of {"id", "spans"}')
    detect.add_argument("--strict", action="store_true", help="exit 1 if any line had an error")
    detect.set_defaults(handler=run_detect)

    apply = commands.add_parser("apply", help="write each text de-identified")
    apply.add_argument("--input", required=True, help='JSONL of {"id", "text"}')
    apply.add_argument("--output", required=True, help='JSONL of {"id", "text"}')
    apply.add_argument("--mode", choices=("surrogate", "tag", "mask"), default="surrogate")
    apply.add_argument(
        "--secret-file", help="file holding the run secret (default: $MEDLOOM_DEID_SECRET)"
    )
    apply.add_argument(
        "--date-key",
        choices=("text", "id"),
        default="text",
        help="what fixes a document's date offset: its text (identical texts stay "
        "identical) or its id",
    )
    apply.add_argument("--strict", action="store_true", help="exit 1 if any line had an error")
    apply.set_defaults(handler=run_apply)

    evaluate = commands.add_parser("eval", help="measure detection against gold spans")
    evaluate.add_argument("--gold", required=True, help='JSONL of {"id", "text", "spans"}')
    evaluate.add_argument("--clean", help='JSONL of {"id", "text"} with nothing to redact')
    evaluate.add_argument(
        "--predictions", help='JSONL of {"id", "spans"} to score instead of running detection'
    )
    evaluate.add_argument("--json", dest="json_path", help="also write the metrics as JSON")
    evaluate.set_defaults(handler=run_eval)


def main(argv: Sequence[str] | None = None) -> int:
    """`medloom deid ...` on its own: the same commands, parsed without the other groups."""
    parser = argparse.ArgumentParser(prog="medloom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.handler(args, [])
    except MedloomError as exc:
        print(f"medloom: error: {exc}", file=sys.stderr)
        return 2


def run_detect(args: argparse.Namespace, extra: list[str]) -> int:
    engine = Deidentifier(DeidConfig(), b"")
    with _open_output(args.output) as out:
        errors = 0
        for line in read_lines(args.input):
            if line.error:
                errors += _write_error(out, line)
                continue
            spans = engine.detect(line.record["text"])
            _write(out, {"id": line.id, "spans": [_span_json(s) for s in spans]})
    return _finish("detect", errors, args.strict)


def run_apply(args: argparse.Namespace, extra: list[str]) -> int:
    config = DeidConfig(mode=args.mode, secret_file=args.secret_file)
    secret = load_secret(config) if args.mode == "surrogate" else b""
    engine = Deidentifier(config, secret)
    with _open_output(args.output) as out:
        errors = 0
        for line in read_lines(args.input):
            if line.error:
                errors += _write_error(out, line)
                continue
            text = line.record["text"]
            key = (
                hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
                if args.date_key == "text"
                else str(line.id)
            )
            new_text, _ = engine.apply(text, key)
            _write(out, {"id": line.id, "text": new_text})
    return _finish("apply", errors, args.strict)


def run_eval(args: argparse.Namespace, extra: list[str]) -> int:
    engine = Deidentifier(DeidConfig(), b"")
    predictions = _read_predictions(args.predictions) if args.predictions else None
    report = EvalReport()
    errors = 0
    for line in read_lines(args.gold):
        gold = _gold_spans(line)
        if gold is None:
            errors += _report_error(line)
            continue
        text = line.record["text"]
        predicted = predictions.get(_key(line.id), []) if predictions is not None else None
        report.add_document(gold, predicted if predicted is not None else engine.detect(text))
    if args.clean:
        for line in read_lines(args.clean):
            if line.error:
                errors += _report_error(line)
                continue
            report.add_clean(line.record["text"], engine.detect(line.record["text"]))
    for row in report.lines():
        print(row)
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    if errors:
        print(f"medloom deid eval: {errors} unusable lines skipped", file=sys.stderr)
    return 0


def read_lines(path: str) -> Iterator[Line]:
    """Each line of a JSONL file as a record with a string ``text``, or an error."""
    source = Path(path)
    if not source.is_file():
        raise MedloomError(f"input file not found: {source}")
    with source.open("rb") as handle:
        yield from _parse(handle)


def _parse(handle: BinaryIO) -> Iterator[Line]:
    for number, raw in enumerate(handle, start=1):
        raw = raw.rstrip(b"\r\n")
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Line(number, None, f"invalid UTF-8 at byte {exc.start}")
            continue
        if not decoded.strip():
            yield Line(number, None, "empty line")
            continue
        try:
            record = json.loads(decoded)
        except json.JSONDecodeError as exc:
            yield Line(number, None, f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield Line(number, None, f"expected a JSON object, got {type(record).__name__}")
        elif "text" not in record:
            yield Line(number, {"id": record.get("id")}, "no 'text' field")
        elif not isinstance(record["text"], str):
            yield Line(
                number, {"id": record.get("id")}, f"'text' is {type(record['text']).__name__}"
            )
        else:
            yield Line(number, record)


def _gold_spans(line: Line) -> list[PhiSpan] | None:
    if line.error or line.record is None:
        return None
    spans = []
    text_length = len(line.record["text"])
    for i, raw in enumerate(line.record.get("spans", [])):
        try:
            span = PhiSpan(int(raw["start"]), int(raw["end"]), str(raw["category"]))
        except (KeyError, TypeError, ValueError):
            line.error = f"span {i} needs integer start, end and a category"
            return None
        if not 0 <= span.start < span.end <= text_length or span.category not in CATEGORIES:
            line.error = f"span {i} is out of the text or has an unknown category"
            return None
        spans.append(span)
    return spans


def _read_predictions(path: str) -> dict[str, list[PhiSpan]]:
    predictions: dict[str, list[PhiSpan]] = {}
    for line in read_lines_any(path):
        if line.error or line.record is None:
            _report_error(line)
            continue
        spans = [
            PhiSpan(int(s["start"]), int(s["end"]), str(s.get("category", "")))
            for s in line.record.get("spans", [])
        ]
        predictions[_key(line.record.get("id"))] = spans
    return predictions


def read_lines_any(path: str) -> Iterator[Line]:
    """Lines that need no ``text``: prediction files."""
    source = Path(path)
    if not source.is_file():
        raise MedloomError(f"input file not found: {source}")
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                yield Line(number, None, "invalid UTF-8 or JSON")
                continue
            if isinstance(record, dict):
                yield Line(number, record)
            else:
                yield Line(number, None, "expected a JSON object")


def _key(record_id: Any) -> str:
    return json.dumps(record_id, ensure_ascii=False)


def _span_json(span: PhiSpan) -> dict[str, Any]:
    return {"start": span.start, "end": span.end, "category": span.category}


def _open_output(path: str) -> TextIO:
    target = Path(path)
    if target.parent and not target.parent.is_dir():
        raise MedloomError(f"output folder not found: {target.parent}")
    return target.open("w", encoding="utf-8", newline="\n")


def _write(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_error(out: TextIO, line: Line) -> int:
    _write(out, {"id": line.id, "line": line.number, "error": line.error})
    return _report_error(line)


def _report_error(line: Line) -> int:
    print(f"medloom deid: line {line.number}: {line.error}", file=sys.stderr)
    return 1


def _finish(command: str, errors: int, strict: bool) -> int:
    if errors:
        print(f"medloom deid {command}: {errors} lines had errors (see above)", file=sys.stderr)
    return 1 if errors and strict else 0
