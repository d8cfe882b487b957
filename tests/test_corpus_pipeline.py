"""The corpus pipeline end to end on a small corpus: counts, outputs, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from pipelines.config import load_corpus_config
from pipelines.corpus import run_corpus
from pipelines.errors import MedloomError
from schemas import schema_of_file

HYPERTENSION = (
    "高血压是以体循环动脉压升高为主要临床表现的心血管综合征，可分为原发性高血压和继发性高血压。"
    "原发性高血压占大多数，其发病与遗传、高盐饮食、超重和精神紧张等因素有关。"
    "长期血压升高可损害心、脑、肾等靶器官，治疗目标是将血压控制在140/90mmHg以下。"
)
DIABETES = (
    "糖尿病是一组由胰岛素分泌缺陷和（或）胰岛素作用障碍所致的以高血糖为特征的代谢性疾病。"
    "典型症状为多饮、多尿、多食和体重下降。空腹血糖≥7.0mmol/L或餐后两小时血糖≥11.1mmol/L"
    "可诊断。治疗包括饮食控制、运动、口服降糖药和胰岛素。"
)
ASK_1 = "医生您好，我最近三天一直咳嗽，痰是黄色的，晚上咳得睡不着，还有点低烧，需要吃什么药吗？"
ANSWER_1 = (
    "根据您的描述，考虑急性支气管炎的可能性较大，黄痰提示可能合并细菌感染。建议到医院查血常规"
    "和胸片，在医生指导下使用抗生素，同时多喝水、注意休息，体温超过38.5℃可服用退热药。"
)
ASK_2 = "孩子两岁，这两天拉肚子，一天五六次，水样便，精神还可以，需要去医院吗？"
ANSWER_2 = (
    "小儿腹泻最需要警惕的是脱水。建议口服补液盐，少量多次喂服，继续母乳或平时的饮食。如果出现"
    "尿量明显减少、哭时无泪、精神萎靡或者便中带血，应及时到儿科就诊。"
)
CHAPTER = (
    "# 第三章 心力衰竭\n\n"
    "## 第一节 概述\n\n"
    "心力衰竭是各种心脏结构或功能性疾病导致心室充盈和（或）射血功能受损，心排血量不能满足机体"
    "组织代谢需要，以肺循环和（或）体循环淤血，器官、组织血液灌注不足为临床表现的一组综合征。"
    "主要表现为呼吸困难、体力活动受限和体液潴留。\n\n"
    "## 第二节 慢性心力衰竭\n\n"
    "慢性心力衰竭是心血管疾病的终末期表现和最主要的死因。冠心病、高血压已成为慢性心力衰竭的"
    "最主要病因。治疗目标不仅是改善症状、提高生活质量，更重要的是防止和延缓心肌重构的发展，"
    "从而降低心力衰竭的住院率和病死率。\n"
)


def write_corpus(root: Path) -> Path:
    """A corpus of three sources with one duplicate, one short entry and two bad records."""
    (root / "textbooks").mkdir()
    (root / "textbooks" / "heart_failure.md").write_text(CHAPTER, encoding="utf-8")
    entries = [
        {"entry_id": "enc-001", "name": "高血压", "content": HYPERTENSION},
        {"entry_id": "enc-002", "name": "糖尿病", "content": DIABETES},
        {"entry_id": "enc-003", "name": "高血压", "content": HYPERTENSION.replace("。", "。 ")},
        {"entry_id": "enc-004", "name": "感冒", "content": "感冒。"},
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in entries]
    lines.insert(2, '{"entry_id": "enc-bad", "content": "未闭合')
    (root / "entries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    csv_text = (
        "department,title,ask,answer\n"
        f"内科,咳嗽黄痰三天,{ASK_1},{ANSWER_1}\n"
        "儿科,腹泻,只有三列\n"
        f"儿科,小儿腹泻,{ASK_2},{ANSWER_2}\n"
    )
    (root / "consultations.csv").write_bytes(csv_text.encode("gb18030"))
    config = root / "corpus.yaml"
    config.write_text(
        "name: test\n"
        "sources:\n"
        "  - {name: textbooks, path: textbooks, kind: textbook, priority: 2}\n"
        "  - name: encyclopedia\n"
        "    path: entries.jsonl\n"
        "    kind: encyclopedia\n"
        "    fields: {text: content, id: entry_id, title: name}\n"
        "  - name: consultations\n"
        "    path: consultations.csv\n"
        "    kind: qa\n"
        '    fields: {template: "{title}\\n问：{ask}\\n答：{answer}", title: title}\n'
        "chunking: {max_chars: 200, min_chars: 50}\n"
        "output: {shards: 2}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def corpus_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def direct_run(corpus_config: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out") / "run"
    manifest = run_corpus(load_corpus_config(corpus_config), str(out), say=lambda _: None)
    return out, manifest


def read_rows(folder: Path) -> list[dict]:
    return [row for f in sorted(folder.glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for sub in ("pretrain", "rejects", "quarantine")
        for p in sorted((out / sub).glob("*.parquet"))
    }


def test_every_record_is_accounted_for_per_source(direct_run: tuple[Path, dict]) -> None:
    _, manifest = direct_run
    counts = manifest["counts"]
    assert counts["encyclopedia"]["records_read"] == 5
    assert counts["encyclopedia"]["quarantined_by_reason"] == {"malformed_json": 1}
    assert counts["encyclopedia"]["documents"] == 4
    assert counts["encyclopedia"]["written"] == 2
    assert counts["encyclopedia"]["rejected"] == {
        "exact_dedup/duplicate": 1,
        "filter/length.too_short": 1,
    }
    assert counts["consultations"]["records_read"] == 3
    assert counts["consultations"]["quarantined_by_reason"] == {"ragged_row": 1}
    assert counts["consultations"]["written"] == 2
    assert counts["textbooks"]["records_read"] == 1
    assert counts["textbooks"]["documents"] == counts["textbooks"]["written"] >= 2


def test_pretraining_dataset_loads_with_datasets(direct_run: tuple[Path, dict]) -> None:
    out, manifest = direct_run
    dataset = datasets.load_dataset(
        "parquet", data_files=str(out / "pretrain" / "*.parquet"), split="train"
    )
    assert dataset.num_rows == manifest["totals"]["written"] == 6
    assert set(dataset["kind"]) == {"textbook", "encyclopedia", "qa"}
    assert all(lang == "zh" for lang in dataset["language"])
    assert all(len(t) == n for t, n in zip(dataset["text"], dataset["length"], strict=True))
    qa = [t for t in dataset["text"] if t.startswith("咳嗽黄痰三天")]
    assert qa == [f"咳嗽黄痰三天\n问：{ASK_1}\n答：{ANSWER_1}"]


def test_textbook_chunks_carry_their_heading_path(direct_run: tuple[Path, dict]) -> None:
    out, _ = direct_run
    chunks = [r for r in read_rows(out / "pretrain") if r["source"] == "textbooks"]
    paths = sorted(tuple(r["heading_path"]) for r in chunks)
    assert ("第三章 心力衰竭", "第二节 慢性心力衰竭") in paths
    assert all(r["chunk_count"] == len(chunks) for r in chunks)


def test_shards_carry_schema_name_and_version(direct_run: tuple[Path, dict]) -> None:
    out, manifest = direct_run
    for name in manifest["outputs"]["pretrain"]["files"]:
        assert schema_of_file(str(out / name)) == ("pretrain_document", "1.0")
    for name in manifest["outputs"]["rejects"]["files"]:
        assert schema_of_file(str(out / name)) == ("reject", "1.0")


def test_rejects_and_quarantine_say_why_without_raw_content(
    direct_run: tuple[Path, dict],
) -> None:
    out, _ = direct_run
    rejects = read_rows(out / "rejects")
    duplicate = next(r for r in rejects if r["reason"] == "duplicate")
    kept_ids = {r["id"] for r in read_rows(out / "pretrain")}
    assert duplicate["detail"].removeprefix("duplicate of ") in kept_ids
    assert duplicate["source_record_id"] in {"enc-001", "enc-003"}
    quarantine = read_rows(out / "quarantine")
    assert [(Path(q["path"]).name, q["line"], q["reason"]) for q in quarantine] == [
        ("consultations.csv", 3, "ragged_row"),
        ("entries.jsonl", 3, "malformed_json"),
    ]
    assert all("未闭合" not in (q["detail"] or "") for q in quarantine)


def test_manifest_records_inputs_with_checksums(direct_run: tuple[Path, dict]) -> None:
    out, manifest = direct_run
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["totals"] == manifest["totals"]
    inputs = {Path(i["path"]).name: i for i in on_disk["inputs"]}
    assert set(inputs) == {"heart_failure.md", "entries.jsonl", "consultations.csv"}
    assert len(inputs["entries.jsonl"]["sha256"]) == 64
    assert on_disk["validation"]["success"] is True
    assert (out / "report.html").is_file()


def test_same_input_gives_byte_identical_outputs(
    corpus_config: Path, direct_run: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = direct_run
    again = tmp_path / "again"
    run_corpus(load_corpus_config(corpus_config), str(again), say=lambda _: None)
    assert shard_bytes(again) == shard_bytes(out)
    assert (again / "manifest.json").read_text().replace(str(again), "") == (
        out / "manifest.json"
    ).read_text().replace(str(out), "")


@pytest.mark.slow
def test_multiprocess_direct_runner_writes_the_same_bytes(
    corpus_config: Path, direct_run: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = direct_run
    multi = tmp_path / "multi"
    run_corpus(
        load_corpus_config(corpus_config),
        str(multi),
        ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
        say=lambda _: None,
    )
    assert shard_bytes(multi) == shard_bytes(out)


@pytest.mark.slow
def test_portable_runner_writes_the_same_bytes(
    corpus_config: Path, direct_run: tuple[Path, dict], tmp_path: Path, portable_runner_args
) -> None:
    out, _ = direct_run
    portable = tmp_path / "portable"
    manifest = run_corpus(
        load_corpus_config(corpus_config),
        str(portable),
        portable_runner_args,
        say=lambda _: None,
    )
    assert manifest["runner"] == "PortableRunner"
    assert shard_bytes(portable) == shard_bytes(out)


def test_output_folder_with_foreign_files_is_refused(corpus_config: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(MedloomError, match="did not write"):
        run_corpus(load_corpus_config(corpus_config), str(tmp_path), say=lambda _: None)


@pytest.mark.slow
def test_dataflow_job_is_built_with_the_package_staged(
    corpus_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    repo = Path(__file__).resolve().parent.parent
    code = main(
        [
            "run",
            str(corpus_config),
            "--output",
            "gs://medloom-example/out",
            "--runner",
            "DataflowRunner",
            "--project",
            "medloom-example",
            "--region",
            "europe-west4",
            "--temp_location",
            "gs://medloom-example/tmp",
            "--setup_file",
            str(repo / "pyproject.toml"),
            "--dry_run=True",
        ]
    )
    assert code == 0
    assert "dry run on DataflowRunner" in capsys.readouterr().out
