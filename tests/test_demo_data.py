"""The samples in data/ that `medloom demo` runs on: the config loads and they are what it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stdnum.cn import ric

from pipelines.config import load_corpus_config

DATA = Path(__file__).resolve().parent.parent / "data"


def test_demo_config_loads_with_every_source_path_present() -> None:
    config = load_corpus_config(DATA / "demo.yaml")

    assert [(s.name, s.kind) for s in config.sources] == [
        ("textbooks", "textbook"),
        ("encyclopedia", "encyclopedia"),
        ("consultations", "qa"),
        ("records", "record"),
    ]
    assert config.chunking.max_chars == 2000
    missing = [s.path for s in config.sources if not Path(s.path).exists()]
    assert missing == []


def test_gb18030_textbook_needs_detection_to_be_read() -> None:
    raw = (DATA / "corpus/textbooks/pediatrics_ch04_nutrition_gb18030.txt").read_bytes()

    assert not _is_utf8(raw)
    assert raw.decode("gb18030").startswith("第四章　营养与营养障碍疾病\n")


def test_planted_id_numbers_pass_the_gb11643_check() -> None:
    lines = (DATA / "corpus/records/notes.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]

    numbers = [n for text in texts for n in re.findall(r"身份证号：?(\d{17}[\dX])", text)]

    assert numbers == ["110105196703124131", "310104195511022620", "120106197806213578"]
    assert all(ric.is_valid(n) for n in numbers)


def test_samples_stay_under_one_megabyte() -> None:
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())

    assert size < 1_000_000


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
