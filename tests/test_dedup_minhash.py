"""MinHash signatures and LSH banding: pinned, derived from the threshold, comparable."""

from __future__ import annotations

import numpy as np

from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.minhash import (
    band_hashes,
    band_layout,
    candidate_probability,
    check_threshold,
    estimated_jaccard,
    minhash_parameters,
    signatures,
)
from pipelines.dedup.shingles import hash_jaccard, hash_sets, shingle_hashes

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


def test_two_shared_bands_keep_near_pairs_and_drop_chance_ones() -> None:
    assert candidate_probability(0.7, 32, 4) == 1 - (1 - 0.7**4) ** 32
    assert round(candidate_probability(0.7, 32, 4, shared=2), 4) == 0.9983
    assert round(candidate_probability(0.4, 32, 4, shared=1), 3) == 0.564
    assert round(candidate_probability(0.4, 32, 4, shared=2), 3) == 0.197


def test_the_bands_a_pair_must_share_are_recorded_and_at_most_all_bands() -> None:
    assert minhash_parameters(NearDedupConfig())["min_shared_bands"] == 2
    assert minhash_parameters(NearDedupConfig(bands=1, rows=128))["min_shared_bands"] == 1


def test_signatures_are_the_same_in_every_run() -> None:
    first = signatures(*shingle_hashes([_RECORD], 5), 128, 42)
    second = signatures(*shingle_hashes([_RECORD], 5), 128, 42)
    assert first.shape == (1, 128)
    assert first.dtype == np.uint32
    assert np.array_equal(first, second)


def test_signature_estimate_is_close_to_true_jaccard() -> None:
    flat, offsets = shingle_hashes([_RECORD, _RECORD.replace("两月余", "三月余")], 5)
    rows = signatures(flat, offsets, 256, 7)
    a, b = hash_sets(flat, offsets)
    assert abs(estimated_jaccard(rows[0], rows[1]) - hash_jaccard(a, b)) < 0.1


def test_a_text_without_shingles_has_an_empty_row_of_maxima() -> None:
    rows = signatures(*shingle_hashes(["，。！", _RECORD], 5), 64, 42)
    assert (rows[0] == np.iinfo(np.uint32).max).all()
    assert not (rows[1] == np.iinfo(np.uint32).max).all()


def test_band_keys_differ_by_band_and_by_rows() -> None:
    rows = np.array([[1, 2, 3, 4, 1, 2, 3, 4], [1, 2, 3, 4, 9, 9, 9, 9]], dtype=np.uint32)
    keys = band_hashes(rows, 2, 4)
    assert keys.shape == (2, 2)
    assert keys.dtype == np.uint64
    # The same minima in band 0 of both texts: one bucket. Band 1 holds the same minima as
    # band 0 in the first text, but a band's index is part of its key.
    assert keys[0, 0] == keys[1, 0]
    assert keys[0, 1] != keys[0, 0]
    assert keys[0, 1] != keys[1, 1]


def test_candidates_are_confirmed_a_margin_below_the_threshold() -> None:
    assert check_threshold(NearDedupConfig()) == 0.7
    assert check_threshold(NearDedupConfig(threshold=0.9)) == 0.8
    assert check_threshold(NearDedupConfig(check_threshold=0.8)) == 0.8


def test_minhash_parameters_record_the_scheme() -> None:
    params = minhash_parameters(NearDedupConfig())
    keys = ("scheme", "token_hash", "num_perm", "bands", "rows", "seed", "ngram", "check_threshold")
    assert {k: params[k] for k in keys} == {
        "scheme": "rensa.RMinHash",
        "token_hash": "medloom-pack21-splitmix64/1",
        "check_threshold": 0.7,
        "num_perm": 128,
        "bands": 32,
        "rows": 4,
        "seed": 42,
        "ngram": 5,
    }
