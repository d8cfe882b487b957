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

_REGISTRY = {s.name: s for s in (PRETRAIN_DOCUMENT, REJECT, QUARANTINE, DEDUP_CLUSTER)}


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
