"""WriteRejects: rejects spilled as sorted runs and merged into ordered shards."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines import sinks
from pipelines.hashing import stable_hash
from pipelines.sinks import REJECT_KEYS, WriteRejects


def reject_row(i: int, stage: str) -> dict[str, Any]:
    return {
        "id": f"doc-{i * 7919 % 101:03d}",
        "source": "wards" if i % 3 else "clinic",
        "source_record_id": f"r{i}",
        "stage": stage,
        "reason": "too_short" if i % 2 else "duplicate",
        "detail": None if i % 5 else f"detail {i}",
        "excerpt": None,
    }


def order(row: dict[str, Any]) -> tuple[tuple[bool, str], ...]:
    # Ascending, nulls last: the order of the shards' rows.
    return tuple((row[key] is None, row[key] or "") for key in REJECT_KEYS)


def test_rejects_in_order_across_runs_counted_and_spill_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs of at most 7 rows and row groups of 5: every shard is a merge of many runs.
    monkeypatch.setattr(sinks, "SPILL_ROWS", 7)
    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 5)
    filtered = [reject_row(i, "filter") for i in range(60)]
    deduped = [reject_row(i, "exact_dedup") for i in range(40)]
    out = tmp_path / "rejects"
    with beam.Pipeline() as pipeline:
        written = (
            pipeline | "Filtered" >> beam.Create(filtered),
            pipeline | "Deduped" >> beam.Create(deduped),
        ) | WriteRejects(str(out), 2)
        counts = written["stats"] | beam.CombinePerKey(sum)
        expected = Counter(
            (row["source"], f"rejected/{row['stage']}/{row['reason']}")
            for row in filtered + deduped
        )
        assert_that(counts, equal_to(list(expected.items())), label="Counts")
        files = written["outputs"] | beam.Map(lambda output: (Path(output[1]).name, output[2]))
        per_shard = Counter(stable_hash(row["id"]) % 2 for row in filtered + deduped)
        shards = [(f"part-{shard:05d}.parquet", n) for shard, n in per_shard.items()]
        assert_that(files, equal_to(shards), label="Files")

    assert sorted(path.name for path in out.iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    found = []
    for shard in range(2):
        parquet = pq.ParquetFile(out / f"part-{shard:05d}.parquet")
        groups = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
        assert len(groups) > 1 and max(groups) <= 5
        rows = parquet.read().to_pylist()
        assert rows == sorted(rows, key=order)
        assert {stable_hash(row["id"]) % 2 for row in rows} == {shard}
        found += rows
    assert sorted(found, key=order) == sorted(filtered + deduped, key=order)


def test_no_rejects_no_files(tmp_path: Path) -> None:
    out = tmp_path / "rejects"
    with beam.Pipeline() as pipeline:
        written = (pipeline | beam.Create([]),) | WriteRejects(str(out), 2)
        assert_that(written["outputs"], equal_to([]))
    assert not out.exists()
