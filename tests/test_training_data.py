"""Reading medloom's Parquet outputs for training: schemas checked from the footer, the SFT
split column respected, held-out parts stable, and one-line errors for what a user gets wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from training_support import CONSULTATIONS, FOLLOW_UP, write_output

from pipelines.cli import main
from pipelines.errors import MedloomError
from training.data import (
    is_heldout,
    preference_pairs,
    pretrain_texts,
    read_prompts,
    sft_conversations,
    unique_prompts,
)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_output(tmp_path_factory.mktemp("out"))


def test_sft_conversations_follow_their_split_column(output: Path) -> None:
    splits = sft_conversations(output)
    assert {name: len(split) for name, split in splits.items()} == {
        "train": 12,
        "validation": 2,
        "test": 2,
    }
    assert splits["train"].column_names == ["messages"]
    assert splits["train"][0]["messages"] == [
        {"role": "user", "content": CONSULTATIONS[0][1]},
        {"role": "assistant", "content": CONSULTATIONS[0][2]},
        {"role": "user", "content": FOLLOW_UP[0]},
        {"role": "assistant", "content": FOLLOW_UP[1]},
    ]
    assert splits["test"][0]["messages"][0]["content"] == CONSULTATIONS[14][1]


def test_pretraining_documents_are_held_out_by_a_hash_of_their_id(output: Path) -> None:
    train, heldout = pretrain_texts(output, heldout_fraction=0.25)
    # Documents doc-000, 001, 006, 016, 024, 025, 028, 029 and 031 hash below 0.25.
    assert (len(train), len(heldout)) == (23, 9)
    assert (
        heldout[0]["text"]
        == f"呼吸内科门诊咨询\n问：{CONSULTATIONS[0][1]}\n答：{CONSULTATIONS[0][2]}"
    )
    assert [is_heldout(f"doc-{i:03d}", 0.25) for i in (0, 1, 2, 6)] == [True, True, False, True]


def test_pairs_of_one_prompt_stay_on_one_side(output: Path) -> None:
    train, heldout = preference_pairs(output, heldout_fraction=0.2)
    assert (len(train), len(heldout)) == (36, 12)
    assert train.column_names == ["prompt", "chosen", "rejected", "margin"]
    train_prompts = {row[0]["content"] for row in train["prompt"]}
    heldout_prompts = {row[0]["content"] for row in heldout["prompt"]}
    assert len(heldout_prompts) == 4
    assert not train_prompts & heldout_prompts
    assert unique_prompts(heldout)["prompt"][0] == [
        {"role": "user", "content": CONSULTATIONS[6][1]}
    ]


def test_empty_folder_is_a_one_line_error(output: Path, tmp_path: Path) -> None:
    (tmp_path / "sft").mkdir()
    with pytest.raises(MedloomError) as error:
        sft_conversations(tmp_path)
    assert str(error.value) == (
        f"no sft_conversation data: {tmp_path / 'sft'} has no .parquet files"
    )


def test_wrong_schema_is_named_with_the_file(output: Path, tmp_path: Path) -> None:
    shutil.copytree(output / "pretrain", tmp_path / "sft")
    with pytest.raises(MedloomError) as error:
        sft_conversations(tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'sft' / 'part-00000.parquet'}: expected schema sft_conversation 1.x, "
        "found pretrain_document 1.0"
    )


def test_parquet_without_a_medloom_footer_is_refused(output: Path, tmp_path: Path) -> None:
    table = pq.read_table(output / "sft" / "part-00000.parquet")
    (tmp_path / "sft").mkdir()
    pq.write_table(table.replace_schema_metadata(None), tmp_path / "sft" / "part-00000.parquet")
    with pytest.raises(MedloomError, match=r"found no medloom schema in its footer$"):
        sft_conversations(tmp_path)


def test_prompts_from_jsonl_text_or_messages(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [
        {"id": "q1", "prompt": "孩子咳嗽一周了，需要吃抗生素吗？"},
        {
            "prompt": [
                {"role": "user", "content": "血压160/100mmHg，头晕。"},
                {"role": "assistant", "content": "头晕持续多久了？"},
                {"role": "user", "content": "两天了。"},
            ]
        },
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    assert read_prompts(path) == [
        ("q1", [{"role": "user", "content": "孩子咳嗽一周了，需要吃抗生素吗？"}]),
        ("prompt-2", lines[1]["prompt"]),
    ]


def test_prompts_from_sft_parquet_are_the_test_split_up_to_the_last_answer(
    output: Path,
) -> None:
    prompts = read_prompts(output / "sft")
    assert prompts == [
        (
            "sft-014",
            [
                {"role": "user", "content": CONSULTATIONS[14][1]},
                {"role": "assistant", "content": CONSULTATIONS[14][2]},
                {"role": "user", "content": FOLLOW_UP[0]},
            ],
        ),
        ("sft-015", [{"role": "user", "content": CONSULTATIONS[15][1]}]),
    ]


def test_a_bad_prompt_line_is_one_line_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "胸闷气短怎么办？"}\n{"question": "头晕"}\n', encoding="utf-8")
    argv = ["train", "generate", "--model", str(tmp_path), "--prompts", str(path)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f'medloom: error: {path}:2: expected a "prompt" that is text or a list of '
        "{role, content} messages\n"
    )


def test_a_hub_name_is_not_fetched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "胸闷气短怎么办？"}\n', encoding="utf-8")
    argv = ["train", "generate", "--model", "Qwen/Qwen2.5-0.5B", "--prompts", str(path)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "medloom: error: model Qwen/Qwen2.5-0.5B is not a local model folder (no config.json); "
        "base models are local paths, nothing is downloaded\n"
    )
