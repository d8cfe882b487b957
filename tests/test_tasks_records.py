"""Medical records → clinical tasks: sections, samples, skips and templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import DialogueRecord, TaskSkip
from pipelines.errors import ConfigError
from pipelines.records import SourceRecord, Unreadable
from pipelines.tasks import make_builder
from pipelines.tasks.records import examinations, parse_sections

ADMISSION_NOTE = """入院记录
姓名：赵小军　　住院号：ZY20240508
一、主诉：转移性右下腹痛12小时。
二、现病史：患者12小时前出现上腹部隐痛，
6小时前转移并固定于右下腹。
【既往史】
既往体健。
个人史：吸烟5年。
入院诊断：腹痛待查
出院诊断：急性化脓性阑尾炎
"""

# One template per task, so the expected text does not depend on the hash.
SINGLE_TEMPLATES = {
    "record_tasks": {
        "diagnosis": {
            "prompts": ["根据以下病历，患者最可能的诊断是什么？\n{case}"],
            "answers": ["最可能的诊断是：{diagnosis}"],
        },
        "next_examinations": {
            "prompts": ["{case}\n下一步应完善哪些检查？"],
            "answers": ["建议完善以下检查：{examinations}。"],
        },
    }
}
CHEST_PAIN = {
    "id": "rec-201",
    "科室": "心血管内科",
    "主诉": "胸骨后压榨性疼痛3小时。",
    "现病史": "晨练时突发胸痛，向左肩放射，伴大汗。",
    "体格检查": "BP 150/90mmHg，心律齐。",
    "辅助检查": "心电图：V1-V4导联ST段抬高；肌钙蛋白I：2.8ng/ml；冠脉CTA示前降支狭窄。",
    "诊断": "急性前壁ST段抬高型心肌梗死",
}


def source(tasks: dict, name: str = "records", path: str = "records.jsonl") -> DialogueSourceConfig:
    return DialogueSourceConfig(name=name, path=path, layout="record_tasks", tasks=tasks)


def test_sections_are_read_at_their_headings_and_the_header_is_left_out() -> None:
    assert parse_sections(ADMISSION_NOTE) == {
        "chief_complaint": "转移性右下腹痛12小时。",
        "present_illness": "患者12小时前出现上腹部隐痛，\n6小时前转移并固定于右下腹。",
        "past_history": "既往体健。",
        "diagnosis": "急性化脓性阑尾炎",
    }


def test_examination_names_come_from_the_auxiliary_findings() -> None:
    findings = "血常规：白细胞14.2×10^9/L，中性粒细胞88%；腹部超声提示阑尾增粗。胸部CT示未见异常"
    assert examinations(findings) == ["血常规", "腹部超声", "胸部CT"]
    assert examinations("暂未检查。") == []


def test_a_structured_record_makes_one_sample_per_task_with_exact_text() -> None:
    builder = make_builder(
        source({"tasks": ["diagnosis", "next_examinations"], "templates": SINGLE_TEMPLATES})
    )
    made = builder.to_record(CHEST_PAIN, "records.jsonl:1", "records.jsonl", 1)
    case = (
        "主诉：胸骨后压榨性疼痛3小时。\n现病史：晨练时突发胸痛，向左肩放射，伴大汗。\n"
        "体格检查：BP 150/90mmHg，心律齐。"
    )
    findings = "\n辅助检查：心电图：V1-V4导联ST段抬高；肌钙蛋白I：2.8ng/ml；冠脉CTA示前降支狭窄。"
    assert made == (
        DialogueRecord(
            "rec-201#diagnosis",
            (
                ("user", "根据以下病历，患者最可能的诊断是什么？\n" + case + findings),
                ("assistant", "最可能的诊断是：急性前壁ST段抬高型心肌梗死"),
            ),
            "心血管内科",
            task="diagnosis",
        ),
        DialogueRecord(
            "rec-201#next_examinations",
            (
                ("user", case + "\n下一步应完善哪些检查？"),
                ("assistant", "建议完善以下检查：心电图、肌钙蛋白I、冠脉CTA。"),
            ),
            "心血管内科",
            task="next_examinations",
        ),
    )


def test_a_record_without_diagnosis_is_skipped_for_the_tasks_that_need_one() -> None:
    builder = make_builder(source({}))
    no_diagnosis = {k: v for k, v in CHEST_PAIN.items() if k != "诊断"}
    made = builder.to_record(no_diagnosis, "records.jsonl:2", "records.jsonl", 2)
    skips = [m for m in made if isinstance(m, TaskSkip)]
    assert [(s.source_record_id, s.reason, s.detail) for s in skips] == [
        ("rec-201#diagnosis", "missing_section", "diagnosis needs 诊断"),
        (
            "rec-201#differential_diagnosis",
            "missing_section",
            "differential_diagnosis needs 诊断、鉴别诊断",
        ),
        (
            "rec-201#discharge_summary",
            "missing_section",
            "discharge_summary needs 诊断、治疗经过、出院医嘱",
        ),
    ]
    (sample,) = [m for m in made if isinstance(m, DialogueRecord)]
    assert sample.task == "next_examinations"
    assert all(content.strip() for _, content in sample.turns)


def test_a_record_with_no_section_at_all_is_unreadable() -> None:
    builder = make_builder(source({}))
    made = builder.to_record({"id": "rec-9", "备注": "病历缺页"}, "r.jsonl:4", "r.jsonl", 4)
    assert made == Unreadable(
        "r.jsonl", 4, "no_sections", "no field or heading names a record section (主诉, 现病史 ...)"
    )


def test_records_in_a_text_file_are_split_at_separator_lines_and_named_by_line() -> None:
    builder = make_builder(source({"tasks": ["diagnosis"], "templates": SINGLE_TEMPLATES}))
    text = (
        ADMISSION_NOTE
        + "=====\n姓名：无名\n备注：仅封面\n=====\n主诉：头痛3天。\n现病史：无诱因头痛。\n"
    )
    made = list(builder.from_text(SourceRecord("notes.txt", text), "/data/notes.txt"))
    assert made[0][0].source_record_id == "notes.txt:1#diagnosis"
    assert made[0][0].turns[1] == ("assistant", "最可能的诊断是：急性化脓性阑尾炎")
    assert made[1] == Unreadable(
        "/data/notes.txt", 12, "no_sections", "no heading names a record section (主诉, 现病史 ...)"
    )
    assert made[2] == (
        TaskSkip("notes.txt:15#diagnosis", "diagnosis", "missing_section", "diagnosis needs 诊断"),
    )


def test_templates_are_chosen_by_record_id_the_same_every_time() -> None:
    builder = make_builder(source({"tasks": ["diagnosis"]}))
    record = dict(CHEST_PAIN)
    prompts = {
        builder.to_record({**record, "id": f"rec-{n}"}, "p", "p", 1)[0].turns[0][1].split("\n")[0]
        for n in range(40)
    }
    again = builder.to_record(record, "p", "p", 1)
    assert again == builder.to_record(record, "p", "p", 1)
    assert len(prompts) == 4  # every default diagnosis prompt is used


def test_a_template_with_an_unknown_slot_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "templates.yaml"
    bad.write_text(
        'record_tasks:\n  diagnosis:\n    prompts: ["{case}\\n诊断是什么？"]\n'
        '    answers: ["诊断：{diagnosis}，主治医师：{doctor}"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        make_builder(source({"templates": "templates.yaml"}, path=str(tmp_path / "r.jsonl")))
    assert str(error.value) == (
        "templates.record_tasks.diagnosis.answers[0]: unknown slot {doctor}; allowed slots: "
        "{case}, {chief_complaint}, {present_illness}, {diagnosis}"
    )


def test_a_wrong_option_key_names_the_source_and_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        make_builder(source({"task": ["diagnosis"]}))
    assert str(error.value) == (
        "source 'records': tasks: unknown key 'task'; allowed keys: department_field, id_field, "
        "record_separator, sections, tasks, templates, text_field"
    )
