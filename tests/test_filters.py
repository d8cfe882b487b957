"""The quality filters, one at a time, then as a chain, then on real dialogues."""

from __future__ import annotations

import json
import re
from collections import Counter

from conftest import real_file
from test_filter_ngrams import duplicate_ngram_chars, top_ngram_chars

from pipelines.filters import FilterChain, FilterOutcome, FiltersConfig
from pipelines.filters.boilerplate import is_boilerplate
from pipelines.filters.repetition import duplicate_fraction
from pipelines.filters.scripts import langdetect_language
from pipelines.normalize import NormalizeConfig, normalize_text

ANSWER = (
    "您好，根据您描述的症状，反复上腹痛伴反酸、嗳气，考虑慢性胃炎或消化性溃疡的可能。"
    "建议尽快到消化内科就诊，完善胃镜检查，必要时做幽门螺杆菌检测。"
    "平时注意规律饮食，避免辛辣刺激食物，戒烟限酒。"
)
LAB_REPORT = (
    "检验报告单\n"
    "患者男，45岁，因“发热伴咳嗽3天”就诊。\n"
    "血常规：WBC 12.3×10^9/L，NEUT% 85.2%，LYM% 10.1%，RBC 4.52×10^12/L，HGB 135g/L，"
    "PLT 256×10^9/L。\n"
    "CRP 56.8mg/L，PCT 0.52ng/mL。\n"
    "生化：ALT 35U/L，AST 28U/L，Cr 78μmol/L，BUN 5.6mmol/L，K+ 3.9mmol/L，Na+ 138mmol/L。\n"
    "胸部CT：右下肺斑片状阴影，考虑社区获得性肺炎。"
)
FILTERS = ("boilerplate", "length", "language", "cjk", "symbols", "repetition")


def only(name: str, **settings: object) -> FilterChain:
    """A chain of the one filter ``name``, with ``settings`` changed from the defaults."""
    config = FiltersConfig()
    for other in FILTERS:
        getattr(config, other).enabled = other == name
    for key, value in settings.items():
        setattr(getattr(config, name), key, value)
    return FilterChain(config)


def kept(text: str, language: str = "zh") -> FilterOutcome:
    return FilterOutcome(text, language, None, None, None, {})


# Boilerplate


def test_boilerplate_lines_are_removed_and_counted() -> None:
    text = (
        f"{ANSWER}\n关注公众号“健康科普”获取更多资讯\n\n"
        "高血压患者应低盐饮食。\n版权所有，转载请注明出处"
    )
    outcome = only("boilerplate").run(text)
    assert outcome.rejected_by is None
    assert outcome.text == f"{ANSWER}\n\n高血压患者应低盐饮食。"
    assert outcome.edits == {"boilerplate_lines_removed": 2}


def test_a_document_mostly_of_boilerplate_is_dropped() -> None:
    text = "糖尿病患者应控制饮食。\n扫码添加医生微信\n点击阅读原文\n免责声明：本文不构成诊疗建议"
    outcome = only("boilerplate").run(text)
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "boilerplate",
        "mostly_boilerplate",
        "0.750 > 0.500",
    )
    assert outcome.text == "糖尿病患者应控制饮食。"


def test_a_line_that_is_mostly_a_url_is_boilerplate() -> None:
    assert is_boilerplate("来源：https://www.example.com/health/article/12345.html")


def test_a_paragraph_citing_a_url_is_not_boilerplate() -> None:
    line = (
        "世界卫生组织建议成人每周至少进行150分钟中等强度的有氧运动，"
        "详见 https://www.who.int 的身体活动指南。"
    )
    assert not is_boilerplate(line)


def test_a_medical_disclaimer_sentence_is_not_boilerplate() -> None:
    assert not is_boilerplate("以上建议仅供参考，请结合您的具体情况和医生的建议来制定治疗方案。")


# Length


def test_an_empty_text_is_dropped_as_empty() -> None:
    outcome = only("length").run(" \n\n ")
    assert (outcome.reason, outcome.detail) == ("empty", "0 chars")


