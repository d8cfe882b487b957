"""The fast paths (the Hyperscan pass, the digit shapes' cheap tests) change no finding."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import REPO, real_file

from pipelines.deid import DeidConfig, Deidentifier
from pipelines.deid.prefilter import HyperScanner, utf32
from pipelines.deid.recognizers import DIGIT, TriggerHandler
from pipelines.deid.recognizers.dates import DateRecognizer
from pipelines.deid.recognizers.numbers import NumberRecognizer
from pipelines.deid.recognizers.places import PlaceRecognizer
from pipelines.deid.scanner import after_digits
from pipelines.deid.spans import Candidate

SECRET = b"test-secret-0123456789"


@pytest.fixture(scope="module")
def reference() -> Deidentifier:
    """The engine that finds trigger words with Python's `re`, as before Hyperscan."""
    return Deidentifier(DeidConfig(), SECRET, words="re")


@functools.cache
def gold_texts() -> list[str]:
    """The texts of the benchmark's gold set and clean controls (seed 20240601)."""
    spec = importlib.util.spec_from_file_location("deid_gold", REPO / "benchmarks" / "deid_gold.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gold, clean = module.generate(20240601, 600, 200)
    return [row["text"] for row in gold + clean]


def test_the_gold_set_gets_the_same_spans_from_both_engines(
    engine: Deidentifier, reference: Deidentifier
) -> None:
    texts = gold_texts()
    assert [engine.detect(t) for t in texts] == [reference.detect(t) for t in texts]


def test_real_dialogues_get_the_same_spans_from_both_engines(
    engine: Deidentifier, reference: Deidentifier
) -> None:
    rows = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))
    texts = [
        "\n".join(f"患者：{q}\n医生：{a}" for q, a in row["history"])
        + f"\n患者：{row['instruction']}\n医生：{row['output']}"
        for row in rows
        if "history" in row
    ]
    assert [engine.detect(t) for t in texts] == [reference.detect(t) for t in texts]


def record(seen: list[tuple[str, int, int]], word: str) -> TriggerHandler:
    """A handler that notes where ``word`` was found and finds nothing."""

    def handler(text: str, start: int, end: int) -> list[Candidate]:
        seen.append((word, start, end))
        return []

    return handler


def test_every_occurrence_of_overlapping_words_is_reported() -> None:
    seen: list[tuple[str, int, int]] = []
    scanner = HyperScanner({w: [record(seen, w)] for w in ("孙女", "女士", "孙女士")}, [])
    scanner.scan("向家属孙女士交代病情", [])
    assert sorted(seen) == [("女士", 4, 6), ("孙女", 3, 5), ("孙女士", 3, 6)]


def test_a_word_spelled_by_bytes_across_two_characters_is_not_a_hit() -> None:
    # 。一 is 02 30 00 00 00 4e 00 00 in UTF-32-LE: from its second byte it spells 30 00 00
    # 00, the character 0, which is not in the text.
    assert utf32("0") == "\\x30\\x00\\x00\\x00"
    seen: list[tuple[str, int, int]] = []
    scanner = HyperScanner({"0": [record(seen, "0")]}, [])
    scanner.scan("。一", [])
    assert seen == []
    scanner.scan("。0", [])
    assert seen == [("0", 1, 2)]


def test_a_digit_shape_passes_its_cheap_test_wherever_its_pattern_matches() -> None:
    # The scanner tries no digit shape where no shape's test passes: each test must accept
    # every place its pattern matches, here at every run of digits of the gold set.
    shapes = [
        shape
        for recognizer in (DateRecognizer(), NumberRecognizer(), PlaceRecognizer())
        for shape in recognizer.shapes()
        if shape.anchor == DIGIT
    ]
    compiled = [(re.compile(s.pattern), re.compile(s.ahead)) for s in shapes]
    missed = []
    for text in gold_texts():
        for run in re.finditer(r"(?<![0-9０-９])\d", text):
            for pattern, ahead in compiled:
                at = run.end()
                if pattern.match(text, at) and not ahead.match(text, at):
                    missed.append((pattern.pattern[:30], text[run.start() : run.start() + 12]))
    assert missed == []


def test_the_joined_cheap_test_passes_wherever_one_shape_s_test_does() -> None:
    aheads = [
        shape.ahead
        for recognizer in (DateRecognizer(), NumberRecognizer(), PlaceRecognizer())
        for shape in recognizer.shapes()
        if shape.anchor == DIGIT
    ]
    joined = re.compile(after_digits(aheads))
    each = re.compile("|".join(f"(?:{a})" for a in aheads))
    texts = [*gold_texts(), "1 2023", "5th, 2020", "12 345 678", "3－4", "9岁", "100多岁"]
    texts += ["3号楼", "2023.1.1", "1—2—3—4", "1234567", "7 Mar", "１２３４５６７", "9 years"]
    missed = [
        (text[run.start() : run.start() + 12])
        for text in texts
        for run in re.finditer(r"(?<![0-9０-９])\d", text)
        if each.match(text, run.end()) and not joined.match(text, run.end())
    ]
    assert missed == []


def test_tests_of_another_kind_join_into_no_cheaper_test() -> None:
    assert after_digits([r"\d{0,2}\.", r"[A-Z]+\d"]) == r"(?=\d{0,2}[A-Z\.])"
    # A lookahead, or a test that may take nothing after the digits, gives no join.
    assert after_digits([r"\d{0,2}\.", r"(?!0)\d{2}"]) == ""
    assert after_digits([r"\d{0,2}\.", r"\d?\s?"]) == ""
    # A run of one-character pieces joins as that many digits or fewer and another piece;
    # a run of longer pieces does not.
    assert after_digits([r"(?:\d|-){3}"]) == r"(?=\d{0,2}[\-]|\d{3})"
    assert after_digits([r"(?:\dx){3}"]) == ""


def test_threads_sharing_one_engine_each_get_the_spans_of_one_thread(
    engine: Deidentifier,
) -> None:
    # Hyperscan's scratch space serves one scan at a time: each thread has its own.
    texts = gold_texts()[:200]
    expected = [engine.detect(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(engine.detect, texts * 4))
    assert results == expected * 4
