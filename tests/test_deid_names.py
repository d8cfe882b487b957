"""Person names: labels, titles, dialogue forms, masked forms and name-like words."""

from __future__ import annotations

import pytest

from pipelines.deid import Deidentifier


def names(engine: Deidentifier, text: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.detect(text) if s.category == "PERSON"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("姓名：张伟  性别：男  年龄：45岁", ["张伟"]),
        ("姓名 欧阳娜娜\t性别 女", ["欧阳娜娜"]),
        ("患者诸葛明，男，62岁，因胸痛入院。", ["诸葛明"]),
        ("病史陈述者：其女李秀英。", ["李秀英"]),
        ("主治医师：王建国  住院医师：刘芳", ["王建国", "刘芳"]),
        ("检验者：周萍\t审核者：司马光", ["周萍", "司马光"]),
        ("其子赵强陪同就诊。", ["赵强"]),
        ("联系人：孙丽（女儿）", ["孙丽"]),
    ],
)
def test_names_after_labels_are_found(engine: Deidentifier, text: str, expected: list[str]) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("张先生，您的检查结果出来了。", ["张先生"]),
        ("李女士您好，请问哪里不舒服？", ["李女士"]),
        ("这个问题需要问王医生。", ["王医生"]),
        ("明天请刘主任会诊。", ["刘主任"]),
        ("经王建国主任查房后调整方案。", ["王建国主任"]),
        ("小陈说他明天来复查。", ["小陈"]),
        ("老赵，你的血压控制得不错。", ["老赵"]),
        ("患者周某，女，95岁。", ["周某"]),
        ("向家属孙女士交代病情。", ["孙女士"]),
    ],
)
def test_names_in_dialogue_conventions_are_found(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "患者张某某，男，60岁。",
        "患者王**，女，因腹痛就诊。",
        "患者李XX于昨日入院。",
        "患者平素体健，否认高血压病史。",
        "患者高热3天，体温最高39.5℃。",
        "建议您及时向医生咨询。",
        "请于医生指导下用药。",
        "你是一名耐心细致的全科医生。",
        "这种情况要找专科医生看看。",
        "谢谢医生！",
        "乳腺小叶增生，建议复查。",
        "结节小于5mm，定期随访。",
        "请医生查明病因后再治疗。",
        "借助辅助手段来改善症状。",
    ],
)
def test_masked_names_and_name_like_words_are_left_alone(engine: Deidentifier, text: str) -> None:
    assert names(engine, text) == []


def test_a_name_found_once_is_found_everywhere_in_the_document(engine: Deidentifier) -> None:
    text = "姓名：陈静。陈静于3天前出现头痛，陈静否认外伤史。"
    assert names(engine, text) == ["陈静", "陈静", "陈静"]


def test_a_name_before_a_sex_and_age_note_is_found(engine: Deidentifier) -> None:
    assert names(engine, "黄晓明，男，52岁，反复咳嗽2周。") == ["黄晓明"]


def test_a_latin_name_after_its_label_is_found(engine: Deidentifier) -> None:
    assert names(engine, "Patient name: John Smith, 67 years old.") == ["John Smith"]


def test_a_surname_told_alone_is_found(engine: Deidentifier) -> None:
    assert names(engine, "患者：我姓吴，叫吴德明，今年58了。") == ["吴", "吴德明"]


def test_a_name_glued_to_a_title_label_at_the_end_of_a_phrase_is_found(
    engine: Deidentifier,
) -> None:
    assert names(engine, "张主任查房：切口愈合良好。记录：护士刘婷") == ["张主任", "刘婷"]
