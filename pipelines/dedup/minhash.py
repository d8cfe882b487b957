"""MinHash signatures and LSH bands, with the hash scheme pinned.

Kernel: rensa's R-MinHash (``rensa`` 0.5.0, ``RMinHash.ALGORITHM_VERSION`` 2), chosen by
measurement over datasketch 2.0 on our data (benchmarks/dedup.py: about 5× faster per
document). Signatures of different schemes or libraries are not comparable, so every run
records ``minhash_parameters`` in its manifest.

Bands: with a true-Jaccard check of every candidate, a missed pair costs more than a spurious
candidate, so ``band_layout`` takes the most rows per band whose banding still makes a pair
at Jaccard ``threshold - 0.1`` a candidate with probability ≥ 0.995 (for 0.8 and 128
permutations: 32 bands × 4 rows; FACTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import rensa

from pipelines.dedup.config import NearDedupConfig

SCHEME = "rensa.RMinHash"
RECALL_MARGIN = 0.1
RECALL_AT_MARGIN = 0.995


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that a pair of this Jaccard similarity shares at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


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
        if candidate_probability(target, bands, rows) >= RECALL_AT_MARGIN:
            return bands, rows
    return config.num_perm, 1


def minhash_parameters(config: NearDedupConfig) -> dict[str, object]:
    """What makes signatures comparable: record it in the run manifest."""
    bands, rows = band_layout(config)
    return {
        "scheme": SCHEME,
        "library": f"rensa {_version('rensa')}",
        "algorithm_version": rensa.RMinHash.ALGORITHM_VERSION,
        "num_perm": config.num_perm,
        "bands": bands,
        "rows": rows,
        "seed": config.seed,
        "shingling": config.shingling,
        "ngram": config.ngram,
        "threshold": config.threshold,
        "true_jaccard_check": config.true_jaccard_check,
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def signatures(shingle_sets: Sequence[set[str]], num_perm: int, seed: int) -> np.ndarray:
    """One row of ``num_perm`` uint32 minima per shingle set (a batch at a time)."""
    matrix = rensa.RMinHash.digest_matrix_from_token_sets(
        [list(s) for s in shingle_sets], num_perm, seed
    )
    return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(shingle_sets), num_perm)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One bucket key per band: the band's index and its rows' minima."""
    return [
        band.to_bytes(2, "little") + signature[band * rows : (band + 1) * rows].tobytes()
        for band in range(bands)
    ]


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Share of equal minima: the MinHash estimate of Jaccard similarity."""
    return float(np.mean(a == b))
