"""Turn-level cleaning: boilerplate out, turns merged and trimmed, unusable dialogues rejected."""

from __future__ import annotations

from pipelines.dialogues.cleaning import Cleaned, TurnCleaner
from pipelines.dialogues.config import CleaningConfig

FEVER = ("user", "宝宝发烧38.5度，需要吃退烧药吗？")
IBUPROFEN = "体温超过38.5度可以服用布洛芬混悬液，多喝水，注意观察精神状态。"

cleaner = TurnCleaner(CleaningConfig())


def reply(text: str, config: CleaningConfig | None = None) -> Cleaned:
    return TurnCleaner(config or CleaningConfig()).clean([FEVER, ("assistant", text)])


def test_a_sign_off_goes_from_the_reply() -> None:
    cleaned = reply(IBUPROFEN + "祝您的宝宝早日康复！")

    assert (cleaned.turns, cleaned.reason) == ([FEVER, ("assistant", IBUPROFEN)], None)
    assert cleaned.edits == {"boilerplate_removed": 1}


def test_the_platform_preamble_goes_with_its_clause() -> None:
    cleaned = reply("以上是对“宝宝发烧”这个问题的建议，体温超过38.5度可以服用布洛芬，多喝水。")

    assert cleaned.turns[1] == ("assistant", "体温超过38.5度可以服用布洛芬，多喝水。")
    assert cleaned.edits == {"boilerplate_removed": 1}


def test_a_trailing_disclaimer_goes_and_the_sentence_ends_with_a_full_stop() -> None:
    cleaned = reply("体温超过38.5度可以服用布洛芬混悬液，仅供参考")

    assert cleaned.turns[1] == ("assistant", "体温超过38.5度可以服用布洛芬混悬液。")


def test_several_sign_offs_are_each_counted() -> None:
    cleaned = reply(IBUPROFEN + "希望我的回答对您有所帮助。感谢您的咨询！祝您健康！")

    assert cleaned.turns[1] == ("assistant", IBUPROFEN)
    assert cleaned.edits == {"boilerplate_removed": 3}


def test_the_patient_s_thanks_are_not_boilerplate() -> None:
    cleaned = cleaner.clean(
        [
            FEVER,
            ("assistant", IBUPROFEN),
            ("user", "谢谢医生，祝您工作顺利！"),
            ("assistant", "不客气。"),
        ]
    )

    assert cleaned.turns[2] == ("user", "谢谢医生，祝您工作顺利！")


def test_a_url_goes_from_every_turn_with_the_advertisement_around_it() -> None:
    cleaned = cleaner.clean(
        [
            ("user", "我在 www.example.com 上看到说要捂汗，是真的吗？"),
            (
                "assistant",
                "发烧时不要捂汗，以免体温继续升高。更多育儿知识请访问 https://example.com/baby 。",
            ),
        ]
    )

    assert cleaned.turns == [
        ("user", "我在  上看到说要捂汗，是真的吗？"),
        ("assistant", "发烧时不要捂汗，以免体温继续升高。"),
    ]
    assert cleaned.edits == {"url_removed": 2}


def test_urls_stay_when_stripping_is_off() -> None:
    text = "可以参考指南 https://example.com/guide 。"

    cleaned = reply(text + IBUPROFEN, CleaningConfig(strip_urls=False))

    assert cleaned.turns[1] == ("assistant", text + IBUPROFEN)


HUATUO = "问题分析：宝宝发烧多为病毒感染引起。意见建议：体温超过38.5度可以服用布洛芬混悬液。"


def test_answer_template_labels_stay_by_default() -> None:
    cleaned = reply(HUATUO)

    assert cleaned.turns[1] == ("assistant", HUATUO)
    assert not cleaned.edits


def test_answer_template_labels_go_when_configured_and_their_sections_stay() -> None:
    cleaned = reply(HUATUO, CleaningConfig(strip_answer_templates=True))

    assert cleaned.turns[1] == (
        "assistant",
        "宝宝发烧多为病毒感染引起。\n体温超过38.5度可以服用布洛芬混悬液。",
    )
    assert cleaned.edits == {"template_label_removed": 2}


def test_consecutive_turns_of_one_speaker_merge() -> None:
    cleaned = cleaner.clean(
        [
            ("user", "宝宝发烧38.5度。"),
            ("user", "需要吃退烧药吗？"),
            ("assistant", IBUPROFEN),
        ]
    )

    assert (cleaned.turns, cleaned.reason) == (
        [("user", "宝宝发烧38.5度。\n需要吃退烧药吗？"), ("assistant", IBUPROFEN)],
        None,
    )
    assert cleaned.edits == {"turns_merged": 1}


