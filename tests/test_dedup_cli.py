"""`medloom dedup`: JSONL in, one cluster line per input line out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.dedup.cli import main

_CASE = (
    "患者女性，42岁，反复上腹部疼痛两月余，进食后加重，伴反酸嗳气，无呕血黑便。"
    "胃镜示胃窦部溃疡，幽门螺杆菌阳性，予四联疗法治疗两周。"
)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_dedup_writes_one_line_per_input(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(
        source,
        [
            json.dumps({"id": "q1", "text": _CASE}, ensure_ascii=False),
            json.dumps(
                {"id": "q2", "text": "【病例】" + _CASE.replace("两周", "十四天")},
                ensure_ascii=False,
            ),
            json.dumps(
                {"id": "q3", "text": "小儿发热超过38.5度可口服布洛芬混悬液退热。"},
                ensure_ascii=False,
            ),
            json.dumps({"id": "q4", "text": ""}),
            "{not json",
        ],
    )
    assert main(["dedup", "--input", str(source), "--output", str(out)]) == 0
    rows = sorted(_read(out), key=lambda r: str(r["id"]))
    clustered = [r for r in rows if r["id"] in ("q1", "q2")]
    assert [r["cluster"] for r in clustered] == [clustered[0]["cluster"]] * 2
    assert sorted(r["kept"] for r in clustered) == [False, True]
    assert [r for r in rows if r["id"] in ("q3", "q4")] == [
        {"id": "q3", "cluster": "q3", "kept": True},
        {"id": "q4", "cluster": "q4", "kept": True},
    ]
    assert [r for r in rows if r["id"] is None] == [
        {"id": None, "cluster": None, "kept": False, "line": 5, "error": "invalid JSON"}
    ]


def test_repeated_ids_each_get_a_line(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    line = json.dumps({"id": "dup", "text": _CASE}, ensure_ascii=False)
    _write(source, [line, line])
    assert main(["dedup", "--input", str(source), "--output", str(out)]) == 0
    assert sorted(r["kept"] for r in _read(out)) == [False, True]


def test_missing_input_is_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["dedup", "--input", str(tmp_path / "nope.jsonl"), "--output", "x"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"medloom: error: input file not found: {tmp_path / 'nope.jsonl'}"
    )


def test_bad_threshold_is_one_line_error(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    _write(source, ['{"id": 1, "text": "头痛"}'])
    code = main(["dedup", "--input", str(source), "--output", "x", "--threshold", "1.5"])
    assert code == 2
    assert "--threshold must be in (0, 1]" in capsys.readouterr().err


def test_no_shared_band_is_one_line_error(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    _write(source, ['{"id": 1, "text": "头痛"}'])
    code = main(["dedup", "--input", str(source), "--output", "x", "--min-shared-bands", "0"])
    assert code == 2
    assert "--min-shared-bands must be positive" in capsys.readouterr().err


@pytest.mark.slow
def test_a_ten_megabyte_text_and_one_character_texts_are_clustered_like_any_other(
    tmp_path: Path,
) -> None:
    codes = np.random.default_rng(7).integers(0x4E00, 0x9FA5, size=3_500_000)
    long_text = "".join(map(chr, codes.tolist()))
    edited = long_text[:1_000_000] + "复诊" + long_text[1_000_000:]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(
        source,
        [
            json.dumps({"id": "book", "text": long_text}, ensure_ascii=False),
            json.dumps({"id": "book-copy", "text": edited}, ensure_ascii=False),
            json.dumps({"id": "c1", "text": "咳"}, ensure_ascii=False),
            json.dumps({"id": "c2", "text": "咳"}, ensure_ascii=False),
            json.dumps({"id": "n", "text": "。"}, ensure_ascii=False),
            json.dumps({"id": "no-text"}),
            json.dumps({"id": "number", "text": 12}),
        ],
    )
    assert len(source.read_bytes()) > 10_000_000
    assert main(["dedup", "--input", str(source), "--output", str(out)]) == 0
    rows = {str(r["id"]): r for r in _read(out)}
    assert len(rows) == 7
    assert rows["book"]["cluster"] == rows["book-copy"]["cluster"]
    assert sorted([rows["book"]["kept"], rows["book-copy"]["kept"]]) == [False, True]
    assert rows["c1"]["cluster"] == rows["c2"]["cluster"]
    assert [rows[i]["kept"] for i in ("n", "no-text")] == [True, True]
    assert rows["None"]["error"] == "text is not a string"


_FINDINGS = [
    "咳嗽咳痰一周",
    "发热最高39度",
    "胸痛伴出汗",
    "上腹痛进食后加重",
    "头晕乏力三天",
    "双下肢水肿",
    "尿频尿急尿痛",
    "皮疹伴瘙痒",
    "关节肿痛晨僵",
    "心悸气短",
    "恶心呕吐两次",
    "腹泻水样便",
    "视物模糊",
    "口干多饮多尿",
    "腰背部疼痛",
    "夜间阵发性呼吸困难",
    "黑便三天",
    "咽痛声音嘶哑",
    "耳鸣听力下降",
    "体重下降五公斤",
]


@pytest.mark.slow
def test_two_worker_processes_write_what_one_process_writes(tmp_path: Path) -> None:
    """Forty records, each with a copy that changes one word: forty clusters of two."""
    source = tmp_path / "in.jsonl"
    rng = np.random.default_rng(7)
    lines = []
    for i in range(40):
        findings = "，".join(rng.choice(_FINDINGS, size=6, replace=False))
        text = f"门诊记录：患者{20 + i}岁，主诉{findings}。" + _CASE
        for copy, variant in enumerate([text, text.replace("主诉", "自述")]):
            record = {"id": f"r{i}-{copy}", "text": variant}
            lines.append(json.dumps(record, ensure_ascii=False))
    _write(source, lines)
    outputs = []
    for extra in ([], ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]):
        out = tmp_path / f"out-{len(extra)}.jsonl"
        assert main(["dedup", "--input", str(source), "--output", str(out), *extra]) == 0
        outputs.append(sorted(_read(out), key=lambda r: r["id"]))
    assert outputs[0] == outputs[1]
    clusters = {r["cluster"] for r in outputs[0]}
    assert sum(r["kept"] for r in outputs[0]) == len(clusters) == 40
    assert all(r["cluster"].split("-")[0] == r["id"].split("-")[0] for r in outputs[0])
