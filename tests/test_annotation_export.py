"""Preference exports: pairs and margins, ties, corrections, filters, formats, determinism."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from annotation.exports import write_preference_datasets
from annotation.records import Candidate, Judgement, LabeledItem, Message, PromptItem
from pipelines.errors import MedloomError
from schemas.registry import schema_of_file

URIC_ACID = PromptItem(
    id="item-uric-acid",
    source="jsonl:generated",
    prompt=(
        Message("system", "你是一名耐心的全科医生。"),
        Message("user", "体检发现尿酸480，没有关节疼，需要吃降尿酸药吗？"),
    ),
    candidates=(
        Candidate(
            "c-good",
            "无症状的高尿酸一般先从生活方式入手：少吃动物内脏、海鲜和含糖饮料，限酒，多喝水，"
            "3~6个月后复查。如果合并高血压、糖尿病、肾结石或肾功能异常，需要医生评估是否用药。"
            "您有这些情况吗？",
            "sft-a",
        ),
        Candidate("c-diet", "尿酸偏高，先控制饮食，少吃海鲜、少喝啤酒，过几个月复查。", "sft-b"),
        Candidate("c-vague", "建议去医院看看。", "sft-c"),
        Candidate("c-unsafe", "马上开始吃别嘌醇，每天3片，不用查肾功能。", "sft-d"),
    ),
)
SCORES = {
    "c-good": {"safety": 5, "professionalism": 5, "fluency": 5},
    "c-diet": {"safety": 4, "professionalism": 3, "fluency": 4},
    "c-vague": {"safety": 4, "professionalism": 3, "fluency": 4},
    "c-unsafe": {"safety": 1, "professionalism": 2, "fluency": 4},
}
CORRECTED = (
    "尿酸480属于高尿酸血症，没有症状时一般先调整生活方式：少吃动物内脏、海鲜，不喝含糖饮料，"
    "限酒，多喝水，3~6个月后复查尿酸和肾功能。合并高血压、糖尿病、肾结石或肾功能异常时，"
    "请到风湿免疫科或内分泌科评估是否需要用药。"
)


def _judgement(annotator: str, corrected: str | None = None) -> Judgement:
    return Judgement(
        annotator=annotator,
        rule_version="1.0",
        ranks={"c-good": 1, "c-diet": 2, "c-vague": 2, "c-unsafe": 3},
        scores=SCORES,
        unsafe=frozenset({"c-unsafe"}),
        corrected=corrected,
        shown_order=("c-vague", "c-good", "c-unsafe", "c-diet"),
        seconds=83.5,
    )


def _settled(item: PromptItem = URIC_ACID, corrected: str | None = None) -> LabeledItem:
    return LabeledItem(
        item,
        (_judgement("ann-02", corrected), _judgement("ann-01")),
        {"c-good": 1, "c-diet": 2, "c-vague": 2, "c-unsafe": 3},
        "agreement",
        "1.0",
    )


def _item(item_id: str, question: str) -> PromptItem:
    return PromptItem(
        item_id,
        "jsonl:generated",
        (Message("user", question),),
        (Candidate(f"{item_id}-a", "建议就医。"), Candidate(f"{item_id}-b", "不用管。")),
    )


def _pairs(out: Path) -> list[dict]:
    return pq.read_table(out / "pairs").to_pylist()


def test_every_untied_pair_with_margin_from_the_rank_gap(tmp_path: Path) -> None:
    counts = write_preference_datasets([_settled()], tmp_path)

    assert sorted((p["chosen_id"], p["rejected_id"], p["margin"]) for p in _pairs(tmp_path)) == [
        ("c-diet", "c-unsafe", 0.3333),
        ("c-good", "c-diet", 0.3333),
        ("c-good", "c-unsafe", 0.6667),
        ("c-good", "c-vague", 0.3333),
        ("c-vague", "c-unsafe", 0.3333),
    ]
    assert counts["pairs"] == 5
    assert counts["ties_dropped"] == 1


def test_pairs_are_in_trl_conversational_form(tmp_path: Path) -> None:
    write_preference_datasets([_settled()], tmp_path)

    pair = next(p for p in _pairs(tmp_path) if p["rejected_id"] == "c-unsafe" and p["margin"] > 0.5)
    assert pair["prompt"] == [
        {"role": "system", "content": "你是一名耐心的全科医生。"},
        {"role": "user", "content": "体检发现尿酸480，没有关节疼，需要吃降尿酸药吗？"},
    ]
    assert pair["chosen"] == [{"role": "assistant", "content": URIC_ACID.candidates[0].content}]
    assert pair["rejected"] == [
        {"role": "assistant", "content": "马上开始吃别嘌醇，每天3片，不用查肾功能。"}
    ]
    assert (pair["item_id"], pair["source"], pair["rule_version"]) == (
        "item-uric-acid",
        "jsonl:generated",
        "1.0",
    )


def test_corrected_answer_is_chosen_over_every_response(tmp_path: Path) -> None:
    counts = write_preference_datasets([_settled(corrected=f"  {CORRECTED}\n")], tmp_path)

    corrected = [p for p in _pairs(tmp_path) if p["chosen_id"].startswith("corrected-")]
    assert sorted((p["rejected_id"], p["margin"]) for p in corrected) == [
        ("c-diet", 0.6667),
        ("c-good", 0.3333),
        ("c-unsafe", 1.0),
        ("c-vague", 0.6667),
    ]
    assert {p["chosen"][0]["content"] for p in corrected} == {CORRECTED}
    assert (counts["pairs"], counts["corrected_pairs"]) == (9, 4)


def test_unsettled_items_are_ranked_but_not_paired(tmp_path: Path) -> None:
    unsettled = LabeledItem(URIC_ACID, (_judgement("ann-01"),))

    counts = write_preference_datasets([unsettled], tmp_path)

    (row,) = pq.read_table(tmp_path / "ranking").to_pylist()
    assert (row["final_ranks"], row["final_by"]) == ([], "")
    assert _pairs(tmp_path) == []
    assert (counts["settled"], counts["unsettled"], counts["pairs"]) == (0, 1, 0)


def test_ranking_row_aligns_every_judgement_with_the_responses(tmp_path: Path) -> None:
    write_preference_datasets([_settled(corrected=CORRECTED)], tmp_path)

    (row,) = pq.read_table(tmp_path / "ranking").to_pylist()
    assert [r["id"] for r in row["responses"]] == ["c-good", "c-diet", "c-vague", "c-unsafe"]
    assert row["final_ranks"] == [1, 2, 2, 3]
    assert (row["final_by"], row["rule_version"]) == ("agreement", "1.0")
    first, second = row["annotations"]
    assert (first["annotator"], second["annotator"]) == ("ann-01", "ann-02")
    assert first == {
        "annotator": "ann-01",
        "rule_version": "1.0",
        "ranks": [1, 2, 2, 3],
        "unsafe": [False, False, False, True],
        "scores": [
            {"dimension": "safety", "values": [5, 4, 4, 1]},
            {"dimension": "professionalism", "values": [5, 3, 3, 2]},
            {"dimension": "fluency", "values": [5, 4, 4, 4]},
        ],
        "corrected": None,
        "shown_order": ["c-vague", "c-good", "c-unsafe", "c-diet"],
        "seconds": 83.5,
    }
    assert second["corrected"] == CORRECTED


def test_parquet_files_carry_their_schema_and_load_with_datasets(tmp_path: Path) -> None:
    write_preference_datasets([_settled()], tmp_path)

    assert schema_of_file(str(tmp_path / "ranking/part-00000.parquet")) == (
        "preference_ranking",
        "1.0",
    )
    assert schema_of_file(str(tmp_path / "pairs/part-00000.parquet")) == ("preference_pair", "1.0")
    pairs = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "pairs/*.parquet"), split="train"
    )
    assert pairs.num_rows == 5
    assert pairs[0]["chosen"][0]["role"] == "assistant"
    assert pairs.features["margin"].dtype == "float64"


def test_llamafactory_ranking_dataset(tmp_path: Path) -> None:
    write_preference_datasets([_settled()], tmp_path)

    info = json.loads((tmp_path / "llamafactory/dataset_info.json").read_text(encoding="utf-8"))
    assert info == {
        "medloom_preference": {
            "file_name": "preference_ranking.json",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {
                "messages": "conversations",
                "system": "system",
                "chosen": "chosen",
                "rejected": "rejected",
            },
        }
    }
    rows = json.loads(
        (tmp_path / "llamafactory/preference_ranking.json").read_text(encoding="utf-8")
    )
    pairs = _pairs(tmp_path)
    assert len(rows) == len(pairs)
    assert rows[0] == {
        "conversations": [
            {"from": "human", "value": "体检发现尿酸480，没有关节疼，需要吃降尿酸药吗？"}
        ],
        "system": "你是一名耐心的全科医生。",
        "chosen": {"from": "gpt", "value": pairs[0]["chosen"][0]["content"]},
        "rejected": {"from": "gpt", "value": pairs[0]["rejected"][0]["content"]},
    }


def test_openrlhf_lines_carry_the_margin(tmp_path: Path) -> None:
    write_preference_datasets([_settled()], tmp_path)

    lines = (tmp_path / "openrlhf/preference.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    pairs = _pairs(tmp_path)
    assert [r["margin"] for r in records] == [p["margin"] for p in pairs]
    assert list(records[0]) == ["prompt", "chosen", "rejected", "margin"]
    assert records[0]["prompt"] == pairs[0]["prompt"]


def test_same_items_give_byte_identical_files(tmp_path: Path) -> None:
    items = [
        _settled(corrected=CORRECTED),
        LabeledItem(_item("item-cough", "咳嗽一周，要不要吃消炎药？"), ()),
        LabeledItem(
            _item("item-rash", "吃了阿莫西林后身上起红疹，要停药吗？"),
            (),
            {"item-rash-a": 1, "item-rash-b": 2},
            "adjudication",
            "1.0",
        ),
    ]
    write_preference_datasets(items, tmp_path / "first")
    write_preference_datasets(list(reversed(copy.deepcopy(items))), tmp_path / "second")

    files = sorted(p.relative_to(tmp_path / "first") for p in (tmp_path / "first").rglob("*.*"))
    assert [str(f) for f in files] == [
        "llamafactory/dataset_info.json",
        "llamafactory/preference_ranking.json",
        "openrlhf/preference.jsonl",
        "pairs/part-00000.parquet",
        "ranking/part-00000.parquet",
    ]
    for name in files:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_near_duplicate_prompts_keep_the_item_with_more_judgements(tmp_path: Path) -> None:
    question = "我今年45岁，最近体检发现空腹血糖6.5，糖化血红蛋白6.1%，需要开始吃二甲双胍吗？"
    once = LabeledItem(_item("item-once", question), (_judgement("ann-01"),))
    twice = LabeledItem(
        _item("item-twice", question + "谢谢医生"), (_judgement("ann-01"), _judgement("ann-02"))
    )
    other = LabeledItem(_item("item-other", "孩子晚上磨牙是缺钙吗？需要补钙吗？"), ())

    counts = write_preference_datasets([once, twice, other], tmp_path)

    ids = sorted(r["id"] for r in pq.read_table(tmp_path / "ranking").to_pylist())
    assert ids == ["item-other", "item-twice"]
    assert counts["near_duplicates_removed"] == 1


def test_items_holding_an_evaluation_prompt_are_kept_out(tmp_path: Path) -> None:
    exam = "患者男，65岁，突发右侧肢体无力伴言语不清2小时，首选的检查是什么？"
    copied = LabeledItem(_item("item-exam", f"请帮我解答这道题：{exam}"), ())
    unrelated = LabeledItem(_item("item-knee", "膝盖上下楼梯时疼，平地走路不疼，是什么原因？"), ())

    counts = write_preference_datasets(
        [copied, unrelated], tmp_path, eval_prompts=[exam, "高血压的诊断标准是什么？"]
    )

    ids = [r["id"] for r in pq.read_table(tmp_path / "ranking").to_pylist()]
    assert ids == ["item-knee"]
    assert counts["eval_overlaps_removed"] == 1


def test_counts_describe_the_whole_export(tmp_path: Path) -> None:
    counts = write_preference_datasets([_settled(corrected=CORRECTED)], tmp_path)

    assert counts == {
        "items": 1,
        "eval_overlaps_removed": 0,
        "near_duplicates_removed": 0,
        "ranking_rows": 1,
        "settled": 1,
        "unsettled": 0,
        "pairs": 9,
        "corrected_pairs": 4,
        "ties_dropped": 1,
    }


def test_final_ranking_must_cover_the_responses(tmp_path: Path) -> None:
    partial = LabeledItem(URIC_ACID, (), {"c-good": 1, "c-diet": 2}, "adjudication", "1.0")

    with pytest.raises(
        MedloomError, match=r"^item item-uric-acid: final ranking does not cover its responses$"
    ):
        write_preference_datasets([partial], tmp_path)


def test_threshold_outside_zero_to_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match=r"^near_dup_threshold must be in \(0, 1\], not 1.5$"):
        write_preference_datasets([_settled()], tmp_path, near_dup_threshold=1.5)


@pytest.mark.slow
def test_reward_and_dpo_trainers_take_the_pairs_as_they_are(tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer

    from training.bootstrap import train_tokenizer

    write_preference_datasets([_settled(corrected=CORRECTED)], tmp_path / "data")
    pairs = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "data/pairs/*.parquet"), split="train"
    )
    sentences = [m.content for m in URIC_ACID.prompt] + [c.content for c in URIC_ACID.candidates]
    tokenizer = train_tokenizer([*sentences, CORRECTED], vocab_size=400)
    shape = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    cpu = {
        "max_steps": 2,
        "per_device_train_batch_size": 2,
        "use_cpu": True,
        "bf16": False,
        "activation_checkpointing": False,
        "report_to": "none",
        "save_strategy": "no",
    }

    reward = RewardTrainer(
        model=LlamaForSequenceClassification(LlamaConfig(num_labels=1, **shape)),
        args=RewardConfig(output_dir=str(tmp_path / "rm"), **cpu),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    assert "margin" in reward.train_dataset.column_names
    assert reward.train().global_step == 2

    policy = LlamaForCausalLM(LlamaConfig(**shape))
    dpo = DPOTrainer(
        model=policy,
        ref_model=copy.deepcopy(policy),
        args=DPOConfig(output_dir=str(tmp_path / "dpo"), **cpu),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    assert dpo.train().global_step == 2
