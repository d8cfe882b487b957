"""Shingles: copies that differ only in form share them."""

from __future__ import annotations

import numpy as np

from pipelines.dedup.shingles import (
    fold,
    fold_many,
    hash_jaccard,
    hash_sets,
    jaccard,
    shingle_hashes,
    shingles,
)


def test_fold_removes_punctuation_space_and_width_and_script() -> None:
    assert fold("高血壓患者， 血压１５０／９０ＭＭＨＧ。") == "高血压患者血压15090mmhg"


def test_char_shingles_are_five_character_grams_of_the_folded_text() -> None:
    assert shingles("头痛，发热三天。", 5) == {"头痛发热三", "痛发热三天"}


def test_text_shorter_than_n_is_one_shingle() -> None:
    assert shingles("咳嗽", 5) == {"咳嗽"}


def test_empty_or_punctuation_only_text_has_no_shingles() -> None:
    assert shingles(" 。，！", 5) == set()


def test_english_text_gets_word_shingles() -> None:
    assert shingles("Take aspirin daily, with food.", 3, "auto") == {
        "take aspirin daily",
        "aspirin daily with",
        "daily with food",
    }


def test_jieba_shingles_are_word_grams() -> None:
    assert shingles("高血压患者应低盐饮食", 2, "jieba") == {
        "高血压 患者",
        "患者 应低",
        "应低 盐",
        "盐 饮食",
    }


def test_traditional_and_simplified_copies_are_identical() -> None:
    traditional = shingles("糖尿病患者應控制飲食，適當運動。", 5)
    simplified = shingles("糖尿病患者应控制饮食，适当运动。", 5)
    assert jaccard(traditional, simplified) == 1.0


def test_jaccard_of_empty_sets_is_zero() -> None:
    assert jaccard(set(), set()) == 0.0


_BATCH = [
    "患者男，65岁，反复胸闷气短三年。",
    "",
    "咳嗽",
    "高血壓患者， 血压１５０／９０ＭＭＨＧ。",
    "Take aspirin daily, with food.",
    "café cafe\u0301 ﬁbrosis ① 病",
    "间\u200b隔\n换行\r\n",
]


def test_a_batch_folds_as_each_text_alone() -> None:
    assert fold_many(_BATCH) == [fold(text) for text in _BATCH]
    assert fold_many(_BATCH)[5] == "cafécaféfibrosis1病"


def test_shingle_hashes_are_the_shingle_sets_hashed() -> None:
    sets = hash_sets(*shingle_hashes(_BATCH, 5))
    assert [len(s) for s in sets] == [len(shingles(text, 5)) for text in _BATCH]
    assert all((np.diff(s.astype(np.float64)) > 0).all() for s in sets)
    first, same = hash_sets(*shingle_hashes([_BATCH[0], _BATCH[0] + "谢谢医生"], 5))
    assert hash_jaccard(first, same) == jaccard(
        shingles(_BATCH[0], 5), shingles(_BATCH[0] + "谢谢医生", 5)
    )


def test_32_bit_sets_keep_the_top_half_of_each_hash_and_the_same_jaccard() -> None:
    texts = [_BATCH[0], _BATCH[0] + "谢谢医生"]
    wide, wide_same = hash_sets(*shingle_hashes(texts, 5))
    narrow, narrow_same = hash_sets(*shingle_hashes(texts, 5), bits=32)
    assert narrow.dtype == np.uint32
    assert narrow.tolist() == (wide >> np.uint64(32)).tolist()
    assert hash_jaccard(narrow, narrow_same) == hash_jaccard(wide, wide_same)


def test_hash_jaccard_of_empty_sets_is_zero() -> None:
    empty, cough = hash_sets(*shingle_hashes(["", "咳嗽"], 5))
    assert hash_jaccard(empty, empty) == 0.0
    assert hash_jaccard(cough, cough) == 1.0
