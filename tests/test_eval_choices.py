"""Which option a generated answer chose: the forms models write answers in."""

from __future__ import annotations

import pytest

from training.evaluation.choices import parse_choice

COPD_OPTIONS = {
    "A": "支气管哮喘",
    "B": "慢性阻塞性肺疾病",
    "C": "支气管扩张症",
    "D": "间质性肺疾病",
    "E": "肺结核",
}


@pytest.mark.parametrize(
    ("generated", "chosen"),
    [
        ("答案：B", "B"),
        ("答案：B。慢性阻塞性肺疾病", "B"),
        ("B、慢性阻塞性肺疾病", "B"),
        ("B", "B"),
        ("(B)", "B"),
        ("Ｂ．慢性阻塞性肺疾病", "B"),
        ("【答案】D\n【解析】间质性肺疾病多为限制性通气障碍。", "D"),
        ("这道单选题的正确答案是B. 慢性阻塞性肺疾病。", "B"),
        ("本题为单选题，应选B. 慢性阻塞性肺疾病。", "B"),
        ("FEV1/FVC<0.70提示持续气流受限，故选B。", "B"),
        ("首先排除支气管哮喘，答案：B", "B"),
        ("答案：b", "B"),
        ("The answer is B.", "B"),
        ("最可能的诊断是慢性阻塞性肺疾病。", "B"),
        ("慢性阻塞性肺疾病（B）", "B"),
        ("患者考虑为肺结核", "E"),
        ("答案：F", None),
        ("Based on the spirometry", None),
        ("根据题干无法判断", None),
        ("。", None),
    ],
)
def test_single_answer_forms(generated: str, chosen: str | None) -> None:
    assert parse_choice(generated, COPD_OPTIONS) == chosen


METFORMIN_OPTIONS = {
    "A": "估算肾小球滤过率<30ml/(min·1.73m²)",
    "B": "超重或肥胖",
    "C": "严重感染",
    "D": "缺氧性疾病如心力衰竭失代偿期",
    "E": "年龄大于65岁",
}


@pytest.mark.parametrize(
    ("generated", "chosen"),
    [
        ("ACD", "ACD"),
        ("ACD。", "ACD"),
        ("A、C、D", "ACD"),
        ("正确答案为：ＡＣＤ", "ACD"),
        ("答案是A、C和D", "ACD"),
        ("这道多选题的正确答案是A. 估算肾小球滤过率<30ml/(min·1.73m²)；C. 严重感染", "AC"),
        ("应选 DCA", "ACD"),
        ("禁忌证包括严重感染和缺氧性疾病如心力衰竭失代偿期。", "CD"),
    ],
)
def test_multiple_answer_forms(generated: str, chosen: str) -> None:
    assert parse_choice(generated, METFORMIN_OPTIONS) == chosen


def test_an_option_text_inside_another_counts_once() -> None:
    options = {"A": "肾上腺素", "B": "去甲肾上腺素", "C": "多巴胺"}
    assert parse_choice("首选去甲肾上腺素维持血压", options) == "B"
