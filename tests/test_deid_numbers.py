"""Phone numbers, resident ID numbers and bank cards: shapes, checksums and labels."""

from __future__ import annotations

import pytest
from conftest import found

from pipelines.deid import Deidentifier


@pytest.mark.parametrize(
    "text, phone",
    [
        ("患者手机13812345678，请回电。", "13812345678"),
        ("联系方式：139-1234-5678", "139-1234-5678"),
        ("家属电话 186 0101 2345 已登记", "186 0101 2345"),
        ("请拨+86 199 8765 4321联系", "+86 199 8765 4321"),
        ("境外来电0086-15912345678", "0086-15912345678"),
        ("随访电话：010-65432109转123。", "010-65432109转123"),
        ("科室电话（0755）86543210，", "（0755）86543210"),
        ("座机0571-87654321-806", "0571-87654321-806"),
        ("电话：6543210（夜间）", "6543210"),
        ("客服400-820-8820", "400-820-8820"),
    ],
)
def test_phone_numbers_in_their_common_layouts_are_found(
    engine: Deidentifier, text: str, phone: str
) -> None:
    assert found(engine, text) == [(phone, "PHONE")]


def test_full_width_mobile_number_is_found(engine: Deidentifier) -> None:
    assert found(engine, "电话：１３８１２３４５６７８。") == [("１３８１２３４５６７８", "PHONE")]


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "110105 19491231 002X", "1101 0519 4912 3100 2X", "440106199003078917"],
)
def test_resident_id_numbers_with_a_valid_check_character_are_found(
    engine: Deidentifier, number: str
) -> None:
    assert found(engine, f"患者身份证{number}，已核对。") == [(number, "ID_CARD")]


def test_an_unlabelled_18_digit_number_with_a_wrong_check_character_is_not_an_id(
    engine: Deidentifier,
) -> None:
    assert found(engine, "条码110105194912310021打印") == []


def test_a_labelled_id_number_is_found_even_with_a_wrong_check_character(
    engine: Deidentifier,
) -> None:
    assert found(engine, "身份证号：110105194912310021") == [("110105194912310021", "ID_CARD")]


def test_the_old_15_digit_id_number_is_found(engine: Deidentifier) -> None:
    assert found(engine, "公民身份号码 110105491231002") == [("110105491231002", "ID_CARD")]


@pytest.mark.parametrize("card", ["6222021234567890128", "6212 2600 0000 0000 018"])
def test_bank_cards_that_pass_luhn_are_found(engine: Deidentifier, card: str) -> None:
    assert found(engine, f"退款至{card}（本人）") == [(card, "BANK_CARD")]


@pytest.mark.parametrize(
    "text",
    [
        "WBC 12.3×10^9/L，血压130/85mmHg，心率78次/分。",
        "阿莫西林胶囊 0.5g tid，批号：13020012345，国药准字H20003263。",
        "诊断：原发性高血压（I10），2型糖尿病（E11.900）。",
        "出入量2500ml，体重65.5kg，尿量1200 ml/24h。",
        "患者男，45岁，病程3年，加重2天。",
    ],
)
def test_lab_values_doses_codes_and_lot_numbers_are_not_identifiers(
    engine: Deidentifier, text: str
) -> None:
    assert found(engine, text) == []


def test_two_phone_numbers_in_one_run_are_two_findings(engine: Deidentifier) -> None:
    assert found(engine, "电话13812345678 13987654321") == [
        ("13812345678", "PHONE"),
        ("13987654321", "PHONE"),
    ]


def test_an_ip_address_glued_to_chinese_text_is_found(engine: Deidentifier) -> None:
    assert found(engine, "登录来自192.168.1.10。") == [("192.168.1.10", "IP")]


@pytest.mark.parametrize(
    "address",
    [
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8::8a2e:370:7334",
        "fe80::1ff:fe23:4567:890a",
    ],
)
def test_ipv6_addresses_full_and_compressed_are_found(engine: Deidentifier, address: str) -> None:
    assert found(engine, f"远程终端IP：{address}，已登录。") == [(address, "IP")]


@pytest.mark.parametrize("text", ["时间12:30:45，", "std::vector", "本机地址::1"])
def test_clock_times_and_code_are_not_ipv6_addresses(engine: Deidentifier, text: str) -> None:
    assert found(engine, text) == []


def test_a_long_table_row_of_numbers_is_read_in_linear_time(engine: Deidentifier) -> None:
    # 3,000 numbers joined by single spaces make one digit run; reading every span of it
    # would take minutes.
    row = " ".join(str(n % 90 + 10) for n in range(3000))
    text = f"{row} 联系电话 13812345678"
    assert found(engine, text) == [("13812345678", "PHONE")]
