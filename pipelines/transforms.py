"""The composite transforms the pipelines are assembled from.

Each stage is a small DoFn wrapped in a named PTransform; the logic lives in plain
functions elsewhere (readers, normalize, chunking, filters, deid) so it can be tested
without Beam. Every record a stage drops leaves it as a reject row with its reason.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.chunking import split_document
from pipelines.config import CorpusConfig, SourceConfig
from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn, length_bucket
from pipelines.deid import DeidConfig, Deidentifier, LeakGate
from pipelines.hashing import document_id, text_key
from pipelines.normalize import NormalizeConfig, normalize_text
from pipelines.readers import read_file
from pipelines.readers.fields import Mapper
from pipelines.records import SourceRecord, Unreadable

QUARANTINED = "quarantined"
# Reading logs its progress this often, on this logger (the CLI shows it).
PROGRESS_SECONDS = 5.0
progress_log = logging.getLogger("medloom.progress")
REJECTED = "rejected"
INPUTS = "inputs"

Document = dict[str, Any]
# What the stages from reading to filtering pass on: (source name, records of one file).
RecordBatch = tuple[str, list[SourceRecord]]


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


def _read_or_quarantine(
    path: str, source: SourceConfig, mapper: Mapper | None
) -> Iterator[SourceRecord | Unreadable]:
    """The file's records; a file that fails to read part-way ends in one Unreadable."""
    try:
        yield from read_file(path, source, mapper)
    except OSError as exc:
        yield Unreadable(path, None, "unreadable_file", type(exc).__name__)


class ReadProgress:
    """Logs, at most every ``every_s`` seconds, how many records this worker has read."""

    def __init__(self, every_s: float = PROGRESS_SECONDS) -> None:
        self._every_s = every_s
        self._last = time.monotonic()
        self.records = self.files = 0

    def record(self) -> None:
        self.records += 1
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self._last = now
            progress_log.info(
                "read %s records from %s files so far (%s done)",
                f"{self.records:,}",
                self.files + 1,
                self.files,
            )

    def file_done(self) -> None:
        self.files += 1


class _ReadFile(CountingDoFn):
    def __init__(
        self,
        sources: list[SourceConfig],
        mapper: Callable[[Any], Mapper] | None,
        batch_size: int | None,
    ) -> None:
        self._sources = {s.name: s for s in sources}
        self._mapper = mapper
        self._batch_size = batch_size

    def setup(self) -> None:
        super().setup()
        make = self._mapper
        self._mappers = {name: make(s) if make else None for name, s in self._sources.items()}
        self._progress = ReadProgress()

    def process(self, element: tuple[str, str]) -> Iterator[Any]:
        source_name, path = element
        source = self._sources[source_name]
        records = quarantined = 0
        batch: list[Any] = []
        for item in _read_or_quarantine(path, source, self._mappers[source_name]):
            records += 1
            self._progress.record()
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
            elif self._batch_size is None:
                yield source_name, item
            else:
                batch.append(item)
                if len(batch) == self._batch_size:
                    yield source_name, batch
                    batch = []
        if batch:
            yield source_name, batch
        self._progress.file_done()
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
    """(source name, file path) pairs → (source name, record); quarantine; inputs.

    Records are SourceRecords, or what ``mapper(source)`` makes of each source's files
    (the dialogue pipeline's DialogueMapper). With ``batch_size``, each element is
    (source name, list of up to ``batch_size`` records of one file), so the stages after
    pay Beam's per-element cost once per batch.
    """

    def __init__(
        self,
        files: list[tuple[str, str]],
        sources: list[SourceConfig],
        mapper: Callable[[Any], Mapper] | None = None,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        self._files = files
        self._sources = sources
        self._mapper = mapper
        self._batch_size = batch_size

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFile"
            >> beam.ParDo(_ReadFile(self._sources, self._mapper, self._batch_size)).with_outputs(
                QUARANTINED, INPUTS, STATS, main="records"
            )
        )


class _Normalise(beam.DoFn):
    def __init__(self, config: NormalizeConfig) -> None:
        self._config = config

    def process(self, element: RecordBatch) -> Iterator[RecordBatch]:
        source, records = element
        yield source, [self._normalise(record) for record in records]

    def _normalise(self, record: SourceRecord) -> SourceRecord:
        text = normalize_text(record.text, self._config)
        title = normalize_text(record.title, self._config) if record.title else None
        # Most records come out as they went in (normalize_text returns the same string).
        if text is record.text and title is record.title:
            return record
        return replace(record, text=text, title=title)


