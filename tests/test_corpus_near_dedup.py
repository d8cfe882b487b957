"""Near-duplicate removal as an opt-in stage of the corpus pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.config import load_corpus_config
from pipelines.corpus import run_corpus
from pipelines.dedup.near import convergence_warning

ASTHMA = (
    "支气管哮喘是由多种细胞和细胞组分参与的气道慢性炎症性疾病，临床表现为反复发作的喘息、气急、"
    "胸闷或咳嗽等症状，常在夜间和清晨发作或加剧，多数患者可自行缓解或经治疗后缓解。治疗以吸入"
    "糖皮质激素为基础，急性发作时使用短效β2受体激动剂，同时应避免接触过敏原和刺激性气体。"
)
GOUT = (
    "痛风是嘌呤代谢紊乱和尿酸排泄减少导致血尿酸增高、尿酸盐结晶沉积所致的疾病，典型表现为第一"
    "跖趾关节突发的红肿热痛，常在饮酒或进食高嘌呤食物后夜间发作。急性期可用秋水仙碱或非甾体"
    "抗炎药止痛，缓解期以别嘌醇或非布司他降尿酸，并限制饮酒和高嘌呤饮食。"
)


def test_a_lightly_edited_copy_is_removed_and_its_cluster_written(tmp_path: Path) -> None:
    entries = [
        {"id": "a1", "text": ASTHMA},
        {"id": "a2", "text": ASTHMA.replace("多数患者", "大多数患者")},
        {"id": "g1", "text": GOUT},
    ]
    (tmp_path / "entries.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8"
    )
    config = tmp_path / "corpus.yaml"
    config.write_text(
        "sources:\n  - {name: wiki, path: entries.jsonl, fields: {text: text, id: id}}\n"
        "dedup: {near: {enabled: true, threshold: 0.8}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    manifest = run_corpus(load_corpus_config(config), str(out), say=lambda _: None)
    assert manifest["counts"]["wiki"]["written"] == 2
    assert manifest["counts"]["wiki"]["rejected"] == {"near_dedup/near_duplicate": 1}
    assert "near_dedup" in manifest["stages"]
    assert manifest["minhash"]["num_perm"] == 128
    assert manifest["near_dedup"]["near_dedup"]["similar_pairs"] == 1
    assert manifest["near_dedup"]["near_dedup"]["unconverged"] == 0
    clusters = pq.read_table(out / "dedup_clusters").to_pylist()
    assert len(clusters) == 3
    assert sum(1 for c in clusters if not c["kept"]) == 1


def test_a_document_quoting_an_exam_question_is_kept_out(tmp_path: Path) -> None:
    question = "男，45岁。第一跖趾关节夜间突发红肿热痛，饮酒后加重，血尿酸升高。最可能的诊断是"
    entries = [
        {"id": "a1", "text": ASTHMA},
        {"id": "g1", "text": GOUT},
        {"id": "q1", "text": question + "痛风。急性期用秋水仙碱，缓解期降尿酸并戒酒。"},
    ]
    (tmp_path / "entries.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8"
    )
    (tmp_path / "exam.jsonl").write_text(
        json.dumps({"question": question, "answer": "A"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    config = tmp_path / "corpus.yaml"
    config.write_text(
        "sources:\n  - {name: wiki, path: entries.jsonl, fields: {text: text, id: id}}\n"
        "decontam:\n  enabled: true\n"
        "  eval_sets: [{name: exam, paths: [exam.jsonl], text_fields: [question]}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    manifest = run_corpus(load_corpus_config(config), str(out), say=lambda _: None)
    assert manifest["counts"]["wiki"]["written"] == 2
    assert manifest["counts"]["wiki"]["rejected"] == {"decontam/overlaps_eval_set": 1}
    assert manifest["decontam"]["eval_items"] == {"exam": 1}
    assert manifest["decontam"]["removed"] == {"wiki": {"exam": 1}}
    rejected = pq.read_table(out / "rejects").to_pylist()
    assert [(r["source_record_id"], r["detail"]) for r in rejected] == [
        ("q1", "1.00 of the 13-grams of exam/exam.jsonl:1")
    ]


def test_unconverged_clusters_warn_the_user() -> None:
    assert convergence_warning({"near_dedup": {"unconverged": 0, "clusters": 3}}) is None
    assert convergence_warning({"near_dedup": {"clusters": 3, "unconverged": 12}}) == (
        "medloom: WARNING: near-duplicate clusters did not converge (near_dedup 12 nodes);"
        " some copies were kept: raise dedup.near.component_rounds"
    )
