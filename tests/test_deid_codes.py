"""Labelled codes (record, insurance, passport numbers, WeChat, QQ), plates, e-mail, URLs."""

from __future__ import annotations

import pytest
from conftest import found

from pipelines.deid import Deidentifier


@pytest.mark.parametrize(
    "text, value",
    [
        ("住院号：1234567", "1234567"),
        ("病案号:ZY2023001234", "ZY2023001234"),
        ("门诊号 MZ20230001", "MZ20230001"),
        ("ID号：00012345", "00012345"),
        ("登记号：0001234567", "0001234567"),
        ("就诊卡号：20-123456", "20-123456"),
        ("检查号：CT20230501", "CT20230501"),
        ("检查单号：CT202310150023", "CT202310150023"),
        ("病理编号：BL2023-0456", "BL2023-0456"),
    ],
)
def test_record_numbers_after_their_labels_are_found(
    engine: Deidentifier, text: str, value: str
) -> None:
    assert found(engine, text) == [(value, "MRN")]


def test_a_latin_label_inside_a_word_is_not_a_label(engine: Deidentifier) -> None:
    assert found(engine, "IDH1/2突变阴性") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("医保卡号：1101234567890", ("1101234567890", "INSURANCE")),
        ("社保号 SZ12345678", ("SZ12345678", "INSURANCE")),
        ("护照号码：E12345678", ("E12345678", "PASSPORT")),
        ("港澳通行证：C12345678", ("C12345678", "PASSPORT")),
        ("微信：zhang_wei88", ("zhang_wei88", "WECHAT")),
        ("我vx wxid_abc123", ("wxid_abc123", "WECHAT")),
        ("QQ：123456789", ("123456789", "QQ")),
        ("车牌京A12345", ("京A12345", "PLATE")),
        ("新能源车粤BD12345", ("粤BD12345", "PLATE")),
        ("发到zhangwei@163.com吧", ("zhangwei@163.com", "EMAIL")),
        ("见https://www.example.org/a?b=1。", ("https://www.example.org/a?b=1", "URL")),
    ],
)
def test_codes_accounts_plates_and_addresses_online_are_found(
    engine: Deidentifier, text: str, expected: tuple[str, str]
) -> None:
    assert found(engine, text) == [expected]


def test_a_drug_approval_number_is_not_a_passport(engine: Deidentifier) -> None:
    assert found(engine, "国药准字H20003263") == []
