"""Diagnosis accuracy by normalised string match against the record's diagnosis."""

from __future__ import annotations

import pytest

from training.evaluation.diagnosis import match_diagnosis, normalise, stated_diagnosis

PNEUMONIA = "综合分析上述资料，诊断考虑：社区获得性肺炎；高血压病2级"


def test_the_reference_is_what_follows_the_colon() -> None:
    assert stated_diagnosis(PNEUMONIA) == "社区获得性肺炎；高血压病2级"
    assert stated_diagnosis("初步诊断：急性阑尾炎\n诊断依据见病史。") == "急性阑尾炎"
    assert stated_diagnosis("急性阑尾炎") == "急性阑尾炎"


def test_normalising_folds_width_script_and_punctuation() -> None:
    assert normalise("２型糖尿病（酮症）。") == "2型糖尿病酮症"
    assert normalise("社區獲得性 肺炎") == "社区获得性肺炎"


@pytest.mark.parametrize(
    ("answer", "matched", "how"),
    [
        ("考虑诊断为：社区获得性肺炎。", True, "reference_in_answer"),
        ("考虑诊断为：社區獲得性肺炎", True, "reference_in_answer"),
        ("社区获得性 肺炎，建议抗感染治疗", True, "reference_in_answer"),
        ("诊断：肺炎", True, "answer_in_reference"),
        ("最可能的诊断是：高血压病2级", False, None),
        ("初步诊断：急性阑尾炎", False, None),
        ("炎", False, None),
        ("", False, None),
    ],
)
def test_the_principal_diagnosis_must_match(answer: str, matched: bool, how: str | None) -> None:
    result = match_diagnosis(PNEUMONIA, answer)
    assert (result.matched, result.how) == (matched, how)
    assert result.principal == "社区获得性肺炎"


def test_a_question_mark_on_the_reference_does_not_matter() -> None:
    assert match_diagnosis("综合分析上述资料，诊断考虑：慢性胃炎？", "慢性胃炎").matched
