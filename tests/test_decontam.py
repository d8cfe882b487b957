"""Decontamination: the share of an evaluation item's character 13-grams a training text holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.dedup.config import EvalSetConfig
from pipelines.dedup.decontam import EvalIndex, EvalItem, eval_files, ngram_hashes, read_eval_items
from pipelines.errors import MedloomError
from pipelines.records import Unreadable

# Folded: 男性50岁反复上腹痛3年进食后缓解常于夜间痛醒最可能的诊断是什么
# (32 characters, 20 distinct 13-grams).
ULCER = "男性，50岁，反复上腹痛3年，进食后缓解，常于夜间痛醒。最可能的诊断是什么？"
ECTOPIC = "女性，32岁，停经45天，阴道少量流血伴右下腹剧痛2小时。首先应考虑的诊断是什么？"


@pytest.fixture(scope="module")
def index() -> EvalIndex:
    return EvalIndex(
        [
            EvalItem("cmb", "q2", ECTOPIC),
            EvalItem("cmb", "q1", ULCER),
            EvalItem("cmb", "q3", "胃溃疡的典型症状？"),
        ],
        13,
    )


def test_items_shorter_than_n_are_left_out_and_counted(index: EvalIndex) -> None:
    assert (len(index), index.too_short, index.names) == (2, 1, ["cmb/q1", "cmb/q2"])


def test_ngram_hashes_are_the_distinct_folded_13_grams() -> None:
    assert len(ngram_hashes(ULCER, 13)) == 20
    assert len(ngram_hashes("胃溃疡的典型症状？", 13)) == 0


def test_an_exact_copy_inside_a_training_dialogue_holds_all_of_it(index: EvalIndex) -> None:
    training = f"user: 病例如下：{ULCER}\nassistant: 考虑十二指肠溃疡，建议胃镜检查。"

    assert index.best_overlap(training) == (1.0, "cmb/q1")


def test_a_copy_in_traditional_characters_and_other_punctuation_still_matches(
    index: EvalIndex,
) -> None:
    traditional = "男性 50歲 反復上腹痛3年 進食後緩解 常於夜間痛醒 最可能的診斷是什麼"

    assert index.best_overlap(traditional) == (1.0, "cmb/q1")


def test_a_patient_retelling_the_case_holds_the_shared_13_grams(index: EvalIndex) -> None:
    # Shares 男性50岁反复上腹痛3年进食后缓解常于夜间痛醒 (23 characters): 11 of the 20 13-grams.
    retold = "医生您好，我男性，50岁，反复上腹痛3年，进食后缓解，常于夜间痛醒。请问严重吗？"

    assert index.best_overlap(retold) == (11 / 20, "cmb/q1")


def test_a_paraphrase_shares_no_13_gram(index: EvalIndex) -> None:
    paraphrase = "男，50岁，上腹痛反复发作3年，进食后可缓解，夜里常常痛醒，最可能是什么病？"

    assert index.best_overlap(paraphrase) == (0.0, None)


def test_an_unrelated_dialogue_overlaps_nothing(index: EvalIndex) -> None:
    assert index.best_overlap("宝宝发烧38.5度，需要吃退烧药吗？可以服用布洛芬。") == (0.0, None)


def test_a_training_text_shorter_than_n_overlaps_nothing(index: EvalIndex) -> None:
    assert index.best_overlap("胃溃疡") == (0.0, None)


def test_an_index_of_only_short_items_overlaps_nothing() -> None:
    empty = EvalIndex([EvalItem("cmb", "q3", "胃溃疡的典型症状？")], 13)

    assert (len(empty), empty.too_short) == (0, 1)
    assert empty.best_overlap(ULCER) == (0.0, None)


def test_the_best_of_several_items_is_named() -> None:
    index = EvalIndex([EvalItem("cmb", "q1", ULCER), EvalItem("cmexam", "7", ECTOPIC)], 13)

    assert index.best_overlap(f"{ULCER[:24]}……{ECTOPIC}") == (1.0, "cmexam/7")


# Evaluation files


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_eval_items_join_the_named_fields_dotted_and_history_lists(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "cmb_clin.jsonl",
        [
            {
                "id": "c1",
                "question": "最可能的诊断是什么？",
                "case": {"history": "男性，50岁，反复上腹痛3年。", "exam": "剑突下压痛。"},
                "history": [["需要做什么检查？", "胃镜检查。"]],
                "answer": "十二指肠溃疡",
            },
            {"id": "c2", "answer": "异位妊娠"},
        ],
    )
    eval_set = EvalSetConfig(
        name="cmb_clin", paths=[str(path)], text_fields=["case.history", "history", "question"]
    )

    items = list(read_eval_items(eval_set, str(path)))

    assert items == [
        EvalItem(
            "cmb_clin",
            "cmb_clin.jsonl:1",
            "男性，50岁，反复上腹痛3年。\n需要做什么检查？\n胃镜检查。\n最可能的诊断是什么？",
        ),
        Unreadable(
            str(path), 2, "missing_field", "none of ['case.history', 'history', 'question']"
        ),
    ]


def test_a_text_eval_file_is_one_item_per_line(tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text(f"{ULCER}\n\n{ECTOPIC}\n", encoding="utf-8")
    eval_set = EvalSetConfig(name="cmexam", paths=[str(path)])

    items = list(read_eval_items(eval_set, str(path)))

    assert items == [
        EvalItem("cmexam", "questions.txt:1", ULCER),
        EvalItem("cmexam", "questions.txt:3", ECTOPIC),
    ]


def test_eval_files_lists_a_folder_s_files_sorted(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "b.jsonl", [{"text": ECTOPIC}])
    write_jsonl(tmp_path / "a.jsonl", [{"text": ULCER}])

    files = eval_files(EvalSetConfig(name="cmb", paths=[str(tmp_path)]))

    assert files == [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]


def test_a_missing_eval_path_names_the_eval_set(tmp_path: Path) -> None:
    missing = tmp_path / "cmb.jsonl"

    with pytest.raises(MedloomError) as raised:
        eval_files(EvalSetConfig(name="cmb", paths=[str(missing)]))

    assert str(raised.value) == f"evaluation set 'cmb': source 'cmb': path not found: {missing}"


def test_an_eval_set_without_paths_is_an_error() -> None:
    with pytest.raises(MedloomError) as raised:
        eval_files(EvalSetConfig(name="cmb"))

    assert str(raised.value) == "evaluation set 'cmb' names no files"
