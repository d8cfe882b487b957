"""The schema registry: name → versioned Arrow schema."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

NAME_KEY = b"medloom.schema"
VERSION_KEY = b"medloom.schema_version"


@dataclass(frozen=True)
class SchemaSpec:
    """A named, versioned Arrow schema."""

    name: str
    version: str
    fields: tuple[pa.Field, ...]

    @property
    def arrow(self) -> pa.Schema:
        return pa.schema(
            list(self.fields),
            metadata={NAME_KEY: self.name.encode(), VERSION_KEY: self.version.encode()},
        )

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]


PRETRAIN_DOCUMENT = SchemaSpec(
    name="pretrain_document",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_record_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("language", pa.string(), nullable=False),
        pa.field("length", pa.int64(), nullable=False),
        pa.field("title", pa.string(), nullable=True),
        pa.field("heading_path", pa.list_(pa.string()), nullable=False),
        pa.field("chunk_index", pa.int32(), nullable=False),
        pa.field("chunk_count", pa.int32(), nullable=False),
    ),
)

# A record dropped by a stage, with its reason. `excerpt` is only ever taken from text
# that has already passed de-identification (stages before it leave it empty).
REJECT = SchemaSpec(
    name="reject",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_record_id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=True),
        pa.field("excerpt", pa.string(), nullable=True),
    ),
)

# An input record that could not be read at all: where it is and why, never its content.
QUARANTINE = SchemaSpec(
    name="quarantine",
    version="1.0",
    fields=(
        pa.field("source", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=True),
    ),
)

# One row per document that went through near-duplicate removal: its cluster (the kept
# copy's id), whether it is that copy, and its Jaccard similarity to it.
DEDUP_CLUSTER = SchemaSpec(
    name="dedup_cluster",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster", pa.string(), nullable=False),
        pa.field("kept", pa.bool_(), nullable=False),
        pa.field("kept_id", pa.string(), nullable=False),
        pa.field("similarity", pa.float64(), nullable=False),
    ),
)

# One chat message, shared by every conversational schema (TRL's `messages` form).
MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])

# A conversation as read from a source, before cleaning: what crosses the dialogue stages.
DIALOGUE = SchemaSpec(
    name="dialogue",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_record_id", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("department_raw", pa.string(), nullable=True),
        pa.field("turns", pa.list_(MESSAGE), nullable=False),
        pa.field("metadata", pa.map_(pa.string(), pa.string()), nullable=False),
    ),
)

# A supervised fine-tuning sample: `messages` is what TRL's SFTTrainer takes as it is.
# `task` says what built it (dialogue, clinical_diagnosis, exam, kg_qa, ...); `cluster` is
# the near-duplicate cluster whose hash decides `split`.
SFT_CONVERSATION = SchemaSpec(
    name="sft_conversation",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("messages", pa.list_(MESSAGE), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_record_id", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("num_turns", pa.int32(), nullable=False),
        pa.field("num_tokens", pa.int32(), nullable=False),
        pa.field("cluster", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
    ),
)

RESPONSE = pa.struct(
    [pa.field("id", pa.string()), pa.field("content", pa.string()), pa.field("model", pa.string())]
)

# One annotator's judgement of one item. `ranks`, `unsafe` and the score lists are aligned
# with the item's `responses`; rank 1 is best, equal ranks are ties.
ANNOTATION = pa.struct(
    [
        pa.field("annotator", pa.string()),
        pa.field("rule_version", pa.string()),
        pa.field("ranks", pa.list_(pa.int32())),
        pa.field("unsafe", pa.list_(pa.bool_())),
        pa.field(
            "scores",
            pa.list_(
                pa.struct(
                    [pa.field("dimension", pa.string()), pa.field("values", pa.list_(pa.int32()))]
                )
            ),
        ),
        pa.field("corrected", pa.string()),
        pa.field("shown_order", pa.list_(pa.string())),
        pa.field("seconds", pa.float64()),
    ]
)

# Listwise preference data: every annotator's judgement and the final ranking.
PREFERENCE_RANKING = SchemaSpec(
    name="preference_ranking",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("prompt", pa.list_(MESSAGE), nullable=False),
        pa.field("responses", pa.list_(RESPONSE), nullable=False),
        pa.field("annotations", pa.list_(ANNOTATION), nullable=False),
        pa.field("final_ranks", pa.list_(pa.int32()), nullable=False),
        pa.field("final_by", pa.string(), nullable=False),
        pa.field("rule_version", pa.string(), nullable=False),
    ),
)

# Pairwise preference data in TRL's conversational form; RewardTrainer reads `margin`.
PREFERENCE_PAIR = SchemaSpec(
    name="preference_pair",
    version="1.0",
    fields=(
        pa.field("id", pa.string(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("prompt", pa.list_(MESSAGE), nullable=False),
        pa.field("chosen", pa.list_(MESSAGE), nullable=False),
        pa.field("rejected", pa.list_(MESSAGE), nullable=False),
        pa.field("chosen_id", pa.string(), nullable=False),
        pa.field("rejected_id", pa.string(), nullable=False),
        pa.field("margin", pa.float64(), nullable=False),
        pa.field("rule_version", pa.string(), nullable=False),
    ),
)

_REGISTRY = {
    s.name: s
    for s in (
        PRETRAIN_DOCUMENT,
        REJECT,
        QUARANTINE,
        DEDUP_CLUSTER,
        DIALOGUE,
        SFT_CONVERSATION,
        PREFERENCE_RANKING,
        PREFERENCE_PAIR,
    )
}


def get_schema(name: str) -> SchemaSpec:
    """The schema registered under ``name``; KeyError names the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {sorted(_REGISTRY)}") from None


def schema_of_file(path: str) -> tuple[str, str]:
    """(schema name, version) recorded in a Parquet file's footer."""
    meta = pq.read_schema(path).metadata or {}
    return meta.get(NAME_KEY, b"").decode(), meta.get(VERSION_KEY, b"").decode()
