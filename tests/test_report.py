"""The run report: one self-contained HTML page of counts, plots and checks from the manifest."""

from __future__ import annotations

import base64
import copy
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.errors import MedloomError
from pipelines.report import render_report, write_report
from schemas import PRETRAIN_DOCUMENT, REJECT

ADMISSION = (
    "患者，男，62岁，因“反复胸闷、气短3年，加重伴双下肢水肿1周”入院。既往高血压病史10年，"
    "规律服用氨氯地平。"
)
EXCERPT = "主诉：发热伴咳嗽3天，最高体温39.2℃。"

OBSERVED = "2 of 3574 rows (0.056%) share their value with another row, at rows 7, 8"
EDGES = [0, 50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000, 50000]
MANIFEST: dict[str, Any] = {
    "medloom_version": "0.1.0",
    "pipeline": "corpus",
    "dataset": "pretrain",
    "name": "cardiology-2026",
    "runner": "DirectRunner",
    "config": {"name": "cardiology-2026", "filters": {"length": {"min_chars": 50}}},
    "libraries": {"apache-beam": "2.77.0", "pyarrow": "25.0.1"},
    "inputs": [
        {
            "source": "textbooks",
            "path": "data/corpus/textbooks/ch1.md",
            "bytes": 12034,
            "sha256": "3f7a9c0e5b1d2a4f6e8c0b9d7a5e3c1f2b4d6f8a0c2e4a6b8d0f2a4c6e8b0d2f",
            "records": 1,
            "quarantined": 0,
        },
        {
            "source": "内科问答",
            "path": "data/corpus/qa/internal_medicine.csv",
            "bytes": 2048331,
            "sha256": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
            "records": 7644,
            "quarantined": 3,
        },
    ],
    "stages": ["read", "normalise", "filter", "exact_dedup", "write"],
    "counts": {
        "textbooks": {
            "records_read": 1,
            "quarantined": 0,
            "quarantined_by_reason": {},
            "documents": 30,
            "written": 27,
            "rejected": {"filter/too_short": 3},
            "edits": {"boilerplate_lines_removed": 4},
        },
        "内科问答": {
            "records_read": 7647,
            "quarantined": 3,
            "quarantined_by_reason": {"undecodable": 3},
            "documents": 7644,
            "written": 7122,
            "rejected": {"filter/too_short": 120, "exact_dedup/duplicate": 402},
            "edits": {},
        },
    },
    "totals": {
        "records_read": 7648,
        "quarantined": 3,
        "quarantined_by_reason": {"undecodable": 3},
        "documents": 7674,
        "written": 7149,
        "rejected": {"exact_dedup/duplicate": 402, "filter/too_short": 123},
        "edits": {"boilerplate_lines_removed": 4},
    },
    "deid": {"categories": {"PHONE": 3, "PERSON": 5}, "leak_gate": {"clean": 7149}},
    "histograms": {
        "length_before": {
            "edges": EDGES,
            "counts": [123, 900, 2400, 3100, 900, 200, 51, 0, 0, 0, 0],
        },
        "length_after": {"edges": EDGES, "counts": [0, 850, 2250, 2900, 900, 198, 51, 0, 0, 0, 0]},
    },
    "outputs": {
        "pretrain": {
            "schema": "pretrain_document",
            "schema_version": "1.0",
            "files": ["pretrain/part-00000.parquet", "pretrain/part-00001.parquet"],
            "rows": 7149,
        }
    },
    "validation": {
        "success": False,
        "expectations": 3,
        "failed": 1,
        "results": [
            {
                "expectation": "expect_dataset_to_have_rows",
                "column": None,
                "success": True,
                "observed": "7149 rows in 2 shards",
                "file": "pretrain",
            },
            {
                "expectation": "expect_column_values_to_be_unique",
                "column": "id",
                "success": True,
                "observed": "3575 rows checked, none unexpected",
                "file": "pretrain/part-00000.parquet",
            },
            {
                "expectation": "expect_column_values_to_be_unique",
                "column": "id",
                "success": False,
                "observed": OBSERVED,
                "file": "pretrain/part-00001.parquet",
            },
        ],
    },
}


