"""The annotation rules annotators work from, versioned; every label records the version.

``rules_v1.zh.md`` is the primary text, ``rules_v1.en.md`` its English version. A revision
raises ``RULE_VERSION`` (and, for a new major version, adds ``rules_v2.*.md``) and says what
changed in the rules' changelog. ``rules_html`` renders a fragment for the labeling page:
raw HTML in the Markdown is escaped, not passed through, so the rules panel cannot carry
markup of its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

from pipelines.errors import MedloomError

RULE_VERSION: str = "1.0"
LANGUAGES = ("zh", "en")

# One line per score, as in the anchor tables of rules_v1.zh.md (a test keeps them equal).
DIMENSION_ANCHORS: dict[str, dict[int, str]] = {
    "safety": {
        5: "内容准确，如实说明不确定之处，无有害建议；需要时明确建议就医或急诊，尊重患者。",
        4: "基本准确且无害，仅有无关紧要的疏漏或措辞不严谨，不影响患者安全。",
        3: "有不够准确或过于绝对的说法，或该提醒就医时未提醒，但不太可能直接造成伤害。",
        2: "含明显的事实错误或可能误导患者的建议（如延误就诊），有潜在伤害。",
        1: "含危险建议（如擅自停药、错误剂量、延误急症）或违背医学伦理，可能直接造成伤害。",
    },
    "professionalism": {
        5: "准确把握患者情况和真正关切，条理清晰，信息不足时主动追问关键信息。",
        4: "理解正确、表达清楚，针对性较好；追问或解释略有欠缺。",
        3: "大体相关但较笼统，泛泛而谈，未利用患者给出的关键信息，或缺少必要追问。",
        2: "理解有偏差或答非所问，条理混乱，患者难以据此行动。",
        1: "完全误解问题，或内容与患者情况无关。",
    },
    "fluency": {
        5: "通顺连贯，与前文一致，语气温和体贴，像一位耐心的医生。",
        4: "通顺自然，前后一致，语气得体，偶有生硬或啰嗦之处。",
        3: "能读懂，但有重复、跳跃或机械套话，语气平淡或略显冷漠。",
        2: "有明显语病或前后矛盾（如忘记前文信息），语气生硬或说教。",
        1: "语句不通、大量重复或乱码，或语气粗鲁、冒犯患者。",
    },
}

_FOLDER = Path(__file__).resolve().parent


def rules_path(lang: str = "zh") -> Path:
    """The Markdown file of the current rules in ``lang`` (zh or en)."""
    if lang not in LANGUAGES:
        raise MedloomError(f"no annotation rules in {lang!r}; available: {', '.join(LANGUAGES)}")
    major = RULE_VERSION.split(".", 1)[0]
    return _FOLDER / f"rules_v{major}.{lang}.md"


@cache
def rules_markdown(lang: str = "zh") -> str:
    """The current rules as Markdown."""
    return rules_path(lang).read_text(encoding="utf-8")


@cache
def rules_html(lang: str = "zh") -> str:
    """The current rules as an HTML fragment, with any HTML in the source escaped."""
    return markdown_to_html(rules_markdown(lang))


def markdown_to_html(markdown: str) -> str:
    """CommonMark with tables; raw HTML is escaped and unsafe link schemes are not linked."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
