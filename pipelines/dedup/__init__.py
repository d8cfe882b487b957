"""Deduplication: exact (normalised text) and, later, near-duplicate (MinHash LSH)."""
