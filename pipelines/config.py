"""YAML configs mapped one to one onto dataclasses, validated on load.

A wrong key or a wrong type is reported with its full path in the file
(``sources[1].encoding: expected one of ...``), never as a traceback.
"""

from __future__ import annotations

import codecs
import dataclasses
import string
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from pipelines.dedup.config import DecontamConfig, NearDedupConfig
from pipelines.deid.config import DeidConfig
from pipelines.errors import ConfigError
from pipelines.filters.config import FiltersConfig
from pipelines.normalize import NormalizeConfig

SourceFormat = Literal["auto", "text", "markdown", "latex", "json", "jsonl", "csv", "parquet"]
SourceKind = Literal["textbook", "record", "encyclopedia", "qa", "dialogue", "exam", "other"]


@dataclass
class FieldMapping:
    """Where a structured record (JSON, JSONL, CSV, Parquet) keeps its text, id and title.

    ``text`` names one field or several (joined by ``joiner``), or use ``template``
    (``"问：{ask}\\n答：{answer}"``) to turn a QA pair into one document; a template wins
    over ``text``. A name may be a dotted path into nested objects, and a path through a
    list takes the field from each element (``conversations.value``); list values are
    joined with ``joiner``. Without ``id`` a record is named by its file and position.
    """

    text: list[str] = field(default_factory=lambda: ["text"])
    id: str | None = None
    title: str | None = None
    template: str | None = None
    joiner: str = "\n"

    def __post_init__(self) -> None:
        if not self.text or any(not name for name in self.text):
            raise ConfigError("fields.text: expected one or more field names")
        if self.template is not None:
            self.template_pieces()

    def template_pieces(self) -> list[tuple[str, str]]:
        """The template as (literal text, field name) pairs; the last name may be empty."""
        try:
            parsed = list(string.Formatter().parse(self.template or ""))
        except ValueError as exc:
            raise ConfigError(f"fields.template: {exc}") from None
        if any(name == "" or spec or conversion for _, name, spec, conversion in parsed):
            raise ConfigError(
                "fields.template: use plain field names such as {answer}, "
                "without positions, formats or conversions"
            )
        pieces = [(literal, name or "") for literal, name, _, _ in parsed]
        if not any(name for _, name in pieces):
            raise ConfigError("fields.template: names no field")
        return pieces


@dataclass
class LatexOptions:
    """How LaTeX sources are turned into text: math kept as readable text or dropped."""

    math: Literal["keep", "drop"] = "keep"


@dataclass
class SourceConfig:
    """One input: a file, a folder searched recursively, or a glob (local or gs:// ...).

    ``encoding`` "auto" decides per file between UTF-8 (with or without BOM) and GB18030.
    ``text_record`` splits plain text files into records: the whole file, each non-blank
    line, or each block of lines separated by blank lines. ``csv_delimiter`` defaults to a
    tab for .tsv files and a comma otherwise.
    """

    name: str
    path: str
    kind: SourceKind = "other"
    format: SourceFormat = "auto"
    encoding: str = "auto"
    fields: FieldMapping = field(default_factory=FieldMapping)
    latex: LatexOptions = field(default_factory=LatexOptions)
    text_record: Literal["file", "line", "paragraph"] = "file"
    csv_delimiter: str | None = None
    # Higher wins when exact duplicates are resolved across sources.
    priority: int = 0

    def __post_init__(self) -> None:
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ConfigError(
                    f"source {self.name!r}: unknown encoding {self.encoding!r} "
                    "(use auto, utf-8, gb18030, ...)"
                ) from None
        if self.csv_delimiter is not None and len(self.csv_delimiter) != 1:
            raise ConfigError(
                f"source {self.name!r}: csv_delimiter must be one character, "
                f"got {self.csv_delimiter!r}"
            )


@dataclass
class ChunkingConfig:
    """Documents longer than ``max_chars`` characters are split at section, paragraph,
    line and sentence boundaries; pieces of one section under ``min_chars`` are merged."""

    max_chars: int = 4000
    min_chars: int = 200

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ConfigError(f"chunking.max_chars: expected at least 1, got {self.max_chars}")
        if not 0 <= self.min_chars <= self.max_chars:
            raise ConfigError(
                f"chunking.min_chars: expected 0 to max_chars ({self.max_chars}), "
                f"got {self.min_chars}"
            )


@dataclass
class DedupConfig:
    exact: bool = True
    # Off by default in the corpus pipeline until it is fast enough (issue 4).
    near: NearDedupConfig = field(default_factory=lambda: NearDedupConfig(enabled=False))


@dataclass
class OutputConfig:
    # 0 derives the number of shards from the input size (about 64 MB of input each).
    shards: int = 0
    excerpt_chars: int = 80


@dataclass
class CorpusConfig:
    """The corpus pipeline: sources in, a pretraining dataset out."""

    sources: list[SourceConfig]
    pipeline: Literal["corpus"] = "corpus"
    name: str = "corpus"
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    filters: FiltersConfig = field(default_factory=FiltersConfig)
    deid: DeidConfig = field(default_factory=DeidConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # Evaluation sets whose text must not be trained on (off unless eval_sets are named).
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML config file, or a one-line ConfigError."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def config_pipeline(path: str | Path) -> str:
    """Which pipeline a config is for: its ``pipeline`` key, ``corpus`` when absent."""
    pipeline = load_yaml_mapping(Path(path)).get("pipeline", "corpus")
    if pipeline not in ("corpus", "dialogues"):
        raise ConfigError(f"{path}: pipeline: expected corpus or dialogues, got {pipeline!r}")
    return pipeline


def load_corpus_config(path: str | Path) -> CorpusConfig:
    """Read and validate a corpus pipeline YAML; relative source paths resolve against it."""
    path = Path(path)
    config = from_dict(CorpusConfig, load_yaml_mapping(path), where=str(path))
    for source in config.sources:
        source.path = resolve_path(source.path, path.parent)
    for eval_set in config.decontam.eval_sets:
        eval_set.paths = [resolve_path(p, path.parent) for p in eval_set.paths]
    return config


def resolve_path(value: str, base: Path) -> str:
    """``value`` resolved against a config's folder, unless absolute or a URL (gs://)."""
    if "://" in value or Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def from_dict(cls: type, raw: Any, where: str = "config") -> Any:
    """Build dataclass ``cls`` from plain data, naming the first bad key or value."""
    return _convert(cls, raw, where)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, where)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: expected one of {list(allowed)}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, str) and item is str:
            return [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {
            _convert(key_tp, k, f"{where} key {k!r}"): _convert(val_tp, v, f"{where}.{k}")
            for k, v in value.items()
        }
    return _convert_scalar(tp, value, where)


def _convert_scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Any:
        return value
    raise ConfigError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r}")


def _convert_dataclass(cls: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in value if k not in fields]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key {name!r}")
    return cls(**kwargs)
