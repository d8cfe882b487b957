"""Department labels onto one vocabulary.

Sources label departments their own way: CMtMedQA's ``传染科`` and ``传染病科``, Toyhom's
``肝病科``, DISC's ``儿科``, and ``其他``, ``nan`` or nothing at all. Trainers want one
vocabulary to balance and report on: the coarse departments of a Chinese hospital, the
level CMtMedQA's ``cate1`` uses. A label is matched whole against the aliases first, then
by the first keyword rule it contains (more specific rules first: 小儿外科 is 儿科, 中医内科
is 中医科, 肝癌 is 肿瘤科); anything else is ``其他``.
"""

from __future__ import annotations

import math

OTHER = "其他"
DEPARTMENTS = (
    "内科",
    "外科",
    "妇产科",
    "儿科",
    "男科",
    "皮肤科",
    "五官科",
    "肿瘤科",
    "传染科",
    "中医科",
    "精神心理科",
    "整形美容科",
    "营养保健",
    OTHER,
)

_ALIASES = {
    "传染病科": "传染科",
    "感染科": "传染科",
    "皮肤性病科": "皮肤科",
    "整形美容": "整形美容科",
    "心理科": "精神心理科",
    "精神科": "精神心理科",
    "家居健康": "营养保健",
    "生活百科": "营养保健",
    "营养科": "营养保健",
}
# (keywords, department), tried in order: the first rule with a keyword in the label wins.
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("小儿", "儿科", "新生儿", "儿童"), "儿科"),
    (("中医", "针灸", "推拿"), "中医科"),
    (("肿瘤", "癌", "白血病", "淋巴瘤"), "肿瘤科"),
    (("传染", "感染", "乙肝", "艾滋", "狂犬", "风疹", "结核", "性病"), "传染科"),
    (("妇", "产科", "女性生殖", "不孕"), "妇产科"),
    (("男科", "男性"), "男科"),
    (("心理", "精神"), "精神心理科"),
    (("整形", "美容", "眉部", "脱毛", "雀斑"), "整形美容科"),
    (("耳鼻喉", "眼", "口腔", "鼻", "五官", "牙"), "五官科"),
    (("皮肤", "湿疹", "痤疮", "过敏"), "皮肤科"),
    (("外科", "骨科", "泌尿", "肛肠"), "外科"),
    (
        ("内科", "消化", "神经", "心血管", "内分泌", "呼吸", "肾", "血液", "风湿", "肝病", "心内"),
        "内科",
    ),
    (("营养", "保健", "养生"), "营养保健"),
)
_UNKNOWN = {"", "nan", "none", "null", "其他", "其它", "未知", "unknown", "综合"}


def normalise_department(label: str | float | None) -> str:
    """The vocabulary's department for a source's label: 传染病科 → 传染科, nan → 其他."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return OTHER
    text = str(label).strip()
    if text.lower() in _UNKNOWN:
        return OTHER
    if text in DEPARTMENTS:
        return text
    if text in _ALIASES:
        return _ALIASES[text]
    for keywords, department in _RULES:
        if any(k in text for k in keywords):
            return department
    return OTHER
