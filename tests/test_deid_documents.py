"""Whole documents as they are written: every identifier found, and nothing else."""

from __future__ import annotations

import pytest
from conftest import found

from pipelines.deid import Deidentifier

DISCHARGE_NOTE = (
    "出院记录\n患者韩雪梅，女，67岁，汉族，已婚，退休。因“反复胸闷气短5年，加重1周”于"
    "2023-11-02 09:15入院，于2023年11月12日出院，共住院10天。\n入院情况：患者5年前无明显诱因"
    "出现胸闷，多于活动后发作，曾在市第一人民医院就诊。\n出院医嘱：1.低盐低脂饮食；2.阿司匹林"
    "肠溶片100mg qd；3.门诊随访，不适随诊。\n主治医师：邵志刚  住院医师：蒋琳琳  2023.11.12"
)
CONSENT_FORM = (
    "知情同意书\n患者姓名：祁翠英   性别：女   年龄：81岁   住院号：ZY20230098\n"
    "患者/家属签字：祁建军（儿子）   与患者关系：母子\n谈话医师签字：欧阳明   日期：2023年4月7日\n"
    "联系电话：138 0013 8000"
)
CONSULTATION = (
    "患者：医生您好，我是替我爸爸问的，他叫何长贵，今年72岁了，最近老是咳嗽。\n"
    "医生：您好，咳嗽多久了？有没有发热？\n"
    "患者：两个多礼拜了，没发烧。我叫何丽，电话15900001111。\n"
    "医生：好的何女士，建议带父亲来医院拍个胸片。"
)
NURSING_HANDOVER = (
    "护理交班：3床 赖桂香 女 76岁 COPD急性加重，夜间咳嗽明显，予雾化吸入后缓解。"
    "5床 符海 男 58岁 术后第1天，生命体征平稳。交班护士：丁佳 接班护士：童欣"
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            DISCHARGE_NOTE,
            [
                ("韩雪梅", "PERSON"),
                ("2023-11-02 09:15", "DATE"),
                ("2023年11月12日", "DATE"),
                ("邵志刚", "PERSON"),
                ("蒋琳琳", "PERSON"),
                ("2023.11.12", "DATE"),
            ],
        ),
        (
            CONSENT_FORM,
            [
                ("祁翠英", "PERSON"),
                ("ZY20230098", "MRN"),
                ("祁建军", "PERSON"),
                ("欧阳明", "PERSON"),
                ("2023年4月7日", "DATE"),
                ("138 0013 8000", "PHONE"),
            ],
        ),
        (
            CONSULTATION,
            [
                ("何长贵", "PERSON"),
                ("何丽", "PERSON"),
                ("15900001111", "PHONE"),
                ("何女士", "PERSON"),
            ],
        ),
        (
            NURSING_HANDOVER,
            [("赖桂香", "PERSON"), ("符海", "PERSON"), ("丁佳", "PERSON"), ("童欣", "PERSON")],
        ),
    ],
    ids=["discharge-note", "consent-form", "online-consultation", "nursing-handover"],
)
def test_every_identifier_of_a_document_is_found_and_nothing_else(
    engine: Deidentifier, text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(engine, text) == expected
