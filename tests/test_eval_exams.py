"""Reading an exam evaluation set, the prompts and the few-shot draw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.errors import MedloomError
from pipelines.tasks.exams import ExamItem
from training.evaluation.exams import (
    candidate_answers,
    draw_shots,
    exam_prompt,
    read_exam_set,
)

COPD = {
    "id": "exam-001",
    "question": "男，58岁。反复咳嗽、咳痰10年，活动后气短2年。最可能的诊断是",
    "options": {"A": "支气管哮喘", "B": "慢性阻塞性肺疾病", "C": "支气管扩张症"},
    "answer": "B",
    "subject": "内科学",
    "exam_type": "临床执业医师",
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_items_are_counted_skips_with_reasons(tmp_path: Path) -> None:
    skipping_c = {
        **COPD,
        "id": "exam-005",
        "options": {"A": "阿托品", "B": "山莨菪碱", "D": "碘解磷定"},
    }
    answer_e = {**COPD, "id": "exam-006", "answer": "E"}
    path = _write(
        tmp_path / "exams.jsonl",
        [json.dumps(r, ensure_ascii=False) for r in (COPD, skipping_c, answer_e)] + ["{oops"],
    )
    exams = read_exam_set([path])
    assert [item.id for item in exams.items] == ["exam-001"]
    assert exams.skipped_by_reason() == {
        "answer_not_in_options": 1,
        "not_json": 1,
        "options_missing_letter": 1,
    }
    assert exams.skipped[0] == {
        "file": "exams.jsonl",
        "line": 2,
        "reason": "options_missing_letter",
        "detail": "options ABD: no C",
    }


def test_a_missing_exam_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match="exam file not found"):
        read_exam_set([tmp_path / "absent.jsonl"])


def _item(number: int, question: str = "") -> ExamItem:
    return ExamItem(f"exam-{number:03d}", question or f"第{number}题", {"A": "是", "B": "否"}, "A")


def test_shots_are_the_same_every_run_and_never_the_item() -> None:
    pool = [_item(n) for n in range(1, 9)]
    item = pool[3]
    shots = draw_shots(item, pool, 3)
    assert len(shots) == 3
    assert item not in shots
    assert draw_shots(item, list(reversed(pool)), 3) == shots
    assert draw_shots(item, pool, 0) == []


def test_a_pool_item_with_the_same_question_is_no_shot() -> None:
    item = _item(1, "急性阑尾炎最典型的症状是")
    twin = _item(2, "急性阑尾炎最典型的症状是")
    assert draw_shots(item, [item, twin, _item(3)], 2) == [_item(3)]


def test_shots_come_before_the_question_as_solved_turns() -> None:
    item = ExamItem(**COPD)
    prompt = exam_prompt(item, [_item(7)])
    assert [m["role"] for m in prompt] == ["user", "assistant", "user"]
    assert prompt[1]["content"] == "答案：A"
    assert prompt[2]["content"].endswith(
        "最可能的诊断是\nA. 支气管哮喘\nB. 慢性阻塞性肺疾病\nC. 支气管扩张症"
    )
    assert "单选题" in prompt[2]["content"]


def test_candidates_are_letters_or_sets_of_letters() -> None:
    assert candidate_answers(ExamItem(**COPD)) == ["A", "B", "C"]
    multiple = ExamItem(**{**COPD, "answer": "AC"})
    assert candidate_answers(multiple) == ["AB", "AC", "BC", "ABC"]