class _Tables(HTMLParser):
    """Each table's rows of cell texts, keyed by the id of the section that holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self._section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.setdefault(self._section, []).append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._section][-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, list[list[list[str]]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(MANIFEST)


def test_report_is_written_into_the_output_folder(tmp_path: Path) -> None:
    path = write_report(tmp_path, MANIFEST)

    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_header_shows_run_name_pipeline_runner_and_totals(page: str) -> None:
    header = page[page.index("<header>") : page.index("</header>")]
    cards = re.findall(r'<div class="value">(.*?)</div><div class="label">(.*?)</div>', header)

    assert "<h1>medloom run: cardiology-2026</h1>" in header
    assert "pipeline <b>corpus</b>" in header
    assert "runner <b>DirectRunner</b>" in header
    assert cards == [
        ("7,648", "records read"),
        ("3", "quarantined"),
        ("7,674", "documents"),
        ("7,149", "written"),
        ("525", "rejected"),
        ("93.2%", "keep rate"),
        ("FAILED", "validation"),
    ]


def test_source_table_has_counts_and_keep_rate(page: str) -> None:
    assert tables(page)["sources"][0] == [
        ["source", "records read", "quarantined", "documents", "written", "rejected", "keep rate"],
        ["textbooks", "1", "0", "30", "27", "3", "90.0%"],
        ["内科问答", "7,647", "3", "7,644", "7,122", "522", "93.2%"],
        ["all sources", "7,648", "3", "7,674", "7,149", "525", "93.2%"],
    ]


def test_rejects_are_tabled_by_reason_and_source(page: str) -> None:
    assert tables(page)["sources"][1] == [
        ["stage/reason", "textbooks", "内科问答", "all sources"],
        ["exact_dedup/duplicate", "0", "402", "402"],
        ["filter/too_short", "3", "120", "123"],
    ]


def test_quarantine_and_edit_counts_are_listed_by_reason(page: str) -> None:
    assert tables(page)["sources"][2:] == [
        [["reason", "count"], ["undecodable", "3"]],
        [["reason", "count"], ["boilerplate_lines_removed", "4"]],
    ]


def test_inputs_table_shows_path_bytes_and_sha256_prefix(page: str) -> None:
    assert tables(page)["inputs"][0][1:] == [
        ["textbooks", "data/corpus/textbooks/ch1.md", "12,034", "1", "0", "3f7a9c0e5b1d"],
        [
            "内科问答",
            "data/corpus/qa/internal_medicine.csv",
            "2,048,331",
            "7,644",
            "3",
            "9a8b7c6d5e4f",
        ],
    ]


def test_validation_section_passes_or_fails_each_expectation(page: str) -> None:
    summary, failed = tables(page)["validation"]

    assert summary[1:] == [
        ["pass", "expect_dataset_to_have_rows", "", "1 of 1"],
        ["fail", "expect_column_values_to_be_unique", "id", "1 of 2"],
    ]
    assert failed[1:] == [
        [
            "expect_column_values_to_be_unique",
            "id",
            "pretrain/part-00001.parquet",
            OBSERVED,
        ]
    ]


def test_missing_validation_is_marked_not_run() -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != "validation"}

    assert '<span class="badge none">not run</span>' in render_report(manifest)


def test_deid_counts_are_listed_by_category(page: str) -> None:
    assert tables(page)["deid"] == [
        [["category", "count"], ["PERSON", "5"], ["PHONE", "3"]],
        [["outcome", "documents"], ["clean", "7,149"]],
    ]


def test_deid_section_is_left_out_without_deid_counts() -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != "deid"}

    assert 'id="deid"' not in render_report(manifest)


def test_outputs_and_library_versions_are_listed(page: str) -> None:
    found = tables(page)

    assert found["outputs"][0][1:] == [["pretrain", "pretrain_document", "1.0", "2", "7,149"]]
    assert found["libraries"][0][1:] == [["apache-beam", "2.77.0"], ["pyarrow", "25.0.1"]]


def test_plots_are_embedded_as_png(page: str) -> None:
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">', page)

    assert [alt for alt, _ in images] == [
        "Documents entering each stage and dropped by reason",
        "Rejected documents by stage and reason",
        "Document length before filters and as written",
    ]
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for _, data in images)


def test_page_loads_nothing_from_elsewhere(page: str) -> None:
    assert re.findall(r"(?:src|href)=\"(?!data:)", page) == []
    assert "<script" not in page
    assert "<link" not in page


def test_source_names_are_html_escaped() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["counts"]["<script>alert(1)</script>"] = manifest["counts"].pop("textbooks")

    page = render_report(manifest)

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_holds_no_document_text(tmp_path: Path) -> None:
    document = {
        "id": "doc-1",
        "text": ADMISSION,
        "source": "records",
        "source_record_id": "rec-1",
        "kind": "record",
        "language": "zh",
        "length": len(ADMISSION),
        "title": "入院记录",
        "heading_path": ["入院记录"],
        "chunk_index": 0,
        "chunk_count": 1,
    }
    reject = {
        "id": "doc-2",
        "source": "records",
        "source_record_id": "rec-2",
        "stage": "filter",
        "reason": "too_short",
        "detail": "19 < 50",
        "excerpt": EXCERPT,
    }
    for folder, spec, row in (
        ("pretrain", PRETRAIN_DOCUMENT, document),
        ("rejects", REJECT, reject),
    ):
        (tmp_path / folder).mkdir()
        table = pa.Table.from_pylist([row], schema=spec.arrow)
        pq.write_table(table, tmp_path / folder / "part-00000.parquet")

    page = write_report(tmp_path, MANIFEST).read_text(encoding="utf-8")

    assert "胸闷" not in page
    assert "发热" not in page
    assert "入院记录" not in page


def test_unbalanced_counts_are_flagged() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["counts"]["textbooks"]["written"] = 25

    page = render_report(manifest)

    assert "Counts do not add up:" in page
    assert "source &#x27;textbooks&#x27;: 30 documents but 25 written + 3 rejected" in page


def test_empty_manifest_renders_a_page_without_plots() -> None:
    page = render_report({})

    assert "<p>No documents.</p>" in page
    assert "<p>Nothing was rejected.</p>" in page
    assert "<img" not in page


def test_same_manifest_renders_the_same_bytes() -> None:
    assert render_report(MANIFEST) == render_report(copy.deepcopy(MANIFEST))


def test_missing_output_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match="output folder not found"):
        write_report(tmp_path / "nowhere", MANIFEST)
