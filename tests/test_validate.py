"""Validation of a pretraining output: each shard against its schema and the run's filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.errors import ConfigError, MedloomError
from pipelines.filters.cjk import CjkFilter
from pipelines.filters.config import CjkFilterConfig
from pipelines.filters.document import FilterDocument
from pipelines.validate import cjk_share, validate_pretrain
from schemas import PRETRAIN_DOCUMENT

CONFIG = {
    "filters": {
        "length": {"enabled": True, "min_chars": 50, "max_chars": 200_000},
        "cjk": {"enabled": True, "min_fraction": 0.3},
    }
}

ADMISSION = (
    "患者，男，62岁，因“反复胸闷、气短3年，加重伴双下肢水肿1周”入院。既往高血压病史10年，"
    "规律服用氨氯地平。查体：血压150/90mmHg，双肺底可闻及湿啰音，双下肢凹陷性水肿。"
)
TEXTBOOK = (
    "# 第三章 糖尿病\n\n糖尿病是一组以慢性血葡萄糖水平增高为特征的代谢性疾病，"
    "是由于胰岛素分泌和（或）作用缺陷所引起。长期碳水化合物以及脂肪、蛋白质代谢紊乱"
    "可引起多系统损害。"
)
ENGLISH = (
    "Hypertension is defined as a systolic blood pressure of 140 mmHg or higher, or a "
    "diastolic pressure of 90 mmHg or higher, measured on two separate occasions."
)
# A lab report is Chinese by language but mostly Latin letters and digits.
LAB_REPORT = (
    "血常规：WBC 12.3×10^9/L，NEUT% 85.2%，LYM% 10.1%，RBC 4.52×10^12/L，"
    "HGB 135 g/L，PLT 210×10^9/L，CRP 45.6 mg/L。"
)
# Chinese by script (most letters are Han) with many numbers: a CJK share of 28/69.
LAB_VALUES = (
    "血常规：白细胞 12.3×10^9/L，中性粒细胞 85.2%，血红蛋白 135 g/L，血小板 210×10^9/L，"
    "C反应蛋白 45.6 mg/L。"
)
SHARD = "pretrain/part-00000.parquet"


@pytest.fixture(scope="module", autouse=True)
def _great_expectations_imported() -> None:
    """Import great-expectations (about 3 s) once for the module, not inside one test."""
    import great_expectations  # noqa: F401


def document(doc_id: str, text: str | None, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": doc_id,
        "text": text,
        "source": "records",
        "source_record_id": f"rec-{doc_id}",
        "kind": "record",
        "language": "zh",
        "length": len(text) if text is not None else 0,
        "title": None,
        "heading_path": [],
        "chunk_index": 0,
        "chunk_count": 1,
    }
    row.update(overrides)
    return row


def write_shard(
    output_dir: Path, rows: list[dict[str, Any]], shard: int = 0, schema: pa.Schema | None = None
) -> Path:
    path = output_dir / "pretrain" / f"part-{shard:05d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = schema or PRETRAIN_DOCUMENT.arrow
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def failures(result: Any) -> list[tuple[str, str | None, str, str]]:
    return [(r.expectation, r.column, r.file, r.observed) for r in result.results if not r.success]


def test_good_output_passes_every_expectation(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION), document("a2", TEXTBOOK, kind="textbook")])
    write_shard(tmp_path, [document("b1", ENGLISH, language="en")], shard=1)

    result = validate_pretrain(tmp_path, CONFIG)

    assert result.success
    assert result.summary() == "validation passed: 23 expectations on 2 files"
    assert [(r.expectation, r.column) for r in result.results if r.file == SHARD] == [
        ("expect_file_footer_to_name_schema", None),
        ("expect_table_columns_to_match_ordered_list", None),
        ("expect_column_values_to_not_be_null", "id"),
        ("expect_column_values_to_not_be_null", "text"),
        ("expect_column_values_to_not_be_null", "kind"),
        ("expect_column_values_to_not_be_null", "language"),
        ("expect_column_values_to_not_be_null", "length"),
        ("expect_column_values_to_be_unique", "id"),
        ("expect_column_values_to_be_between", "length"),
        ("expect_column_pair_values_to_be_equal", "length"),
        ("expect_column_values_to_be_between", "cjk_share"),
    ]


def test_duplicate_id_fails_uniqueness(tmp_path: Path) -> None:
    write_shard(
        tmp_path,
        [document("a1", ADMISSION), document("a1", TEXTBOOK), document("a3", ADMISSION)],
    )

    result = validate_pretrain(tmp_path, CONFIG)

    assert not result.success
    assert failures(result) == [
        (
            "expect_column_values_to_be_unique",
            "id",
            SHARD,
            "2 of 3 rows (66.7%) share their value with another row, at rows 0, 1",
        )
    ]


def test_null_text_fails_not_null_only(tmp_path: Path) -> None:
    # Parquet refuses a null in a non-nullable column, so a faulty writer must relax it.
    text = PRETRAIN_DOCUMENT.arrow.get_field_index("text")
    relaxed = PRETRAIN_DOCUMENT.arrow.set(
        text, PRETRAIN_DOCUMENT.arrow.field(text).with_nullable(True)
    )
    write_shard(
        tmp_path, [document("a1", ADMISSION), document("a2", None, length=120)], schema=relaxed
    )

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        (
            "expect_column_values_to_not_be_null",
            "text",
            SHARD,
            "1 of 2 rows (50.0%) are null, at row 1",
        )
    ]


def test_length_below_configured_minimum_fails_between(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION), document("a2", "主诉：发热伴咳嗽3天。")])

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        (
            "expect_column_values_to_be_between",
            "length",
            SHARD,
            "1 of 2 rows (50.0%) are outside [50, 200000], at row 1",
        )
    ]


def test_length_bounds_come_from_the_run_config(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION)])
    strict = {"filters": {"length": {"min_chars": 200, "max_chars": 4000}}}

    assert failures(validate_pretrain(tmp_path, strict)) == [
        (
            "expect_column_values_to_be_between",
            "length",
            SHARD,
            "1 of 1 row (100.0%) are outside [200, 4000], at row 0",
        )
    ]


def test_disabled_length_filter_sets_no_bound(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", "主诉：发热伴咳嗽3天。")])
    config = {"filters": {"length": {"enabled": False}}}

    result = validate_pretrain(tmp_path, config)

    assert result.success
    assert ("expect_column_values_to_be_between", "length") not in [
        (r.expectation, r.column) for r in result.results
    ]


def test_length_not_equal_to_text_length_fails_pair(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION, length=500), document("a2", TEXTBOOK)])

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        (
            "expect_column_pair_values_to_be_equal",
            "length",
            SHARD,
            "1 of 2 rows (50.0%) have length != len(text), at row 0",
        )
    ]


def test_low_cjk_share_fails_for_zh_rows_only(tmp_path: Path) -> None:
    write_shard(
        tmp_path,
        [
            document("a1", ADMISSION),
            document("a2", LAB_REPORT),
            document("a3", LAB_REPORT, language="en"),
        ],
    )

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        (
            "expect_column_values_to_be_between",
            "cjk_share",
            SHARD,
            "1 of 2 rows (50.0%) are below 0.3, at row 1",
        )
    ]


def test_cjk_share_counts_han_and_cjk_punctuation_among_non_space_characters() -> None:
    texts = pa.chunked_array([["高血压 3级，", "WBC 12.3", "", "𠮷野家", None]])

    # "高血压 3级，": 4 Han characters and "，" of 6 non-space characters; 𠮷 is astral Han.
    assert cjk_share(texts).to_pylist() == [5 / 6, 0.0, 0.0, 1.0, None]


def test_cjk_share_agrees_with_the_cjk_filter() -> None:
    share = cjk_share(pa.chunked_array([[LAB_VALUES]])).to_pylist()[0]

    def verdict(min_fraction: float) -> str | None:
        drop = CjkFilter(CjkFilterConfig(min_fraction=min_fraction)).apply(
            FilterDocument(LAB_VALUES)
        )
        return drop.reason if drop else None

    assert share == 28 / 69
    assert (verdict(share), verdict(share + 1e-9)) == (None, "low_cjk_fraction")


def test_missing_schema_metadata_fails_footer_check(tmp_path: Path) -> None:
    bare = PRETRAIN_DOCUMENT.arrow.remove_metadata()
    write_shard(tmp_path, [document("a1", ADMISSION)], schema=bare)

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        ("expect_file_footer_to_name_schema", None, SHARD, "no medloom schema in the footer")
    ]


def test_missing_and_extra_columns_fail_column_list(tmp_path: Path) -> None:
    fields = [f for f in PRETRAIN_DOCUMENT.fields if f.name != "title"]
    schema = pa.schema(
        [*fields, pa.field("note", pa.string())], metadata=PRETRAIN_DOCUMENT.arrow.metadata
    )
    row = {k: v for k, v in document("a1", ADMISSION).items() if k != "title"}
    write_shard(tmp_path, [{**row, "note": "复核"}], schema=schema)

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        (
            "expect_table_columns_to_match_ordered_list",
            None,
            SHARD,
            "missing title; unexpected note",
        )
    ]


def test_output_without_shards_fails_as_empty_dataset(tmp_path: Path) -> None:
    result = validate_pretrain(tmp_path, CONFIG)

    assert result.summary() == (
        "validation FAILED: 1 of 1 expectations on 0 files\n"
        "  expect_dataset_to_have_rows in pretrain: dataset is empty: 0 rows in 0 shards"
    )


def test_shard_without_rows_fails_as_empty_dataset(tmp_path: Path) -> None:
    write_shard(tmp_path, [])

    assert failures(validate_pretrain(tmp_path, CONFIG)) == [
        ("expect_dataset_to_have_rows", None, "pretrain", "dataset is empty: 0 rows in 1 shard")
    ]


def test_unreadable_shard_fails_without_crashing(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION)])
    (tmp_path / "pretrain" / "part-00001.parquet").write_bytes(b"PAR1 truncated")

    assert [(r.expectation, r.file) for r in validate_pretrain(tmp_path, CONFIG).failed] == [
        ("expect_file_footer_to_name_schema", "pretrain/part-00001.parquet"),
        ("expect_file_to_be_readable_parquet", "pretrain/part-00001.parquet"),
    ]


def test_summary_names_each_failure_with_file_and_observed_value(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION)])
    write_shard(tmp_path, [document("b1", TEXTBOOK), document("b1", ADMISSION)], shard=1)

    assert validate_pretrain(tmp_path, CONFIG).summary() == (
        "validation FAILED: 1 of 23 expectations on 2 files\n"
        "  expect_column_values_to_be_unique [id] in pretrain/part-00001.parquet: "
        "2 of 2 rows (100.0%) share their value with another row, at rows 0, 1"
    )


def test_failures_never_quote_document_values(tmp_path: Path) -> None:
    write_shard(
        tmp_path,
        [document("张伟-13812345678", ADMISSION), document("张伟-13812345678", LAB_REPORT)],
    )

    report = json.dumps(validate_pretrain(tmp_path, CONFIG).to_dict(), ensure_ascii=False)

    assert "13812345678" not in report
    assert "WBC" not in report


def test_to_dict_is_json_with_counts(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION)])

    as_dict = json.loads(json.dumps(validate_pretrain(tmp_path, CONFIG).to_dict()))

    assert (as_dict["success"], as_dict["expectations"], as_dict["failed"]) == (True, 12, 0)
    assert as_dict["results"][0] == {
        "expectation": "expect_dataset_to_have_rows",
        "column": None,
        "success": True,
        "observed": "1 row in 1 shard",
        "file": "pretrain",
    }


def test_validation_writes_no_gx_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "out"
    write_shard(output, [document("a1", ADMISSION)])
    monkeypatch.chdir(tmp_path)

    validate_pretrain(output, CONFIG)

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "out",
        "out/pretrain",
        "out/pretrain/part-00000.parquet",
    ]


def test_missing_output_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match="output folder not found"):
        validate_pretrain(tmp_path / "nowhere", CONFIG)


def test_bad_filter_config_names_the_key(tmp_path: Path) -> None:
    write_shard(tmp_path, [document("a1", ADMISSION)])
    config = {"filters": {"length": {"min_chars": "fifty"}}}

    with pytest.raises(ConfigError, match=r"config\.filters\.length\.min_chars"):
        validate_pretrain(tmp_path, config)
