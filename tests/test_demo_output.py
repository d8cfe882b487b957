"""The corpus pipeline's output on the demo samples in data/, pinned.

Work on speed must not change what is written or rejected: any change to a stage's decisions
shows here as a different reject, count or digest of the written rows. The digest is of
every written row (de-identified with the tests' secret), in file order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelines.config import load_corpus_config
from pipelines.corpus import run_corpus
from tests.conftest import rows

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "data" / "demo.yaml"
WRITTEN_DIGEST = "16441de4e2dd244cba23d837254381971f489f5b9ac2efa65b42b8d55097f307"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "out"
    manifest = run_corpus(load_corpus_config(DEMO_CONFIG), str(out), say=lambda _: None)
    return out, manifest


def test_demo_rejects_each_planted_problem_once(demo_run: tuple[Path, dict]) -> None:
    out, _ = demo_run
    rejects = [
        (r["source_record_id"], r["stage"], r["reason"], r["detail"]) for r in rows(out / "rejects")
    ]
    assert rejects == [
        ("ency-0015", "exact_dedup", "duplicate", "duplicate of b7ce670a7057baa56ed9"),
        ("ency-0016", "exact_dedup", "duplicate", "duplicate of ebc6489147e4fe8cd167"),
        ("ency-0021", "filter", "language.language_not_allowed", "ja"),
        ("ency-0018", "filter", "repetition.dup_line_fraction", "0.889 > 0.287"),
        ("ency-0017", "filter", "boilerplate.mostly_boilerplate", "0.857 > 0.500"),
        ("ency-0019", "filter", "length.too_short", "19 < 50 chars"),
        ("ency-0022", "filter", "symbols.high_symbol_fraction", "0.513 > 0.250"),
    ]


def test_demo_counts_add_up_to_the_pinned_totals(demo_run: tuple[Path, dict]) -> None:
    _, manifest = demo_run
    assert manifest["totals"] == {
        "records_read": 49,
        "quarantined": 3,
        "quarantined_by_reason": {"malformed_json": 1, "missing_field": 1, "ragged_row": 1},
        "documents": 50,
        "written": 43,
        "rejected": {
            "exact_dedup/duplicate": 2,
            "filter/boilerplate.mostly_boilerplate": 1,
            "filter/language.language_not_allowed": 1,
            "filter/length.too_short": 1,
            "filter/repetition.dup_line_fraction": 1,
            "filter/symbols.high_symbol_fraction": 1,
        },
        "edits": {"boilerplate_lines_removed": 6},
    }


def test_demo_writes_the_pinned_rows(demo_run: tuple[Path, dict]) -> None:
    out, _ = demo_run
    written = rows(out / "pretrain")
    digest = hashlib.sha256(json.dumps(written, ensure_ascii=False).encode("utf-8"))
    assert len(written) == 43
    assert digest.hexdigest() == WRITTEN_DIGEST
