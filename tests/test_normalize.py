"""Normalisation: Unicode clean-up, traditional→simplified, whitespace and HTML."""

from __future__ import annotations

from pipelines.normalize import (
    NormalizeConfig,
    _t2s,
    normalize_text,
    to_simplified,
    to_simplified_many,
)

DEFAULT = NormalizeConfig()


def test_full_width_letters_and_digits_become_ascii() -> None:
    assert normalize_text("患者ＡＢＣ１２３号床", DEFAULT) == "患者ABC123号床"


def test_cjk_punctuation_stays_full_width() -> None:
    text = "发热，咳嗽。体温：38.5℃；（三天）有无胸痛？无！"
    assert normalize_text(text, DEFAULT) == text


def test_traditional_chinese_becomes_simplified() -> None:
    assert normalize_text("患者於醫院接受治療。", DEFAULT) == "患者于医院接受治疗。"


def test_simplified_text_is_not_rewritten_by_opencc_phrases() -> None:
    # Run through t2s, 打坏 would become 打坯 (a phrase rule meant for traditional text).
    assert normalize_text("他不小心打坏了血压计。", DEFAULT) == "他不小心打坏了血压计。"


def test_traditional_conversion_can_be_turned_off() -> None:
    config = NormalizeConfig(traditional_to_simplified=False)
    assert normalize_text("醫院", config) == "醫院"


def test_zero_width_soft_hyphen_and_control_characters_are_removed() -> None:
    text = "\ufeff发\u200b热\u200c三\u200d天\u2060，体温\x0738.5℃，咳\u00ad嗽"
    assert normalize_text(text, DEFAULT) == "发热三天，体温38.5℃，咳嗽"


def test_ideographic_space_becomes_a_space() -> None:
    assert normalize_text("WBC\u300012.3×10^9/L", DEFAULT) == "WBC 12.3×10^9/L"


def test_carriage_returns_become_line_breaks() -> None:
    assert normalize_text("主诉：发热\r\n现病史：三天\r既往史：无", DEFAULT) == (
        "主诉：发热\n现病史：三天\n既往史：无"
    )


def test_space_runs_collapse_and_line_ends_are_stripped() -> None:
    text = "  WBC   12.3 \t ×10^9/L   \nHGB\t135 g/L "
    assert normalize_text(text, DEFAULT) == "WBC 12.3 ×10^9/L\nHGB 135 g/L"


def test_no_space_is_kept_between_two_cjk_characters() -> None:
    text = "发热 三天， 服用 阿莫西林 500 mg"
    assert normalize_text(text, DEFAULT) == "发热三天，服用阿莫西林 500 mg"


def test_ideographic_space_between_record_fields_stays_a_separator() -> None:
    text = "姓名：欧阳建国\u3000性别：男  年龄：45岁"
    assert normalize_text(text, DEFAULT) == "姓名：欧阳建国 性别：男 年龄：45岁"


def test_chinese_paragraph_indent_is_removed() -> None:
    assert normalize_text("\u3000\u3000高血压是常见病。", DEFAULT) == "高血压是常见病。"


def test_paragraph_breaks_survive_as_one_blank_line() -> None:
    text = "第一段。\n\n\n\n第二段。\n \n\n第三段。\n\n"
    assert normalize_text(text, DEFAULT) == "第一段。\n\n第二段。\n\n第三段。"


def test_markdown_heading_lines_survive_unchanged() -> None:
    text = "# 第一章 绪论\n\n## 1.1  流行病学\n正文 内容"
    assert normalize_text(text, DEFAULT) == "# 第一章 绪论\n\n## 1.1  流行病学\n正文内容"


def test_html_paragraphs_and_line_breaks_become_line_breaks() -> None:
    html = "<p>患者发热&nbsp;三天</p><p>伴咳嗽<br/>乏力</p>"
    assert normalize_text(html, DEFAULT) == "患者发热三天\n\n伴咳嗽\n乏力"


def test_html_inline_tags_and_scripts_are_removed() -> None:
    html = '<span style="color:red">高危</span>患者<script>track("x");</script>需<b>复诊</b>'
    assert normalize_text(html, DEFAULT) == "高危患者需复诊"


def test_html_entities_are_unescaped() -> None:
    text = "血压&lt;140/90 mmHg &amp; 心率 80 次/分"
    assert normalize_text(text, DEFAULT) == "血压<140/90 mmHg & 心率 80 次/分"


def test_a_less_than_sign_is_not_taken_for_a_tag() -> None:
    text = "血压<140/90mmHg，空腹血糖<6.1mmol/L>正常"
    assert normalize_text(text, DEFAULT) == text


def test_html_is_left_alone_when_strip_html_is_off() -> None:
    config = NormalizeConfig(strip_html=False)
    assert normalize_text("<b>注意</b>&amp;", config) == "<b>注意</b>&amp;"


def test_normalising_twice_changes_nothing() -> None:
    text = "<p>醫院\u3000ＣＴ 检查</p>\r\n\r\n\r\n  結果： 正常 \t"
    once = normalize_text(text, DEFAULT)
    assert once == "医院 CT 检查\n\n结果：正常"
    assert normalize_text(once, DEFAULT) == once


def test_a_batch_is_simplified_as_each_text_alone() -> None:
    astral = sorted(_t2s().astral)[0]  # a character beyond the BMP that t2s converts
    texts = [
        "",
        "醫生說患者頭痛三天",
        "医生说患者头痛三天",
        "𠮷野家的便當",
        f"古字{astral}",
        "WBC 12.3",
    ]
    assert to_simplified_many(texts) == [to_simplified(text) for text in texts]
    assert to_simplified_many(texts)[1] == "医生说患者头痛三天"
    assert to_simplified_many(texts)[4] != texts[4]
