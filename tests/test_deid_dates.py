"""Dates with their times, and ages over 89."""

from __future__ import annotations

import pytest
from conftest import found

from pipelines.deid import Deidentifier


@pytest.mark.parametrize(
    "date",
    [
        "2023年3月5日",
        "2023年03月05日",
        "2023-03-05",
        "2023/03/05",
        "2023.3.5",
        "２０２３－０３－０５",
        "3月5日",
        "3月5号",
        "2023年3月",
        "2023 年 3 月 5 日",
        "2023-03-05 14:30",
        "2023年3月5日14时30分",
        "2023-03-05T08:15:00",
        "2023年3月5日晚8点",
        "2023年3月5日下午三点二十分",
        "2023年3月5日十四时三十分",
        "3月5日晚上八点",
        "二〇二三年三月五日上午九点半",
        "2023年5月20-22日",
        "5月20日至22日",
        "二〇二三年三月五日",
        "二零二三年五月十日",
        "二〇二三年五月",
        "一九九五年三月十二日",
        "95年3月12日",
        "March 5, 2023",
        "5 Mar 2023",
    ],
)
def test_dates_in_every_layout_are_found_with_their_time(engine: Deidentifier, date: str) -> None:
    assert found(engine, f"入院时间：{date}，") == [(date, "DATE")]


def test_a_moment_after_a_date_is_not_its_clock(engine: Deidentifier) -> None:
    # 一点点 is "a little" and 一时 "for a moment": without a part of the day or minutes,
    # a Chinese-numeral hour is not read as a time.
    text = "3月5日一点点好转，2023年3月5日一时兴起停药。"
    assert found(engine, text) == [("3月5日", "DATE"), ("2023年3月5日", "DATE")]


@pytest.mark.parametrize(
    "text",
    [
        "参照2020年版指南，病程3年。",
        "血压130/85mmHg，3-5天复查。",
        "每月1次，服药12个月。",
        "2019-2020年间反复发作。",
    ],
)
def test_years_ranges_and_durations_are_not_dates(engine: Deidentifier, text: str) -> None:
    assert found(engine, text) == []


@pytest.mark.parametrize("age", ["92岁", "95周岁", "101岁", "九十二岁", "一百零一岁", "90多岁"])
def test_ages_over_89_are_found(engine: Deidentifier, age: str) -> None:
    assert found(engine, f"患者{age}，卧床。") == [(age, "AGE")]


def test_an_age_over_89_after_its_label_is_found_without_a_unit(engine: Deidentifier) -> None:
    assert found(engine, "年龄：93\t性别：女") == [("93", "AGE")]


@pytest.mark.parametrize(
    "text", ["患者89岁，卧床。", "年龄：45岁", "65岁以上老年人慎用。", "八十九岁"]
)
def test_ages_of_89_and_under_are_not_identifiers(engine: Deidentifier, text: str) -> None:
    assert found(engine, text) == []


def test_a_number_of_years_beyond_a_human_life_is_a_typo_not_an_age(engine: Deidentifier) -> None:
    assert found(engine, "我466岁女，年龄：200，享年102岁。") == [("102岁", "AGE")]


def test_a_compact_date_after_a_date_label_is_found(engine: Deidentifier) -> None:
    assert found(engine, "报告日期：20230305 08:30") == [("20230305 08:30", "DATE")]


def test_a_compact_date_shaped_lot_number_is_not_a_date(engine: Deidentifier) -> None:
    assert found(engine, "批号：20230305") == []


@pytest.mark.parametrize(
    "text, date",
    [
        ("出生日期：95.3.12", "95.3.12"),
        ("患者于05-11-30行阑尾切除术。", "05-11-30"),
        ("入院 98/6/3，", "98/6/3"),
    ],
)
def test_a_two_digit_year_with_separators_is_a_date_after_a_word_that_tells_a_day(
    engine: Deidentifier, text: str, date: str
) -> None:
    assert found(engine, text) == [(date, "DATE")]


@pytest.mark.parametrize("text", ["软件版本12.3.1，", "血钾3.5，钠13.5.2 复测", "一九九五年出生。"])
def test_versions_measurements_and_years_alone_are_not_dates(
    engine: Deidentifier, text: str
) -> None:
    assert found(engine, text) == []
