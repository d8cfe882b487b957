"""Department labels of many sources onto one vocabulary."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import real_file

from pipelines.dialogues.departments import DEPARTMENTS, OTHER, normalise_department


@pytest.mark.parametrize(
    "label", ["其他", "其它", "nan", "NaN", "None", "null", "未知", "综合", "", "  ", None]
)
def test_missing_and_catch_all_labels_are_other(label: str | None) -> None:
    assert normalise_department(label) == "其他"


def test_a_pandas_nan_is_other() -> None:
    assert normalise_department(float("nan")) == OTHER


@pytest.mark.parametrize(
    ("label", "department"),
    [
        ("传染科", "传染科"),
        ("传染病科", "传染科"),
        ("感染科", "传染科"),
        ("皮肤性病科", "皮肤科"),
        ("整形美容", "整形美容科"),
        ("心理科", "精神心理科"),
        ("家居健康", "营养保健"),
        (" 儿科 ", "儿科"),
    ],
)
def test_vocabulary_entries_and_aliases_match_whole(label: str, department: str) -> None:
    assert normalise_department(label) == department


@pytest.mark.parametrize(
    ("label", "department"),
    [
        ("心血管内科", "内科"),
        ("心血管科", "内科"),
        ("肝病科", "内科"),
        ("消化科", "内科"),
        ("神经科", "内科"),
        ("内分泌科", "内科"),
        ("肾内科", "内科"),
        ("小儿外科", "儿科"),
        ("新生儿科", "儿科"),
        ("中医内科", "中医科"),
        ("针灸推拿科", "中医科"),
        ("肝癌", "肿瘤科"),
        ("乳腺肿瘤科", "肿瘤科"),
        ("乙肝", "传染科"),
        ("妇科", "妇产科"),
        ("产科", "妇产科"),
        ("男性不育", "男科"),
        ("精神科", "精神心理科"),
        ("眼科", "五官科"),
        ("耳鼻喉科", "五官科"),
        ("口腔科", "五官科"),
        ("骨科", "外科"),
        ("泌尿外科", "外科"),
        ("湿疹", "皮肤科"),
        ("营养科", "营养保健"),
    ],
)
def test_other_labels_go_by_the_first_keyword_rule(label: str, department: str) -> None:
    assert normalise_department(label) == department


@pytest.mark.parametrize("label", ["体检中心", "药剂科", "Cardiology", "42"])
def test_an_unknown_label_is_other(label: str) -> None:
    assert normalise_department(label) == OTHER


def test_real_cmtmedqa_labels_all_land_in_the_vocabulary() -> None:
    raw = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))

    counts = Counter(normalise_department(item.get("cate1")) for item in raw)

    assert set(counts) <= set(DEPARTMENTS)
    # 144 safety items without cate1, 9 labelled 其他 and one nan.
    assert counts[OTHER] == 154
    # 33 labelled 传染病科 and one 传染科.
    assert counts["传染科"] == 34
    # 210 皮肤科 and 37 皮肤性病科.
    assert counts["皮肤科"] == 247
