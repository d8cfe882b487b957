"""MinHash signatures and LSH banding: pinned, derived from the threshold, comparable."""

from __future__ import annotations

import numpy as np

from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.minhash import (
    band_keys,
    band_layout,
    candidate_probability,
    estimated_jaccard,
    minhash_parameters,
    signatures,
)
from pipelines.dedup.shingles import jaccard, shingles

_RECORD = (
    "患者女性，42岁，反复上腹部疼痛两月余，进食后加重，伴反酸嗳气，无呕血黑便。胃镜示胃窦部溃疡。"
)


def test_default_threshold_gives_32_bands_of_4_rows() -> None:
    assert band_layout(NearDedupConfig()) == (32, 4)


def test_configured_bands_and_rows_are_kept() -> None:
    assert band_layout(NearDedupConfig(bands=16, rows=8)) == (16, 8)


def test_derived_layout_finds_pairs_just_below_the_threshold() -> None:
    bands, rows = band_layout(NearDedupConfig(threshold=0.9))
    assert candidate_probability(0.8, bands, rows) >= 0.995


def test_signatures_are_the_same_in_every_run() -> None:
    first = signatures([shingles(_RECORD, 5)], 128, 42)
    second = signatures([shingles(_RECORD, 5)], 128, 42)
    assert first.shape == (1, 128)
    assert np.array_equal(first, second)


def test_signature_estimate_is_close_to_true_jaccard() -> None:
    a, b = shingles(_RECORD, 5), shingles(_RECORD.replace("两月余", "三月余"), 5)
    rows = signatures([a, b], 256, 7)
    assert abs(estimated_jaccard(rows[0], rows[1]) - jaccard(a, b)) < 0.1


def test_band_keys_hold_band_index_and_rows() -> None:
    keys = band_keys(np.arange(8, dtype=np.uint32), 2, 4)
    assert keys == [
        b"\x00\x00" + np.arange(4, dtype=np.uint32).tobytes(),
        b"\x01\x00" + np.arange(4, 8, dtype=np.uint32).tobytes(),
    ]


def test_minhash_parameters_record_the_scheme() -> None:
    params = minhash_parameters(NearDedupConfig())
    assert {k: params[k] for k in ("scheme", "num_perm", "bands", "rows", "seed", "ngram")} == {
        "scheme": "rensa.RMinHash",
        "num_perm": 128,
        "bands": 32,
        "rows": 4,
        "seed": 42,
        "ngram": 5,
    }