class Normalise(beam.PTransform):
    """Unicode, script, whitespace and HTML normalisation of each record's text and title.

    Elements are batches: (source name, list of SourceRecords).
    """

    def __init__(self, config: NormalizeConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Normalise" >> beam.ParDo(_Normalise(self._config))


class _Deidentify(CountingDoFn):
    def __init__(self, config: DeidConfig, secret: bytes) -> None:
        self._config = config
        self._secret = secret

    def setup(self) -> None:
        super().setup()
        self._engine = Deidentifier(self._config, self._secret)

    def process(self, element: RecordBatch) -> Iterator[RecordBatch]:
        source, records = element
        yield source, [self._deidentify(record) for record in records]

    def _deidentify(self, record: SourceRecord) -> SourceRecord:
        # Keyed on the content, so identical records get identical surrogates and date
        # shifts and stay duplicates of each other.
        doc_key = text_key(record.text)
        text, counts = self._engine.apply(record.text, doc_key)
        title = record.title
        if title:
            title, title_counts = self._engine.apply(title, doc_key)
            counts = dict(Counter(counts) + Counter(title_counts))
        for category, n in counts.items():
            self.count(ALL_SOURCES, f"deid/{category}", n)
        return replace(record, text=text, title=title)


class Deidentify(beam.PTransform):
    """Replace personal identifiers in text and title before any later stage sees them.

    Elements are batches: (source name, list of SourceRecords).
    """

    def __init__(self, config: DeidConfig, secret: bytes) -> None:
        super().__init__()
        self._config = config
        self._secret = secret

    def expand(self, records: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return records | "Deidentify" >> beam.ParDo(
            _Deidentify(self._config, self._secret)
        ).with_outputs(STATS, main="records")


class _Chunk(CountingDoFn):
    def __init__(self, config: CorpusConfig) -> None:
        self._chunking = config.chunking
        self._kinds = {s.name: s.kind for s in config.sources}

    def process(self, element: RecordBatch) -> Iterator[list[Document]]:
        source, records = element
        yield [document for record in records for document in self._documents(source, record)]

    def _documents(self, source: str, record: SourceRecord) -> Iterator[Document]:
        chunking = self._chunking
        chunks = split_document(
            record.text, record.heading_path, chunking.max_chars, chunking.min_chars
        )
        for index, chunk in enumerate(chunks):
            self.count(source, "documents")
            self.count(ALL_SOURCES, f"length_before/{length_bucket(len(chunk.text))}")
            yield {
                "id": document_id(source, record.source_record_id, index, chunk.text),
                "text": chunk.text,
                "source": source,
                "source_record_id": record.source_record_id,
                "kind": self._kinds[source],
                "language": "und",
                "length": len(chunk.text),
                "title": record.title,
                "heading_path": list(chunk.heading_path),
                "chunk_index": index,
                "chunk_count": len(chunks),
            }


class Chunk(beam.PTransform):
    """Records → documents: text split into pieces of bounded length at section breaks.

    Batches in, batches out: (source name, list of SourceRecords) → list of documents.
    """

    def __init__(self, config: CorpusConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return records | "Chunk" >> beam.ParDo(_Chunk(self._config)).with_outputs(
            STATS, main="documents"
        )


class _ApplyFilters(CountingDoFn):
    def __init__(self, config: CorpusConfig, with_excerpt: bool) -> None:
        self._config = config
        self._with_excerpt = with_excerpt

    def setup(self) -> None:
        super().setup()
        from pipelines.filters import FilterChain

        self._chain = FilterChain(self._config.filters)

    def process(self, documents: list[Document]) -> Iterator[Any]:
        kept = []
        outcomes = self._chain.run_batch([document["text"] for document in documents])
        for document, outcome in zip(documents, outcomes, strict=True):
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
                continue
            if outcome.text != document["text"]:
                document = {**document, "text": outcome.text, "length": len(outcome.text)}
            kept.append({**document, "language": outcome.language})
        if kept:
            yield kept


class ApplyFilters(beam.PTransform):
    """Quality filters; each drop becomes a reject with stage ``filter`` and its reason.

    Batches of documents in; batches of kept documents out, one reject per drop.
    """

    def __init__(self, config: CorpusConfig, with_excerpt: bool) -> None:
        super().__init__()
        self._config = config
        self._with_excerpt = with_excerpt

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "Filter" >> beam.ParDo(
            _ApplyFilters(self._config, self._with_excerpt)
        ).with_outputs(REJECTED, STATS, main="kept")


def hold_leaks(
    gate: LeakGate, document: Document, count: Callable[[str, str, int], None]
) -> dict[str, Any] | None:
    """The leak gate's reject row for ``document``, None when it is clean; finds counted."""
    found = gate.scan(document["text"])
    if not found:
        return None
    for category, n in found.items():
        count(ALL_SOURCES, f"leak_gate/{category}", n)
    detail = ", ".join(f"{category}={n}" for category, n in sorted(found.items()))
    return reject(document, "leak_gate", "direct_identifier", detail, 0, False)


class _LeakGate(CountingDoFn):
    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret

    def setup(self) -> None:
        super().setup()
        self._gate = LeakGate(self._secret)

    def process(self, document: Document) -> Iterator[Any]:
        rejected = hold_leaks(self._gate, document, self.count)
        if rejected is None:
            yield document
        else:
            yield beam.pvalue.TaggedOutput(REJECTED, rejected)


class GuardLeaks(beam.PTransform):
    """The last scan before writing: a document with a direct identifier is held back."""

    def __init__(self, secret: bytes | None) -> None:
        super().__init__()
        self._secret = secret

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "ScanForLeaks" >> beam.ParDo(_LeakGate(self._secret)).with_outputs(
            REJECTED, STATS, main="clean"
        )


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
