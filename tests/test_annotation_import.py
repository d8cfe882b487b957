"""Candidate importers: each format, its bad records quarantined, stable ids, de-identification."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from annotation.importers import FORMATS, read_candidates
from annotation.records import Message
from pipelines.deid import Deidentifier
from pipelines.errors import MedloomError
from tests.conftest import real_file

GOOD_LINE = {
    "id": "q-001",
    "prompt": "饭后胃胀、反酸一个月了，晚上躺下更明显，需要做胃镜吗？",
    "responses": [
        "饭后胃胀、反酸，躺下加重，比较符合胃食管反流的表现。如果年龄超过40岁，或者有吞咽困难、"
        "体重下降、黑便、呕血等报警症状，建议尽快做胃镜；没有这些情况可以先调整生活方式观察。",
        {"content": "做不做胃镜都行，吃点胃药就好。", "model": "sft-b", "id": "gen-7"},
    ],
}


def _write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join(
            (x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines
        ),
        encoding="utf-8",
    )
    return path


def test_formats_are_the_four_sources_of_candidates() -> None:
    assert FORMATS == ("jsonl", "pairwise", "disc", "zhongjing-tsv")


def test_jsonl_text_prompt_and_mixed_responses(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "generated.jsonl", [GOOD_LINE])

    result = read_candidates(path, "jsonl", None)

    (item,) = result.items
    assert item.source == "jsonl:generated"
    assert item.prompt == (Message("user", GOOD_LINE["prompt"]),)
    assert [(c.model, c.content) for c in item.candidates] == [
        ("", GOOD_LINE["responses"][0]),
        ("sft-b", "做不做胃镜都行，吃点胃药就好。"),
    ]
    assert item.metadata == {
        "path": "generated.jsonl",
        "source_id": "q-001",
        f"source_id:{item.candidates[1].id}": "gen-7",
    }
    assert result.counts == {
        "read": 1,
        "in_items": 1,
        "quarantined": 0,
        "items": 1,
        "candidates": 2,
    }


def test_jsonl_message_prompt_keeps_the_dialogue(tmp_path: Path) -> None:
    line = {
        "prompt": [
            {"role": "system", "content": "你是一名耐心的全科医生。"},
            {"role": "user", "content": "最近总是口渴、夜尿多。"},
            {"role": "assistant", "content": "这种情况持续多久了？体重有没有变化？"},
            {"role": "user", "content": "两个月了，瘦了四五斤。"},
        ],
        "responses": ["建议尽快查空腹血糖和糖化血红蛋白，排查糖尿病。", "多喝水就好了。"],
    }
    path = _write_jsonl(tmp_path / "dialogues.jsonl", [line])

    (item,) = read_candidates(path, "jsonl", None).items

    assert [m.role for m in item.prompt] == ["system", "user", "assistant", "user"]
    assert item.prompt[-1].content == "两个月了，瘦了四五斤。"


def test_jsonl_bad_records_are_quarantined_without_their_content(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            GOOD_LINE,
            '{"prompt": "孩子咳嗽三天", "responses": ["多喝水"',
            "",
            {"prompt": "孩子咳嗽三天，要不要吃消炎药？"},
            {"prompt": "孩子咳嗽三天，要不要吃消炎药？", "responses": ["不需要抗生素。"]},
            {"prompt": "孩子咳嗽三天，要不要吃消炎药？", "responses": ["不需要抗生素。", "  "]},
            {
                "prompt": [
                    {"role": "user", "content": "孩子咳嗽三天。"},
                    {"role": "assistant", "content": "有发烧吗？"},
                ],
                "responses": ["a", "b"],
            },
            ["不是对象"],
        ],
    )

    result = read_candidates(path, "jsonl", None)

    assert [(q["line"], q["index"], q["reason"], q["detail"]) for q in result.quarantined] == [
        (2, 1, "malformed_json", "Expecting ',' delimiter at column 41"),
        (4, 2, "missing_field", "responses"),
        (5, 3, "too_few_responses", "1 given"),
        (6, 4, "empty_content", "responses[1]"),
        (7, 5, "prompt_not_ending_on_user", "last role assistant"),
        (8, 6, "not_an_object", "list"),
    ]
    assert {q["path"] for q in result.quarantined} == {str(path)}
    assert "孩子咳嗽" not in json.dumps(result.quarantined, ensure_ascii=False)
    assert result.counts["read"] == 7
    assert result.counts["read"] == result.counts["in_items"] + result.counts["quarantined"]


def test_same_file_gives_the_same_ids(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "generated.jsonl", [GOOD_LINE])

    first, second = (read_candidates(path, "jsonl", None).items[0] for _ in range(2))

    assert first.id == second.id
    assert [c.id for c in first.candidates] == [c.id for c in second.candidates]


def test_the_same_answer_to_two_prompts_gets_two_candidate_ids(tmp_path: Path) -> None:
    answer = "建议到医院就诊，由医生面诊后判断。"
    lines = [
        {"prompt": "右下腹疼了一天，按压更疼。", "responses": [answer, "可能是吃坏了。"]},
        {"prompt": "头晕两天，站起来时更明显。", "responses": [answer, "多休息。"]},
    ]
    path = _write_jsonl(tmp_path / "generated.jsonl", lines)

    first, second = read_candidates(path, "jsonl", None).items

    assert first.candidates[0].content == second.candidates[0].content
    assert first.candidates[0].id != second.candidates[0].id


def test_repeated_records_and_responses_are_merged(tmp_path: Path) -> None:
    repeated = {
        "prompt": "血压150/95要吃药吗？",
        "responses": ["先复测几次再决定。", "先复测几次再决定。 ", "要"],
    }
    path = _write_jsonl(tmp_path / "generated.jsonl", [repeated, repeated])

    result = read_candidates(path, "jsonl", None)

    assert len(result.items) == 1
    assert [c.content for c in result.items[0].candidates] == ["先复测几次再决定。", "要"]
    assert result.counts == {
        "read": 2,
        "in_items": 2,
        "quarantined": 0,
        "items": 1,
        "candidates": 2,
        "duplicate_responses": 2,
        "duplicate_records": 1,
    }


def test_text_is_deidentified_before_anything_else_sees_it(
    tmp_path: Path, engine: Deidentifier
) -> None:
    line = {
        "prompt": "我叫张伟，手机13812345678，最近血糖控制不好，空腹都在9左右。",
        "responses": [
            "张伟您好，空腹血糖9 mmol/L偏高，建议带上近一周的血糖记录复诊调整方案。",
            "血糖高一点没关系。",
        ],
    }
    path = _write_jsonl(tmp_path / "generated.jsonl", [line])

    (item,) = read_candidates(path, "jsonl", engine).items

    texts = [item.prompt[0].content] + [c.content for c in item.candidates]
    assert not any("张伟" in t or "13812345678" in t for t in texts)
    # The name gets the same surrogate in the prompt and in the answer that repeats it.
    surrogate = item.candidates[0].content.split("您好", 1)[0]
    assert item.prompt[0].content.startswith(f"我叫{surrogate}，")


def test_pairwise_json_array_keeps_chosen_as_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(
        json.dumps(
            [
                {
                    "question": "孕妇可以吃布洛芬吗？",
                    "response_chosen": "孕晚期禁用布洛芬，孕期退热首选对乙酰氨基酚。",
                    "response_rejected": "可以吃，布洛芬很安全。",
                },
                {"question": "孕妇可以吃布洛芬吗？", "response_chosen": "不可以。"},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )

    result = read_candidates(path, "pairwise", None)

    (item,) = result.items
    assert [dict(c.suggested_scores) for c in item.candidates] == [
        {"pairwise:chosen": 1.0},
        {"pairwise:chosen": 0.0},
    ]
    assert [(q["line"], q["index"], q["reason"]) for q in result.quarantined] == [
        (None, 1, "missing_field")
    ]


def test_medicalgpt_reward_test_file() -> None:
    path = real_file("medicalgpt/reward_test.json")

    result = read_candidates(path, "pairwise", None)

    assert result.counts == {
        "read": 100,
        "in_items": 100,
        "quarantined": 0,
        "items": 100,
        "candidates": 200,
    }
    first = result.items[0]
    assert first.source == "pairwise:reward_test"
    assert first.prompt == (Message("user", "肛门病变可能是什么疾病的症状?"),)
    # MedicalGPT's labels are noisy: here the "chosen" answer is the wrong one.
    assert [(c.content, dict(c.suggested_scores)) for c in first.candidates] == [
        ("食管克罗恩病", {"pairwise:chosen": 1.0}),
        ("肛门病变可能与多种不同类型的病症有关。", {"pairwise:chosen": 0.0}),
    ]


def _disc_dialogue(record_id: str, model: str, question: str, reply: str) -> dict:
    return {
        "id": record_id,
        "model": model,
        "source": "CMD",
        "dataset_info": {"department": "内科"},
        "conversation": [
            {"role": "patient", "content": question},
            {"role": "doctor", "content": reply},
            {"role": "patient", "content": f"{model}的模拟患者追问"},
            {"role": "doctor", "content": "……"},
        ],
    }


def _score_row(record_id: str, model: str, scores: str) -> dict:
    return {"id": record_id, "model": model, "source": "CMD", "scores": scores, "prompt": "…"}


def test_disc_groups_models_and_attaches_gpt4_scores(tmp_path: Path) -> None:
    question = "咳嗽两周，有白痰，不发烧，需要拍片吗？"
    eval_dir = tmp_path / "eval"
    dialogues, scores = eval_dir / "dialogues", eval_dir / "gpt4_scores" / "cmd"
    dialogues.mkdir(parents=True)
    scores.mkdir(parents=True)
    for model, reply in (("model-a", "咳嗽超过两周建议拍胸片。"), ("model-b", "多喝水。")):
        (dialogues / f"{model}_cmd.json").write_text(
            json.dumps(
                [
                    _disc_dialogue("7", model, question, reply),
                    _disc_dialogue("8", model, "头疼", "" if model == "model-b" else "多休息。"),
                ],
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    _write_jsonl(
        scores / "result_model-a_cmd.jsonl",
        [
            _score_row(
                "7",
                "model-a",
                "Proactivity: 4\nAccuracy: 5\nHelpfulness: 4.5\nLinguistic Quality: 5",
            ),
            _score_row(
                "8", "model-a", "Proactivity: 3\nAccuracy: 4\nHelpfulness: 4\nLinguistic Quality: 4"
            ),
        ],
    )
    _write_jsonl(
        scores / "result_model-b_cmd.jsonl",
        [
            _score_row("7", "model-b", "Proactivity: 1\nAccuracy: 2"),
            _score_row(
                "9", "model-b", "Proactivity: 1\nAccuracy: 1\nHelpfulness: 1\nLinguistic Quality: 1"
            ),
            _score_row(
                "1",
                "other-model",
                "Proactivity: 1\nAccuracy: 1\nHelpfulness: 1\nLinguistic Quality: 1",
            ),
        ],
    )

    result = read_candidates(tmp_path, "disc", None)

    (item,) = result.items
    assert item.source == "disc:CMD"
    assert item.prompt == (Message("user", question),)
    assert item.metadata["department"] == "内科"
    assert [(c.model, c.content, dict(c.suggested_scores)) for c in item.candidates] == [
        (
            "model-a",
            "咳嗽超过两周建议拍胸片。",
            {
                "gpt4:proactivity": 4.0,
                "gpt4:accuracy": 5.0,
                "gpt4:helpfulness": 4.5,
                "gpt4:linguistic_quality": 5.0,
            },
        ),
        ("model-b", "多喝水。", {}),
    ]
    assert Counter(q["reason"] for q in result.quarantined) == {
        # Record 8: model-b's empty reply, then model-a's lonely reply and its score row.
        "empty_content": 1,
        "too_few_responses": 2,
        "unparsable_scores": 1,
        "scores_without_dialogue": 1,
    }
    # Four dialogues and four score rows of the models read; other-model's row is not ours.
    assert result.counts["read"] == 8
    assert result.counts["in_items"] == 3
    assert result.counts["quarantined"] == 5


def test_disc_medllm_evaluation_dialogues() -> None:
    folder = real_file("disc-medllm/eval/dialogues")

    result = read_candidates(folder, "disc", None)

    # 314 prompts × 6 models, and 1,879 GPT-4 score rows (one prompt lacks 5 of its 6).
    assert result.counts == {
        "read": 1884 + 1879,
        "in_items": 1884 + 1879,
        "quarantined": 0,
        "items": 314,
        "candidates": 1884,
    }
    assert Counter(i.source for i in result.items) == {
        "disc:CMD": 121,
        "disc:CMID": 120,
        "disc:CMB-clin": 73,
    }
    unscored = [
        (i.metadata["source_id"], c.model)
        for i in result.items
        for c in i.candidates
        if not c.suggested_scores
    ]
    assert unscored == [
        ("0-33275", m)
        for m in ("DISC-MedLLM", "baichuan-chat", "bianque-v2", "gpt-3.5-turbo", "huatuo-chat")
    ]
    item = next(i for i in result.items if i.metadata["source_id"] == "3-49886")
    gpt4 = next(c for c in item.candidates if c.model == "gpt-4")
    assert gpt4.suggested_scores["gpt4:linguistic_quality"] == 4.5


def test_one_disc_model_file_alone_has_nothing_to_rank() -> None:
    path = real_file("disc-medllm/eval/dialogues/gpt-4_cmd.json")

    result = read_candidates(path, "disc", None)

    assert result.items == []
    assert Counter(q["reason"] for q in result.quarantined) == {"too_few_responses": 242}


ZHONGJING_TSV = (
    "id\tquery\thistory\trank1\trank2\trank3\trank4\n"
    "0\t那我需要做什么检查？\t"
    "[['我最近经常心慌，是怎么回事？', '心慌可能与心律失常、甲亢、贫血等有关。']]\t"
    "建议先做心电图和24小时动态心电图，再查甲状腺功能和血常规。\t多休息就好。\t"
    "做个全身体检。\t不用检查。\n"
    '1\t"孩子晚上睡觉打呼噜\n张着嘴呼吸，要紧吗？"\t[]\t可能是腺样体肥大，建议耳鼻喉科就诊。\t'
    "没关系。\t长大就好了。\t多运动。\n"
    "2\t胃疼\t[]\t去医院。\t吃药。\n"
    "3\t胃疼\t[['半句话']]\t一\t二\t三\t四\n"
)


def test_zhongjing_tsv_rows_with_history_and_quoted_lines(tmp_path: Path) -> None:
    path = tmp_path / "total_dataset.tsv"
    path.write_text(ZHONGJING_TSV, encoding="utf-8")

    result = read_candidates(path, "zhongjing-tsv", None)

    first, second = result.items
    assert first.prompt == (
        Message("user", "我最近经常心慌，是怎么回事？"),
        Message("assistant", "心慌可能与心律失常、甲亢、贫血等有关。"),
        Message("user", "那我需要做什么检查？"),
    )
    assert [c.suggested_scores["zhongjing:saved_rank"] for c in first.candidates] == [1, 2, 3, 4]
    assert second.prompt == (Message("user", "孩子晚上睡觉打呼噜\n张着嘴呼吸，要紧吗？"),)
    assert second.metadata["source_id"] == "1"
    assert [(q["line"], q["index"], q["reason"]) for q in result.quarantined] == [
        (5, 2, "wrong_field_count"),
        (6, 3, "malformed_history"),
    ]


def test_zhongjing_tsv_without_its_header_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "ranked.tsv"
    path.write_text("问题\t回答一\t回答二\n", encoding="utf-8")

    result = read_candidates(path, "zhongjing-tsv", None)

    assert [(q["line"], q["reason"]) for q in result.quarantined] == [(1, "bad_header")]


def test_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MedloomError, match=r"^candidate file not found: .*absent\.jsonl$"):
        read_candidates(tmp_path / "absent.jsonl", "jsonl", None)


def test_unknown_format_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(
        MedloomError,
        match=r"^unknown candidate format 'csv'; known: jsonl, pairwise, disc, zhongjing-tsv$",
    ):
        read_candidates(tmp_path, "csv", None)
