"""Addresses from street level down, and named hospitals."""

from __future__ import annotations

import pytest

from pipelines.deid import Deidentifier


def found(engine: Deidentifier, text: str, category: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.detect(text) if s.category == category]


@pytest.mark.parametrize(
    "text, address",
    [
        ("住址：北京市朝阳区建国路88号3号楼2单元1502室", "北京市朝阳区建国路88号3号楼2单元1502室"),
        (
            "患者家住广西壮族自治区南宁市青秀区民族大道100号。",
            "广西壮族自治区南宁市青秀区民族大道100号",
        ),
        ("现住上海市闵行区七宝镇漕宝路3366号", "上海市闵行区七宝镇漕宝路3366号"),
        (
            "我家在河南省周口市郸城县汲冢镇王庄村3组，离医院远。",
            "河南省周口市郸城县汲冢镇王庄村3组",
        ),
        ("她住在幸福小区5栋301室，独居。", "幸福小区5栋301室"),
        ("地址：江西省赣州市于都县城关镇长征路12号", "江西省赣州市于都县城关镇长征路12号"),
        ("邮寄到杭州市西湖区文三路478号华星时代广场A座", "杭州市西湖区文三路478号华星时代广场A座"),
        (
            "单位：深圳市南山区粤海街道高新南七道R2-B栋，",
            "深圳市南山区粤海街道高新南七道R2-B栋",
        ),
        ("现居重庆市渝中区解放碑步行街8号，独居。", "重庆市渝中区解放碑步行街8号"),
    ],
)
def test_addresses_are_found_from_their_first_administrative_unit(
    engine: Deidentifier, text: str, address: str
) -> None:
    assert found(engine, text, "ADDRESS") == [address]


@pytest.mark.parametrize(
    "text",
    [
        "籍贯：湖南省长沙市，汉族。",
        "患者来自广东深圳，务农。",
        "出生地：四川成都",
        "我知道这条路很远，一路上都不舒服。",
        "我住在医院附近。",
        "1号染色体异常，3号床患者已出院。",
    ],
)
def test_a_province_or_city_alone_and_street_words_are_not_addresses(
    engine: Deidentifier, text: str
) -> None:
    assert found(engine, text, "ADDRESS") == []


@pytest.mark.parametrize(
    "text, hospital",
    [
        ("患者曾在北京协和医院就诊。", "北京协和医院"),
        ("后转至四川大学华西医院进一步治疗。", "四川大学华西医院"),
        ("2020年于郑州大学第一附属医院行手术。", "郑州大学第一附属医院"),
        ("就诊于郸城县人民医院，诊断为肺炎。", "郸城县人民医院"),
        ("在汲冢镇卫生院输液3天。", "汲冢镇卫生院"),
        ("既往于301医院诊断为冠心病。", "301医院"),
        ("天门市第一人民医院出院记录", "天门市第一人民医院"),
    ],
)
def test_named_hospitals_are_found(engine: Deidentifier, text: str, hospital: str) -> None:
    assert found(engine, text, "HOSPITAL") == [hospital]


@pytest.mark.parametrize(
    "text, hospital",
    [
        ("昨天兰考县人民医院检查说没事。", "兰考县人民医院"),
        ("上周郸城县人民医院做了CT。", "郸城县人民医院"),
        ("2019年汲冢镇卫生院诊断为肺炎。", "汲冢镇卫生院"),
        ("既往长期兰考县人民医院随诊。", "兰考县人民医院"),
        ("病程中郸城县人民医院行冠脉造影。", "郸城县人民医院"),
        ("回老家兰考县人民医院看的。", "兰考县人民医院"),
        ("病程中郑州市第一人民医院复查。", "郑州市第一人民医院"),
    ],
)
def test_a_hospital_name_starts_at_its_place_not_at_the_time_words_before_it(
    engine: Deidentifier, text: str, hospital: str
) -> None:
    assert found(engine, text, "HOSPITAL") == [hospital]


@pytest.mark.parametrize(
    "text",
    [
        "患者遂来我院就诊。",
        "曾在当地医院治疗，效果不佳。",
        "建议到正规专科医院检查。",
        "县人民医院诊断为胃炎。",
        "必要时转上级医院。",
        "去医院看看吧。",
        "请问广州最好妇科医院是哪家？在重庆什么医院可以治疗？",
        "凌晨突然吐血，送进县医院说脑出血。",
        "你好，建议区医院做个B超。",
    ],
)
def test_generic_hospital_mentions_are_not_identifiers(engine: Deidentifier, text: str) -> None:
    assert found(engine, text, "HOSPITAL") == []


def test_hospitals_named_one_after_another_are_found_apart(engine: Deidentifier) -> None:
    text = "北京协和医院和上海瑞金医院都可以，西苑医院也行。"
    assert found(engine, text, "HOSPITAL") == ["北京协和医院", "上海瑞金医院", "西苑医院"]


def test_a_hospital_branch_is_part_of_its_name(engine: Deidentifier) -> None:
    text = "于解放军总医院第一医学中心行手术。"
    assert found(engine, text, "HOSPITAL") == ["解放军总医院第一医学中心"]


def test_an_english_hospital_name_is_found(engine: Deidentifier) -> None:
    text = "Seen at Peking Union Medical College Hospital on admission."
    assert found(engine, text, "HOSPITAL") == ["Peking Union Medical College Hospital"]


@pytest.mark.parametrize("text", ["请到住院部3号楼5层心内科。", "门诊楼2单元采血。"])
def test_hospital_buildings_are_not_addresses(engine: Deidentifier, text: str) -> None:
    assert found(engine, text, "ADDRESS") == []
