"""Deduplication: exact (normalised text) and near-duplicate (MinHash LSH, pipelines.dedup.near)."""
