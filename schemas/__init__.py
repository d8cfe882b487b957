"""Arrow schemas of every record that crosses a stage or leaves a pipeline.

Nothing else in medloom defines a record's shape. Each schema carries its name and
version in its metadata (``medloom.schema`` and ``medloom.schema_version``), which
Parquet keeps in the file footer, so a trainer can tell what a file holds.
"""

from schemas.registry import (
    DEDUP_CLUSTER,
    DIALOGUE,
    MESSAGE,
    PREFERENCE_PAIR,
    PREFERENCE_RANKING,
    PRETRAIN_DOCUMENT,
    QUARANTINE,
    REJECT,
    SFT_CONVERSATION,
    SchemaSpec,
    get_schema,
    schema_of_file,
)

__all__ = [
    "DEDUP_CLUSTER",
    "DIALOGUE",
    "MESSAGE",
    "PREFERENCE_PAIR",
    "PREFERENCE_RANKING",
    "PRETRAIN_DOCUMENT",
    "QUARANTINE",
    "REJECT",
    "SFT_CONVERSATION",
    "SchemaSpec",
    "get_schema",
    "schema_of_file",
]
