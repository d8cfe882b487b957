"""What `apply` writes: consistent, valid surrogates; tags; masks; shifted dates."""

from __future__ import annotations

import datetime
import ipaddress
import pickle
import re

import pytest
from stdnum import luhn
from stdnum.cn import ric

from pipelines.deid import DeidConfig, Deidentifier, load_secret
from pipelines.deid.surrogates import shift_date
from pipelines.errors import MedloomError

SECRET = b"test-secret-0123456789"
NOTE = (
    "患者张伟，身份证11010519491231002X，电话13812345678，卡号6222021234567890128。"
    "2023年3月1日入院，2023年3月15日出院，3月5日手术。患者95岁。"
)


@pytest.fixture(scope="module")
def engine() -> Deidentifier:
    return Deidentifier(DeidConfig(), SECRET)


def test_apply_replaces_every_identifier_and_counts_them(engine: Deidentifier) -> None:
    text, counts = engine.apply(NOTE, "doc-1")
    assert counts == {"PERSON": 1, "ID_CARD": 1, "PHONE": 1, "BANK_CARD": 1, "DATE": 3, "AGE": 1}
    for value in (
        "张伟",
        "11010519491231002X",
        "13812345678",
        "6222021234567890128",
        "2023年3月1日",
    ):
        assert value not in text


def test_the_same_value_gets_the_same_surrogate_in_every_document(engine: Deidentifier) -> None:
    first, _ = engine.apply("姓名：张伟，电话13812345678", "a")
    second, _ = engine.apply("电话13812345678，家属张伟陪同", "b")
    assert first.split("电话")[1] == second.split("电话")[1][:11]
    assert first[3:5] == second[-4:-2]


def test_identical_documents_stay_identical(engine: Deidentifier) -> None:
    assert engine.apply(NOTE, "same-key") == engine.apply(NOTE, "same-key")


def test_a_surname_keeps_its_surrogate_across_forms(engine: Deidentifier) -> None:
    text, _ = engine.apply("张先生说张主任明天来。", "doc")
    assert text[0] == text[4]
    assert text[1:3] == "先生" and text[5:7] == "主任"


def test_a_surrogate_id_number_passes_gb_11643(engine: Deidentifier) -> None:
    text, _ = engine.apply("身份证11010519491231002X。", "doc")
    number = re.search(r"\d{17}[\dX]", text).group()
    assert ric.is_valid(number)
    assert number[6:10] == "1949"


def test_a_surrogate_bank_card_passes_luhn(engine: Deidentifier) -> None:
    text, _ = engine.apply("卡号6222021234567890128。", "doc")
    card = re.search(r"\d{19}", text).group()
    assert luhn.is_valid(card) and card != "6222021234567890128"


def test_a_surrogate_mobile_keeps_its_prefix_and_layout(engine: Deidentifier) -> None:
    text, _ = engine.apply("手机 +86 139-1234-5678。", "doc")
    assert re.fullmatch(r"手机 \+86 139-\d{4}-\d{4}。", text)
    assert text != "手机 +86 139-1234-5678。"


