"""`medloom deid detect | apply | eval` on small JSONL files, bad lines included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.deid.cli import main

GOLD = [
    {
        "id": "d1",
        "text": "患者张伟，电话13812345678。",
        "spans": [
            {"start": 2, "end": 4, "category": "PERSON"},
            {"start": 7, "end": 18, "category": "PHONE"},
        ],
    },
    {
        "id": "d2",
        "text": "住院号：ZY001234，2023年3月5日入院。",
        "spans": [
            {"start": 4, "end": 12, "category": "MRN"},
            {"start": 13, "end": 22, "category": "DATE"},
        ],
    },
    # 小明 is missed (a given name alone); 北京协和医院 is found but not annotated.
    {
        "id": "d3",
        "text": "小明今天在北京协和医院发烧了。",
        "spans": [{"start": 0, "end": 2, "category": "PERSON"}],
    },
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_detect_writes_the_spans_of_each_text(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": g["id"], "text": g["text"]} for g in GOLD])
    assert main(["deid", "detect", "--input", str(source), "--output", str(tmp_path / "out")]) == 0
    assert read_jsonl(tmp_path / "out") == [
        {"id": "d1", "spans": GOLD[0]["spans"]},
        {"id": "d2", "spans": GOLD[1]["spans"]},
        {"id": "d3", "spans": [{"start": 5, "end": 11, "category": "HOSPITAL"}]},
    ]


def test_apply_in_tag_mode_writes_tagged_texts(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": g["id"], "text": g["text"]} for g in GOLD])
    out = tmp_path / "out.jsonl"
    assert (
        main(["deid", "apply", "--input", str(source), "--output", str(out), "--mode", "tag"]) == 0
    )
    assert read_jsonl(out) == [
        {"id": "d1", "text": "患者[姓名]，电话[电话]。"},
        {"id": "d2", "text": "住院号：[病历号]，[日期]入院。"},
        {"id": "d3", "text": "小明今天在[医院]发烧了。"},
    ]


def test_apply_in_surrogate_mode_needs_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MEDLOOM_DEID_SECRET", raising=False)
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "d1", "text": GOLD[0]["text"]}])
    assert main(["deid", "apply", "--input", str(source), "--output", str(tmp_path / "o")]) == 2
    assert "no de-identification secret" in capsys.readouterr().err


def test_apply_with_a_secret_file_replaces_identifiers(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("cli-test-secret-0123456789", "utf-8")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "d1", "text": GOLD[0]["text"]}] * 2)
    out = tmp_path / "out.jsonl"
    args = ["deid", "apply", "--input", str(source), "--output", str(out)]
    assert main([*args, "--secret-file", str(secret)]) == 0
    first, second = read_jsonl(out)
    assert first == second
    assert "张伟" not in first["text"] and "13812345678" not in first["text"]
    assert "cli-test-secret" not in out.read_text("utf-8")


def test_eval_prints_character_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", GOLD)
    clean = write_jsonl(
        tmp_path / "clean.jsonl", [{"id": "c1", "text": "患者诉头痛3天，予布洛芬0.3g口服。"}]
    )
    report = tmp_path / "report.json"
    args = ["deid", "eval", "--gold", str(gold), "--clean", str(clean), "--json", str(report)]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "documents: 3",
        "characters: gold 32, predicted 36, correct 30",
        "recall: 0.9375",
        "precision: 0.8333",
        "F2: 0.9146",
        "direct-identifier recall: 0.9130",
        "document leak rate: 0.3333 (1 of 3)",
        "recall by category:",
        "  DATE       1.0000 (9 chars)",
        "  MRN        1.0000 (8 chars)",
        "  PERSON     0.5000 (4 chars)",
        "  PHONE      1.0000 (11 chars)",
        "clean controls: 0.0000 of characters redacted (0 of 19, 1 documents)",
    ]
    assert json.loads(report.read_text("utf-8"))["leaked_documents"] == 1


def test_eval_scores_a_predictions_file_instead_of_running_detection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", GOLD[:1])
    predictions = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"id": "d1", "spans": [{"start": 7, "end": 18, "category": "PHONE"}]}],
    )
    assert main(["deid", "eval", "--gold", str(gold), "--predictions", str(predictions)]) == 0
    assert "recall: 0.8462" in capsys.readouterr().out.splitlines()


def test_bad_lines_become_counted_errors_and_no_record_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": "a", "text": "\xe7\x94\xb5\xe8\xaf\x9d13812345678"}\n'
        b'{"id": "b", "text": ""}\n'
        b'{"id": "c", "text": "00000000000000000000"}\n'
        b'{"id": "d", "text": "\xff\xfe broken"}\n'
        b'{"id": "e"}\n'
        b"not json\n"
        b'{"id": "g", "text": 42}\n'
    )
    out = tmp_path / "out.jsonl"
    assert main(["deid", "detect", "--input", str(source), "--output", str(out)]) == 0
    assert read_jsonl(out) == [
        {"id": "a", "spans": [{"start": 2, "end": 13, "category": "PHONE"}]},
        {"id": "b", "spans": []},
        {"id": "c", "spans": []},
        {"id": None, "line": 4, "error": "invalid UTF-8 at byte 21"},
        {"id": "e", "line": 5, "error": "no 'text' field"},
        {"id": None, "line": 6, "error": "invalid JSON at column 1: Expecting value"},
        {"id": "g", "line": 7, "error": "'text' is int"},
    ]
    err = capsys.readouterr().err
    assert "line 4: invalid UTF-8" in err and "4 lines had errors" in err
    assert "broken" not in err


def test_strict_mode_exits_non_zero_on_any_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": "e"}\n')
    args = ["deid", "detect", "--input", str(source), "--output", str(tmp_path / "o"), "--strict"]
    assert main(args) == 1


def test_a_missing_input_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "deid",
        "detect",
        "--input",
        str(tmp_path / "nope.jsonl"),
        "--output",
        str(tmp_path / "o"),
    ]
    assert main(args) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("input file not found: " + str(tmp_path / "nope.jsonl"))
    )


@pytest.mark.slow
def test_a_10_mb_text_is_processed_in_one_line(tmp_path: Path) -> None:
    advice = "建议低盐低脂饮食，规律服用降压药物，监测血压，如有头晕胸闷等不适及时就诊。" * 20
    paragraph = advice + "家属电话13812345678。"
    text = paragraph * (10_000_000 // len(paragraph))
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "big", "text": text}])
    out = tmp_path / "out.jsonl"
    assert main(["deid", "detect", "--input", str(source), "--output", str(out)]) == 0
    (row,) = read_jsonl(out)
    assert len(row["spans"]) == 10_000_000 // len(paragraph)
