"""The composite transforms the pipelines are assembled from.

Each stage is a small DoFn wrapped in a named PTransform; the logic lives in plain
functions elsewhere (readers, normalize, chunking, filters, deid) so it can be tested
without Beam. Every record a stage drops leaves it as a reject row with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.chunking import split_document
from pipelines.config import CorpusConfig, SourceConfig
from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn, length_bucket
from pipelines.normalize import normalize_text
from pipelines.readers import read_file
from pipelines.records import SourceRecord, Unreadable

QUARANTINED = "quarantined"
REJECTED = "rejected"
INPUTS = "inputs"

Document = dict[str, Any]


def document_id(source: str, source_record_id: str, chunk_index: int) -> str:
    """A stable id for a document: the same record and chunk always get the same id."""
    key = f"{source}\x1f{source_record_id}\x1f{chunk_index}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def reject(
    document: Document,
    stage: str,
    reason: str,
    detail: str | None,
    excerpt_chars: int,
    with_excerpt: bool,
) -> dict[str, Any]:
    """A reject row for ``document``; the excerpt only from text that is safe to show."""
    return {
        "id": document["id"],
        "source": document["source"],
        "source_record_id": document["source_record_id"],
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "excerpt": document["text"][:excerpt_chars] if with_excerpt else None,
    }


def _file_digest(path: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with FileSystems.open(path) as stream:
        while block := stream.read(1 << 20):
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


def _read_or_quarantine(path: str, source: SourceConfig) -> Iterator[SourceRecord | Unreadable]:
    """The file's records; a file that fails to read part-way ends in one Unreadable."""
    try:
        yield from read_file(path, source)
    except OSError as exc:
        yield Unreadable(path, None, "unreadable_file", type(exc).__name__)


class _ReadFile(CountingDoFn):
    def __init__(self, sources: list[SourceConfig]) -> None:
        self._sources = {s.name: s for s in sources}

    def process(self, element: tuple[str, str]) -> Iterator[Any]:
        source_name, path = element
        source = self._sources[source_name]
        records = quarantined = 0
        for item in _read_or_quarantine(path, source):
            records += 1
            self.count(source_name, "records_read")
            if isinstance(item, Unreadable):
                quarantined += 1
                self.count(source_name, f"quarantined/{item.reason}")
                yield beam.pvalue.TaggedOutput(
                    QUARANTINED,
                    {
                        "source": source_name,
                        "path": item.path,
                        "line": item.line,
                        "reason": item.reason,
                        "detail": item.detail or None,
                    },
                )
            else:
                yield source_name, item
        size, sha256 = _file_digest(path)
        yield beam.pvalue.TaggedOutput(
            INPUTS,
            {
                "source": source_name,
                "path": path,
                "bytes": size,
                "sha256": sha256,
                "records": records,
                "quarantined": quarantined,
            },
        )


class ReadSources(beam.PTransform):
    """(source name, file path) pairs → (source name, SourceRecord); quarantine; inputs."""

    def __init__(self, files: list[tuple[str, str]], sources: list[SourceConfig]) -> None:
        super().__init__()
        self._files = files
        self._sources = sources

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFile"
            >> beam.ParDo(_ReadFile(self._sources)).with_outputs(
                QUARANTINED, INPUTS, STATS, main="records"
            )
        )


class _NormaliseAndChunk(CountingDoFn):
    def __init__(self, config: CorpusConfig) -> None:
        self._config = config
        self._kinds = {s.name: s.kind for s in config.sources}

    def process(self, element: tuple[str, SourceRecord]) -> Iterator[Any]:
        source, record = element
        normalise, chunking = self._config.normalize, self._config.chunking
        text = normalize_text(record.text, normalise)
        title = normalize_text(record.title, normalise) if record.title else None
        chunks = split_document(text, record.heading_path, chunking.max_chars, chunking.min_chars)
        for index, chunk in enumerate(chunks):
            self.count(source, "documents")
            self.count(ALL_SOURCES, f"length_before/{length_bucket(len(chunk.text))}")
            yield {
                "id": document_id(source, record.source_record_id, index),
                "text": chunk.text,
                "source": source,
                "source_record_id": record.source_record_id,
                "kind": self._kinds[source],
                "language": "und",
                "length": len(chunk.text),
                "title": title,
                "heading_path": list(chunk.heading_path),
                "chunk_index": index,
                "chunk_count": len(chunks),
            }


class NormaliseAndChunk(beam.PTransform):
    """SourceRecords → documents: normalised text split into pieces of bounded length."""

    def __init__(self, config: CorpusConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return records | "NormaliseAndChunk" >> beam.ParDo(
            _NormaliseAndChunk(self._config)
        ).with_outputs(STATS, main="documents")


class _ApplyFilters(CountingDoFn):
    def __init__(self, config: CorpusConfig, with_excerpt: bool) -> None:
        self._config = config
        self._with_excerpt = with_excerpt

    def setup(self) -> None:
        from pipelines.filters import FilterChain

        self._chain = FilterChain(self._config.filters)

    def process(self, document: Document) -> Iterator[Any]:
        outcome = self._chain.run(document["text"])
        for edit, n in outcome.edits.items():
            self.count(document["source"], f"edits/{edit}", n)
        if outcome.rejected_by is not None:
            reason = f"{outcome.rejected_by}.{outcome.reason}"
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                reject(
                    document,
                    "filter",
                    reason,
                    outcome.detail,
                    self._config.output.excerpt_chars,
                    self._with_excerpt,
                ),
            )
            return
        if outcome.text != document["text"]:
            document = {**document, "text": outcome.text, "length": len(outcome.text)}
        yield {**document, "language": outcome.language}


class ApplyFilters(beam.PTransform):
    """Quality filters; each drop becomes a reject with stage ``filter`` and its reason."""

    def __init__(self, config: CorpusConfig, with_excerpt: bool) -> None:
        super().__init__()
        self._config = config
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "Filter" >> beam.ParDo(
            _ApplyFilters(self._config, self._with_excerpt)
        ).with_outputs(REJECTED, STATS, main="kept")


class CountLengths(beam.PTransform):
    """Stats of the length histogram ``name`` over documents."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def expand(self, documents: beam.PCollection) -> beam.PCollection:
        name = self._name
        return documents | "Bucket" >> beam.Map(
            lambda d: ((ALL_SOURCES, f"{name}/{length_bucket(d['length'])}"), 1)
        )
