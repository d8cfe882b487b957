"""Validation of a corpus run's pretraining dataset with great-expectations.

Every Parquet shard of ``pretrain/`` is read and checked on its own, so memory is bounded
by one shard: its columns are exactly the schema's, ``id``, ``text``, ``kind``,
``language`` and ``length`` are not null, ids are unique (shards are a hash partition by
id, so unique within a shard is unique overall), ``length`` equals ``len(text)`` and lies
within the length bounds, and rows whose language is ``zh`` keep the minimum share of CJK
characters among non-space characters. Two checks span the dataset: it holds at least one row, and
each file's footer names the schema and its version.

No threshold is chosen here: the length bounds and the CJK share are the ones the run's
filters applied (``config["filters"]["length"]`` and ``config["filters"]["cjk"]``; their
defaults are in ``pipelines/filters/config.py``, the reasons for them in the docstrings of
``pipelines/filters/length.py`` and ``cjk.py``), and the CJK share is measured with the
filters' own character classes, so the output is checked against what its run promised.
A filter that was disabled sets no bound.

Failures report counts and row positions within a shard, never a value, so no text or
identifier of a document reaches a log or the report.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.config import from_dict
from pipelines.errors import MedloomError
from pipelines.filters.config import CjkFilterConfig, LengthFilterConfig
from pipelines.filters.scripts import CharClass, char_classes, codepoints
from schemas import PRETRAIN_DOCUMENT, SchemaSpec, schema_of_file

DATASET_DIR = "pretrain"

# What the CJK filter counts as CJK: Han characters and CJK punctuation.
CJK_CLASSES = (CharClass.HAN, CharClass.CJK_PUNCT)
# Texts classified at a time: bounds the code point arrays to a few MB.
SHARE_BATCH_ROWS = 4096

# How a derived column compared in a pair check is named in a failure.
DERIVED_NAMES = {"text_length": "len(text)", "turns_counted": "its non-system messages"}

# Row positions quoted in an observed value; the counts carry the rest.
POSITIONS_SHOWN = 5

# Modules great-expectations imports for expectations medloom never runs (the KL-divergence
# and KS-test expectations and their Altair charts): about 1.3 CPU-s of every run's 2.5 s
# import of great-expectations. They are loaded when first used instead.
DEFERRED_MODULES = ("scipy.stats", "altair")


@dataclass
class ExpectationResult:
    """One expectation checked on one file (or on the whole dataset)."""

    expectation: str
    column: str | None
    success: bool
    observed: str
    file: str


@dataclass
class ValidationResult:
    success: bool
    results: list[ExpectationResult]

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        """One line for the verdict, then one line per failed expectation."""
        files = len({r.file for r in self.results if "/" in r.file})
        if self.success:
            return (
                f"validation passed: {len(self.results)} expectations on {files} "
                f"{_plural(files, 'file')}"
            )
        lines = [
            f"validation FAILED: {len(self.failed)} of {len(self.results)} expectations "
            f"on {files} {_plural(files, 'file')}"
        ]
        for r in self.failed:
            column = f" [{r.column}]" if r.column else ""
            lines.append(f"  {r.expectation}{column} in {r.file}: {r.observed}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "expectations": len(self.results),
            "failed": len(self.failed),
            "results": [asdict(r) for r in self.results],
        }


def validate_pretrain(output_dir: str | Path, config: dict[str, Any]) -> ValidationResult:
    """Check ``output_dir/pretrain/*.parquet`` against its schema and the run's filters.

    ``config`` is the run's config as a dict (``manifest["config"]``). A missing output
    folder raises MedloomError; everything wrong inside it is a failed expectation.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise MedloomError(f"output folder not found: {output_dir}")
    filters = config.get("filters") or {}
    length = from_dict(LengthFilterConfig, filters.get("length") or {}, "config.filters.length")
    cjk = from_dict(CjkFilterConfig, filters.get("cjk") or {}, "config.filters.cjk")
    shards = sorted((output_dir / DATASET_DIR).glob("*.parquet"))

    results: list[ExpectationResult] = []
    rows = 0
    if shards:
        batches = dataframe_batches()
        for path in shards:
            name = path.relative_to(output_dir).as_posix()
            results.append(footer_result(path, name, PRETRAIN_DOCUMENT))
            shard = _read_pretrain_shard(path, with_cjk_share=cjk.enabled)
            if shard is None:
                results.append(unreadable_result(name))
                continue
            rows += shard.columns.num_rows
            results.extend(_validate_shard(batches, shard, name, length, cjk))
    results.insert(0, not_empty_result(len(shards), rows, DATASET_DIR))
    return ValidationResult(success=all(r.success for r in results), results=results)


def not_empty_result(shards: int, rows: int, dataset: str) -> ExpectationResult:
    """The dataset-wide check that ``dataset`` holds at least one row."""
    observed = (
        f"{rows} {_plural(rows, 'row')} in {shards} {_plural(shards, 'shard')}"
        if rows
        else f"dataset is empty: {rows} rows in {shards} {_plural(shards, 'shard')}"
    )
    return ExpectationResult("expect_dataset_to_have_rows", None, rows > 0, observed, dataset)


def footer_result(path: Path, name: str, spec: SchemaSpec) -> ExpectationResult:
    """Whether the file's footer names ``spec`` and its version."""
    expected = (spec.name, spec.version)
    try:
        found = schema_of_file(str(path))
    except (pa.ArrowException, OSError):
        found = ("", "")
    observed = f"{found[0]} {found[1]}" if any(found) else "no medloom schema in the footer"
    return ExpectationResult(
        "expect_file_footer_to_name_schema", None, found == expected, observed, name
    )


def unreadable_result(name: str) -> ExpectationResult:
    observed = "not a readable Parquet file"
    return ExpectationResult("expect_file_to_be_readable_parquet", None, False, observed, name)


def read_shard(path: Path) -> pa.Table | None:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError):
        return None


# The columns the row checks read besides the text (of which only lengths and shares are kept).
CHECKED_COLUMNS = ("id", "kind", "language", "length")


@dataclass(frozen=True)
class _PretrainShard:
    """A shard's schema, the columns checked but the text, and what the checks need of it."""

    schema: pa.Schema
    columns: pa.Table
    text_length: pa.Array | None  # null for a null text; None without a text column
    cjk_share: pa.Array | None


def _read_pretrain_shard(path: Path, with_cjk_share: bool) -> _PretrainShard | None:
    """The shard at ``path``, its texts read a row group at a time: never all in memory.

    Of the other columns only those checked are read: the rest (titles, heading paths) would
    hold memory in proportion to the shard for nothing.
    """
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        columns = parquet.read(columns=[c for c in CHECKED_COLUMNS if c in schema.names])
        if "text" not in schema.names:
            return _PretrainShard(schema, columns, None, None)
        lengths, shares = [], []
        # Row group by row group: a batch reader over the whole file held most of its texts.
        for group in range(parquet.num_row_groups):
            texts = parquet.read_row_group(group, columns=["text"]).column(0)
            lengths.append(pc.utf8_length(texts).combine_chunks())
            if with_cjk_share:
                shares.append(cjk_share(texts))
    except (pa.ArrowException, OSError):
        return None
    length_type = pa.int64() if pa.types.is_large_string(schema.field("text").type) else pa.int32()
    return _PretrainShard(
        schema,
        columns,
        pa.concat_arrays(lengths) if lengths else pa.array([], length_type),
        pa.concat_arrays(shares) if shares else pa.array([], pa.float64()),
    )


def _validate_shard(
    batches: Any,
    shard: _PretrainShard,
    name: str,
    length: LengthFilterConfig,
    cjk: CjkFilterConfig,
) -> list[ExpectationResult]:
    import great_expectations.expectations as gxe

    # GE fingerprints every frame it validates (seconds for a large shard), so the column
    # names are checked on an empty frame and the rows on only the columns checked.
    columns_check = gxe.ExpectTableColumnsToMatchOrderedList(
        column_list=PRETRAIN_DOCUMENT.column_names
    )
    names = shard.schema.names
    empty = shard.schema.empty_table().to_pandas()
    results = run_checks(batches, empty, [columns_check], name, names, PRETRAIN_DOCUMENT)

    checked = [c for c in ("id", "text", "kind", "language", "length") if c in names]
    # Of the text only its nulls are checked on the frame: its length (null for a null
    # text) stands in, so pandas never holds a shard's texts as Python strings.
    rows = pa.table(
        {c: shard.text_length if c == "text" else shard.columns.column(c) for c in checked}
    )
    checks: list[Any] = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in checked]
    if "id" in names:
        checks.append(gxe.ExpectColumnValuesToBeUnique(column="id"))
    if "length" in names and length.enabled:
        checks.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="length", min_value=length.min_chars, max_value=length.max_chars
            )
        )
    if "text" in names and "length" in names:
        rows = rows.append_column("text_length", shard.text_length)
        checks.append(
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="length", column_B="text_length", ignore_row_if="either_value_is_missing"
            )
        )
    if "text" in names and "language" in names and cjk.enabled:
        rows = rows.append_column("cjk_share", shard.cjk_share)
        checks.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="cjk_share",
                min_value=cjk.min_fraction,
                row_condition='language=="zh"',
                condition_parser="pandas",
            )
        )
    return results + run_checks(batches, rows.to_pandas(), checks, name, names, PRETRAIN_DOCUMENT)


def cjk_share(text: pa.ChunkedArray) -> pa.Array:
    """Each text's share of CJK characters among its non-space characters, as the CJK filter
    measures it (``pipelines/filters/cjk.py``): Han and CJK punctuation, by the filters' own
    character classes. Null for a null text, 0 for a text of spaces only.
    """
    shares: list[pa.Array] = []
    for chunk in text.chunks:
        for start in range(0, len(chunk), SHARE_BATCH_ROWS):
            shares.append(_cjk_share_batch(chunk.slice(start, SHARE_BATCH_ROWS)))
    return pa.concat_arrays(shares) if shares else pa.array([], pa.float64())


def _cjk_share_batch(texts: pa.Array) -> pa.Array:
    # The batch's texts end to end, decoded at once from the array's UTF-8 data (no Python
    # string per text); per-text counts of each character class in one bincount.
    if pa.types.is_null(texts.type):
        texts = texts.cast(pa.string())
    nulls = texts.is_null().to_numpy(zero_copy_only=False)
    filled = texts.fill_null("") if texts.null_count else texts
    _, offsets, data = filled.buffers()
    width = np.int64 if pa.types.is_large_string(filled.type) else np.int32
    bounds = np.frombuffer(offsets, width)[filled.offset : filled.offset + len(filled) + 1]
    first, last = (int(bounds[0]), int(bounds[-1])) if len(filled) else (0, 0)
    joined = data.to_pybytes()[first:last].decode("utf-8") if last > first else ""
    classes = char_classes(joined, codepoints(joined))
    lengths = pc.utf8_length(filled).to_numpy().astype(np.int64)
    owner = np.repeat(np.arange(len(filled), dtype=np.int64), lengths)
    kinds = len(CharClass)
    counts = np.bincount(owner * kinds + classes, minlength=len(filled) * kinds)
    counts = counts.reshape(len(filled), kinds)
    cjk = counts[:, list(CJK_CLASSES)].sum(axis=1)
    non_space = lengths - counts[:, CharClass.SPACE]
    share = np.where(non_space > 0, cjk / np.maximum(non_space, 1), 0.0)
    return pa.array(share, pa.float64(), mask=nulls)


def run_checks(
    batches: Any, frame: Any, checks: list[Any], name: str, columns: list[str], spec: SchemaSpec
) -> list[ExpectationResult]:
    """Run great-expectations ``checks`` on ``frame`` (from file ``name``), in their order."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{spec.name}:{name}")
    for check in checks:
        suite.add_expectation(check)
    batch = batches.get_batch(batch_parameters={"dataframe": frame})
    outcome = batch.validate(suite, result_format="SUMMARY")
    order = {_key(c.configuration.type, c.configuration.kwargs): i for i, c in enumerate(checks)}
    ordered = sorted(
        outcome.results,
        key=lambda r: order[_key(r.expectation_config.type, r.expectation_config.kwargs)],
    )
    return [_result(r, name, columns, spec) for r in ordered]


def _key(kind: str, kwargs: dict[str, Any]) -> tuple[str, str]:
    return kind, str(kwargs.get("column") or kwargs.get("column_A") or "")


def _result(r: Any, name: str, columns: list[str], spec: SchemaSpec) -> ExpectationResult:
    config = r.expectation_config
    kind = config.type
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    info = r.exception_info or {}
    if info.get("raised_exception"):
        # GE's message may quote values, so only the fact is reported.
        observed = "could not be checked: great-expectations raised an error"
    elif kind == "expect_table_columns_to_match_ordered_list":
        observed = _column_mismatch(columns, spec)
    else:
        observed = _unexpected_rows(dict(r.result), _condition(kind, config.kwargs))
    return ExpectationResult(kind, column, bool(r.success), observed, name)


def _column_mismatch(columns: list[str], spec: SchemaSpec) -> str:
    expected = spec.column_names
    if columns == expected:
        return f"{len(columns)} columns as in {spec.name}"
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    return "; ".join(parts) or "columns out of order: " + ", ".join(columns)


def _condition(kind: str, kwargs: dict[str, Any]) -> str:
    """What an unexpected row is, in words."""
    if kind == "expect_column_values_to_be_unique":
        return "share their value with another row"
    if kind == "expect_column_values_to_not_be_null":
        return "are null"
    if kind == "expect_column_pair_values_to_be_equal":
        derived = DERIVED_NAMES.get(kwargs.get("column_B"), kwargs.get("column_B"))
        return f"have {kwargs.get('column_A')} != {derived}"
    if kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(str(v) for v in kwargs.get("value_set") or [])
        return f"are not one of {allowed}"
    if kind == "expect_column_values_to_be_between":
        low, high = _number(kwargs.get("min_value")), _number(kwargs.get("max_value"))
        return f"are outside [{low}, {high}]" if high else f"are below {low}"
    return "are unexpected"


def _unexpected_rows(result: dict[str, Any], condition: str) -> str:
    unexpected = int(result.get("unexpected_count") or 0)
    total = int(result.get("element_count") or 0)
    if not unexpected:
        return f"{total} {_plural(total, 'row')} checked, none unexpected"
    positions = result.get("partial_unexpected_index_list") or []
    shown = ", ".join(str(int(p)) for p in positions[:POSITIONS_SHOWN])
    more = ", ..." if unexpected > min(len(positions), POSITIONS_SHOWN) else ""
    return (
        f"{unexpected} of {total} {_plural(total, 'row')} ({_percent(unexpected, total)}) "
        f"{condition}, at {_plural(unexpected, 'row')} {shown}{more}"
    )


class _LoadedOnFirstUse(types.ModuleType):
    """Stands in ``sys.modules`` for a module until an attribute of it is asked for.

    Then the real module is imported (it replaces this one in ``sys.modules``) and the
    attribute is taken from it, so code holding this stand-in works as with the module.
    """

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)


def import_great_expectations() -> types.ModuleType:
    """``great_expectations``, imported without loading ``DEFERRED_MODULES`` until used."""
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_MODULES:
            if name not in sys.modules:
                sys.modules[name] = _LoadedOnFirstUse(name)
    return importlib.import_module("great_expectations")


def dataframe_batches() -> Any:
    """A GE batch definition for whole pandas frames, in an in-memory context.

    The context writes no gx/ folder, shows no progress bars and sends no usage statistics.
    """
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    project = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(project_config=project, mode="ephemeral")
    asset = context.data_sources.add_pandas("medloom").add_dataframe_asset("shard")
    return asset.add_batch_definition_whole_dataframe("whole")


def _percent(part: int, whole: int) -> str:
    """A share that stays non-zero when it is: 2 of 4,140 is 0.048%, not 0.0%."""
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 else f"{share:.2g}%"


def _number(value: Any) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