def test_a_short_text_is_dropped_as_too_short() -> None:
    outcome = only("length").run("谢谢医生，我知道了。")
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "length",
        "too_short",
        "10 < 50 chars",
    )


def test_a_long_text_is_dropped_as_too_long() -> None:
    outcome = only("length", max_chars=100).run(ANSWER * 2)
    assert (outcome.reason, outcome.detail) == ("too_long", "188 > 100 chars")


def test_an_answer_of_ordinary_length_is_kept() -> None:
    assert only("length").run(ANSWER) == kept(ANSWER)


# Language


def test_chinese_is_kept_as_zh() -> None:
    assert only("language").run(ANSWER) == kept(ANSWER)


def test_a_chinese_lab_report_full_of_english_abbreviations_is_zh() -> None:
    assert only("language").run(LAB_REPORT).language == "zh"


def test_english_is_kept_as_en() -> None:
    text = "The patient presented with a three-day history of fever and productive cough."
    assert only("language").run(text) == kept(text, "en")


def test_japanese_is_dropped_with_its_code() -> None:
    text = "急性心筋梗塞の治療について説明します。発症から早期に再灌流療法を行うことが重要です。"
    outcome = only("language").run(text)
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "language",
        "language_not_allowed",
        "ja",
    )


def test_korean_is_dropped_with_its_code() -> None:
    text = (
        "환자는 사흘 전부터 발열과 기침 증상이 있었으며 흉부 엑스레이에서 폐렴 소견이 보였습니다."
    )
    assert only("language").run(text).detail == "ko"


def test_french_is_identified_by_langdetect_and_dropped() -> None:
    text = "Le patient présente une fièvre depuis trois jours avec une toux productive."
    outcome = only("language").run(text)
    assert (outcome.language, outcome.reason, outcome.detail) == (
        "fr",
        "language_not_allowed",
        "fr",
    )


def test_a_text_without_letters_is_und() -> None:
    outcome = only("language").run("2023-11-08 08:30 36.5 120/80 72 98%")
    assert (outcome.language, outcome.detail) == ("und", "und")


def test_english_is_dropped_when_only_zh_is_allowed() -> None:
    text = "Hypertension is a major risk factor for stroke and coronary heart disease."
    assert only("language", allowed=["zh"]).run(text).detail == "en"


def test_langdetect_answers_zh_not_zh_cn() -> None:
    assert langdetect_language(ANSWER) == "zh"


# CJK share


def test_a_zh_text_of_mostly_numbers_is_dropped_as_low_cjk_fraction() -> None:
    text = "体温记录：36.5, 36.8, 37.2, 38.1, 38.5, 39.0, 38.7, 37.9, 37.5, 37.0, 36.8, 36.6"
    outcome = only("cjk").run(text)
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "cjk",
        "low_cjk_fraction",
        "0.078 < 0.200",
    )


def test_a_lab_report_keeps_enough_cjk_characters() -> None:
    assert only("cjk").run(LAB_REPORT) == kept(LAB_REPORT)


def test_english_text_is_not_judged_by_cjk_share() -> None:
    text = "Metformin is the first-line drug for type 2 diabetes."
    assert only("cjk").run(text) == kept(text, "en")


# Symbols, punctuation, digits


def test_an_advert_of_stars_and_arrows_is_dropped_as_high_symbol_fraction() -> None:
    outcome = only("symbols").run("【特价】★★★★★祛斑霜→→→立即抢购←←←※※※☆☆☆♥♥♥")
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "symbols",
        "high_symbol_fraction",
        "0.548 > 0.250",
    )


def test_an_answer_padded_with_full_stops_is_dropped_as_high_punctuation_fraction() -> None:
    text = "这个要做胃镜和ct的，网上咨询只能猜啊。" + "。" * 36
    outcome = only("symbols").run(text)
    assert (outcome.reason, outcome.detail) == ("high_punctuation_fraction", "0.679 > 0.350")


def test_a_list_of_sample_numbers_is_dropped_as_high_digit_fraction() -> None:
    text = "检验号：20231108001 20231108002 20231108003 20231108004 20231108005"
    outcome = only("symbols").run(text)
    assert (outcome.reason, outcome.detail) == ("high_digit_fraction", "0.932 > 0.500")


