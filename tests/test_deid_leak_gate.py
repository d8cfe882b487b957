"""The leak gate: direct identifiers left in output are counted; the engine's own
signed surrogates are not."""

from __future__ import annotations

import pickle

import pytest

from pipelines.deid import DeidConfig, Deidentifier, LeakGate

SECRET = b"test-secret-0123456789"


@pytest.mark.parametrize(
    "text, counts",
    [
        ("电话13812345678", {"PHONE": 1}),
        ("电话 138-1234-5678 或 010-65432109", {"PHONE": 2}),
        ("身份证110105194912310021（校验位错也算）", {"ID_CARD": 1}),
        ("卡号6222 0212 3456 7890 128", {"BANK_CARD": 1}),
        ("邮箱zhangwei@163.com", {"EMAIL": 1}),
        ("批号13020012345", {"PHONE": 1}),
    ],
)
def test_direct_identifiers_are_counted_whatever_their_context(
    text: str, counts: dict[str, int]
) -> None:
    assert LeakGate(SECRET).scan(text) == counts


def test_clean_text_has_no_findings() -> None:
    text = "WBC 12.3×10^9/L，血压130/85mmHg，2023-03-05复查，住院号：1234567。"
    assert LeakGate(SECRET).scan(text) == {}


def test_surrogate_output_passes_the_gate_that_holds_the_secret() -> None:
    engine = Deidentifier(DeidConfig(), SECRET)
    text, _ = engine.apply(
        "电话13812345678，身份证11010519491231002X，卡号6222021234567890128，"
        "邮箱zhangwei@163.com，座机010-65432109。",
        "doc",
    )
    assert LeakGate(SECRET).scan(text) == {}


def test_surrogates_look_real_to_a_gate_without_the_secret() -> None:
    engine = Deidentifier(DeidConfig(), SECRET)
    text, _ = engine.apply("电话13812345678，身份证11010519491231002X。", "doc")
    assert LeakGate(b"another-secret-0123456").scan(text) == {"PHONE": 1, "ID_CARD": 1}


def test_tag_and_mask_output_is_clean() -> None:
    note = "电话13812345678，身份证11010519491231002X，邮箱zhangwei@163.com。"
    for mode in ("tag", "mask"):
        text, _ = Deidentifier(DeidConfig(mode=mode), b"").apply(note, "doc")
        assert LeakGate().scan(text) == {}


def test_the_gate_survives_pickling() -> None:
    gate = pickle.loads(pickle.dumps(LeakGate(SECRET)))
    assert gate.scan("电话13812345678") == {"PHONE": 1}
