"""Counting evaluation items that the training outputs hold."""

from __future__ import annotations

from pathlib import Path

from pipelines.dedup.decontam import EvalItem
from tests.training_support import CONSULTATIONS, write_output
from training.evaluation.contamination import contamination_report, overlapping_items

APPENDICITIS = "急性阑尾炎最典型的症状是转移性右下腹痛，常伴恶心呕吐和低热"
ANEMIA = "缺铁性贫血最可靠的诊断依据是骨髓铁染色示细胞外铁消失"
UNSEEN = "有机磷农药中毒时能够恢复胆碱酯酶活性的药物是碘解磷定"


def test_every_item_a_document_holds_is_counted_not_only_its_best() -> None:
    items = [EvalItem("exams", "e1", APPENDICITIS), EvalItem("exams", "e2", ANEMIA)]
    items.append(EvalItem("exams", "e3", UNSEEN))
    # One textbook page holds both the first item and, a little less fully, the second.
    page = f"外科学复习：{APPENDICITIS}。内科学复习：{ANEMIA[:22]}。"
    assert overlapping_items(items, [page, "今天天气很好"], ngram=13, overlap=0.5) == {
        "exams/e1",
        "exams/e2",
    }


def test_a_small_share_is_no_overlap() -> None:
    items = [EvalItem("exams", "e1", APPENDICITIS)]
    assert overlapping_items(items, [APPENDICITIS[:14]], ngram=13, overlap=0.5) == set()


def test_the_report_counts_per_training_output(tmp_path: Path) -> None:
    data = write_output(tmp_path / "out")
    question = CONSULTATIONS[0][1]  # in the SFT train split and in the preference prompts
    items = [
        EvalItem("qa_prompts", "q1", question),
        EvalItem("exams", "e1", UNSEEN),
        EvalItem("exams", "short", "胸痛"),
    ]
    report = contamination_report(items, data)
    assert report["items"] == {"exams": 2, "qa_prompts": 1}
    assert report["too_short"] == 1
    outputs = report["outputs"]
    # The pretraining text holds each question too ("问：..."), so all three outputs have it.
    for output in ("pretrain", "sft", "preference_pairs"):
        assert outputs[output]["items_overlapping"] == 1
        assert outputs[output]["by_set"] == {"exams": 0, "qa_prompts": 1}
        assert outputs[output]["examples"] == ["qa_prompts/q1"]


def test_an_absent_output_is_reported_absent(tmp_path: Path) -> None:
    data = write_output(tmp_path / "out")
    for part in (data / "preference" / "pairs").iterdir():
        part.unlink()
    report = contamination_report([EvalItem("exams", "e1", UNSEEN)], data)
    assert report["outputs"]["preference_pairs"] == {"present": False}
