"""Bad dialogue input: mixed schemas, one speaker, a 200,000-character turn, unknown speaker
markers and a truncated JSON array. Each ends as a quarantine entry or a reject with its
reason, and the counts add up (run_dialogues raises when they do not)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.dialogues.config import load_dialogue_config
from pipelines.dialogues.pipeline import run_dialogues

ASK = "孩子两岁，咳嗽一周，晚上咳得厉害，没有发烧，需要拍胸片吗？"
ANSWER = (
    "咳嗽一周、无发热且精神好，多为上呼吸道感染后咳嗽，暂不需要拍胸片；"
    "如出现气促、高热或咳嗽超过四周，请到儿科就诊。"
)


def write_inputs(folder: Path) -> Path:
    mixed = [
        {"id": "m1", "instruction": ASK, "output": ANSWER},
        {
            "id": "m2",
            "conversations": [
                {"from": "human", "value": "体检发现甘油三酯3.2，需要吃药吗？"},
                {
                    "from": "gpt",
                    "value": "甘油三酯3.2mmol/L属轻中度升高，先控制饮食、戒酒，三个月后复查。",
                },
            ],
        },
        {"id": "m3", "title": "胃痛", "body": "吃完饭胃痛"},
        {
            "id": "m4",
            "messages": [
                {"role": "user", "content": "我最近总是失眠。"},
                {"role": "user", "content": "有什么办法吗？"},
            ],
        },
        {"id": "m5", "instruction": ASK, "output": "建议" * 100_000},
    ]
    (folder / "mixed.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in mixed), encoding="utf-8"
    )
    (folder / "ward.txt").write_text(
        "护士：今天体温正常吗？\n家属：正常，就是胃口不好。\n", encoding="utf-8"
    )
    array = json.dumps(
        [
            {"id": "t1", "instruction": "高血压能喝咖啡吗？", "output": ANSWER},
            {"id": "t2", "instruction": ASK, "output": ANSWER},
        ],
        ensure_ascii=False,
        indent=1,
    )
    (folder / "truncated.json").write_text(array[: len(array) // 2 + 40], encoding="utf-8")
    config = folder / "bad.yaml"
    config.write_text(
        "pipeline: dialogues\n"
        "name: bad\n"
        "sources:\n"
        "  - {name: mixed, path: mixed.jsonl}\n"
        "  - {name: ward, path: ward.txt, layout: consultation}\n"
        "  - {name: truncated, path: truncated.json}\n"
        "output: {shards: 1}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("bad")
    config = load_dialogue_config(write_inputs(folder))
    out = folder / "out"
    return out, run_dialogues(config, str(out), say=lambda _: None)


def test_each_bad_record_has_its_reason_and_nothing_is_lost(run: tuple[Path, dict]) -> None:
    _, manifest = run
    counts = manifest["counts"]
    assert counts["mixed"]["records_read"] == 5
    assert counts["mixed"]["quarantined_by_reason"] == {"unknown_layout": 1}
    assert counts["mixed"]["rejected"] == {"clean/one_speaker": 1, "clean/turn_too_long": 1}
    assert counts["mixed"]["written"] == 2
    assert counts["ward"]["quarantined_by_reason"] == {"no_speaker_markers": 1}
    assert counts["ward"]["written"] == 0
    truncated = counts["truncated"]
    assert truncated["records_read"] == truncated["quarantined"] + truncated["written"]
    assert truncated["written"] == 1
    assert truncated["quarantined_by_reason"] == {"truncated_json": 1}


def test_rejects_name_the_limit_not_the_text(run: tuple[Path, dict]) -> None:
    out, _ = run
    rejects = pq.read_table(out / "sft_rejects").to_pylist()
    too_long = next(r for r in rejects if r["reason"] == "turn_too_long")
    assert too_long["detail"] == "a turn of 200000 characters (limit 20000)"
    assert len(too_long["excerpt"]) <= 80
    quarantine = pq.read_table(out / "sft_quarantine").to_pylist()
    for row in quarantine:
        assert "胃痛" not in (row["detail"] or "") and "护士" not in (row["detail"] or "")
