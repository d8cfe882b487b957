"""Readers: files in, one SourceRecord or Unreadable per record out, never content in errors."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import real_file

from pipelines.chunking import split_document
from pipelines.config import FieldMapping, SourceConfig
from pipelines.errors import MedloomError
from pipelines.readers import detect_format, read_file, resolve_inputs
from pipelines.records import SourceRecord, Unreadable

QA_TEMPLATE = "问：{ask}\n答：{answer}"


def source(path: Path, **options: Any) -> SourceConfig:
    return SourceConfig(name="内科问答", path=str(path), **options)


def read_source(config: SourceConfig) -> list[SourceRecord | Unreadable]:
    return [item for path in resolve_inputs(config) for item in read_file(path, config)]


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


# Finding files


def test_a_folder_is_searched_recursively_skipping_hidden_and_unknown_files(
    tmp_path: Path,
) -> None:
    for name in ("内科/心衰.txt", "外科.md", "a.jsonl", ".草稿.txt", ".git/HEAD.txt", "说明.docx"):
        write(tmp_path / name, "心力衰竭")

    assert resolve_inputs(source(tmp_path)) == [
        str(tmp_path / "a.jsonl"),
        str(tmp_path / "内科/心衰.txt"),
        str(tmp_path / "外科.md"),
    ]


def test_a_glob_matches_files_in_its_folder(tmp_path: Path) -> None:
    for name in ("train-1.jsonl", "train-2.jsonl", "test.jsonl"):
        write(tmp_path / name, "{}")

    assert resolve_inputs(source(tmp_path / "train-*.jsonl")) == [
        str(tmp_path / "train-1.jsonl"),
        str(tmp_path / "train-2.jsonl"),
    ]


def test_a_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MedloomError) as raised:
        resolve_inputs(source(tmp_path / "无此目录"))

    assert str(raised.value) == f"source '内科问答': path not found: {tmp_path / '无此目录'}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "text"),
        ("a.md", "markdown"),
        ("a.markdown", "markdown"),
        ("a.tex", "latex"),
        ("a.json", "json"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.CSV", "csv"),
        ("a.tsv", "csv"),
        ("a.parquet", "parquet"),
        ("a.jsonl.gz", "jsonl"),
    ],
)
def test_the_format_follows_the_extension(name: str, expected: str) -> None:
    assert detect_format(f"/data/{name}", source(Path("/data"))) == expected


def test_an_unknown_extension_asks_for_a_format(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match=r"病历\.docx.*set `format:`"):
        detect_format("/data/病历.docx", source(tmp_path))


def test_a_glob_matching_a_file_of_unknown_format_fails_before_reading(tmp_path: Path) -> None:
    write(tmp_path / "qa.jsonl", "{}")
    write(tmp_path / "qa.bak", "{}")

    with pytest.raises(MedloomError, match=r"qa\.bak.*set `format:`"):
        resolve_inputs(source(tmp_path / "qa.*"))


def test_a_declared_format_wins_over_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.txt", jsonl({"text": "头痛怎么办？"}))

    assert read_source(source(path, format="jsonl")) == [SourceRecord("qa.txt:1", "头痛怎么办？")]


# Plain text and Markdown


def test_a_text_file_is_one_record_named_by_its_path_under_the_source(tmp_path: Path) -> None:
    write(tmp_path / "内科学/第三章.txt", "第三章 心力衰竭\n\n心力衰竭是多种疾病的终末阶段。\n")

    assert read_source(source(tmp_path)) == [
        SourceRecord("内科学/第三章.txt", "第三章 心力衰竭\n\n心力衰竭是多种疾病的终末阶段。\n")
    ]


def test_text_records_per_line_skip_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "corpus.txt", "问：头痛怎么办？答：休息。\n\n问：发热怎么办？答：补液。\n"
    )

    assert read_source(source(path, text_record="line")) == [
        SourceRecord("corpus.txt:1", "问：头痛怎么办？答：休息。"),
        SourceRecord("corpus.txt:3", "问：发热怎么办？答：补液。"),
    ]


def test_text_records_per_paragraph_are_named_by_their_first_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.txt",
        "高血压能吃党参吗？,我有高血压\n可以适量服用。\n\n\n胃胀怎么办？,两个月了\n清淡饮食。\n",
    )

    assert read_source(source(path, text_record="paragraph")) == [
        SourceRecord("qa.txt:1", "高血压能吃党参吗？,我有高血压\n可以适量服用。"),
        SourceRecord("qa.txt:5", "胃胀怎么办？,两个月了\n清淡饮食。"),
    ]


def test_markdown_keeps_headings_and_prose_and_drops_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "心衰.md",
        "---\ntitle: 内科学\n---\n# 第三章 心力衰竭\n\n心力衰竭是**多种疾病**的终末阶段。\n",
    )

    assert read_source(source(path)) == [
        SourceRecord("心衰.md", "# 第三章 心力衰竭\n\n心力衰竭是多种疾病的终末阶段。")
    ]


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("见![心电图](ecg.png)。", "见。"),
        ("详见[诊疗指南](https://example.org/hf_(2024))。", "详见诊疗指南。"),
        ("详见[诊疗指南][1]。\n\n[1]: https://example.org", "详见诊疗指南。"),
        ("**利尿剂**与*螺内酯*、~~地高辛~~、`5 mg`", "利尿剂与螺内酯、地高辛、5 mg"),
        ("snake_case 与 _强调_", "snake_case 与 强调"),
        ("\\*非强调\\*", "*非强调*"),
        ("正文<!-- 编者注：\n待核实 -->继续", "正文继续"),
        ("```python\n# 剂量\ndose = 5\n```", "# 剂量\ndose = 5"),
        ("| 药物 | 剂量 |\n|:---|---:|\n| 呋塞米 | 20 mg |", "药物 剂量\n呋塞米 20 mg"),
        ("慢性心力衰竭\n---\n\n正文", "## 慢性心力衰竭\n\n正文"),
        ("## 诊断 ##", "## 诊断"),
        ("> 引用**重点**", "引用重点"),
        ("上文\n\n***\n\n下文", "上文\n\n下文"),
    ],
    ids=[
        "image",
        "inline link",
        "reference link",
        "emphasis and code",
        "intraword underscore",
        "escapes",
        "html comment",
        "code fence",
        "table",
        "setext heading",
        "closed atx heading",
        "blockquote",
        "thematic break",
    ],
)
def test_markdown_markup_is_dropped(tmp_path: Path, markdown: str, text: str) -> None:
    path = write(tmp_path / "a.md", markdown)

    assert read_source(source(path)) == [SourceRecord("a.md", text)]


# JSON Lines, JSON, CSV, Parquet with a field mapping


def test_a_template_turns_a_question_and_answer_into_one_document(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl", jsonl({"ask": "头痛三天怎么办？", "answer": "注意休息。"}))

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        SourceRecord("qa.jsonl:1", "问：头痛三天怎么办？\n答：注意休息。")
    ]


def test_several_text_fields_are_joined_with_the_joiner(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl", jsonl({"ask": "头痛怎么办？", "answer": "休息。"}))
    mapping = FieldMapping(text=["ask", "answer"], joiner="\n\n")

    assert read_source(source(path, fields=mapping)) == [
        SourceRecord("qa.jsonl:1", "头痛怎么办？\n\n休息。")
    ]


def test_id_and_title_fields_name_the_record(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.jsonl",
        jsonl({"qid": "q-17", "department": "心内科", "text": "胸闷气短。"}, {"text": "头晕。"}),
    )
    mapping = FieldMapping(id="qid", title="department")

    assert read_source(source(path, fields=mapping)) == [
        SourceRecord("q-17", "胸闷气短。", title="心内科"),
        SourceRecord("qa.jsonl:2", "头晕。"),
    ]


def test_list_valued_fields_are_joined(tmp_path: Path) -> None:
    path = write(
        tmp_path / "huatuo.json",
        json.dumps(
            [{"instruction": ["股癣怎么治？"], "output": ["外用抗真菌药。", "保持干燥。"]}],
            ensure_ascii=False,
        ),
    )
    mapping = FieldMapping(template="问：{instruction}\n答：{output}")

    assert read_source(source(path, fields=mapping)) == [
        SourceRecord("huatuo.json:1", "问：股癣怎么治？\n答：外用抗真菌药。\n保持干燥。")
    ]


def test_a_dotted_field_takes_a_value_from_each_turn_of_a_conversation(tmp_path: Path) -> None:
    turns = [{"from": "human", "value": "早泄吃什么药？"}, {"from": "gpt", "value": "请先就医。"}]
    path = write(tmp_path / "sft.jsonl", jsonl({"conversations": turns}))

    assert read_source(source(path, fields=FieldMapping(text=["conversations.value"]))) == [
        SourceRecord("sft.jsonl:1", "早泄吃什么药？\n请先就医。")
    ]


def test_a_record_missing_a_mapped_field_is_unreadable_naming_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.jsonl", jsonl({"ask": "头痛怎么办？", "answer": "休息。"}, {"ask": "发热"})
    )

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        SourceRecord("qa.jsonl:1", "问：头痛怎么办？\n答：休息。"),
        Unreadable(str(path), 2, "missing_field", "field 'answer'"),
    ]


def test_a_malformed_json_line_is_quarantined_and_the_others_read(tmp_path: Path) -> None:
    lines = '{"text": "头痛。"}\n{"text": "患者电话13800138000" "x"}\n\n{"text": "发热。"}\n'
    path = write(tmp_path / "qa.jsonl", lines)

    assert read_source(source(path)) == [
        SourceRecord("qa.jsonl:1", "头痛。"),
        Unreadable(str(path), 2, "malformed_json", "Expecting ',' delimiter (column 28)"),
        SourceRecord("qa.jsonl:4", "发热。"),
    ]


def test_a_json_line_that_is_not_an_object_is_quarantined(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl", '["头痛", "休息"]\n')

    assert read_source(source(path)) == [Unreadable(str(path), 1, "not_an_object", "a JSON array")]


def test_a_json_array_gives_one_record_per_element(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.json", '[\n  {"text": "头痛。"},\n  "备注",\n  {"text": "发热。"}\n]\n'
    )

    assert read_source(source(path)) == [
        SourceRecord("qa.json:1", "头痛。"),
        Unreadable(str(path), 3, "not_an_object", "a JSON string"),
        SourceRecord("qa.json:3", "发热。"),
    ]


def test_a_json_file_holding_one_object_is_one_record(tmp_path: Path) -> None:
    path = write(tmp_path / "case.json", '{"text": "患者男，65岁，胸闷三年。"}')

    assert read_source(source(path)) == [SourceRecord("case.json:1", "患者男，65岁，胸闷三年。")]


def test_a_truncated_json_array_keeps_its_complete_elements(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.json", '[{"text": "头痛。"},\n {"text": "发热。"},\n {"text": "咳')

    assert read_source(source(path)) == [
        SourceRecord("qa.json:1", "头痛。"),
        SourceRecord("qa.json:2", "发热。"),
        Unreadable(
            str(path), 3, "truncated_json", "Unterminated string starting at (line 3, column 11)"
        ),
    ]


def test_a_json_file_written_as_json_lines_is_read_as_json_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.json", jsonl({"text": "头痛。"}, {"text": "发热。"}))

    assert read_source(source(path)) == [
        SourceRecord("qa.json:1", "头痛。"),
        SourceRecord("qa.json:2", "发热。"),
    ]


def test_a_csv_field_may_span_lines_and_rows_are_named_by_their_first_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "qa.csv",
        'department,ask,answer\n心内科,胸闷怎么办？,"1. 休息\n2. 就医"\n消化科,胃胀？,清淡饮食\n',
    )

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        SourceRecord("qa.csv:2", "问：胸闷怎么办？\n答：1. 休息\n2. 就医"),
        SourceRecord("qa.csv:4", "问：胃胀？\n答：清淡饮食"),
    ]


def test_a_ragged_csv_row_is_quarantined(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.csv", "ask,answer\n头痛？,休息\n发热？,补液,多喝水\n咳嗽？,止咳\n")
    mapping = FieldMapping(template=QA_TEMPLATE)

    assert read_source(source(path, fields=mapping)) == [
        SourceRecord("qa.csv:2", "问：头痛？\n答：休息"),
        Unreadable(str(path), 3, "ragged_row", "3 fields, the header has 2"),
        SourceRecord("qa.csv:4", "问：咳嗽？\n答：止咳"),
    ]


def test_a_tsv_file_is_split_at_tabs(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.tsv", "ask\tanswer\n头痛，三天？\t休息，多喝水\n")

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        SourceRecord("qa.tsv:2", "问：头痛，三天？\n答：休息，多喝水")
    ]


def test_the_csv_delimiter_comes_from_the_config(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.csv", "ask;answer\n头痛，三天？;休息\n")
    config = source(path, fields=FieldMapping(template=QA_TEMPLATE), csv_delimiter=";")

    assert read_source(config) == [SourceRecord("qa.csv:2", "问：头痛，三天？\n答：休息")]


def test_parquet_is_read_batch_by_batch_and_rows_are_numbered_from_one(tmp_path: Path) -> None:
    asks = [f"第{n}问：头痛怎么办？" for n in range(2500)]
    table = pa.table({"ask": asks, "answer": ["休息。"] * 2500, "unused": list(range(2500))})
    pq.write_table(table, tmp_path / "qa.parquet", row_group_size=1000)

    records = read_source(
        source(tmp_path / "qa.parquet", fields=FieldMapping(template=QA_TEMPLATE))
    )

    assert len(records) == 2500
    assert records[-1] == SourceRecord("qa.parquet:2500", "问：第2499问：头痛怎么办？\n答：休息。")


def test_a_parquet_file_without_a_mapped_column_has_every_row_missing_it(tmp_path: Path) -> None:
    pq.write_table(pa.table({"ask": ["头痛？", "发热？"]}), tmp_path / "qa.parquet")
    path = str(tmp_path / "qa.parquet")

    assert read_source(
        source(tmp_path / "qa.parquet", fields=FieldMapping(template=QA_TEMPLATE))
    ) == [
        Unreadable(path, 1, "missing_field", "field 'answer'"),
        Unreadable(path, 2, "missing_field", "field 'answer'"),
    ]


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.tex", "a.jsonl", "a.json", "a.csv", "a.tsv"])
def test_an_empty_file_is_one_unreadable_record(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, b"")

    assert read_source(source(path)) == [Unreadable(str(path), None, "empty_file")]


def test_a_csv_with_only_its_header_is_an_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.csv", "ask,answer\n")

    assert read_source(source(path)) == [Unreadable(str(path), None, "empty_file")]


def test_a_gzipped_file_is_decompressed_on_the_fly(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl.gz", gzip.compress(jsonl({"text": "头痛。"}).encode()))

    assert read_source(source(path)) == [SourceRecord("qa.jsonl.gz:1", "头痛。")]


# Encodings


def test_a_gb18030_csv_is_detected(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.csv", "ask,answer\n高血压能吃党参吗？,可以适量。\n".encode("gb18030")
    )

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        SourceRecord("qa.csv:2", "问：高血压能吃党参吗？\n答：可以适量。")
    ]


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.csv", b"\xef\xbb\xbf" + "text\n胸闷。\n".encode())

    assert read_source(source(path)) == [SourceRecord("qa.csv:2", "胸闷。")]


def test_each_file_of_a_folder_gets_its_own_encoding(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "心力衰竭".encode("gbk"))
    write(tmp_path / "b.txt", "心律失常".encode())
    write(tmp_path / "c.txt", b"\xef\xbb\xbf" + "高血压".encode())

    assert [r.text for r in read_source(source(tmp_path))] == ["心力衰竭", "心律失常", "高血压"]


def test_a_declared_encoding_is_used_as_declared(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "冠心病".encode("big5"))

    assert read_source(source(path, encoding="big5")) == [SourceRecord("a.txt", "冠心病")]


def test_an_undecodable_jsonl_line_costs_that_line_only(tmp_path: Path) -> None:
    path = write(
        tmp_path / "qa.jsonl",
        '{"text": "头痛。"}\n'.encode()
        + b'{"text": "\xff\xfe"}\n'
        + '{"text": "发热。"}\n'.encode(),
    )

    assert read_source(source(path)) == [
        SourceRecord("qa.jsonl:1", "头痛。"),
        Unreadable(str(path), 2, "undecodable", "not valid utf-8 at byte 10 (invalid start byte)"),
        SourceRecord("qa.jsonl:3", "发热。"),
    ]


def test_an_undecodable_line_inside_a_quoted_csv_field_costs_that_row_only(
    tmp_path: Path,
) -> None:
    content = (
        'ask,answer\n头痛？,"休息\n'.encode("gb18030")
        + b"\x81\x20\n"
        + ('"\n发热？,补液\n'.encode("gb18030"))
    )
    path = write(tmp_path / "qa.csv", content)

    assert read_source(source(path, fields=FieldMapping(template=QA_TEMPLATE))) == [
        Unreadable(
            str(path), 2, "undecodable", "not valid gb18030 at byte 0 (illegal multibyte sequence)"
        ),
        SourceRecord("qa.csv:5", "问：发热？\n答：补液"),
    ]


def test_an_undecodable_text_file_reports_the_line_of_its_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "ch3.txt", "第三章\n心力衰竭\n".encode() + b"\xff\n")

    assert read_source(source(path)) == [
        Unreadable(str(path), 3, "undecodable", "not valid utf-8 at byte 23 (invalid start byte)")
    ]


def test_one_corrupt_line_does_not_turn_a_utf8_file_into_gb18030(tmp_path: Path) -> None:
    good = "".join(f'{{"text": "第{n}例：胸闷气短。"}}\n' for n in range(5)).encode()
    path = write(tmp_path / "qa.jsonl", good + b'{"text": "\xc4\xe3"}\n')

    records = read_source(source(path))

    assert [r.text for r in records[:5]] == [f"第{n}例：胸闷气短。" for n in range(5)]
    assert isinstance(records[5], Unreadable) and records[5].reason == "undecodable"


# Privacy and accounting


def test_unreadable_details_never_quote_the_record(tmp_path: Path) -> None:
    phone, name = "13912345678", "王小明"
    lines = [
        f'{{"text": "患者{name}，电话{phone}"',
        f'["{name}", "{phone}"]',
        f'{{"note": "{name}{phone}"}}',
    ]
    path = write(tmp_path / "qa.jsonl", "\n".join(lines) + "\n")

    details = [r.detail for r in read_source(source(path)) if isinstance(r, Unreadable)]

    assert len(details) == 3
    assert not [d for d in details if phone in d or name in d]


# Real data (skipped when ../shared/data/real is absent)


def test_real_gb18030_csv_gives_one_record_per_data_row() -> None:
    path = real_file("toyhom/internal_medicine_sample.csv")
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"))))
    config = SourceConfig(
        name="toyhom",
        path=str(path),
        fields=FieldMapping(template="{title}\n问：{ask}\n答：{answer}"),
    )

    records = read_source(config)

    assert len(records) == len(rows) - 1 == 7644
    assert all(isinstance(r, SourceRecord) for r in records)
    assert records[0].text.startswith("高血压患者能吃党参吗？\n问：我有高血压")


def test_real_huatuo_json_joins_its_one_element_lists() -> None:
    path = real_file("zhongjing/huatuo26M_test.json")
    config = SourceConfig(
        name="huatuo",
        path=str(path),
        fields=FieldMapping(template="问：{instruction}\n答：{output}"),
    )

    records = read_source(config)

    assert len(records) == len(json.loads(path.read_text(encoding="utf-8"))) == 6000
    assert all(isinstance(r, SourceRecord) for r in records)
    assert records[0].text.startswith("问：做了腰间盘穿丁手术后，用盐泡脚可以吗\n答：问题分析：")


def test_real_sharegpt_jsonl_reads_every_conversation() -> None:
    path = real_file("medicalgpt/medical_sft_1K_format.jsonl")
    config = SourceConfig(
        name="medicalgpt",
        path=str(path),
        fields=FieldMapping(text=["conversations.value"]),
    )

    records = read_source(config)

    assert len(records) == 1000
    assert all(isinstance(r, SourceRecord) for r in records)
    assert records[0].text.startswith("治疗阳痿吃什么药呢？")


def test_a_20_mb_single_line_text_file_is_read_and_chunked_in_linear_time(
    tmp_path: Path,
) -> None:
    sentence = "心力衰竭患者应限制钠盐摄入并监测体重。"
    text = sentence * (20_000_000 // 3 // len(sentence))
    path = write(tmp_path / "long.txt", text)

    started = time.perf_counter()
    (record,) = read_source(source(path))
    chunks = split_document(record.text, (), max_chars=4000, min_chars=200)
    elapsed = time.perf_counter() - started

    assert record.text == text
    assert max(len(c.text) for c in chunks) <= 4000
    assert "".join(c.text for c in chunks) == text
    assert elapsed < 20
