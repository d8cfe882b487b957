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


def document_id(source: str, source_record_id: str, chunk_index: int) -> str:
    """A stable id for a document: the same record and chunk always get the same id."""
    key = f"{source}\x1f{source_record_id}\x1f{chunk_index}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()
