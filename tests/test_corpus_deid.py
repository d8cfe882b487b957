"""De-identification inside the corpus pipeline, and the leak gate before writing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.config import load_corpus_config
from pipelines.corpus import run_corpus
from pipelines.errors import MedloomError

# Invented identifiers: the ID number carries a valid GB 11643 check digit.
NAME, PHONE, ID_NUMBER, MRN = "欧阳建国", "13812345678", "110105194912310021", "ZY20230815"
ADMISSION = (
    f"入院记录\n姓名：{NAME}　性别：男　年龄：62岁\n身份证号：{ID_NUMBER}　住院号：{MRN}\n"
    f"联系电话：{PHONE}\n入院日期：2023年8月15日\n"
    "主诉：反复胸闷、气短3年，加重伴双下肢水肿1周。\n"
    "现病史：患者3年前开始于快走或上楼时出现胸闷、气短，休息数分钟可缓解。查体：BP 152/94mmHg，"
    "双肺底湿啰音，双下肢凹陷性水肿。NT-proBNP 4860 pg/mL。予呋塞米20mg qd利尿。"
)
DISCHARGE = (
    f"出院小结\n患者{NAME}，男，62岁，住院号{MRN}，因“反复胸闷、气短3年”于2023年8月15日入院，"
    "于2023年8月24日出院，共住院9天。出院诊断：慢性心力衰竭急性加重，心功能III级（NYHA）。"
    "出院医嘱：低盐饮食，每日称体重，呋塞米20mg qd，螺内酯20mg qd，两周后心内科门诊复查。"
)


def run(tmp_path: Path, deid: str = "") -> tuple[Path, dict]:
    notes = [{"record_id": "r1", "text": ADMISSION}, {"record_id": "r2", "text": DISCHARGE}]
    (tmp_path / "notes.jsonl").write_text(
        "".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8"
    )
    config = tmp_path / "corpus.yaml"
    config.write_text(
        "sources:\n  - name: records\n    path: notes.jsonl\n    kind: record\n"
        f"    fields: {{text: text, id: record_id}}\n{deid}",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    return out, run_corpus(load_corpus_config(config), str(out), say=lambda _: None)


def every_output_text(out: Path) -> str:
    parts = [p.read_text(encoding="utf-8") for p in (out / "manifest.json", out / "report.html")]
    for table in sorted(out.glob("*/*.parquet")):
        parts.append(json.dumps(pq.read_table(table).to_pylist(), ensure_ascii=False))
    return "\n".join(parts)


def test_no_raw_identifier_reaches_any_output(tmp_path: Path) -> None:
    out, manifest = run(tmp_path)
    written = every_output_text(out)
    for identifier in (NAME, PHONE, ID_NUMBER, MRN):
        assert identifier not in written
    assert manifest["counts"]["records"]["written"] == 2
    categories = manifest["deid"]["categories"]
    assert categories["PERSON"] == 2
    assert categories["ID_CARD"] == 1
    assert categories["PHONE"] == 1
    assert categories["MRN"] == 2


def test_the_same_patient_gets_the_same_surrogate_in_both_notes(tmp_path: Path) -> None:
    out, _ = run(tmp_path)
    rows = {r["source_record_id"]: r["text"] for r in pq.read_table(out / "pretrain").to_pylist()}
    admitted_name = rows["r1"].split("姓名：")[1].split(" ")[0]
    assert rows["r2"].startswith(f"出院小结\n患者{admitted_name}，男")
    assert "BP 152/94mmHg" in rows["r1"] and "呋塞米20mg qd" in rows["r2"]


def test_leak_gate_holds_back_a_document_when_deid_is_off(tmp_path: Path) -> None:
    out, manifest = run(tmp_path, "deid: {enabled: false}\n")
    assert manifest["counts"]["records"]["rejected"] == {"leak_gate/direct_identifier": 1}
    rejects = pq.read_table(out / "rejects").to_pylist()
    assert [(r["source_record_id"], r["detail"], r["excerpt"]) for r in rejects] == [
        ("r1", "ID_CARD=1, PHONE=1", None)
    ]
    assert PHONE not in every_output_text(out)


def test_leak_gate_in_fail_mode_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(
        MedloomError, match=r"leak gate found direct identifiers \(ID_CARD=1, PHONE=1\)"
    ):
        run(tmp_path, "deid: {enabled: false, leak_gate: fail}\n")
