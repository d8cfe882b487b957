"""The dialogue pipeline's own stages: prepare (normalise, de-identify, clean), decontaminate,
fit to the context budget and split. Reading, dedup, the leak gate and writing are shared
with the corpus pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from pipelines.counting import ALL_SOURCES, STATS, CountingDoFn
from pipelines.deid import DeidConfig, Deidentifier
from pipelines.dialogues.cleaning import TurnCleaner
from pipelines.dialogues.config import DialogueConfig
from pipelines.dialogues.context import fit_with_counts, load_counter
from pipelines.dialogues.departments import normalise_department
from pipelines.dialogues.records import (
    SYSTEM,
    USER,
    DialogueRecord,
    TaskSkip,
    Turn,
    dialogue_text,
)
from pipelines.hashing import document_id, stable_hash, text_key
from pipelines.normalize import normalize_text
from pipelines.transforms import REJECTED, Document, reject

TOKEN_EDGES = (0, 128, 256, 512, 1024, 2048, 3072, 4096, 8192, 16384)
TURN_EDGES = (2, 4, 6, 8, 10, 12, 16, 20, 30)


def bucket(value: int, edges: tuple[int, ...]) -> int:
    """Index of the last edge at or below ``value``."""
    index = 0
    for i, edge in enumerate(edges):
        if value >= edge:
            index = i
    return index


def first_user_turn(turns: list[Turn]) -> str:
    return next((text for role, text in turns if role == USER), "")


class _Prepare(CountingDoFn):
    """Normalise and de-identify every turn, clean the turns, map the department."""

    def __init__(self, config: DialogueConfig, secret: bytes | None, with_excerpt: bool) -> None:
        self._config = config
        self._secret = secret
        self._with_excerpt = with_excerpt

    def setup(self) -> None:
        deid: DeidConfig = self._config.deid
        self._engine = (
            Deidentifier(deid, self._secret) if deid.enabled and self._secret is not None else None
        )
        self._cleaner = TurnCleaner(self._config.cleaning)

    def process(
        self, element: tuple[str, DialogueRecord | tuple[DialogueRecord | TaskSkip, ...]]
    ) -> Iterator[Any]:
        """One dialogue, or the samples and skips a task builder made of one record."""
        source, made = element
        if isinstance(made, DialogueRecord):
            yield from self._prepare(source, made, 0)
            return
        for index, sample in enumerate(made):
            if isinstance(sample, TaskSkip):
                yield from self._skip(source, sample, index)
            else:
                yield from self._prepare(source, sample, index)

    def _skip(self, source: str, skip: TaskSkip, index: int) -> Iterator[Any]:
        self.count(source, "documents")
        document: Document = {
            "id": document_id(source, skip.source_record_id, index, skip.task),
            "source": source,
            "source_record_id": skip.source_record_id,
            "text": "",
        }
        yield beam.pvalue.TaggedOutput(
            REJECTED,
            reject(document, "tasks", skip.reason, skip.detail, 0, False),
        )

    def _prepare(self, source: str, record: DialogueRecord, index: int) -> Iterator[Any]:
        normalize = self._config.normalize
        turns = [(role, normalize_text(text, normalize)) for role, text in record.turns]
        if self._engine is not None:
            # One key for the whole conversation: a name is replaced by the same surrogate
            # in every turn, and identical conversations stay identical.
            doc_key = text_key(dialogue_text(turns))
            replaced = []
            for role, text in turns:
                text, counts = self._engine.apply(text, doc_key)
                for category, n in counts.items():
                    self.count(ALL_SOURCES, f"deid/{category}", n)
                replaced.append((role, text))
            turns = replaced
        self.count(source, "documents")
        text = dialogue_text(turns)
        dialogue: Document = {
            "id": document_id(source, record.source_record_id, index, text),
            "source": source,
            "source_record_id": record.source_record_id,
            "department": normalise_department(record.department),
            "task": record.task,
            "text": text,
        }
        cleaned = self._cleaner.clean(turns)
        for edit, n in cleaned.edits.items():
            self.count(source, f"edits/{edit}", n)
        if cleaned.reason is not None:
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                reject(
                    dialogue,
                    "clean",
                    cleaned.reason,
                    cleaned.detail,
                    self._config.output.excerpt_chars,
                    self._with_excerpt,
                ),
            )
            return
        dialogue["turns"] = cleaned.turns
        if cleaned.turns != turns:
            dialogue["text"] = dialogue_text(cleaned.turns)
        dialogue["first_turn"] = first_user_turn(cleaned.turns)
        yield dialogue


class PrepareDialogues(beam.PTransform):
    def __init__(self, config: DialogueConfig, secret: bytes | None, with_excerpt: bool) -> None:
        super().__init__()
        self._fn = _Prepare(config, secret, with_excerpt)

    def expand(self, records: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return records | "Prepare" >> beam.ParDo(self._fn).with_outputs(
            REJECTED, STATS, main="dialogues"
        )


def split_key(dialogue: Document) -> str:
    """What a sample's split is drawn by: its dialogue, or the record its task came from.

    Near-duplicate removal keeps one dialogue per cluster, so a kept dialogue's id stands
    for its cluster. The tasks a task builder makes of one record (``rec-1#diagnosis``,
    ``rec-1#discharge_summary``) share the record's case text: they split together.
    """
    if dialogue["task"] == "dialogue":
        return dialogue["id"]
    record = dialogue["source_record_id"].split("#", 1)[0]
    return f"{dialogue['source']}\x1f{record}"


def split_of(cluster: str, validation: float, test: float, seed: str) -> str:
    """train, validation or test, by a hash of the cluster: every member lands together."""
    point = stable_hash(f"{seed}\x1f{cluster}") % 1_000_000 / 1_000_000
    if point < test:
        return "test"
    if point < test + validation:
        return "validation"
    return "train"


class _FitAndSplit(CountingDoFn):
    """Dialogues → SFT samples within the token budget, each with its split."""

    def __init__(self, config: DialogueConfig, excerpt_chars: int, with_excerpt: bool) -> None:
        self._config = config
        self._excerpt_chars = excerpt_chars
        self._with_excerpt = with_excerpt

    def setup(self) -> None:
        self._counter = load_counter(self._config.context.tokenizer)

    def process(self, dialogue: Document) -> Iterator[Any]:
        config = self._config
        turns = [tuple(t) for t in dialogue["turns"]]
        if config.system_prompt and not (turns and turns[0][0] == SYSTEM):
            turns = [(SYSTEM, config.system_prompt), *turns]
        budget = config.context.max_tokens
        samples = fit_with_counts(turns, budget, self._counter, config.context.split_long)
        source = dialogue["source"]
        if not samples:
            yield beam.pvalue.TaggedOutput(
                REJECTED,
                reject(
                    dialogue,
                    "context",
                    "opening_round_too_long",
                    f"the first exchange alone exceeds {budget} tokens",
                    self._excerpt_chars,
                    self._with_excerpt,
                ),
            )
            return
        if len(samples) > 1:
            self.count(source, "edits/split_for_context")
        elif len(samples[0][0]) < len(turns):
            self.count(source, "edits/rounds_cut_for_context")
        self.count(source, "documents", len(samples) - 1)
        cluster = split_key(dialogue)
        split = split_of(cluster, config.splits.validation, config.splits.test, config.splits.seed)
        for index, (sample, tokens) in enumerate(samples):
            text = dialogue_text(sample)
            sample_id = (
                dialogue["id"]
                if len(samples) == 1
                else document_id(source, dialogue["source_record_id"], index, text)
            )
            turns_shown = sum(1 for role, _ in sample if role != SYSTEM)
            self.count(ALL_SOURCES, f"tokens/{bucket(tokens, TOKEN_EDGES)}")
            self.count(ALL_SOURCES, f"turns/{bucket(turns_shown, TURN_EDGES)}")
            self.count(ALL_SOURCES, f"department/{dialogue['department']}")
            self.count(ALL_SOURCES, f"task/{dialogue['task']}")
            self.count(source, f"split/{split}")
            yield {
                "id": sample_id,
                "messages": [{"role": role, "content": content} for role, content in sample],
                "source": source,
                "source_record_id": dialogue["source_record_id"],
                "department": dialogue["department"],
                "task": dialogue["task"],
                "num_turns": turns_shown,
                "num_tokens": tokens,
                "cluster": cluster,
                "split": split,
                "text": text,
            }


class FitAndSplit(beam.PTransform):
    def __init__(self, config: DialogueConfig, excerpt_chars: int, with_excerpt: bool) -> None:
        super().__init__()
        self._fn = _FitAndSplit(config, excerpt_chars, with_excerpt)

    def expand(self, dialogues: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return dialogues | "Fit" >> beam.ParDo(self._fn).with_outputs(
            REJECTED, STATS, main="samples"
        )
