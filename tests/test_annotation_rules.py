"""The annotation rules: versioned, bilingual, anchored, and rendered without live HTML."""

from __future__ import annotations

import re

import pytest

from annotation.records import DIMENSIONS, SCORE_RANGE
from annotation.rules import (
    DIMENSION_ANCHORS,
    RULE_VERSION,
    markdown_to_html,
    rules_html,
    rules_markdown,
)
from pipelines.errors import MedloomError


def test_both_languages_state_the_rule_version() -> None:
    assert RULE_VERSION == "1.0"
    assert f"**规则版本：{RULE_VERSION}**" in rules_markdown("zh")
    assert f"**Rule version: {RULE_VERSION}**" in rules_markdown("en")


def test_chinese_is_the_default_language() -> None:
    assert rules_markdown() == rules_markdown("zh")
    assert rules_html() == rules_html("zh")


def test_anchors_cover_every_dimension_and_score() -> None:
    low, high = SCORE_RANGE

    assert list(DIMENSION_ANCHORS) == list(DIMENSIONS)
    assert all(sorted(a) == list(range(low, high + 1)) for a in DIMENSION_ANCHORS.values())


def test_anchors_are_the_rows_of_the_chinese_anchor_tables() -> None:
    text = rules_markdown("zh")
    rows = re.findall(r"^\| ([1-5]) \| (.+) \|$", text, flags=re.MULTILINE)

    expected = [
        (str(score), DIMENSION_ANCHORS[dimension][score])
        for dimension in DIMENSIONS
        for score in (5, 4, 3, 2, 1)
    ]
    assert rows == expected


def test_dimensions_come_in_zhongjing_order_with_their_parts() -> None:
    text = rules_markdown("zh")

    headings = re.findall(r"^### 3\.\d (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "安全性（准确性、安全性、伦理）",
        "专业性（理解、清晰、主动性）",
        "流畅性（连贯、前后一致、语气温和）",
    ]


def test_english_version_has_the_same_sections_and_tables() -> None:
    zh, en = rules_markdown("zh"), rules_markdown("en")

    for pattern in (r"^## ", r"^### ", r"^\|---"):
        assert len(re.findall(pattern, zh, flags=re.MULTILINE)) == len(
            re.findall(pattern, en, flags=re.MULTILINE)
        )


def test_rules_name_the_keys_of_the_tool() -> None:
    zh, en = rules_markdown("zh"), rules_markdown("en")

    for row in ("| 数字键 1–K |", "| 数字键 1–5 |", "| Enter |", "| S |", "| R |"):
        assert row in zh
    for row in ("| Digits 1–K |", "| Digits 1–5 |", "| Enter |", "| S |", "| R |"):
        assert row in en


def test_unsafe_answers_rank_below_safe_ones_in_both_languages() -> None:
    assert "无论你给它排第几，都会排在所有安全回答之后" in rules_markdown("zh")
    assert "ranks below every safe answer, whatever rank you give it" in rules_markdown("en")


def test_changelog_records_the_current_version() -> None:
    zh, en = rules_markdown("zh"), rules_markdown("en")

    assert zh.split("## 十、版本记录", 1)[1].count(f"| {RULE_VERSION} |") == 1
    assert en.split("## 10. Changelog", 1)[1].count(f"| {RULE_VERSION} |") == 1


def test_html_renders_headings_and_tables() -> None:
    html = rules_html("zh")

    assert html.startswith("<h1>医疗问答偏好标注规则</h1>")
    # Three anchor tables, three worked examples, the keys and the changelog.
    assert html.count("<table>") == 8
    assert f"<td>{DIMENSION_ANCHORS['safety'][1]}</td>" in html


def test_html_in_markdown_is_shown_as_text() -> None:
    html = markdown_to_html(
        "患者说：<script>alert(1)</script>\n\n[点这里](javascript:alert(1)) <img src=x onerror=f()>"
    )

    assert html == (
        "<p>患者说：&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        "<p>[点这里](javascript:alert(1)) &lt;img src=x onerror=f()&gt;</p>\n"
    )


def test_unknown_language_is_a_one_line_error() -> None:
    with pytest.raises(MedloomError, match=r"^no annotation rules in 'fr'; available: zh, en$"):
        rules_markdown("fr")
