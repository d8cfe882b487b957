"""The dialogue pipeline end to end on the demo's dialogues (data/dialogues.yaml).

Seven files in seven layouts go in; one SFT dataset, its LLaMA-Factory exports, rejects,
quarantine, manifest, validation and report come out, and every dialogue read is
accounted for.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from pipelines.dialogues.config import load_dialogue_config
from pipelines.dialogues.pipeline import run_dialogues
from pipelines.dialogues.validate import role_order_ok
from pipelines.errors import MedloomError
from tests.conftest import rows

DEMO = Path(__file__).resolve().parent.parent / "data" / "dialogues.yaml"
# The invented identifiers planted in data/dialogues/cmtmedqa.jsonl.
PLANTED = ("王建国", "13912345678", "example-health.cn")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dialogues") / "out"
    manifest = run_dialogues(load_dialogue_config(DEMO), str(out), say=lambda _: None)
    return out, manifest


def by_record(out: Path) -> dict[str, dict]:
    return {r["source_record_id"]: r for r in rows(out / "sft")}


def turns(row: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in row["messages"]]


def test_every_dialogue_read_is_written_rejected_or_quarantined(run: tuple[Path, dict]) -> None:
    _, manifest = run
    totals = manifest["totals"]
    assert (totals["records_read"], totals["quarantined"], totals["written"]) == (45, 10, 46)
    counts = manifest["counts"]
    assert counts["cmtmedqa"]["quarantined_by_reason"] == {
        "malformed_history": 1,
        "malformed_json": 1,
    }
    assert counts["cmtmedqa"]["rejected"] == {
        "clean/no_substantive_reply": 1,
        "decontam/overlaps_eval_set": 1,
        "exact_dedup/duplicate": 1,
        "near_dedup/near_duplicate": 1,
    }
    assert counts["cmtmedqa"]["written"] == 4
    assert counts["consultations"]["quarantined_by_reason"] == {"no_speaker_markers": 1}
    assert counts["sharegpt"]["quarantined_by_reason"] == {"unknown_role": 1}
    assert counts["disc"]["rejected"] == {"clean/one_speaker": 1}
    assert counts["toyhom"]["written"] == 3
    assert counts["records_fields"]["rejected"] == {
        "tasks/missing_section": 4,
        "tasks/no_named_examinations": 1,
    }
    assert manifest["tasks"] == {
        "diagnosis": 5,
        "dialogue": 15,
        "differential_diagnosis": 2,
        "discharge_summary": 4,
        "exam": 6,
        "kg_qa": 9,
        "next_examinations": 5,
    }
    assert manifest["decontam"]["removed"]["cmtmedqa"] == {"demo_eval": 1}


def test_trainers_load_the_dataset_and_every_sample_alternates(run: tuple[Path, dict]) -> None:
    out, manifest = run
    ds = datasets.load_dataset("parquet", data_files=str(out / "sft" / "*.parquet"), split="train")
    assert len(ds) == 46
    assert ds.column_names[:2] == ["id", "messages"]
    for sample in ds:
        assert role_order_ok([m["role"] for m in sample["messages"]])
        assert sample["num_turns"] == sum(1 for m in sample["messages"] if m["role"] != "system")
    splits = {split: ds["split"].count(split) for split in ("train", "validation", "test")}
    assert sum(splits.values()) == 46
    assert splits == {
        split: sum(per_source[split] for per_source in manifest["splits"].values())
        for split in splits
    }


def test_layouts_become_the_same_conversation_shape(run: tuple[Path, dict]) -> None:
    out, _ = run
    samples = by_record(out)
    consultation = turns(samples["consultations.txt#2"])
    assert consultation[0] == (
        "user",
        "疾病：失眠\n病情描述：入睡困难半年，每晚只能睡四个小时。\n有没有不上瘾的安眠药？",
    )
    assert consultation[1][0] == "assistant"
    assert len(consultation) == 2
    # Toyhom's title is kept when the question does not repeat it, dropped when it does.
    assert turns(samples["toyhom.csv:3"])[0][1] == (
        "乙肝小三阳能要孩子吗\n男方是乙肝小三阳，肝功能正常，女方打过疫苗，可以备孕吗"
    )
    assert (
        turns(samples["toyhom.csv:2"])[0][1] == "头痛伴恶心怎么办，已经三天了，吃了止痛片也不管用"
    )
    # The system prompt of the OpenAI layout stays first.
    assert turns(samples["oa-001"])[0] == ("system", "你是一名耐心细致的全科医生。")
    # ShareGPT's greeting before the patient spoke is dropped.
    assert turns(samples["sg-002"])[0][0] == "user"
    assert samples["cmt-001"]["num_turns"] == 6


def test_departments_map_onto_the_vocabulary(run: tuple[Path, dict]) -> None:
    out, manifest = run
    samples = by_record(out)
    assert samples["toyhom.csv:3"]["department"] == "传染科"  # 传染病科
    assert samples["toyhom.csv:4"]["department"] == "其他"  # nan
    assert samples["cmt-001"]["department"] == "内科"  # 心血管内科
    assert samples["disc-001"]["department"] == "妇产科"  # dataset_info.department
    assert sum(manifest["departments"].values()) == 46


def test_cleaning_strips_boilerplate_urls_and_templates(run: tuple[Path, dict]) -> None:
    out, _ = run
    samples = by_record(out)
    baby = turns(samples["cmt-008"])[1][1]
    assert baby.endswith("请及时到儿科就诊。")
    assert "祝您健康" not in baby and "访问" not in baby
    thyroid = turns(samples["huatuo.jsonl:1"])[1][1]
    assert thyroid.startswith("甲状腺结节TI-RADS 4a类提示有低度恶性可能")
    assert "问题分析" not in thyroid and "意见建议" not in thyroid


def test_identifiers_are_replaced_in_every_output(run: tuple[Path, dict]) -> None:
    out, manifest = run
    assert manifest["deid"]["categories"]["PHONE"] >= 1
    assert manifest["deid"]["categories"]["PERSON"] >= 1
    first = turns(by_record(out)["cmt-001"])
    assert first[0][1].startswith("医生您好，我叫") and "今年58岁" in first[0][1]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".parquet", ".json", ".html"):
            data = path.read_bytes()
            for planted in PLANTED:
                assert planted.encode("utf-8") not in data, (planted, path.name)


def test_rejects_and_quarantine_say_why_without_content(run: tuple[Path, dict]) -> None:
    out, _ = run
    rejects = {
        r["source_record_id"]: (r["stage"], r["reason"])
        for r in rows(out / "sft_rejects")
        if r["stage"] != "tasks"  # the task builders' skips: tests/test_tasks_pipeline.py
    }
    assert rejects == {
        "cmt-002": ("exact_dedup", "duplicate"),
        "cmt-004": ("near_dedup", "near_duplicate"),
        "cmt-006": ("clean", "no_substantive_reply"),
        "cmt-009": ("decontam", "overlaps_eval_set"),
        "disc-002": ("clean", "one_speaker"),
    }
    quarantine = {
        (Path(r["path"]).name, r["line"], r["reason"])
        for r in rows(out / "sft_quarantine")
        if Path(r["path"]).parent.name == "dialogues"
    }
    assert quarantine == {
        ("cmtmedqa.jsonl", 7, "malformed_history"),
        ("cmtmedqa.jsonl", 10, "malformed_json"),
        ("consultations.txt", 14, "no_speaker_markers"),
        ("sharegpt.json", 40, "unknown_role"),
    }


def test_llamafactory_exports_match_the_parquet(run: tuple[Path, dict]) -> None:
    out, manifest = run
    info = json.loads((out / "llamafactory" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["demo_sharegpt_train"]["formatting"] == "sharegpt"
    assert info["demo_sharegpt_train"]["tags"]["assistant_tag"] == "gpt"
    assert info["demo_alpaca_train"]["columns"]["history"] == "history"
    per_split = {s["split"] for s in rows(out / "sft")}
    for split in per_split:
        parquet = sorted(
            (r for r in rows(out / "sft") if r["split"] == split), key=lambda r: r["id"]
        )
        sharegpt = json.loads(
            (out / "llamafactory" / f"demo_sharegpt_{split}.json").read_text(encoding="utf-8")
        )
        alpaca = json.loads(
            (out / "llamafactory" / f"demo_alpaca_{split}.json").read_text(encoding="utf-8")
        )
        assert len(sharegpt) == len(alpaca) == len(parquet)
        for row, shared, alp in zip(parquet, sharegpt, alpaca, strict=True):
            dialogue = [m for m in row["messages"] if m["role"] != "system"]
            assert [c["value"] for c in shared["conversations"]] == [m["content"] for m in dialogue]
            assert alp["output"] == dialogue[-1]["content"]
            assert len(alp["history"]) == len(dialogue) // 2 - 1
    assert sum(manifest["exports"]["files"].values()) == 2 * 46


def test_validation_passes_and_the_report_is_written(run: tuple[Path, dict]) -> None:
    out, manifest = run
    assert manifest["validation"]["success"] is True
    kinds = {r["expectation"] for r in manifest["validation"]["results"]}
    assert {
        "expect_cluster_in_one_split",
        "expect_file_footer_to_name_schema",
        "expect_column_values_to_be_in_set",
    } <= kinds
    page = (out / "sft_report.html").read_text(encoding="utf-8")
    for anchor in ('id="shape"', 'id="departments"', 'id="decontam"', 'id="sources"'):
        assert anchor in page
    assert "传染科" in page


@pytest.mark.slow
def test_a_second_run_writes_the_same_bytes(run: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = run
    again = tmp_path / "again"
    run_dialogues(load_dialogue_config(DEMO), str(again), say=lambda _: None)
    for folder in ("sft", "sft_rejects", "llamafactory"):
        first = {p.name: p.read_bytes() for p in sorted((out / folder).iterdir())}
        second = {p.name: p.read_bytes() for p in sorted((again / folder).iterdir())}
        assert first == second, folder


def test_decontam_without_eval_sets_is_refused(tmp_path: Path) -> None:
    config = load_dialogue_config(DEMO)
    config.decontam.eval_sets = []
    with pytest.raises(MedloomError, match="names no eval_sets"):
        run_dialogues(config, str(tmp_path / "out"), say=lambda _: None)


@pytest.mark.slow
def test_portable_runner_writes_the_same_dataset(
    run: tuple[Path, dict], tmp_path: Path, portable_runner_args: list[str]
) -> None:
    out, _ = run
    portable = tmp_path / "portable"
    manifest = run_dialogues(
        load_dialogue_config(DEMO), str(portable), portable_runner_args, say=lambda _: None
    )
    assert manifest["runner"] == "PortableRunner"
    assert manifest["totals"] == run[1]["totals"]
    assert rows(portable / "sft") == rows(out / "sft")
