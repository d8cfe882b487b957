"""Bad input through the whole corpus pipeline: quarantined or rejected, never lost."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.config import load_corpus_config
from pipelines.corpus import run_corpus

PARAGRAPH = (
    "慢性阻塞性肺疾病是一种以持续气流受限为特征的可以预防和治疗的疾病，其气流受限多呈进行性发展，"
    "与气道和肺组织对烟草烟雾等有害气体或有害颗粒的慢性炎症反应增强有关。"
)


def run(tmp_path: Path, files: dict[str, bytes], max_chars: int = 4000, extra: str = "") -> dict:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, content in files.items():
        (corpus / name).write_bytes(content)
    config = tmp_path / "corpus.yaml"
    config.write_text(
        f"sources:\n  - {{name: books, path: corpus, kind: textbook, format: text}}\n"
        f"chunking: {{max_chars: {max_chars}, min_chars: 100}}\n{extra}",
        encoding="utf-8",
    )
    return run_corpus(load_corpus_config(config), str(tmp_path / "out"), say=lambda _: None)


def test_files_in_mixed_encodings_read_to_the_same_text(tmp_path: Path) -> None:
    manifest = run(
        tmp_path,
        {
            "a_utf8.txt": PARAGRAPH.encode("utf-8"),
            "b_utf8_bom.txt": ("\ufeff" + PARAGRAPH).encode("utf-8"),
            "c_gb18030.txt": PARAGRAPH.encode("gb18030"),
        },
    )
    books = manifest["counts"]["books"]
    assert (books["records_read"], books["quarantined"], books["written"]) == (3, 0, 1)
    assert books["rejected"] == {"exact_dedup/duplicate": 2}
    table = pq.read_table(tmp_path / "out" / "pretrain").to_pylist()
    assert [row["text"] for row in table] == [PARAGRAPH]


def test_empty_file_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    manifest = run(tmp_path, {"empty.txt": b"", "copd.txt": PARAGRAPH.encode("utf-8")})
    books = manifest["counts"]["books"]
    assert books["quarantined_by_reason"] == {"empty_file": 1}
    assert books["written"] == 1


def test_undecodable_file_is_quarantined_not_mangled(tmp_path: Path) -> None:
    broken = PARAGRAPH.encode("utf-8")[:60] + b"\xff\xfe\x00\x81" + PARAGRAPH.encode("utf-8")
    manifest = run(tmp_path, {"broken.txt": broken, "copd.txt": PARAGRAPH.encode("utf-8")})
    books = manifest["counts"]["books"]
    assert books["records_read"] == 2
    assert books["quarantined_by_reason"] == {"undecodable": 1}


@pytest.mark.slow
def test_a_20_mb_single_line_file_is_chunked_and_accounted_for(tmp_path: Path) -> None:
    line = "".join(f"第{i}例患者，" + PARAGRAPH for i in range(200_000))[: 20_000_000 // 3]
    # The repeated paragraph would be dropped by the repetition filter: this is about size.
    manifest = run(
        tmp_path,
        {"one_line.txt": line.encode("utf-8")},
        extra="filters: {repetition: {enabled: false}}\n",
    )
    books = manifest["counts"]["books"]
    assert books["records_read"] == 1
    assert books["documents"] >= len(line) // 4000
    assert books["documents"] == books["written"] + sum(books["rejected"].values())
    lengths = pq.read_table(tmp_path / "out" / "pretrain", columns=["length"]).column(0)
    assert max(lengths.to_pylist()) <= 4000


def test_repeated_record_ids_keep_both_versions_and_drop_true_copies(tmp_path: Path) -> None:
    first = {"id": "rec-7", "text": PARAGRAPH}
    revised = {"id": "rec-7", "text": PARAGRAPH + "戒烟是最重要的干预措施。"}
    lines = [json.dumps(r, ensure_ascii=False) for r in (first, revised, first)]
    (tmp_path / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "corpus.yaml"
    config.write_text(
        "sources:\n  - {name: records, path: records.jsonl, fields: {text: text, id: id}}\n",
        encoding="utf-8",
    )
    manifest = run_corpus(load_corpus_config(config), str(tmp_path / "out"), say=lambda _: None)
    assert manifest["counts"]["records"]["written"] == 2
    assert manifest["counts"]["records"]["rejected"] == {"exact_dedup/duplicate": 1}
    ids = pq.read_table(tmp_path / "out" / "pretrain", columns=["id"]).column(0).to_pylist()
    assert len(set(ids)) == 2
