"""DedupAndWrite: exact dedup, leak gate and write through spilled files, as the rule says."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from pipelines.hashing import document_id, text_key
from pipelines.spill import DedupAndWrite, bucket_of, read_frames, write_frames
from schemas import PRETRAIN_DOCUMENT

FEVER = "患者发热三天，体温最高39.2℃，伴咳嗽、咳黄痰，听诊右下肺可闻及湿啰音。"
COUGH = "干咳两周，夜间加重，无发热，胸片未见异常，考虑咳嗽变异性哮喘可能。"
RASH = "皮疹一天，躯干散在红色斑丘疹，伴瘙痒，近期无新用药物，无发热。"
LEAK = "如有不适请拨打13812345678联系主治医生，复诊时携带病历。"


def document(source: str, record: str, text: str) -> dict:
    return {
        "id": document_id(source, record, 0, text),
        "text": text,
        "source": source,
        "source_record_id": record,
        "kind": "record",
        "language": "zh",
        "length": len(text),
        "title": None,
        "heading_path": [],
        "chunk_index": 0,
        "chunk_count": 1,
    }


def test_frames_read_back_in_order(tmp_path: Path) -> None:
    items = [(f"key-{i}", {"id": str(i), "text": FEVER}) for i in range(2_500)]
    path = str(tmp_path / "bucket.spill")
    write_frames(path, items)
    assert list(read_frames(path)) == items


def test_one_copy_per_text_kept_by_priority_leaks_held_and_shards_sorted_by_id(
    tmp_path: Path,
) -> None:
    wards = [document("wards", f"w{i}", text) for i, text in enumerate([FEVER, COUGH, LEAK])]
    clinic = [document("clinic", f"c{i}", text) for i, text in enumerate([FEVER, RASH, COUGH])]
    out = tmp_path / "pretrain"
    with beam.Pipeline() as pipeline:
        written = (
            pipeline
            | beam.Create([wards, clinic])
            | DedupAndWrite(
                PRETRAIN_DOCUMENT,
                str(out),
                str(tmp_path / "spill"),
                shards=2,
                buckets_per_shard=3,
                exact=True,
                priorities={"wards": 2, "clinic": 1},
                excerpt_chars=10,
                with_excerpt=True,
                secret=None,
            )
        )
        reasons = written["rejected"] | beam.Map(lambda r: (r["source"], r["stage"], r["detail"]))
        assert_that(
            reasons,
            equal_to(
                [
                    ("clinic", "exact_dedup", f"duplicate of {wards[0]['id']}"),
                    ("clinic", "exact_dedup", f"duplicate of {wards[1]['id']}"),
                    ("wards", "leak_gate", "PHONE=1"),
                ]
            ),
        )

    kept = {wards[0]["id"], wards[1]["id"], clinic[1]["id"]}
    found = set()
    for shard in sorted(out.glob("part-*.parquet")):
        rows = pq.read_table(shard).select(["id", "text"]).to_pylist()
        ids = [row["id"] for row in rows]
        assert ids == sorted(ids)
        # A row's shard is its text's: copies of a text meet in one shard.
        shards = {bucket_of(text_key(row["text"]), 2, 3) // 3 for row in rows}
        assert shards == {int(shard.stem.split("-")[1])}
        found.update(ids)
    assert found == kept