def test_an_empty_turn_goes_and_the_turns_around_it_merge() -> None:
    cleaned = cleaner.clean(
        [
            ("user", "宝宝发烧38.5度。"),
            ("assistant", "  \n "),
            ("user", "需要吃退烧药吗？"),
            ("assistant", IBUPROFEN),
        ]
    )

    assert cleaned.turns == [
        ("user", "宝宝发烧38.5度。\n需要吃退烧药吗？"),
        ("assistant", IBUPROFEN),
    ]
    assert cleaned.edits == {"empty_turn_dropped": 1, "turns_merged": 1}


def test_a_greeting_before_the_patient_speaks_goes() -> None:
    cleaned = cleaner.clean(
        [("assistant", "您好，请问有什么可以帮您？"), FEVER, ("assistant", IBUPROFEN)]
    )

    assert (cleaned.turns, cleaned.reason) == ([FEVER, ("assistant", IBUPROFEN)], None)
    assert cleaned.edits == {"leading_assistant_dropped": 1}


def test_a_last_question_without_an_answer_goes() -> None:
    cleaned = cleaner.clean([FEVER, ("assistant", IBUPROFEN), ("user", "那可以用酒精擦身吗？")])

    assert cleaned.turns == [FEVER, ("assistant", IBUPROFEN)]
    assert cleaned.edits == {"trailing_user_dropped": 1}


def test_a_system_turn_at_the_start_stays() -> None:
    system = ("system", "你是一名儿科医生。")

    cleaned = cleaner.clean([system, FEVER, ("assistant", IBUPROFEN)])

    assert (cleaned.turns, cleaned.reason) == ([system, FEVER, ("assistant", IBUPROFEN)], None)


def test_a_system_turn_in_the_middle_rejects_the_dialogue() -> None:
    cleaned = cleaner.clean([FEVER, ("system", "你是一名儿科医生。"), ("assistant", IBUPROFEN)])

    assert (cleaned.reason, cleaned.detail) == (
        "misplaced_system_turn",
        "a system turn after the first user turn",
    )


def test_a_dialogue_with_only_the_patient_speaking_is_one_speaker() -> None:
    cleaned = cleaner.clean([FEVER, ("user", "有人在吗？")])

    assert (cleaned.reason, cleaned.detail) == ("one_speaker", "only user")
    assert cleaned.turns == [("user", "宝宝发烧38.5度，需要吃退烧药吗？\n有人在吗？")]


def test_a_reply_that_was_only_a_sign_off_leaves_one_speaker() -> None:
    cleaned = reply("祝您早日康复！")

    assert (cleaned.reason, cleaned.detail) == ("one_speaker", "only user")
    assert cleaned.edits == {"boilerplate_removed": 1, "empty_turn_dropped": 1}


def test_only_a_system_prompt_is_one_speaker() -> None:
    cleaned = cleaner.clean([("system", "你是一名儿科医生。")])

    assert (cleaned.reason, cleaned.detail) == ("one_speaker", "only system")


def test_a_turn_of_200000_characters_is_too_long() -> None:
    paste = "患者自述" + "头痛" * 99_998

    cleaned = cleaner.clean([("user", paste), ("assistant", IBUPROFEN)])

    assert len(paste) == 200_000
    assert (cleaned.reason, cleaned.detail) == (
        "turn_too_long",
        "a turn of 200000 characters (limit 20000)",
    )


def test_a_bare_greeting_is_no_substantive_reply() -> None:
    cleaned = cleaner.clean([FEVER, ("assistant", "您好，在的，很高兴为您服务！")])

    assert cleaned.reason == "no_substantive_reply"
    assert cleaned.turns == [FEVER, ("assistant", "您好，在的，很高兴为您服务！")]


def test_one_substantive_reply_is_enough() -> None:
    cleaned = cleaner.clean(
        [
            FEVER,
            ("assistant", "您好，在的。"),
            ("user", "宝宝精神还可以，吃奶正常。"),
            ("assistant", IBUPROFEN),
        ]
    )

    assert cleaned.reason is None


def test_substantive_counts_characters_beyond_greetings_and_punctuation() -> None:
    assert cleaner.substantive("您好！多喝水，少熬夜，按时服药。")
    assert not cleaner.substantive("您好！多喝水，按时服药。")
    assert not cleaner.substantive("谢谢医生！不客气，祝好。")
