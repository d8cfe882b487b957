"""Readers: one module per input format, one entry point.

``resolve_inputs(source)`` lists a source's files; ``read_file(path, source)`` yields a
``SourceRecord`` for every readable record and an ``Unreadable`` for every record (or
file) that cannot be read, each exactly once, so a run can account for all of them.
Files are opened through Beam's ``FileSystems`` (local paths, gs:// and the other
registered schemes), and a ``.gz``/``.bz2``/``.zst``/``.xz`` suffix is decompressed on
the fly. Record ids are relative to the source's root, so they do not depend on where the
data sits: ``chapter3.md``, ``qa/train.jsonl:17``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import BeamIOError, FileSystems

from pipelines.config import SourceConfig
from pipelines.errors import MedloomError
from pipelines.readers.delimited import read_delimited
from pipelines.readers.encoding import (
    Undecodable,
    choose_encoding,
    decode_document,
    read_all,
    text_lines,
)
from pipelines.readers.fields import Mapper, RecordMapper
from pipelines.readers.json_array import read_json
from pipelines.readers.jsonl import read_jsonl
from pipelines.readers.latex import latex_to_text
from pipelines.readers.markdown import markdown_to_text
from pipelines.readers.parquet import read_parquet
from pipelines.readers.text import read_lines, read_paragraphs
from pipelines.records import SourceRecord, Unreadable

__all__ = ["EXTENSIONS", "detect_format", "read_file", "relative_path", "resolve_inputs"]

EXTENSIONS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".tex": "latex",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
}
_COMPRESSED = (".gz", ".bz2", ".deflate", ".zst", ".zstd", ".xz", ".lzma")
_GLOB = re.compile(r"[*?\[]")


def resolve_inputs(source: SourceConfig) -> list[str]:
    """The files of ``source``, sorted: its path as a file, a folder (recursive) or a glob.

    Hidden files and folders are skipped; so are, in a folder read with format "auto",
    files whose extension names no format. A file named directly or by a glob whose format
    cannot be told is an error here, before any reading starts.
    """
    root = _root(source.path)
    glob = bool(_GLOB.search(source.path))
    try:
        paths = _match(source.path if glob else source.path.rstrip("/") + "/**")
        folder = not glob and (bool(paths) or _is_local_folder(source.path))
        if not glob and not folder:
            paths = _match(source.path)
    except BeamIOError as exc:
        reason = str(exc).splitlines()[0]
        raise MedloomError(f"source {source.name!r}: cannot list {source.path}: {reason}") from None
    if glob or folder:
        paths = [p for p in paths if not _hidden(_relative(p, root))]
    if folder and source.format == "auto":
        paths = [p for p in paths if _format_by_extension(p) is not None]
    if not paths:
        raise MedloomError(f"source {source.name!r}: path not found: {source.path}")
    for path in paths:
        detect_format(path, source)
    return sorted(set(paths))


def detect_format(path: str, source: SourceConfig) -> str:
    """The format of ``path``: the source's ``format`` unless "auto", else by extension."""
    if source.format != "auto":
        return source.format
    found = _format_by_extension(path)
    if found is None:
        known = ", ".join(EXTENSIONS)
        raise MedloomError(
            f"source {source.name!r}: cannot tell the format of {path} from its extension "
            f"({known}); set `format:` on the source"
        )
    return found


def relative_path(path: str, source: SourceConfig) -> str:
    """``path`` relative to the source's root (the folder, the glob's folder, or the file's)."""
    if path == source.path:
        return _relative(path, _parent(path))
    return _relative(path, _root(source.path))


def read_file(
    path: str, source: SourceConfig, mapper: Mapper | None = None
) -> Iterator[SourceRecord | Unreadable]:
    """Every record of one file, as SourceRecord or Unreadable, each exactly once.

    ``mapper`` turns what the file holds into records (default: the source's field mapping
    into SourceRecords; the dialogue pipeline passes one that makes dialogues).
    An empty file, or one holding no record (only blank lines, ``[]``, a header row),
    yields one ``Unreadable(reason="empty_file")``.
    """
    file_format = detect_format(path, source)
    rel = relative_path(path, source)
    mapper = mapper or RecordMapper(source.fields)
    empty = True
    with FileSystems.open(path, compression_type=_compression(path)) as stream:
        for item in _read_stream(stream, file_format, path, rel, source, mapper):
            empty = False
            yield item
    if empty:
        yield Unreadable(path, None, "empty_file")


def _read_stream(
    stream: BinaryIO, file_format: str, path: str, rel: str, source: SourceConfig, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    for item in _read_structure(stream, file_format, path, rel, source, mapper):
        if type(item) is SourceRecord:
            yield from mapper.from_text(item, path)
        else:
            yield item


def _read_structure(
    stream: BinaryIO, file_format: str, path: str, rel: str, source: SourceConfig, mapper: Mapper
) -> Iterator[SourceRecord | Unreadable]:
    if file_format == "parquet":
        yield from read_parquet(stream, path, rel, mapper)
        return
    line_by_line = file_format in ("jsonl", "csv") or (
        file_format == "text" and source.text_record != "file"
    )
    if line_by_line:
        lines = text_lines(stream, source.encoding)
        if file_format == "jsonl":
            yield from read_jsonl(lines, path, rel, mapper)
        elif file_format == "csv":
            yield from read_delimited(lines, path, rel, mapper, _delimiter(path, source))
        elif source.text_record == "line":
            yield from read_lines(lines, path, rel)
        else:
            yield from read_paragraphs(lines, path, rel)
        return
    data = read_all(stream)
    try:
        text = decode_document(data, choose_encoding(data, source.encoding))
    except Undecodable as exc:
        yield Unreadable(path, exc.line, "undecodable", exc.detail)
        return
    if not text.strip():
        return
    if file_format == "json":
        yield from read_json(text, path, rel, mapper)
        return
    try:
        yield SourceRecord(source_record_id=rel, text=_document_text(text, file_format, source))
    except RecursionError:
        yield Unreadable(path, None, "malformed_latex", "braces nested too deep")


def _document_text(text: str, file_format: str, source: SourceConfig) -> str:
    # Universal newlines, as Python's text mode reads them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if file_format == "markdown":
        return markdown_to_text(text)
    if file_format == "latex":
        return latex_to_text(text, source.latex.math)
    return text


def _delimiter(path: str, source: SourceConfig) -> str:
    if source.csv_delimiter is not None:
        return source.csv_delimiter
    return "\t" if _strip_compression(path).lower().endswith(".tsv") else ","


def _format_by_extension(path: str) -> str | None:
    _, extension = posixpath.splitext(_strip_compression(path).lower())
    return EXTENSIONS.get(extension)


def _strip_compression(path: str) -> str:
    lowered = path.lower()
    for suffix in _COMPRESSED:
        if lowered.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _compression(path: str) -> str:
    # Parquet compresses inside the file; anything else is detected by its suffix.
    if path.lower().endswith(".parquet"):
        return CompressionTypes.UNCOMPRESSED
    return CompressionTypes.AUTO


def _match(pattern: str) -> list[str]:
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def _is_local_folder(path: str) -> bool:
    return "://" not in path and os.path.isdir(path)


def _root(path: str) -> str:
    """The folder that files found under a source's ``path`` are named relative to."""
    glob = _GLOB.search(path)
    return _parent(path[: glob.start()]) if glob else path.rstrip("/")


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _relative(path: str, root: str) -> str:
    if "://" not in path and "://" not in root:
        return os.path.relpath(path, root or ".").replace(os.sep, "/")
    return path[len(root) :].lstrip("/") if root and path.startswith(root) else path


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative.split("/"))
