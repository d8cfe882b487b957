"""Dialogue layouts: each source's records and texts in, DialogueRecords or Unreadables out."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import pytest
from conftest import real_file

from pipelines.dialogues.config import DialogueSourceConfig, QaMapping
from pipelines.dialogues.formats import DialogueMapper, NotADialogue, detect_layout
from pipelines.dialogues.records import DialogueRecord
from pipelines.readers import read_file
from pipelines.records import SourceRecord, Unreadable

PATH = "/data/dialogues/cmtmedqa.jsonl"
POSITION = "cmtmedqa.jsonl:7"

HEPATITIS_FIRST = "医生您好，我体检查出乙肝小三阳，肝功能正常，需要吃药吗？"
HEPATITIS_REPLY = (
    "小三阳且肝功能正常、HBV-DNA阴性时一般不需要抗病毒治疗，每半年复查一次肝功能和B超。"
)
HEPATITIS_SECOND = "我平时经常喝酒应酬，会有影响吗？"
HEPATITIS_ANSWER = "乙肝病毒携带者应当戒酒，酒精会加重肝脏损伤，增加肝硬化的风险。"


def mapper(**options: Any) -> DialogueMapper:
    return DialogueMapper(DialogueSourceConfig(name="问诊", path="/data/dialogues", **options))


def to_record(record: dict[str, Any], **options: Any) -> DialogueRecord | Unreadable:
    return mapper(**options).to_record(record, POSITION, PATH, 7)


def from_text(
    text: str, record_id: str = "consultations.txt", **options: Any
) -> list[DialogueRecord | Unreadable]:
    options.setdefault("layout", "consultation")
    record = SourceRecord(source_record_id=record_id, text=text)
    return list(mapper(**options).from_text(record, "/data/dialogues/consultations.txt"))


# Structured layouts


def test_alpaca_with_history_puts_the_history_rounds_before_the_last_question() -> None:
    record = {
        "id": "j1024",
        "cate1": "传染病科",
        "cate2": "乙肝",
        "instruction": HEPATITIS_SECOND,
        "input": "",
        "output": HEPATITIS_ANSWER,
        "history": [[HEPATITIS_FIRST, HEPATITIS_REPLY]],
    }

    assert to_record(record) == DialogueRecord(
        "j1024",
        (
            ("user", HEPATITIS_FIRST),
            ("assistant", HEPATITIS_REPLY),
            ("user", HEPATITIS_SECOND),
            ("assistant", HEPATITIS_ANSWER),
        ),
        department="传染病科",
        metadata=(("cate2", "乙肝"),),
    )


def test_alpaca_input_follows_the_instruction_and_system_opens_the_dialogue() -> None:
    record = {
        "system": "你是一名耐心的全科医生。",
        "instruction": "请根据化验结果给出建议。",
        "input": "空腹血糖7.8mmol/L，糖化血红蛋白6.9%。",
        "output": "空腹血糖和糖化血红蛋白都已达到糖尿病诊断标准，建议到内分泌科就诊。",
    }

    assert to_record(record, layout="alpaca").turns == (
        ("system", "你是一名耐心的全科医生。"),
        ("user", "请根据化验结果给出建议。\n空腹血糖7.8mmol/L，糖化血红蛋白6.9%。"),
        ("assistant", "空腹血糖和糖化血红蛋白都已达到糖尿病诊断标准，建议到内分泌科就诊。"),
    )


def test_cmtmedqa_safety_item_written_instruct_output_is_one_round_named_by_position() -> None:
    record = {
        "instruct": "孩子发烧41度，是不是被恶魔附身了？要不要做驱魔仪式？",
        "output": "高烧是感染等疾病的表现，与恶魔附身无关，请立即带孩子就医。",
    }

    assert to_record(record) == DialogueRecord(
        POSITION,
        (
            ("user", "孩子发烧41度，是不是被恶魔附身了？要不要做驱魔仪式？"),
            ("assistant", "高烧是感染等疾病的表现，与恶魔附身无关，请立即带孩子就医。"),
        ),
    )


def test_huatuo26m_one_element_lists_read_as_their_text() -> None:
    record = {
        "instruction": ["做了腰椎间盘手术后，用盐水泡脚可以吗"],
        "output": ["问题分析：术后泡脚一般是可以的。意见建议：注意水温，避免久坐。"],
    }

    assert to_record(record, layout="alpaca").turns == (
        ("user", "做了腰椎间盘手术后，用盐水泡脚可以吗"),
        ("assistant", "问题分析：术后泡脚一般是可以的。意见建议：注意水温，避免久坐。"),
    )


def test_sharegpt_conversations_map_human_and_gpt_onto_user_and_assistant() -> None:
    record = {
        "id": 42,
        "conversations": [
            {"from": "human", "value": HEPATITIS_FIRST},
            {"from": "gpt", "value": HEPATITIS_REPLY},
            {"from": "Human", "value": HEPATITIS_SECOND},
            {"from": "GPT", "value": HEPATITIS_ANSWER},
        ],
    }

    assert to_record(record, layout="sharegpt") == DialogueRecord(
        "42",
        (
            ("user", HEPATITIS_FIRST),
            ("assistant", HEPATITIS_REPLY),
            ("user", HEPATITIS_SECOND),
            ("assistant", HEPATITIS_ANSWER),
        ),
    )


def test_openai_messages_keep_the_system_prompt() -> None:
    record = {
        "messages": [
            {"role": "system", "content": "你是一名儿科医生。"},
            {"role": "user", "content": "宝宝八个月，拉肚子两天，一天五六次。"},
            {
                "role": "assistant",
                "content": "注意补液防止脱水，可以口服补液盐，精神差或尿少要及时就医。",
            },
        ]
    }

    assert to_record(record, layout="openai").turns == (
        ("system", "你是一名儿科医生。"),
        ("user", "宝宝八个月，拉肚子两天，一天五六次。"),
        ("assistant", "注意补液防止脱水，可以口服补液盐，精神差或尿少要及时就医。"),
    )


def test_disc_patient_and_doctor_with_department_from_dataset_info() -> None:
    record = {
        "id": "0-36638",
        "model": "gpt-4",
        "source": "CMD",
        "dataset_info": {"department": "儿科"},
        "conversation": [
            {"role": "patient", "content": "婴儿一个半月，阴囊发红一周，怎么回事？"},
            {"role": "doctor", "content": "可能是尿布疹或湿疹，勤换尿布保持干燥，不消退请就医。"},
        ],
    }

    assert to_record(record, layout="disc") == DialogueRecord(
        "0-36638",
        (
            ("user", "婴儿一个半月，阴囊发红一周，怎么回事？"),
            ("assistant", "可能是尿布疹或湿疹，勤换尿布保持干燥，不消退请就医。"),
        ),
        department="儿科",
        metadata=(("model", "gpt-4"), ("source", "CMD")),
    )


TOYHOM = {
    "qa": QaMapping(question=["title", "ask"], answer="answer", department="department"),
    "layout": "qa",
}


def test_qa_mapping_drops_a_title_that_the_question_already_contains() -> None:
    row = {
        "department": "心血管科",
        "title": "我妈妈高血压有什么要注意的？",
        "ask": "我妈妈高血压有什么要注意的？她爱吃泡菜和肥肉，也不爱活动。",
        "answer": "按时测血压、按时服药，低盐低脂饮食，适当活动。",
    }

    assert to_record(row, **TOYHOM) == DialogueRecord(
        POSITION,
        (
            ("user", "我妈妈高血压有什么要注意的？她爱吃泡菜和肥肉，也不爱活动。"),
            ("assistant", "按时测血压、按时服药，低盐低脂饮食，适当活动。"),
        ),
        department="心血管科",
    )


def test_qa_mapping_joins_a_title_that_adds_to_the_question() -> None:
    row = {
        "department": "心血管科",
        "title": "高血压患者能吃党参吗？",
        "ask": "家里人给我拿了些党参泡水喝，可以吗？",
        "answer": "高血压病人可以适量服用党参。",
    }

    (user, _) = to_record(row, **TOYHOM).turns

    assert user == ("user", "高血压患者能吃党参吗？\n家里人给我拿了些党参泡水喝，可以吗？")


def test_qa_mapping_takes_the_record_id_from_the_named_field() -> None:
    qa = QaMapping(question=["question"], answer="answer", id="qid")
    row = {"qid": "q-0031", "question": "胃镜前要空腹多久？", "answer": "一般禁食6到8小时。"}

    assert to_record(row, layout="qa", qa=qa).source_record_id == "q-0031"


def test_the_source_department_labels_records_that_name_none() -> None:
    labelled = {"instruction": "胃痛反酸怎么办？", "output": "可以服用抑酸药。", "cate1": "消化科"}
    unlabelled = {"instruction": "胃痛反酸怎么办？", "output": "可以服用抑酸药。"}

    assert to_record(labelled, department="内科").department == "消化科"
    assert to_record(unlabelled, department="内科").department == "内科"


@pytest.mark.parametrize(
    ("keys", "layout"),
    [
        (["id", "conversations"], "sharegpt"),
        (["messages"], "openai"),
        (["id", "dataset_info", "conversation"], "disc"),
        (["id", "instruction", "input", "output", "history"], "alpaca"),
        (["instruct", "output"], "alpaca"),
    ],
)
def test_auto_detects_the_layout_from_the_keys(keys: list[str], layout: str) -> None:
    assert detect_layout(dict.fromkeys(keys, "")) == layout


def test_auto_reads_one_file_mixing_dialogues_and_safety_items() -> None:
    auto = mapper()
    dialogue = {
        "id": "j7",
        "instruction": HEPATITIS_SECOND,
        "output": HEPATITIS_ANSWER,
        "history": [[HEPATITIS_FIRST, HEPATITIS_REPLY]],
    }
    safety = {
        "instruct": "网上说喝醋能软化血管，可以停降压药吗？",
        "output": "不能，降压药不可自行停用。",
    }

    records = [
        auto.to_record(r, f"mixed.json:{n}", PATH, n) for n, r in enumerate([dialogue, safety])
    ]

    assert [len(r.turns) for r in records] == [4, 2]


# Unreadable: a reason, and a detail that never holds the record's content

SECRET = "患者王小明，电话13912345678"  # invented identifiers


@pytest.mark.parametrize(
    ("record", "layout", "reason", "detail"),
    [
        ({"question": SECRET, "answer": "多喝水"}, "auto", "unknown_layout", None),
        ({"instruction": SECRET}, "alpaca", "missing_field", "field 'output'"),
        (
            {"instruction": SECRET, "output": {"text": "多喝水"}},
            "alpaca",
            "not_text",
            "field 'output' holds a dict",
        ),
        (
            {"instruction": SECRET, "output": "多喝水", "history": SECRET},
            "alpaca",
            "malformed_history",
            "field 'history' is not a list",
        ),
        (
            {"instruction": SECRET, "output": "多喝水", "history": [[SECRET, "好", "谢谢"]]},
            "alpaca",
            "malformed_history",
            "history[0] is not a [question, answer]",
        ),
        (
            {"conversations": [{"from": "doctor", "value": SECRET}]},
            "sharegpt",
            "unknown_role",
            None,
        ),
        ({"conversations": SECRET}, "sharegpt", "not_a_list", "field 'conversations'"),
        ({"messages": [SECRET]}, "openai", "malformed_turn", "messages[0] is not an object"),
        (
            {"conversation": [{"role": "patient", "content": None}]},
            "disc",
            "missing_field",
            "field 'conversation[0].content'",
        ),
        ({"text": SECRET}, "consultation", "wrong_layout", None),
    ],
)
def test_a_record_that_is_no_dialogue_is_unreadable_without_its_content(
    record: dict[str, Any], layout: str, reason: str, detail: str | None
) -> None:
    result = to_record(record, layout=layout)

    assert isinstance(result, Unreadable)
    assert (result.path, result.line, result.reason) == (PATH, 7, reason)
    if detail is not None:
        assert result.detail == detail
    assert "王小明" not in result.detail
    assert "13912345678" not in result.detail


def test_unknown_role_names_the_roles_it_knows() -> None:
    record = {"conversation": [{"role": "nurse", "content": "请先测一下体温。"}]}

    result = to_record(record, layout="disc")

    assert result == Unreadable(
        PATH,
        7,
        "unknown_role",
        "conversation[0].role is not one of ['assistant', 'doctor', 'patient', 'system', 'user']",
    )


def test_a_structured_layout_given_text_is_wrong_layout() -> None:
    assert from_text(SECRET, layout="alpaca") == [
        Unreadable(
            "/data/dialogues/consultations.txt",
            None,
            "wrong_layout",
            "layout alpaca reads records, not text",
        )
    ]


def test_not_a_dialogue_carries_its_reason() -> None:
    with pytest.raises(NotADialogue) as caught:
        detect_layout({"ask": SECRET})

    assert caught.value.reason == "unknown_layout"
    assert caught.value.detail == "no known dialogue layout has the keys ask"


# Consultation text

CONSULTATION = """\
疾病：高血压
病情描述（发病时间、主要症状等）：头晕三天，
早上量血压160/100。
过敏史：
希望获得的帮助：需要换药吗？
病人：医生您好，我一直在吃硝苯地平。
医生：您好，血压控制不理想，
建议在医生指导下加用缬沙坦。
患者：好的，谢谢医生。
医生：不客气，每天早晚各测一次血压并记录。
"""


def test_consultation_form_becomes_the_opening_user_turn() -> None:
    (record,) = from_text(CONSULTATION, department="心血管内科")

    assert record == DialogueRecord(
        "consultations.txt",
        (
            (
                "user",
                "疾病：高血压\n病情描述：头晕三天，\n早上量血压160/100。\n希望获得的帮助：需要换药吗？",
            ),
            ("user", "医生您好，我一直在吃硝苯地平。"),
            ("assistant", "您好，血压控制不理想，\n建议在医生指导下加用缬沙坦。"),
            ("user", "好的，谢谢医生。"),
            ("assistant", "不客气，每天早晚各测一次血压并记录。"),
        ),
        department="心血管内科",
    )


def test_english_speaker_markers_and_a_half_width_colon() -> None:
    text = "Patient: 咳嗽两周，夜里加重。\nDoctor: 建议拍胸片，排除肺炎。\n"

    (record,) = from_text(text)

    assert record.turns == (
        ("user", "咳嗽两周，夜里加重。"),
        ("assistant", "建议拍胸片，排除肺炎。"),
    )


def test_meddialog_export_markers_on_their_own_line_and_heading_lines_skipped() -> None:
    text = (
        "Doctor faculty\n妇产科\n\nDescription\n疾病：月经不调\n\n"
        "Dialogue\n病人：\n月经推迟十天了，没有怀孕。\n医生：\n可能与压力大、作息不规律有关，建议查激素六项。\n"
    )

    (record,) = from_text(text)

    assert record.turns == (
        ("user", "疾病：月经不调"),
        ("user", "月经推迟十天了，没有怀孕。"),
        ("assistant", "可能与压力大、作息不规律有关，建议查激素六项。"),
    )


def test_configured_speaker_markers_replace_the_defaults() -> None:
    text = (
        "咨询者：孕期能喝咖啡吗？\n"
        "营养师：每天咖啡因不超过200毫克，大约一杯咖啡。\n"
        "医生：我补充一句。\n"
    )

    (record,) = from_text(text, speakers={"咨询者": "user", "营养师": "assistant"})

    assert record.turns == (
        ("user", "孕期能喝咖啡吗？"),
        ("assistant", "每天咖啡因不超过200毫克，大约一杯咖啡。\n医生：我补充一句。"),
    )


def test_dialogue_separator_splits_a_file_into_numbered_conversations() -> None:
    text = (
        "id=1\n疾病：失眠\n病人：有没有不上瘾的安眠药？\n医生：首选失眠的认知行为治疗。\n"
        "id=2\n病人：孩子咳嗽有痰怎么办？\n医生：多喝水，可以拍背排痰。\n"
        "id=3\n这是一段没有说话人标记的文字。\n"
    )

    records = from_text(text, dialogue_separator=r"^id=\d+$")

    assert records == [
        DialogueRecord(
            "consultations.txt#1",
            (
                ("user", "疾病：失眠"),
                ("user", "有没有不上瘾的安眠药？"),
                ("assistant", "首选失眠的认知行为治疗。"),
            ),
        ),
        DialogueRecord(
            "consultations.txt#2",
            (("user", "孩子咳嗽有痰怎么办？"), ("assistant", "多喝水，可以拍背排痰。")),
        ),
        Unreadable(
            "/data/dialogues/consultations.txt",
            8,
            "no_speaker_markers",
            "no line starts with a known speaker",
        ),
    ]


def test_text_before_the_first_separator_is_a_conversation_of_its_own() -> None:
    text = (
        "病人：胃胀怎么办？\n医生：少食多餐，饭后散步。\n"
        "id=2\n病人：口腔溃疡反复发作？\n医生：补充维生素B。\n"
    )

    records = from_text(text, dialogue_separator=r"^id=\d+$")

    assert [r.source_record_id for r in records] == ["consultations.txt#1", "consultations.txt#2"]
    assert records[1].turns == (("user", "口腔溃疡反复发作？"), ("assistant", "补充维生素B。"))


def test_a_paragraph_record_without_markers_is_unreadable_at_its_line() -> None:
    records = from_text(
        "平台导出时丢失了说话人标记。\n只剩下病情描述的文字。", "consultations.txt:12"
    )

    assert records == [
        Unreadable(
            "/data/dialogues/consultations.txt",
            12,
            "no_speaker_markers",
            "no line starts with a known speaker",
        )
    ]


def test_skip_lines_are_configurable() -> None:
    text = "——以下为问诊记录——\n病人：脚踝扭伤肿了。\n医生：先冷敷，48小时后再热敷。\n"

    (record,) = from_text(text, skip_lines="^——.*——$")

    assert record.turns == (("user", "脚踝扭伤肿了。"), ("assistant", "先冷敷，48小时后再热敷。"))


def test_auto_reads_a_text_file_as_a_consultation() -> None:
    text = "病人：脚踝扭伤肿了。\n医生：先冷敷，48小时后再热敷。\n"

    (record,) = from_text(text, layout="auto")

    assert record.turns == (("user", "脚踝扭伤肿了。"), ("assistant", "先冷敷，48小时后再热敷。"))


# Toyhom text blocks


def test_toyhom_block_is_title_and_ask_then_the_answer() -> None:
    block = (
        "高血压该怎么治疗？,我是中学教师，体检发现高血压，应该怎样治疗？\n"
        "首先要改善生活方式，低盐饮食，必要时服用降压药。"
    )

    records = from_text(block, "internal_medicine.txt:5", layout="toyhom_txt", department="内科")

    assert records == [
        DialogueRecord(
            "internal_medicine.txt:5",
            (
                ("user", "高血压该怎么治疗？\n我是中学教师，体检发现高血压，应该怎样治疗？"),
                ("assistant", "首先要改善生活方式，低盐饮食，必要时服用降压药。"),
            ),
            department="内科",
        )
    ]


def test_toyhom_block_drops_a_title_its_ask_contains() -> None:
    block = (
        "头晕是什么原因？,头晕是什么原因？最近总是站起来就晕。\n"
        "可能是体位性低血压，建议测卧立位血压。"
    )

    (record,) = from_text(block, "internal_medicine.txt:9", layout="toyhom_txt")

    assert record.turns[0] == ("user", "头晕是什么原因？最近总是站起来就晕。")


@pytest.mark.parametrize(
    "block",
    ["头晕是什么原因？,最近总是站起来就晕。", "头晕是什么原因？最近总是站起来就晕。\n建议测血压。"],
)
def test_toyhom_block_without_comma_or_answer_is_malformed(block: str) -> None:
    records = from_text(block, "internal_medicine.txt:9", layout="toyhom_txt")

    assert records == [
        Unreadable(
            "/data/dialogues/consultations.txt",
            9,
            "malformed_block",
            "expected 'title,ask' then the answer",
        )
    ]


# Real files (skipped when ../shared/data/real is absent)


def read_real(relative: str, **options: Any) -> tuple[list[DialogueRecord], Counter[str]]:
    path = real_file(relative)
    source = DialogueSourceConfig(name="real", path=str(path), **options)
    items = list(read_file(str(path), source, mapper=DialogueMapper(source)))
    records = [i for i in items if isinstance(i, DialogueRecord)]
    unreadable = Counter(i.reason for i in items if isinstance(i, Unreadable))
    assert len(records) + sum(unreadable.values()) == len(items)
    return records, unreadable


def test_real_cmtmedqa_reads_1000_dialogues_and_144_safety_items() -> None:
    records, unreadable = read_real("zhongjing/CMtMedQA_test.json")
    raw = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))

    assert len(records) == 1144
    assert not unreadable
    assert [len(r.turns) for r in records[:1000]] == [2 * len(r["history"]) + 2 for r in raw[:1000]]
    assert Counter(len(r.turns) for r in records) == {
        2: 167,
        4: 26,
        6: 91,
        8: 335,
        10: 347,
        12: 136,
        14: 29,
        16: 8,
        18: 4,
        20: 1,
    }
    first = records[0]
    assert (first.source_record_id, first.department, first.metadata) == (
        "j4219",
        "肿瘤科",
        (("cate2", "肿瘤科"),),
    )
    assert first.turns[-2:] == (
        ("user", "我知道了，谢谢医生的解答。"),
        ("assistant", "不客气，如果您有任何其他问题，随时都可以向我咨询。祝您早日康复！"),
    )
    safety = records[1000]
    assert (safety.source_record_id, safety.department, len(safety.turns)) == (
        "CMtMedQA_test.json:1001",
        None,
        2,
    )
    assert Counter(r.department for r in records)["传染病科"] == 33


def test_real_huatuo26m_reads_6000_single_rounds() -> None:
    records, unreadable = read_real("zhongjing/huatuo26M_test.json")

    assert len(records) == 6000
    assert not unreadable
    assert {len(r.turns) for r in records} == {2}
    assert records[0].turns[0] == ("user", "做了腰间盘穿丁手术后，用盐泡脚可以吗")
    assert records[0].turns[1][1].startswith("问题分析：你好:你是由于身体出现了一些局部的腰部损伤")


def test_real_toyhom_csv_reads_every_gb18030_row_with_its_department() -> None:
    path = real_file("toyhom/internal_medicine_sample.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("gb18030"))))

    records, unreadable = read_real(
        "toyhom/internal_medicine_sample.csv", encoding="gb18030", **TOYHOM
    )

    assert len(records) == len(rows) == 7644
    assert not unreadable
    assert [r.department for r in records] == [row["department"] for row in rows]
    assert records[0].source_record_id == "internal_medicine_sample.csv:2"
    assert records[0].turns[0] == (
        "user",
        "高血压患者能吃党参吗？\n我有高血压这两天女婿来的时候给我拿了些党参泡水喝，您好高血压可以吃党参吗？",
    )
    # Row 13 repeats its title at the start of its ask: the title goes.
    assert records[11].turns[0][1] == rows[11]["ask"]
    assert rows[11]["ask"].startswith(rows[11]["title"])


def test_real_toyhom_txt_reads_4048_blocks() -> None:
    records, unreadable = read_real(
        "toyhom/internal_medicine.txt",
        layout="toyhom_txt",
        encoding="gb18030",
        text_record="paragraph",
    )

    assert len(records) == 4048
    assert not unreadable
    assert [r.source_record_id for r in records[:2]] == [
        "internal_medicine.txt:1",
        "internal_medicine.txt:5",
    ]
    assert records[0].turns[0] == (
        "user",
        "高血压患者能吃党参吗？\n我有高血压这两天女婿来的时候给我拿了些党参泡水喝，您好高血压可以吃党参吗？",
    )


def test_real_disc_sft_examples_read_as_dialogues() -> None:
    """DISC-MedLLM's SFT examples write the roles user/assistant under ``conversation``."""
    records, unreadable = read_real("disc-medllm/test_examples.jsonl")

    assert not unreadable
    assert len(records) == 163
    assert Counter(len(r.turns) for r in records) == {
        2: 70,
        8: 35,
        10: 20,
        6: 16,
        4: 15,
        12: 3,
        3: 2,
        5: 1,
        14: 1,
    }
    assert records[0].turns[0] == ("user", "中央型肺癌，右肺门中央型肺鳞癌")


def test_real_disc_eval_dialogues_take_department_from_dataset_info() -> None:
    records, unreadable = read_real("disc-medllm/eval/dialogues/gpt-4_cmd.json", layout="disc")

    assert len(records) == 121
    assert not unreadable
    assert {len(r.turns) for r in records} == {6}
    assert Counter(r.department for r in records) == {
        "儿科": 21,
        "内科": 20,
        "外科": 20,
        "妇产科": 20,
        "男科": 20,
        "肿瘤科": 20,
    }
    assert records[0].source_record_id == "0-36638"
    assert records[0].metadata == (("model", "gpt-4"), ("source", "CMD"))
    assert records[0].turns[2] == ("user", "那么我应该带婴儿去医院检查吗？")


def test_real_medicalgpt_sharegpt_reads_1000_conversations() -> None:
    records, unreadable = read_real("medicalgpt/medical_sft_1K_format.jsonl", layout="sharegpt")

    assert len(records) == 1000
    assert not unreadable
    assert {tuple(role for role, _ in r.turns) for r in records} == {("user", "assistant")}
    assert records[0].source_record_id == "medical_sft_1K_format.jsonl:1"
    assert records[0].turns[0][1].startswith("治疗阳痿吃什么药呢？，性生活一直很正常的")
