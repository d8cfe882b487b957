"""Splitting long documents: sections first, then paragraphs, lines, sentences, hard cuts."""

from __future__ import annotations

import re
import time

from pipelines.chunking import Chunk, split_document

SENTENCE = "心力衰竭患者应限制钠盐摄入。"  # 14 characters


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_document_that_fits_is_one_chunk_with_the_incoming_heading_path() -> None:
    text = "高血压患者应低盐饮食。\n\n每日食盐不超过5克。"

    chunks = split_document(text, ("内科学",), max_chars=100, min_chars=10)

    assert chunks == [Chunk(text, ("内科学",))]


def test_an_empty_document_is_still_one_chunk_with_empty_text() -> None:
    assert split_document(" \n\n ", ("内科学",), max_chars=100, min_chars=10) == [
        Chunk("", ("内科学",))
    ]


def test_a_document_under_one_heading_carries_that_heading_in_its_path() -> None:
    text = "# 第三章 心力衰竭\n\n心力衰竭是多种心血管疾病的终末阶段。"

    assert split_document(text, (), max_chars=100, min_chars=10) == [
        Chunk(text, ("第三章 心力衰竭",))
    ]


def test_markdown_sections_become_chunks_that_start_with_their_heading_lines() -> None:
    text = (
        "# 第三章 心力衰竭\n\n"
        "## 第一节 概述\n\n" + SENTENCE * 4 + "\n\n"
        "## 第二节 慢性心力衰竭\n\n" + SENTENCE * 4
    )

    chunks = split_document(text, ("内科学",), max_chars=90, min_chars=10)

    assert chunks == [
        Chunk(
            "# 第三章 心力衰竭\n\n## 第一节 概述\n\n" + SENTENCE * 4,
            ("内科学", "第三章 心力衰竭", "第一节 概述"),
        ),
        Chunk(
            "# 第三章 心力衰竭\n\n## 第二节 慢性心力衰竭\n\n" + SENTENCE * 4,
            ("内科学", "第三章 心力衰竭", "第二节 慢性心力衰竭"),
        ),
    ]


def test_a_chunk_inside_a_section_repeats_every_enclosing_heading_line() -> None:
    text = "# 第三章 心力衰竭\n\n## 第二节 慢性心力衰竭\n\n" + (SENTENCE * 3 + "\n\n") * 3

    chunks = split_document(text, (), max_chars=80, min_chars=10)

    assert [c.text for c in chunks[1:]] == [
        "# 第三章 心力衰竭\n## 第二节 慢性心力衰竭\n\n" + SENTENCE * 3
    ] * 2
    assert {c.heading_path for c in chunks} == {("第三章 心力衰竭", "第二节 慢性心力衰竭")}


def test_chinese_textbook_headings_on_their_own_line_are_sections() -> None:
    text = (
        "第三章 心力衰竭\n第二节 慢性心力衰竭\n一、病因\n" + SENTENCE * 5 + "\n"
        "二、临床表现\n" + SENTENCE * 5
    )

    chunks = split_document(text, (), max_chars=100, min_chars=10)

    assert [c.heading_path for c in chunks] == [
        ("第三章 心力衰竭", "第二节 慢性心力衰竭", "一、病因"),
        ("第三章 心力衰竭", "第二节 慢性心力衰竭", "二、临床表现"),
    ]
    assert chunks[1].text == "第三章 心力衰竭\n第二节 慢性心力衰竭\n\n二、临床表现\n" + SENTENCE * 5


def test_a_numbered_sentence_is_a_list_item_not_a_heading() -> None:
    text = "一、注意休息，避免劳累。\n" + SENTENCE * 6 + "\n二、低盐饮食。\n" + SENTENCE * 6

    chunks = split_document(text, ("护理",), max_chars=110, min_chars=10)

    assert [c.heading_path for c in chunks] == [("护理",), ("护理",)]


