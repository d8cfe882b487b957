"""The fast n-gram measures agree with datatrove's plain Python algorithm.

Each measure is returned only above its limit; with a limit of 0, a measure of 0 is None.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from conftest import real_file

from pipelines.filters.config import RepetitionFilterConfig
from pipelines.filters.ngrams import NgramStats, open_measures, within_limits

DIALOGUE = (
    "医生，我孩子需要打乙肝疫苗，注射疫苗的时候有什么需要注意的吗？"
    "对于乙肝疫苗，一般来说注射时无严重禁忌。如孩子正在发热，应暂缓疫苗注射。"
    "我孩子之前接种过其他疫苗也有过敏反应，那他能打乙肝疫苗吗？"
    "如果孩子之前接种疫苗有过敏反应，注射疫苗前应告知医生孩子的过敏史。"
    "头痛头痛头痛头痛头痛，注意休息注意休息注意休息。"
)
WORDS = ["乙肝", "疫苗", "，", "注射", "疫苗", "前", "应", "告知", "医生", "，", "乙肝", "疫苗"] * 3


def top_ngram_chars(units: list[str], n: int) -> int:
    """datatrove's ``find_top_duplicate``, counting only a repeated n-gram."""
    grams = ["".join(units[i : i + n]) for i in range(len(units) - n + 1)]
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count if count > 1 else 0


def duplicate_ngram_chars(units: list[str], n: int) -> int:
    """datatrove's ``find_all_duplicate``."""
    seen: set[str] = set()
    chars, index = 0, 0
    while index < len(units) - n + 1:
        gram = "".join(units[index : index + n])
        if gram in seen:
            chars += len(gram)
            index += n
        else:
            seen.add(gram)
            index += 1
    return chars


def char_stats(text: str) -> NgramStats:
    return NgramStats(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))


def word_stats(words: list[str]) -> NgramStats:
    codes: dict[str, int] = {}
    points = np.array([codes.setdefault(w, len(codes)) for w in words], dtype=np.uint32)
    return NgramStats(points, np.array([len(w) for w in words]))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram_chars_on_characters_match_datatrove(n: int) -> None:
    expected = top_ngram_chars(list(DIALOGUE), n)
    assert char_stats(DIALOGUE).top_ngram_chars(n, 0) == (expected or None)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_duplicate_ngram_chars_on_characters_match_datatrove(n: int) -> None:
    expected = duplicate_ngram_chars(list(DIALOGUE), n)
    assert char_stats(DIALOGUE).duplicate_ngram_chars(n, 0) == (expected or None)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram_chars_on_words_match_datatrove(n: int) -> None:
    assert word_stats(WORDS).top_ngram_chars(n, 0) == (top_ngram_chars(WORDS, n) or None)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_duplicate_ngram_chars_on_words_match_datatrove(n: int) -> None:
    expected = duplicate_ngram_chars(WORDS, n)
    assert word_stats(WORDS).duplicate_ngram_chars(n, 0) == (expected or None)


def test_a_measure_at_or_under_its_limit_is_none() -> None:
    stats = char_stats(DIALOGUE)
    exact = duplicate_ngram_chars(list(DIALOGUE), 5)
    assert stats.duplicate_ngram_chars(5, exact) is None
    assert stats.duplicate_ngram_chars(5, exact - 1) == exact


def test_a_text_without_repeats_has_no_top_ngram() -> None:
    assert char_stats("患者无发热咳嗽").top_ngram_chars(2, 0) is None


def test_ngram_sizes_can_be_measured_in_any_order() -> None:
    stats = char_stats(DIALOGUE)
    measured = [stats.duplicate_ngram_chars(n, 0) for n in (10, 6, 8, 5)]
    assert measured == [None, 24, 16, 35]


def test_decisions_at_the_fineweb2_limits_match_datatrove_on_real_dialogues() -> None:
    records = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))
    limits = RepetitionFilterConfig()
    for record in records[:300]:
        turns = [text for pair in record.get("history", []) for text in pair]
        turns += [record.get("instruction") or record["instruct"], record["output"]]
        units = [c for c in "".join(turns) if not c.isspace()]
        stats = char_stats("".join(units))
        for n, fraction in limits.top_ngram_fractions.items():
            expected = top_ngram_chars(units, n)
            limit = fraction * len(units)
            assert stats.top_ngram_chars(n, limit) == (expected if expected > limit else None)
        for n, fraction in limits.dup_ngram_fractions.items():
            expected = duplicate_ngram_chars(units, n)
            limit = fraction * len(units)
            assert stats.duplicate_ngram_chars(n, limit) == (expected if expected > limit else None)


