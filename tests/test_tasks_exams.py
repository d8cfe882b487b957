"""Exam questions → SFT samples and an evaluation set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import DialogueRecord
from pipelines.records import Unreadable
from pipelines.tasks import make_builder
from pipelines.tasks.cli import main
from pipelines.tasks.exams import BadItem, parse_answer, parse_options

# One template of each kind, so the expected text does not depend on the hash.
SINGLE_TEMPLATES = {
    "exam": {
        "prompts": ["以下是一道{kind}，请选出正确答案。\n{question}\n{options}"],
        "answers": ["这道{kind}的正确答案是{answer}。"],
        "answers_with_explanation": ["正确答案是{answer}。\n解析：{explanation}"],
    }
}
METFORMIN = {
    "id": "exam-002",
    "exam_type": "临床执业医师",
    "subject": "内科学",
    "question": "下列哪些是二甲双胍的禁忌证",
    "options": ["A. 严重肾功能不全", "B. 超重或肥胖", "C. 严重感染", "D. 心力衰竭失代偿期"],
    "answer": "A、C、D",
    "explanation": "二甲双胍在肾功能不全、严重感染和缺氧时易诱发乳酸酸中毒。",
}


def exam_source(tasks: dict | None = None) -> DialogueSourceConfig:
    return DialogueSourceConfig(
        name="exams",
        path="exams.jsonl",
        layout="exam",
        tasks={"templates": SINGLE_TEMPLATES, **(tasks or {})},
    )


def test_options_are_read_from_a_mapping_a_list_and_cmexam_text() -> None:
    expected = {"A": "阿托品", "B": "碘解磷定", "C": "东莨菪碱"}
    assert parse_options({"A": "阿托品", "B": "碘解磷定", "C": "东莨菪碱"}) == expected
    assert parse_options(["A. 阿托品", "B、碘解磷定", "C：东莨菪碱"]) == expected
    assert parse_options(["阿托品", "碘解磷定", "东莨菪碱"]) == expected
    assert parse_options("A 阿托品\nB 碘解磷定\nC 东莨菪\n碱") == {**expected, "C": "东莨菪 碱"}


def test_options_that_skip_a_letter_are_refused_naming_it() -> None:
    with pytest.raises(BadItem) as error:
        parse_options({"A": "阿托品", "B": "山莨菪碱", "D": "碘解磷定", "E": "东莨菪碱"})
    assert (error.value.reason, error.value.detail) == (
        "options_missing_letter",
        "options ABDE: no C",
    )


def test_answers_are_letters_in_order_or_an_options_text() -> None:
    options = {"A": "取下活动义齿", "B": "棉球不可过湿", "C": "协助患者漱口", "D": "动作轻柔"}
    assert parse_answer("DB", options) == "BD"
    assert parse_answer(["a", "c"], options) == "AC"
    assert parse_answer("协助患者漱口", options) == "C"
    with pytest.raises(BadItem) as error:
        parse_answer("E", options)
    assert (error.value.reason, error.value.detail) == (
        "answer_not_in_options",
        "answer E is not among the options ABCD",
    )


def test_a_multi_answer_item_is_answered_with_every_letter_text_and_the_explanation() -> None:
    builder = make_builder(exam_source())
    assert builder.to_record(METFORMIN, "exams.jsonl:2", "exams.jsonl", 2) == (
        DialogueRecord(
            "exam-002#exam",
            (
                (
                    "user",
                    "以下是一道多选题，请选出正确答案。\n下列哪些是二甲双胍的禁忌证\n"
                    "A. 严重肾功能不全\nB. 超重或肥胖\nC. 严重感染\nD. 心力衰竭失代偿期",
                ),
                (
                    "assistant",
                    "正确答案是A. 严重肾功能不全；C. 严重感染；D. 心力衰竭失代偿期。\n"
                    "解析：二甲双胍在肾功能不全、严重感染和缺氧时易诱发乳酸酸中毒。",
                ),
            ),
            None,
            (("subject", "内科学"), ("exam_type", "临床执业医师")),
            task="exam",
        ),
    )


def test_an_item_without_explanation_answers_with_the_option_alone() -> None:
    builder = make_builder(exam_source())
    medqa = {
        "question": "有机磷农药中毒时能恢复胆碱酯酶活性的药物是",
        "options": {"A": "阿托品", "B": "碘解磷定", "C": "东莨菪碱"},
        "answer": "碘解磷定",
        "answer_idx": "B",
        "meta_info": "药理学",
    }
    (sample,) = builder.to_record(medqa, "medqa.jsonl:7", "medqa.jsonl", 7)
    assert sample.source_record_id == "medqa.jsonl:7#exam"
    assert sample.turns[1] == ("assistant", "这道单选题的正确答案是B. 碘解磷定。")


def test_a_bad_item_is_unreadable_with_its_reason_not_a_sample() -> None:
    builder = make_builder(exam_source())
    wrong = {**METFORMIN, "options": {"A": "40～60次/分", "B": "60～100次/分"}, "answer": "E"}
    assert builder.to_record(wrong, "exams.jsonl:6", "exams.jsonl", 6) == Unreadable(
        "exams.jsonl", 6, "answer_not_in_options", "answer E is not among the options AB"
    )


def test_export_exams_writes_the_valid_items_as_an_evaluation_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exams = tmp_path / "exams.jsonl"
    bad = {**METFORMIN, "id": "exam-009", "options": {"A": "甲", "C": "丙"}, "answer": "A"}
    exams.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (METFORMIN, bad)) + "\n",
        encoding="utf-8",
    )
    config = tmp_path / "run.yaml"
    config.write_text(
        "pipeline: dialogues\nsources:\n  - {name: exams, path: exams.jsonl, layout: exam}\n",
        encoding="utf-8",
    )
    output = tmp_path / "eval" / "exams.jsonl"
    code = main(
        ["tasks", "export-exams", str(config), "--source", "exams", "--output", str(output)]
    )
    assert code == 0
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "id": "exam-002",
            "question": "下列哪些是二甲双胍的禁忌证",
            "options": {
                "A": "严重肾功能不全",
                "B": "超重或肥胖",
                "C": "严重感染",
                "D": "心力衰竭失代偿期",
            },
            "answer": "ACD",
            "explanation": "二甲双胍在肾功能不全、严重感染和缺氧时易诱发乳酸酸中毒。",
            "subject": "内科学",
            "exam_type": "临床执业医师",
        }
    ]
    out, err = capsys.readouterr()
    assert (
        out == f"medloom: wrote 1 exam items to {output}; 1 not valid (options_missing_letter 1)\n"
    )
    assert err == f"medloom: skipped {exams}:2: options_missing_letter: options AC: no B\n"


def test_export_exams_refuses_a_source_that_is_not_an_exam(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "pipeline: dialogues\nsources:\n  - {name: kg, path: t.tsv, layout: kg_triples}\n",
        encoding="utf-8",
    )
    code = main(["tasks", "export-exams", str(config), "--source", "kg", "--output", "x.jsonl"])
    assert code == 2
    assert (
        capsys.readouterr().err == "medloom: error: source 'kg': layout is kg_triples, not exam\n"
    )