def test_a_long_section_is_cut_at_paragraph_breaks_before_line_breaks() -> None:
    paragraph = SENTENCE * 2 + "\n" + SENTENCE * 2  # 57 characters with its line break
    text = "\n\n".join([paragraph] * 4)

    chunks = split_document(text, (), max_chars=120, min_chars=10)

    assert [c.text for c in chunks] == [paragraph + "\n\n" + paragraph] * 2


def test_a_long_paragraph_is_cut_at_line_breaks() -> None:
    text = "\n".join([SENTENCE * 3] * 4)

    chunks = split_document(text, (), max_chars=90, min_chars=10)

    assert [c.text for c in chunks] == [SENTENCE * 3 + "\n" + SENTENCE * 3] * 2


def test_a_long_line_is_cut_after_a_sentence_end() -> None:
    text = "患者男性，六十五岁。反复胸闷气短三年！加重一周？拟诊慢性心力衰竭；收入院。"

    chunks = split_document(text, (), max_chars=20, min_chars=1)

    assert [c.text for c in chunks] == [
        "患者男性，六十五岁。反复胸闷气短三年！",
        "加重一周？拟诊慢性心力衰竭；收入院。",
    ]


def test_text_without_any_boundary_is_cut_hard_into_even_pieces() -> None:
    text = "心" * 250

    chunks = split_document(text, (), max_chars=100, min_chars=10)

    assert [len(c.text) for c in chunks] == [84, 83, 83]


def test_a_section_just_over_the_limit_splits_evenly_rather_than_leaving_a_scrap() -> None:
    text = "\n\n".join([SENTENCE * 2] * 10)  # 10 paragraphs of 28 characters

    chunks = split_document(text, (), max_chars=280, min_chars=50)

    assert [len(c.text) for c in chunks] == [148, 148]


def test_a_heading_with_nothing_under_it_leads_the_chunks_of_its_subsection() -> None:
    text = "## 第二节 慢性心力衰竭\n\n### 一、病因\n\n" + "\n\n".join([SENTENCE * 3] * 4)

    chunks = split_document(text, (), max_chars=120, min_chars=30)

    expected = Chunk(
        "## 第二节 慢性心力衰竭\n### 一、病因\n\n" + SENTENCE * 3 + "\n\n" + SENTENCE * 3,
        ("第二节 慢性心力衰竭", "一、病因"),
    )
    assert chunks == [expected, expected]


def test_small_sibling_sections_are_not_merged_across_their_boundary() -> None:
    text = "## 一、病因\n\n" + SENTENCE * 6 + "\n\n## 二、诊断\n\n心电图。"

    chunks = split_document(text, (), max_chars=100, min_chars=30)

    assert [c.heading_path for c in chunks] == [("一、病因",), ("二、诊断",)]


def test_chunks_never_exceed_max_chars_and_lose_no_text() -> None:
    text = "\n\n".join(
        f"第{n}节 病例{n}\n" + "\n".join([SENTENCE * (n % 7 + 1)] * (n % 5 + 1)) + "心" * (n * 13)
        for n in range(1, 30)
    )

    chunks = split_document(text, (), max_chars=150, min_chars=40)

    assert max(len(c.text) for c in chunks) <= 150
    heading = re.compile(r"^第\d+节 病例\d+$", re.M)
    assert squeeze(heading.sub("", "\n".join(c.text for c in chunks))) == squeeze(
        heading.sub("", text)
    )


def test_a_20_million_character_line_is_chunked_in_linear_time() -> None:
    text = SENTENCE * (20_000_000 // len(SENTENCE))

    started = time.perf_counter()
    chunks = split_document(text, (), max_chars=4000, min_chars=200)
    elapsed = time.perf_counter() - started

    assert max(len(c.text) for c in chunks) <= 4000
    assert "".join(c.text for c in chunks) == text
    # A quadratic splitter needs hours here; a linear one well under a second.
    assert elapsed < 20
