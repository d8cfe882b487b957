"""Validation of an SFT dataset: what a broken shard looks like in the verdict."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.dialogues.validate import role_order_ok, validate_sft
from pipelines.errors import MedloomError
from schemas import SFT_CONVERSATION

CONFIG = {"context": {"max_tokens": 300}, "deid": {"enabled": False}}
ASK = "最近血压150/95mmHg，需要吃降压药吗？"
ANSWER = "建议先非同日复测三次血压，如仍高于140/90mmHg，再到心内科评估是否用药。"


def sample(sample_id: str, messages: list[tuple[str, str]], **overrides: object) -> dict:
    row = {
        "id": sample_id,
        "messages": [{"role": role, "content": content} for role, content in messages],
        "source": "cmtmedqa",
        "source_record_id": sample_id,
        "department": "内科",
        "task": "dialogue",
        "num_turns": sum(1 for role, _ in messages if role != "system"),
        "num_tokens": 80,
        "cluster": sample_id,
        "split": "train",
    }
    row.update(overrides)
    return row


def write(out: Path, rows: list[dict], name: str = "part-00000.parquet") -> None:
    (out / "sft").mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=SFT_CONVERSATION.arrow)
    pq.write_table(table, out / "sft" / name)


def failures(out: Path) -> dict[str, str]:
    result = validate_sft(out, CONFIG)
    return {f"{r.expectation}[{r.column}]": r.observed for r in result.failed}


def test_role_order() -> None:
    assert role_order_ok(["system", "user", "assistant", "user", "assistant"])
    assert role_order_ok(["user", "assistant"])
    assert not role_order_ok(["assistant", "user"])
    assert not role_order_ok(["user", "assistant", "user"])
    assert not role_order_ok(["user", "user", "assistant", "assistant"])
    assert not role_order_ok([])


def test_a_good_shard_passes(tmp_path: Path) -> None:
    write(tmp_path, [sample("a", [("user", ASK), ("assistant", ANSWER)])])
    result = validate_sft(tmp_path, CONFIG)
    assert result.success, result.summary()
    assert result.summary().startswith("validation passed")


def test_each_broken_promise_is_named_with_its_rows(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            sample("ok", [("user", ASK), ("assistant", ANSWER)]),
            sample("ends-on-user", [("user", ASK), ("assistant", ANSWER), ("user", ASK)]),
            sample("empty", [("user", ASK), ("assistant", "  ")]),
            sample("too-long", [("user", ASK), ("assistant", ANSWER)], num_tokens=301),
            sample("miscounted", [("user", ASK), ("assistant", ANSWER)], num_turns=4),
            sample("leaky", [("user", ASK + "电话13912345678"), ("assistant", ANSWER)]),
            sample("odd-split", [("user", ASK), ("assistant", ANSWER)], split="dev"),
        ],
    )
    assert failures(tmp_path) == {
        "expect_column_values_to_be_in_set[split]": (
            "1 of 7 rows (14.3%) are not one of train, validation, test, at row 6"
        ),
        "expect_column_values_to_be_between[num_tokens]": (
            "1 of 7 rows (14.3%) are outside [1, 300], at row 3"
        ),
        "expect_column_values_to_be_in_set[roles_alternate]": (
            "1 of 7 rows (14.3%) are not one of True, at row 1"
        ),
        "expect_column_values_to_be_between[empty_messages]": (
            "1 of 7 rows (14.3%) are outside [0, 0], at row 2"
        ),
        "expect_column_values_to_be_between[identifiers_found]": (
            "1 of 7 rows (14.3%) are outside [0, 0], at row 5"
        ),
        "expect_column_pair_values_to_be_equal[num_turns]": (
            "1 of 7 rows (14.3%) have num_turns != its non-system messages, at row 4"
        ),
    }


def test_a_cluster_in_two_splits_fails_across_shards(tmp_path: Path) -> None:
    pair = [("user", ASK), ("assistant", ANSWER)]
    write(tmp_path, [sample("a#1", pair, cluster="c1")], "part-00000.parquet")
    write(tmp_path, [sample("a#2", pair, cluster="c1", split="test")], "part-00001.parquet")
    assert failures(tmp_path) == {
        "expect_cluster_in_one_split[cluster]": "1 of 1 clusters straddle two or more splits"
    }


def test_a_pretraining_shard_in_sft_fails_on_footer_and_columns(tmp_path: Path) -> None:
    (tmp_path / "sft").mkdir()
    pq.write_table(pa.table({"id": ["x"], "text": [ASK]}), tmp_path / "sft" / "part-0.parquet")
    failed = failures(tmp_path)
    assert failed["expect_file_footer_to_name_schema[None]"] == "no medloom schema in the footer"
    assert failed["expect_table_columns_to_match_ordered_list[None]"].startswith("missing ")


def test_an_empty_dataset_fails_and_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sft").mkdir()
    assert failures(tmp_path) == {
        "expect_dataset_to_have_rows[None]": "dataset is empty: 0 rows in 0 shards"
    }
    with pytest.raises(MedloomError, match="output folder not found"):
        validate_sft(tmp_path / "nowhere", CONFIG)