# The cheap bounds: a measure they leave closed is None; an open one is computed exactly.
# 50 characters, one repeated 5-gram (反复头痛三): a greedy 5-gram count of 5.
ONE_REPEAT = (
    "患者男性，四十二岁，反复头痛三天伴恶心呕吐，无发热。"
    "查体血压偏高，建议复查血压并完善检查；反复头痛三"
)


def test_open_measures_leave_nothing_open_on_a_text_without_repeats() -> None:
    limits = RepetitionFilterConfig()
    top = [(n, f * 12) for n, f in limits.top_ngram_fractions.items()]
    duplicate = [(n, f * 12) for n, f in limits.dup_ngram_fractions.items()]
    assert open_measures("患者无发热咳嗽，血压正常", top, duplicate) == (set(), set())


def test_a_repeated_5gram_at_its_limit_is_closed_and_just_under_it_open() -> None:
    assert duplicate_ngram_chars(list(ONE_REPEAT), 5) == 5
    assert open_measures(ONE_REPEAT, [], [(5, 5.0)]) == (set(), set())
    assert open_measures(ONE_REPEAT, [], [(5, 4.99)]) == (set(), {5})


def test_a_top_bigram_at_its_limit_is_closed_and_just_under_it_open() -> None:
    text = "头痛头痛头痛患者无发热咳嗽恶心"  # 头痛 3 times: 6 characters
    assert open_measures(text, [(2, 6.0)], []) == (set(), set())
    assert open_measures(text, [(2, 5.9)], []) == ({2}, set())


def test_astral_characters_are_bounded_on_code_points() -> None:
    text = "𠮷野家的牛肉饭很好吃，𠮷野家"  # 𠮷野家 twice: a greedy 3-gram count of 3
    assert open_measures(text, [], [(3, 3.0)]) == (set(), set())
    assert open_measures(text, [], [(3, 2.9)]) == (set(), {3})


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_measures_left_closed_are_within_their_limits_on_real_dialogues(scale: float) -> None:
    records = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))
    limits = RepetitionFilterConfig()
    for record in records[:300]:
        turns = [text for pair in record.get("history", []) for text in pair]
        turns += [record.get("instruction") or record["instruct"], record["output"]]
        units = [c for c in "".join(turns) if not c.isspace()]
        top = [(n, f * scale * len(units)) for n, f in limits.top_ngram_fractions.items()]
        duplicate = [(n, f * scale * len(units)) for n, f in limits.dup_ngram_fractions.items()]
        top_open, duplicate_open = open_measures("".join(units), top, duplicate)
        for n, limit in top:
            assert n in top_open or top_ngram_chars(units, n) <= limit
        for n, limit in duplicate:
            assert n in duplicate_open or duplicate_ngram_chars(units, n) <= limit


def real_dialogue_units() -> list[list[str]]:
    """The non-space characters of the first 300 CMtMedQA dialogues, one list each."""
    records = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))
    texts = []
    for record in records[:300]:
        turns = [text for pair in record.get("history", []) for text in pair]
        turns += [record.get("instruction") or record["instruct"], record["output"]]
        texts.append([c for c in "".join(turns) if not c.isspace()])
    return texts


def test_within_limits_proves_a_plain_text_and_not_a_repetitive_one() -> None:
    limits = RepetitionFilterConfig()
    top = sorted(limits.top_ngram_fractions.items())
    duplicate = sorted(limits.dup_ngram_fractions.items())
    repetitive = "注意休息注意休息注意休息，多喝水多喝水多喝水"
    plain = "患者无发热咳嗽，血压正常，心肺听诊未见杂音，建议定期复查。"
    proven = within_limits([plain, repetitive, ONE_REPEAT], top, duplicate)
    assert proven.tolist() == [True, False, True]


def test_within_limits_proves_nothing_of_astral_text() -> None:
    assert within_limits(["𠮷野家的牛肉饭很好吃"], [(2, 0.5)], [(5, 0.5)]).tolist() == [False]


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_texts_proven_within_limits_are_within_them_on_real_dialogues(scale: float) -> None:
    limits = RepetitionFilterConfig()
    top = [(n, f * scale) for n, f in limits.top_ngram_fractions.items()]
    duplicate = [(n, f * scale) for n, f in limits.dup_ngram_fractions.items()]
    texts = real_dialogue_units()
    proven = within_limits(["".join(units) for units in texts], top, duplicate)
    for units, within in zip(texts, proven.tolist(), strict=True):
        if within:
            assert all(top_ngram_chars(units, n) <= f * len(units) for n, f in top)
            assert all(duplicate_ngram_chars(units, n) <= f * len(units) for n, f in duplicate)