def test_a_lab_report_passes_the_symbol_and_digit_limits() -> None:
    assert only("symbols").run(LAB_REPORT) == kept(LAB_REPORT)


# Repetition


def test_repeated_lines_are_dropped_as_dup_line_fraction() -> None:
    question = "请问医生我这是怎么了？"
    answers = ["您好，请描述一下具体症状。", "头晕乏力三天。", "建议测量血压。"]
    text = "\n".join([question, answers[0], question, question, *answers[1:]])
    outcome = only("repetition").run(text)
    assert (outcome.rejected_by, outcome.reason, outcome.detail) == (
        "repetition",
        "dup_line_fraction",
        "0.333 > 0.287",
    )


def test_repeated_paragraphs_are_dropped_as_dup_para_fraction() -> None:
    paragraph = "饮食建议：\n低盐低脂饮食。"
    text = f"{paragraph}\n\n{ANSWER}\n\n{paragraph}\n\n{paragraph}"
    outcome = only("repetition", dup_line_fraction=1.0).run(text)
    assert (outcome.reason, outcome.detail) == ("dup_para_fraction", "0.500 > 0.300")


def test_one_word_over_and_over_is_dropped_as_top_2gram_fraction() -> None:
    outcome = only("repetition").run("头痛" * 30)
    assert (outcome.reason, outcome.detail) == ("top_2gram_fraction", "1.000 > 0.256")


def test_a_sentence_said_three_times_is_dropped_as_dup_5gram_fraction() -> None:
    text = "建议多喝水，注意休息，按时服药。" * 3 + ANSWER
    outcome = only("repetition").run(text)
    assert (outcome.reason, outcome.detail) == ("dup_5gram_fraction", "0.211 > 0.198")


def test_a_repeated_5gram_exactly_at_its_limit_is_kept_and_over_it_dropped() -> None:
    # 50 characters, 反复头痛三 twice: a duplicate 5-gram fraction of 5 / 50 = 0.1.
    text = (
        "患者男性，四十二岁，反复头痛三天伴恶心呕吐，无发热。"
        "查体血压偏高，建议复查血压并完善检查；反复头痛三"
    )
    assert only("repetition", dup_ngram_fractions={5: 0.1}).run(text) == kept(text)
    outcome = only("repetition", dup_ngram_fractions={5: 0.098}).run(text)
    assert (outcome.reason, outcome.detail) == ("dup_5gram_fraction", "0.100 > 0.098")


def test_repetition_on_jieba_words_measures_word_ngrams() -> None:
    text = "建议多喝水，注意休息，按时服药。" * 3 + ANSWER
    outcome = only("repetition", unit="word").run(text)
    assert (outcome.reason, outcome.detail) == ("dup_6gram_fraction", "0.225 > 0.180")


def test_an_ordinary_answer_passes_the_repetition_limits() -> None:
    assert only("repetition").run(ANSWER) == kept(ANSWER)


# The chain


def test_the_chain_lists_every_reason_in_chain_order() -> None:
    assert FilterChain(FiltersConfig()).reasons() == [
        ("boilerplate", "mostly_boilerplate"),
        ("length", "empty"),
        ("length", "too_short"),
        ("length", "too_long"),
        ("language", "language_not_allowed"),
        ("cjk", "low_cjk_fraction"),
        ("symbols", "high_symbol_fraction"),
        ("symbols", "high_punctuation_fraction"),
        ("symbols", "high_digit_fraction"),
        ("repetition", "dup_line_fraction"),
        ("repetition", "dup_para_fraction"),
        ("repetition", "top_2gram_fraction"),
        ("repetition", "top_3gram_fraction"),
        ("repetition", "top_4gram_fraction"),
        ("repetition", "dup_5gram_fraction"),
        ("repetition", "dup_6gram_fraction"),
        ("repetition", "dup_7gram_fraction"),
        ("repetition", "dup_8gram_fraction"),
        ("repetition", "dup_9gram_fraction"),
        ("repetition", "dup_10gram_fraction"),
    ]


