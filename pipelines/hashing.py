"""Stable hashes: the same value gives the same hash in every process, worker and run."""

from __future__ import annotations

import hashlib


def stable_hash(value: str) -> int:
    """A 64-bit hash of ``value``."""
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


def text_key(text: str) -> str:
    """The exact-duplicate key of a normalised text: whitespace does not tell copies apart."""
    folded = "".join(text.split())
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=16).hexdigest()


def document_id(source: str, source_record_id: str, chunk_index: int, text: str) -> str:
    """A stable id for a document: the same record, chunk and text always get the same id.

    The text is part of it because sources repeat record ids (two versions of one record):
    both are kept as distinct documents, and only a true copy shares an id with another.
    """
    key = f"{source}\x1f{source_record_id}\x1f{chunk_index}\x1f{text}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()
