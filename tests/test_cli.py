"""The command line: user errors end in one readable line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main

GOOD_ENTRY = (
    '{"id": "e1", "text": "阿司匹林是一种非甾体抗炎药，具有解热、镇痛、抗炎和抗血小板聚集作用，'
    '常用于预防心肌梗死和缺血性脑卒中，长期服用需注意胃肠道出血风险。"}\n'
)


def write_config(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "corpus.yaml"
    config.write_text(body, encoding="utf-8")
    return config


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "sources:\n  - {name: a, path: x.jsonl, encodng: utf-8}\n",
            "sources[0]: unknown key 'encodng'",
        ),
        (
            "sources:\n  - {name: a, path: x.jsonl}\nchunking: {max_chars: lots}\n",
            "chunking.max_chars: expected int, got str 'lots'",
        ),
        (
            "sources:\n  - {name: a, path: x.jsonl, kind: novel}\n",
            "sources[0].kind: expected one of",
        ),
        ("name: no sources\n", "missing required key 'sources'"),
        ("sources: [\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    (tmp_path / "x.jsonl").write_text(GOOD_ENTRY, encoding="utf-8")
    code, err = run_cli(
        ["run", str(write_config(tmp_path, body)), "--output", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1


def test_missing_source_path_names_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "sources:\n  - {name: textbooks, path: missing/}\n")
    code, err = run_cli(["run", str(config), "--output", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err.startswith("medloom: error: source 'textbooks': path not found")
    assert len(err.splitlines()) == 1


def test_unknown_format_says_to_set_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    config = write_config(tmp_path, "sources:\n  - {name: notes, path: notes.docx}\n")
    code, err = run_cli(["run", str(config), "--output", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "format" in err
    assert len(err.splitlines()) == 1


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["run", str(tmp_path / "nope.yaml"), "--output", str(tmp_path)], capsys)
    assert (code, err) == (2, f"medloom: error: config file not found: {tmp_path / 'nope.yaml'}")


def test_validate_needs_a_medloom_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["validate", str(tmp_path)], capsys)
    assert (code, err) == (
        2,
        f"medloom: error: no manifest.json or sft_manifest.json in {tmp_path}:"
        " not a medloom output folder",
    )


def test_run_prints_where_the_outputs_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "drugs.jsonl").write_text(GOOD_ENTRY, encoding="utf-8")
    config = write_config(
        tmp_path, "sources:\n  - {name: drugs, path: drugs.jsonl, kind: encyclopedia}\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(config), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 records read, 0 quarantined; 1 documents, 1 written, 0 rejected" in printed
    assert f"pretraining dataset: {out / 'pretrain'}" in printed
    assert main(["validate", str(out)]) == 0


def test_missing_deid_secret_is_one_line_saying_how_to_set_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDLOOM_DEID_SECRET")
    (tmp_path / "drugs.jsonl").write_text(GOOD_ENTRY, encoding="utf-8")
    config = write_config(tmp_path, "sources:\n  - {name: drugs, path: drugs.jsonl}\n")
    code, err = run_cli(["run", str(config), "--output", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.startswith("medloom: error: no de-identification secret: set MEDLOOM_DEID_SECRET")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
