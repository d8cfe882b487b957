"""MinHash signatures and LSH bands, with the hash scheme pinned.

Kernel: rensa's R-MinHash (``rensa`` 0.5.0, ``RMinHash.ALGORITHM_VERSION`` 2), chosen by
measurement over datasketch 2.0 on our data (benchmarks/dedup.py: about 5× faster per
document), fed with medloom's 64-bit shingle hashes (``pipelines.dedup.shingles.HASH_SCHEME``)
a batch at a time. Signatures of different schemes or libraries are not comparable, so every
run records ``minhash_parameters`` in its manifest.

A band's key is one 64-bit hash of its index and its rows' minima (SplitMix64 steps, in numpy
for a whole batch); two different bands share a key with probability 2^-64, and every
candidate is checked anyway.

Bands: with a true-Jaccard check of every candidate, a missed pair costs more than a spurious
candidate, so ``band_layout`` takes the most rows per band whose banding still makes a pair
at Jaccard ``threshold - 0.1`` a candidate with probability ≥ 0.995 (for 0.8 and 128
permutations: 32 bands × 4 rows; FACTS.md). A candidate shares ``min_shared_bands`` bands
(2 by default): one band alone is what a pair far below the threshold shares by chance
(Jaccard 0.4: probability 0.56 for one band of 32 × 4, 0.20 for two), and each such pair is
a shingle set through the shuffle and a check.
"""

from __future__ import annotations

import math
from itertools import chain

import numpy as np
import rensa

from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.shingles import HASH_SCHEME, mix

SCHEME = "rensa.RMinHash"
RECALL_MARGIN = 0.1
RECALL_AT_MARGIN = 0.995


def candidate_probability(similarity: float, bands: int, rows: int, shared: int = 1) -> float:
    """Probability that a pair of this Jaccard similarity shares at least ``shared`` bands."""
    band = similarity**rows
    fewer = sum(math.comb(bands, k) * band**k * (1.0 - band) ** (bands - k) for k in range(shared))
    return max(0.0, 1.0 - fewer)


def shared_bands(config: NearDedupConfig, bands: int) -> int:
    """The bands a pair must share to be a candidate: as configured, at most all of them."""
    return max(1, min(config.min_shared_bands, bands))


def band_layout(config: NearDedupConfig) -> tuple[int, int]:
    """(bands, rows): as configured, or derived from the threshold and num_perm."""
    if config.bands and config.rows:
        return config.bands, config.rows
    if config.bands or config.rows:
        fixed = config.bands or config.rows
        other = config.num_perm // fixed
        return (fixed, other) if config.bands else (other, fixed)
    target = max(0.0, config.threshold - RECALL_MARGIN)
    for rows in range(config.num_perm, 0, -1):
        bands = config.num_perm // rows
        shared = shared_bands(config, bands)
        if candidate_probability(target, bands, rows, shared) >= RECALL_AT_MARGIN:
            return bands, rows
    return config.num_perm, 1


def check_threshold(config: NearDedupConfig) -> float:
    """The similarity at which a candidate pair is confirmed (see NearDedupConfig)."""
    return config.check_threshold or max(0.0, round(config.threshold - RECALL_MARGIN, 6))


def minhash_parameters(config: NearDedupConfig) -> dict[str, object]:
    """What makes signatures comparable: record it in the run manifest."""
    bands, rows = band_layout(config)
    return {
        "scheme": SCHEME,
        "token_hash": HASH_SCHEME,
        "library": f"rensa {_version('rensa')}",
        "algorithm_version": rensa.RMinHash.ALGORITHM_VERSION,
        "num_perm": config.num_perm,
        "bands": bands,
        "rows": rows,
        "min_shared_bands": shared_bands(config, bands),
        "seed": config.seed,
        "shingling": config.shingling,
        "ngram": config.ngram,
        "threshold": config.threshold,
        "true_jaccard_check": config.true_jaccard_check,
        "check_threshold": check_threshold(config),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def signatures(flat: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """One row of ``num_perm`` uint32 minima per text, from ``shingle_hashes``' arrays."""
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed)
    texts = len(offsets) - 1
    minima = chain.from_iterable(matrix.to_rows())
    return np.fromiter(minima, dtype=np.uint32, count=texts * num_perm).reshape(texts, num_perm)


def band_hashes(rows_of_signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(texts, bands) uint64 bucket keys: band ``b`` of a text hashes its index and minima."""
    count = len(rows_of_signatures)
    cells = rows_of_signatures[:, : bands * rows].reshape(count, bands, rows).astype(np.uint64)
    keys = np.broadcast_to(np.arange(bands, dtype=np.uint64), (count, bands)).copy()
    for row in range(rows):
        keys = mix(keys ^ (cells[:, :, row] + np.uint64(0x9E3779B97F4A7C15)))
    return keys


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Share of equal minima: the MinHash estimate of Jaccard similarity."""
    return float(np.mean(a == b))
