"""The task builders inside the dialogue pipeline, end to end on data/tasks (one Beam run).

The sources are the task-builder sources of data/dialogues.yaml, the ones the demo runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.dialogues.config import TASK_LAYOUTS, load_dialogue_config
from pipelines.dialogues.pipeline import run_dialogues
from tests.conftest import rows

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, deid_secret: str) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tasks")
    demo = yaml.safe_load((DATA / "dialogues.yaml").read_text(encoding="utf-8"))
    sources = [s for s in demo["sources"] if s.get("layout") in TASK_LAYOUTS]
    for source in sources:
        source["path"] = str(DATA / source["path"])
    config = {
        "pipeline": "dialogues",
        "name": "tasks",
        "sources": sources,
        "output": {"shards": 1},
    }
    path = folder / "tasks.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = folder / "out"
    manifest = run_dialogues(load_dialogue_config(path), str(out), say=lambda _: None)
    samples = {row["source_record_id"]: row for row in rows(out / "sft")}
    return {
        "manifest": manifest,
        "samples": samples,
        "rejects": rows(out / "sft_rejects"),
        "quarantine": rows(out / "sft_quarantine"),
    }


def messages(sample: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in sample["messages"]]


def test_every_record_and_task_is_written_rejected_or_quarantined(run: dict[str, Any]) -> None:
    counts = {
        name: (c["records_read"], c["quarantined_by_reason"], c["written"], c["rejected"])
        for name, c in run["manifest"]["counts"].items()
    }
    assert counts == {
        "records_text": (3, {}, 9, {"tasks/missing_section": 3}),
        "records_fields": (
            4,
            {"no_sections": 1},
            7,
            {"tasks/missing_section": 4, "tasks/no_named_examinations": 1},
        ),
        "exams": (6, {"answer_not_in_options": 1, "options_missing_letter": 1}, 4, {}),
        "exams_cmexam": (2, {}, 2, {}),
        "kg": (
            6,
            {"empty_head": 1, "empty_tail": 1, "malformed_triple": 1},
            9,
            {"tasks/no_template": 1},
        ),
    }


def test_samples_and_skips_per_task_and_reason(run: dict[str, Any]) -> None:
    written = Counter(sample["task"] for sample in run["samples"].values())
    assert written == {
        "diagnosis": 5,
        "differential_diagnosis": 2,
        "discharge_summary": 4,
        "next_examinations": 5,
        "exam": 6,
        "kg_qa": 9,
    }
    skipped = Counter(
        (row["source_record_id"].rsplit("#", 1)[1], row["reason"]) for row in run["rejects"]
    )
    assert skipped == {
        ("diagnosis", "missing_section"): 1,
        ("differential_diagnosis", "missing_section"): 4,
        ("discharge_summary", "missing_section"): 2,
        ("next_examinations", "no_named_examinations"): 1,
        ("易感人群", "no_template"): 1,
    }


def test_rejects_say_why_without_content(run: dict[str, Any]) -> None:
    why = {row["source_record_id"]: (row["stage"], row["detail"]) for row in run["rejects"]}
    assert why["rec-102#diagnosis"] == ("tasks", "diagnosis needs 诊断")
    assert why["records.txt:33#discharge_summary"] == (
        "tasks",
        "discharge_summary needs 治疗经过、出院医嘱",
    )
    quarantined = {
        (Path(r["path"]).name, r["line"], r["reason"], r["detail"]) for r in run["quarantine"]
    }
    assert ("exams.jsonl", 5, "options_missing_letter", "options ABDE: no C") in quarantined
    assert ("triples.tsv", 21, "empty_tail", "the tail is empty") in quarantined


def test_a_diagnosis_sample_reads_as_written(run: dict[str, Any]) -> None:
    assert messages(run["samples"]["records.txt:33#diagnosis"]) == [
        (
            "user",
            "根据以下病历，患者最可能的诊断是什么？\n主诉：转移性右下腹痛12小时。\n"
            "现病史：患者12小时前无明显诱因出现上腹部隐痛，伴恶心，未呕吐，6小时前疼痛转移并固定于"
            "右下腹，呈持续性，伴低热。急诊就诊。\n既往史：既往体健，否认手术史。\n"
            "体格检查：T 37.9℃。右下腹麦氏点压痛、反跳痛阳性，腹肌稍紧张，结肠充气试验阳性。\n"
            "辅助检查：血常规：白细胞14.2×10^9/L，中性粒细胞百分比88%；腹部超声提示阑尾增粗，"
            "直径约9mm，周围少量渗出。",
        ),
        ("assistant", "根据病史、查体和辅助检查，最可能的诊断是：急性阑尾炎"),
    ]


def test_a_differential_diagnosis_sample_is_de_identified(run: dict[str, Any]) -> None:
    (_, question), (role, answer) = messages(run["samples"]["rec-101#differential_diagnosis"])
    assert question.endswith(
        "该患者初步诊断为急性前壁ST段抬高型心肌梗死；高血压病3级（很高危），需要与哪些疾病鉴别？"
    )
    assert "陈志强" not in question and "13511112222" not in question
    assert (role, answer) == (
        "assistant",
        "鉴别诊断：\n1.主动脉夹层：胸痛呈撕裂样，双上肢血压不对称，主动脉CTA可鉴别；2.急性肺栓塞："
        "可有胸痛、呼吸困难，D-二聚体及CT肺动脉造影可鉴别；3.急性心包炎：疼痛与体位、呼吸相关，"
        "心电图多导联ST段弓背向下抬高。",
    )


def test_a_discharge_summary_sample_reads_as_written(run: dict[str, Any]) -> None:
    assert messages(run["samples"]["rec-103#discharge_summary"]) == [
        (
            "user",
            "主诉：反复上腹痛半年。\n现病史：患者半年来反复出现上腹部隐痛，多于餐后1小时出现，"
            "持续1-2小时后缓解，伴反酸、嗳气。\n体格检查：上腹部轻压痛，无反跳痛。\n"
            "辅助检查：暂未检查。\n诊断：慢性胃炎？\n治疗经过：门诊予奥美拉唑抑酸治疗2周，症状减轻。\n"
            "患者病情好转，准备出院，请写一份出院小结。",
        ),
        (
            "assistant",
            "【入院情况】反复上腹痛半年。\n【出院诊断】慢性胃炎？\n"
            "【诊疗经过】门诊予奥美拉唑抑酸治疗2周，症状减轻。\n"
            "【出院医嘱】清淡饮食，忌辛辣；建议完善胃镜检查。",
        ),
    ]


def test_a_next_examinations_sample_names_the_examinations(run: dict[str, Any]) -> None:
    assert messages(run["samples"]["rec-102#next_examinations"]) == [
        (
            "user",
            "根据以下病历，下一步应完善哪些检查？\n主诉：反复头痛1月，加重伴呕吐3天。\n"
            "现病史：患者1月前开始出现头痛，以晨起为重，3天前头痛加重，伴喷射性呕吐2次，无发热。\n"
            "既往史：否认高血压、糖尿病史。\n体格检查：神清，双侧瞳孔等大等圆，对光反射灵敏，"
            "眼底检查见视乳头水肿，四肢肌力5级，病理征阴性。",
        ),
        ("assistant", "为明确诊断，应进一步检查：头颅CT、血常规。"),
    ]


def test_an_exam_sample_answers_with_the_option_and_the_explanation(run: dict[str, Any]) -> None:
    assert messages(run["samples"]["exam-004#exam"]) == [
        (
            "user",
            "急性阑尾炎最典型的症状是\nA. 转移性右下腹痛\nB. 恶心呕吐\nC. 发热\nD. 腹泻\n"
            "E. 右下腹包块\n这是一道单选题，答案是什么？",
        ),
        (
            "assistant",
            "正确答案是A. 转移性右下腹痛。\n"
            "解析：转移性右下腹痛是急性阑尾炎的典型症状，约70%～80%的患者具有这一表现。",
        ),
    ]


def test_a_kg_sample_lists_every_tail_of_the_relation(run: dict[str, Any]) -> None:
    assert messages(run["samples"]["triples.tsv#糖尿病#症状"]) == [
        ("user", "糖尿病的典型症状是什么？"),
        ("assistant", "糖尿病的常见症状有多饮、多尿、多食、体重下降。"),
    ]
