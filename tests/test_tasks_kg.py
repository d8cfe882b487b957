"""Knowledge-graph triples → questions and answers per entity and relation."""

from __future__ import annotations

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import DialogueRecord, TaskSkip
from pipelines.records import SourceRecord, Unreadable
from pipelines.tasks import make_builder

SINGLE_TEMPLATES = {
    "kg_relations": {
        "症状": {"prompts": ["{head}有哪些常见症状？"], "answers": ["{head}的常见症状有{tails}。"]},
        "禁忌": {
            "prompts": ["哪些情况下不能使用{head}？"],
            "answers": ["以下情况禁用{head}：{tails}。"],
        },
    }
}
TRIPLES = "\n".join(
    [
        "# head\trelation\ttail",
        "糖尿病\t症状\t多饮",
        "二甲双胍\t禁忌\t严重肾功能不全",
        "糖尿病\t症状\t多尿",
        "\t症状\t咳嗽",
        "肺炎\t症状\t",
        "糖尿病\t症状\t多饮",
        "肺炎\t药物治疗\t阿莫西林\t头孢曲松",
        "二甲双胍\t易感人群\t肥胖者",
    ]
)


def kg_builder():
    return make_builder(
        DialogueSourceConfig(
            name="kg",
            path="triples.tsv",
            layout="kg_triples",
            tasks={"templates": SINGLE_TEMPLATES},
        )
    )


def test_a_files_triples_are_grouped_per_entity_and_bad_lines_are_unreadable() -> None:
    made = list(kg_builder().from_text(SourceRecord("triples.tsv", TRIPLES), "/kg/triples.tsv"))
    assert made == [
        Unreadable("/kg/triples.tsv", 5, "empty_head", "the head is empty"),
        Unreadable("/kg/triples.tsv", 6, "empty_tail", "the tail is empty"),
        Unreadable("/kg/triples.tsv", 8, "malformed_triple", "expected 3 fields, found 4"),
        (
            DialogueRecord(
                "triples.tsv#糖尿病#症状",
                (
                    ("user", "糖尿病有哪些常见症状？"),
                    ("assistant", "糖尿病的常见症状有多饮、多尿。"),
                ),
                None,
                (("relation", "症状"),),
                task="kg_qa",
            ),
        ),
        (
            DialogueRecord(
                "triples.tsv#二甲双胍#禁忌",
                (
                    ("user", "哪些情况下不能使用二甲双胍？"),
                    ("assistant", "以下情况禁用二甲双胍：严重肾功能不全。"),
                ),
                None,
                (("relation", "禁忌"),),
                task="kg_qa",
            ),
            TaskSkip(
                "triples.tsv#二甲双胍#易感人群",
                "kg_qa",
                "no_template",
                "relation '易感人群' has none",
            ),
        ),
    ]


def test_an_entity_record_holds_its_relations_already_grouped() -> None:
    record = {"id": "kg-7", "entity": "高血压", "relations": {"症状": ["头晕", "头痛", ""]}}
    (sample,) = kg_builder().to_record(record, "kg.jsonl:1", "kg.jsonl", 1)
    assert sample.source_record_id == "kg-7#症状"
    assert sample.turns[1] == ("assistant", "高血压的常见症状有头晕、头痛。")


def test_a_record_of_one_triple_is_unreadable_with_a_hint() -> None:
    row = {"head": "糖尿病", "relation": "症状", "tail": "多饮"}
    assert kg_builder().to_record(row, "t.csv:2", "t.csv", 2) == Unreadable(
        "t.csv",
        2,
        "ungrouped_triple",
        "one triple per record: read triple files with format: text to group them",
    )
