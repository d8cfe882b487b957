"""`medloom eval` end to end: the demo's outputs, its exam sets, tiny models on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main as medloom
from tests.conftest import REPO
from tests.test_eval_likelihood import says_b
from tests.training_support import tiny_base
from training.evaluation.cli import main as medloom_eval

BAD_ITEMS = [
    {
        "id": "bad-1",
        "question": "有机磷农药中毒的解毒药是",
        "options": {"A": "阿托品", "C": "碘解磷定"},
        "answer": "C",
    },
    {
        "id": "bad-2",
        "question": "急性阑尾炎最典型的症状是",
        "options": {"A": "转移性右下腹痛", "B": "发热"},
        "answer": "F",
    },
]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("eval")
    out = root / "out"
    assert medloom(["demo", "--output", str(out)]) == 0
    config = str(REPO / "data" / "dialogues.yaml")
    exams = [root / "exams.jsonl", root / "cmexam.jsonl", root / "bad.jsonl"]
    for source, path in zip(("exams", "exams_cmexam"), exams, strict=False):
        assert (
            medloom(["tasks", "export-exams", config, "--source", source, "--output", str(path)])
            == 0
        )
    exams[2].write_text(
        "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in BAD_ITEMS), encoding="utf-8"
    )
    results = root / "results"
    argv = [
        "eval",
        "--model",
        str(says_b()),
        "--compare",
        str(tiny_base()),
        "--reward-model",
        str(tiny_base()),
        "--data",
        str(out),
        "--exams",
        *map(str, exams),
        "--shots",
        "0,1",
        "--max-new-tokens",
        "8",
        "--output",
        str(results),
    ]
    assert medloom_eval(argv) == 0
    return results, json.loads((results / "eval.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_section_is_written(evaluated: tuple[Path, dict]) -> None:
    results, report = evaluated
    assert list(report["models"]) == ["says-b", "base"]
    for model in report["models"].values():
        assert set(model) == {"path", "exams", "qa", "diagnosis", "perplexity"}
        assert list(model["exams"]) == ["0-shot", "1-shot"]
        assert model["exams"]["0-shot"]["items"] == 6
        assert set(model["exams"]["0-shot"]["by_subject"]) == {
            "内科学",
            "基础护理学",
            "外科学",
            "药理学",
        }
        assert model["diagnosis"]["records"] == 2
        assert model["diagnosis"]["split"] == "test"
        assert model["qa"]["reward"]["answers"] == report["heldout_prompts"]["qa"]
        assert model["perplexity"]["perplexity"] > 1
    comparison = report["comparison"]
    assert comparison["win"] + comparison["tie"] + comparison["loss"] == comparison["prompts"]
    assert (results / "eval.html").read_text(encoding="utf-8").count("<section") == 4


@pytest.mark.slow
def test_bad_items_are_skipped_with_their_reasons(evaluated: tuple[Path, dict]) -> None:
    _, report = evaluated
    assert report["skipped"]["by_reason"] == {
        "answer_not_in_options": 1,
        "options_missing_letter": 1,
    }


@pytest.mark.slow
def test_the_demo_exams_are_found_in_the_sft_training_split(evaluated: tuple[Path, dict]) -> None:
    _, report = evaluated
    sft = report["contamination"]["outputs"]["sft"]
    # The demo trains on its own exam items (5 of the 6 in the train split, the other in test).
    assert sft["by_set"]["exams"] == 4
    assert report["contamination"]["outputs"]["pretrain"]["items_overlapping"] == 0


@pytest.mark.slow
def test_samples_are_written_for_reading(evaluated: tuple[Path, dict]) -> None:
    results, report = evaluated
    assert "samples/qa_answers.jsonl" in report["samples"]
    first = json.loads((results / "samples" / "qa_answers.jsonl").read_text().splitlines()[0])
    assert set(first["answers"]) == {"says-b", "base"}
    exams = (results / "samples" / "exams.says-b.jsonl").read_text().splitlines()
    assert len(exams) == 12


def test_a_missing_model_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = medloom_eval(["eval", "--model", str(tmp_path / "nowhere"), "--data", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert error.strip().count("\n") == 0
    assert "is not a local model folder" in error