def test_a_disabled_filter_neither_drops_nor_lists_its_reasons() -> None:
    config = FiltersConfig()
    config.length.enabled = False
    chain = FilterChain(config)
    assert "length" not in {name for name, _ in chain.reasons()}
    assert chain.run("谢谢医生，我知道了。").rejected_by is None


def test_the_first_failing_filter_decides() -> None:
    # Short and Japanese: length runs before language.
    outcome = FilterChain(FiltersConfig()).run("ありがとうございます。")
    assert (outcome.rejected_by, outcome.reason, outcome.language) == ("length", "too_short", "ja")


def test_the_chain_keeps_a_lab_report() -> None:
    assert FilterChain(FiltersConfig()).run(LAB_REPORT) == kept(LAB_REPORT)


def test_the_chain_keeps_edited_text_and_reports_its_edits() -> None:
    outcome = FilterChain(FiltersConfig()).run(f"{ANSWER}\n更多健康知识，请扫码关注")
    assert outcome == FilterOutcome(
        ANSWER, "zh", None, None, None, {"boilerplate_lines_removed": 1}
    )


def test_the_chain_keeps_at_least_95_percent_of_real_dialogues() -> None:
    records = json.loads(real_file("zhongjing/CMtMedQA_test.json").read_text(encoding="utf-8"))
    chain, normalize = FilterChain(FiltersConfig()), NormalizeConfig()
    dropped: Counter[str] = Counter()
    for record in records:
        # The file mixes two schemas: dialogues (`instruction`, `history`) and safety items.
        turns = [text for pair in record.get("history", []) for text in pair]
        turns += [record.get("instruction") or record["instruct"], record["output"]]
        outcome = chain.run(normalize_text("\n".join(turns), normalize))
        if outcome.rejected_by is not None:
            dropped[f"{outcome.rejected_by}.{outcome.reason}"] += 1
    assert sum(dropped.values()) <= 0.05 * len(records), f"dropped: {dict(dropped)}"


def test_a_batch_gets_the_outcomes_of_one_text_at_a_time() -> None:
    texts = [
        ANSWER,
        LAB_REPORT,
        "The patient reports a dry cough for two weeks, worse at night, without fever.",
        "𠀀𠀁𠀂是罕见字，" + ANSWER,
        ANSWER + "\n关注公众号获取更多健康知识\n版权所有，转载请注明出处",
        "",
        "感冒。",
    ]
    chain = FilterChain(FiltersConfig())
    assert chain.run_batch(texts) == [chain.run(text) for text in texts]


def exact_repetition_reason(text: str) -> str | None:
    """The repetition filter's reason for ``text``, measured the plain way (no bounds)."""
    limits = FiltersConfig().repetition
    lines = duplicate_fraction(text.split("\n"))
    if lines > limits.dup_line_fraction:
        return "dup_line_fraction"
    if duplicate_fraction(re.split(r"\n[ \t]*\n", text)) > limits.dup_para_fraction:
        return "dup_para_fraction"
    units = [c for c in text if not c.isspace()]
    for n, fraction in sorted(limits.top_ngram_fractions.items()):
        if top_ngram_chars(units, n) > fraction * len(units):
            return f"top_{n}gram_fraction"
    for n, fraction in sorted(limits.dup_ngram_fractions.items()):
        if duplicate_ngram_chars(units, n) > fraction * len(units):
            return f"dup_{n}gram_fraction"
    return None


def test_a_batch_of_real_qa_texts_gets_the_exact_repetition_decisions() -> None:
    records = json.loads(real_file("zhongjing/huatuo26M_test.json").read_text(encoding="utf-8"))
    normalize = NormalizeConfig()
    # Each record holds its question and its answer as lists of strings.
    texts = [
        normalize_text(f"问：{''.join(r['instruction'])}\n答：{''.join(r['output'])}", normalize)
        for r in records[:1500]
    ]
    outcomes = only("repetition").run_batch(texts)
    assert [outcome.reason for outcome in outcomes] == [exact_repetition_reason(t) for t in texts]
    assert sum(outcome.reason is not None for outcome in outcomes) > 0