def test_dates_move_by_one_offset_so_intervals_survive(engine: Deidentifier) -> None:
    text, _ = engine.apply("2023年3月1日入院，2023年3月15日出院。", "doc-7")
    admitted, discharged = (
        datetime.date(*map(int, m)) for m in re.findall(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    )
    assert (discharged - admitted).days == 14
    assert admitted != datetime.date(2023, 3, 1)


def test_a_date_keeps_its_layout_when_shifted(engine: Deidentifier) -> None:
    text, _ = engine.apply("复查：２０２３－０３－０５ 08:30", "doc")
    assert re.fullmatch(r"复查：２０２[０-９]－[０-９]{2}－[０-９]{2} 08:30", text)


@pytest.mark.parametrize(
    "date, layout",
    [
        ("95年3月12日", r"\d{2}年\d{1,2}月\d{1,2}日"),
        ("出生日期：95.3.12", r"出生日期：\d{2}\.\d{1,2}\.\d{1,2}"),
        (
            "一九九五年三月十二日",
            r"[〇一二三四五六七八九]{4}年[一二三四五六七八九十]+月[一二三四五六七八九十]+日",
        ),
        (
            "二零二三年五月十日",
            r"二零[零一二三四五六七八九]{2}年[一二三四五六七八九十]+月[一二三四五六七八九十]+日",
        ),
    ],
)
def test_two_digit_years_and_chinese_numerals_are_shifted_in_their_own_writing(
    engine: Deidentifier, date: str, layout: str
) -> None:
    text, _ = engine.apply(date, "doc-3")
    assert text != date
    assert re.fullmatch(layout, text)


def test_a_date_that_does_not_pad_its_month_and_day_is_not_padded_when_shifted() -> None:
    assert shift_date("2023年3月12日", -400) == "2022年2月5日"
    assert shift_date("2023-03-12", -400) == "2022-02-05"


def test_a_range_of_days_moves_as_one_and_keeps_its_length() -> None:
    assert shift_date("2023年5月20-22日", 5) == "2023年5月25-27日"
    assert shift_date("12月30日至2日", -30) == "11月30日至3日"


def test_an_ipv6_surrogate_is_an_ipv6_address(engine: Deidentifier) -> None:
    text, _ = engine.apply("终端IP：2001:db8::8a2e:370:7334。", "doc")
    address = text.removeprefix("终端IP：").removesuffix("。")
    assert "::" in address and address != "2001:db8::8a2e:370:7334"
    ipaddress.IPv6Address(address)


def test_ages_over_89_become_90_and_over(engine: Deidentifier) -> None:
    assert engine.apply("患者95岁，女。", "doc")[0] == "患者90岁以上，女。"


def test_tag_mode_writes_the_category_tags() -> None:
    engine = Deidentifier(DeidConfig(mode="tag"), b"")
    assert engine.apply("患者张伟，电话13812345678，住院号：ZY001234。", "doc") == (
        "患者[姓名]，电话[电话]，住院号：[病历号]。",
        {"PERSON": 1, "PHONE": 1, "MRN": 1},
    )


def test_mask_mode_keeps_the_length_of_each_identifier() -> None:
    engine = Deidentifier(DeidConfig(mode="mask"), b"")
    assert engine.apply("患者张伟，电话13812345678。", "doc") == (
        "患者**，电话***********。",
        {"PERSON": 1, "PHONE": 1},
    )


def test_text_without_identifiers_is_returned_unchanged(engine: Deidentifier) -> None:
    text = "患者诉头痛3天，血压130/85mmHg，予阿司匹林100mg qd。"
    assert engine.apply(text, "doc") == (text, {})


def test_the_engine_survives_pickling_for_beam_workers(engine: Deidentifier) -> None:
    clone = pickle.loads(pickle.dumps(engine))
    assert clone.apply(NOTE, "doc-1") == engine.apply(NOTE, "doc-1")


def test_categories_can_be_limited() -> None:
    engine = Deidentifier(DeidConfig(categories=["PHONE"]), SECRET)
    assert [s.category for s in engine.detect(NOTE)] == ["PHONE"]


def test_a_missing_secret_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDLOOM_DEID_SECRET", raising=False)
    with pytest.raises(MedloomError, match="no de-identification secret: set MEDLOOM_DEID_SECRET"):
        load_secret(DeidConfig())


def test_the_secret_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLOOM_DEID_SECRET", "0123456789abcdef0123")
    assert load_secret(DeidConfig()) == b"0123456789abcdef0123"


def test_the_secret_is_read_from_a_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "secret"
    path.write_text("file-secret-0123456789\n", encoding="utf-8")
    assert load_secret(DeidConfig(secret_file=str(path))) == b"file-secret-0123456789"


def test_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLOOM_DEID_SECRET", "short")
    with pytest.raises(MedloomError, match="too short"):
        load_secret(DeidConfig())


def test_a_throwaway_secret_is_generated_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDLOOM_DEID_SECRET", raising=False)
    assert len(load_secret(DeidConfig(throwaway_secret=True))) == 32


def test_an_unknown_category_is_a_config_error() -> None:
    with pytest.raises(MedloomError, match="unknown category 'NAME'"):
        DeidConfig(categories=["NAME"])
