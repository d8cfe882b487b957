"""Deterministic generator of the annotated de-identification benchmark.

    python benchmarks/deid_gold.py OUT_DIR [--seed 20240601] [--documents 600] [--clean 200]

writes ``OUT_DIR/gold.jsonl`` (``{"id", "kind", "text", "spans"}``: admission notes,
discharge summaries, outpatient records, lab reports, operation notes, doctor-patient
dialogues in several conventions, a few English notes) and ``OUT_DIR/clean.jsonl``
(documents of the same kinds with nothing to redact). Identifiers are planted with their
spans; every document also carries the distractors the issue lists (lab values, doses,
durations, ICD codes, drug names, ages of 89 and under, batch numbers, masked names,
provinces and cities alone, 医院/我院 alone), unannotated because they are not
identifiers. All identifiers are invented; ID numbers and cards are generated valid.

Annotation conventions: a labelled value is annotated without its label (住院号：[ZY001]);
a name in a dialogue convention is annotated with its title or prefix ([张先生], [小陈],
患者[周某]); an address from its first administrative unit to its last number; a date
with its time; an age over 89 with its unit ([92岁]).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟"
    "殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游"
)
COMPOUND = ("欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "慕容", "公孙", "夏侯", "尉迟")
GIVEN_ONE = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玉兰秀桂辉云飞鹏浩宇婷雪琳梅晶宁欣佳俊博"
    "晨阳颖峰斌鑫凯亮林波健志海彬晓慧丹莉萍燕倩瑶怡悦璐蕾薇琪萱涵轩睿泽梓诗雨思嘉荣福德贵"
    "祥山生光学新永东立民利清青良胜龙凤珍琴芬淑惠娥蓉翠菊莲香琼美"
)
GIVEN_TWO = (
    "子涵", "欣怡", "梓萱", "浩然", "宇轩", "一诺", "依诺", "俊杰", "秀英", "桂兰", "建华", "国强",
    "志明", "淑珍", "德胜", "丽华", "海燕", "红梅", "晓东", "文静", "春生", "金凤", "玉兰", "小红",
    "大伟", "建国", "秀兰", "桂英", "玉珍", "志强", "永红", "丽娟", "海涛", "晓明", "雪梅", "卫东",
    "建军", "春花", "秋菊", "冬梅", "振华", "新民", "文博", "思远", "雨桐", "若曦", "嘉怡", "子轩",
    "梓豪", "佳琪", "明轩", "诗琪", "铁柱", "来福", "长生", "水生", "根宝", "招娣", "德明", "光辉",
    "世杰", "家豪", "天佑", "安琪", "晨曦", "美玲", "慧敏", "凤英", "兰英", "素芬", "玉梅", "淑英",
)  # fmt: skip
# Given-name characters rarer than any list a detector keeps (旻, 翀, 赟): a name of them is
# found only where its context says a name stands there.
RARE_GIVEN = "旻翀赟玥昶珩彧晞炘昉湉沄淏喆劼钊頔珺翊晔曌骞甯祎堇"
PROVINCE_CITIES = {
    "北京市": ("", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区", "昌平区")),
    "上海市": ("", ("浦东新区", "徐汇区", "黄浦区", "静安区", "闵行区")),
    "天津市": ("", ("南开区", "河西区", "和平区")),
    "重庆市": ("", ("渝中区", "江北区", "沙坪坝区")),
    "广东省": ("广州市", ("天河区", "越秀区", "海珠区", "白云区")),
    "浙江省": ("杭州市", ("西湖区", "上城区", "拱墅区", "余杭区")),
    "江苏省": ("南京市", ("鼓楼区", "玄武区", "秦淮区", "江宁区")),
    "四川省": ("成都市", ("武侯区", "锦江区", "青羊区", "金牛区")),
    "湖北省": ("武汉市", ("洪山区", "武昌区", "江汉区", "汉阳区")),
    "湖南省": ("长沙市", ("岳麓区", "芙蓉区", "天心区", "开福区")),
    "河南省": ("郑州市", ("金水区", "二七区", "中原区", "管城回族区")),
    "山东省": ("济南市", ("历下区", "市中区", "槐荫区", "天桥区")),
    "陕西省": ("西安市", ("雁塔区", "碑林区", "莲湖区", "未央区")),
    "辽宁省": ("沈阳市", ("和平区", "沈河区", "皇姑区", "铁西区")),
    "黑龙江省": ("哈尔滨市", ("南岗区", "道里区", "香坊区")),
    "福建省": ("厦门市", ("思明区", "湖里区", "集美区")),
    "云南省": ("昆明市", ("五华区", "盘龙区", "官渡区")),
    "广西壮族自治区": ("南宁市", ("青秀区", "兴宁区", "西乡塘区")),
    "内蒙古自治区": ("呼和浩特市", ("新城区", "回民区", "赛罕区")),
    "安徽省": ("合肥市", ("蜀山区", "包河区", "庐阳区")),
}
COUNTIES = (
    ("河南省", "周口市", "郸城县"), ("河北省", "保定市", "涞源县"), ("山东省", "临沂市", "沂水县"),
    ("湖南省", "邵阳市", "隆回县"), ("四川省", "南充市", "仪陇县"), ("安徽省", "阜阳市", "临泉县"),
    ("江西省", "赣州市", "于都县"), ("甘肃省", "天水市", "秦安县"),
)  # fmt: skip
STREETS = (
    "建国路", "人民南路", "中山北路", "解放大道", "文三路", "科技园路", "学府路", "长安街",
    "中关村大街", "五一路", "和平里东街", "光华路", "珞喻路", "天府大道", "芙蓉中路", "金水路",
    "泉城路", "雁塔北路", "青年大街", "黄河路", "滨江大道", "南京西路", "淮海中路", "西湖大道",
    "复兴门内大街", "幸福巷", "石板胡同", "新华里", "长乐路", "延安西路",
)  # fmt: skip
ESTATES = (
    "幸福小区", "阳光花园", "锦绣家园", "翠湖苑", "金色家园", "碧水蓝天小区", "华润城", "万科城",
    "丽景花园", "龙湖时代天街", "SOHO现代城", "绿地新里", "康乐新村", "紫荆公寓", "星河湾",
)  # fmt: skip
VILLAGE_TOWNS = ("汲冢镇", "城关镇", "王集乡", "白马镇", "柳河乡", "新店镇", "三里桥乡")
VILLAGES = ("王庄村", "李家湾村", "前进村", "东风村", "柳树屯", "张楼村", "河口村")
NAMED_HOSPITALS = (
    "北京协和医院", "四川大学华西医院", "复旦大学附属中山医院", "中南大学湘雅医院",
    "上海交通大学医学院附属瑞金医院", "浙江大学医学院附属第一医院", "郑州大学第一附属医院",
    "北京大学第三医院", "中山大学附属第一医院", "华中科技大学同济医学院附属协和医院",
    "首都医科大学附属北京天坛医院", "空军军医大学西京医院", "山东大学齐鲁医院", "北京儿童医院",
    "广东省人民医院", "江苏省人民医院", "湖南省肿瘤医院", "武汉市第一医院", "长沙市中心医院",
    "郸城县人民医院", "沂水县中医院", "成都市第三人民医院", "汲冢镇卫生院",
    "和平里社区卫生服务中心", "仁济口腔诊所", "北京和睦家医院", "厦门大学附属第一医院",
    "解放军总医院第一医学中心", "南方医科大学南方医院", "西安市儿童医院",
    "昆明医科大学第一附属医院", "301医院",
)  # fmt: skip
GENERIC_HOSPITALS = (
    "医院", "我院", "当地医院", "上级医院", "外院", "县医院", "市医院", "当地卫生院", "三甲医院",
    "专科医院", "社区医院", "本院", "附近诊所", "正规医院", "省级医院", "大医院",
)  # fmt: skip
DEPARTMENTS = ("心内科", "呼吸内科", "消化内科", "神经内科", "内分泌科", "普外科", "骨科", "肾内科")
DRUGS = (
    ("阿莫西林胶囊", "0.5g", "tid"), ("阿司匹林肠溶片", "100mg", "qd"),
    ("二甲双胍", "500mg", "bid"),
    ("氨氯地平片", "5mg", "qd"), ("阿托伐他汀钙片", "20mg", "qn"), ("奥美拉唑", "20mg", "bid"),
    ("头孢呋辛", "1.5g", "q12h"), ("硝苯地平控释片", "30mg", "qd"), ("甲钴胺片", "0.5mg", "tid"),
    ("胰岛素注射液", "8U", "三餐前"), ("布洛芬缓释胶囊", "0.3g", "prn"),
    ("左氧氟沙星", "0.5g", "qd"),
)  # fmt: skip
DIAGNOSES = (
    ("原发性高血压3级", "I10"), ("2型糖尿病", "E11.900"), ("社区获得性肺炎", "J18.900"),
    ("冠状动脉粥样硬化性心脏病", "I25.103"), ("慢性胃炎", "K29.500"), ("脑梗死", "I63.900"),
    ("慢性阻塞性肺疾病急性加重", "J44.100"), ("腰椎间盘突出症", "M51.202"), ("胆囊结石", "K80.200"),
)  # fmt: skip
LABS = (
    "WBC 12.3×10^9/L", "RBC 4.52×10^12/L", "Hb 128g/L", "PLT 236×10^9/L", "CRP 35.6mg/L",
    "ALT 42U/L", "AST 38U/L", "Cr 86μmol/L", "BUN 6.2mmol/L", "K+ 3.8mmol/L", "Na+ 138mmol/L",
    "空腹血糖7.8mmol/L", "HbA1c 7.2%", "TC 5.6mmol/L", "LDL-C 3.4mmol/L", "尿蛋白（+）",
    "中性粒细胞百分比82.5%", "D-二聚体0.8mg/L", "BNP 456pg/ml", "肌钙蛋白I 0.02ng/ml",
)  # fmt: skip
SYMPTOMS = (
    "反复头晕", "胸闷气短", "咳嗽咳痰", "上腹部隐痛", "多饮多尿", "双下肢水肿",
    "腰痛伴左下肢放射痛", "发热", "心悸", "乏力纳差", "恶心呕吐", "右上腹绞痛",
)  # fmt: skip
MASKED = ("张某某", "王**", "李XX", "刘某某", "陈*", "赵××", "孙某某")
# Phrases that look like identifiers and are not: the words a detector must leave alone.
HARD_NEGATIVES = (
    "请于医生指导下用药，如有不适及时向医生咨询。", "请到住院部{n}号楼{n}层{dept}复查。",
    "乳腺小叶增生，建议{n}个月后复查。", "结节小于{n}mm，边界清。", "谢谢医生的耐心解答！",
    "门诊时间：周一至周五 8:00-17:00。", "{n}号床患者已出院。", "1号染色体未见异常。",
    "平素体健，高热{n}天。", "予小柴胡汤加减，每日{n}剂。", "老年患者{n}例，平均年龄6{n}岁。",
    "由家属陪同至{dept}检查。", "病史由患者本人代诉，可靠。", "已向家属交代病情，家属签字。",
    "金银花{n}g、黄芪{n}g、王不留行{n}g煎服。", "夏季注意防暑，及时和医生沟通。",
    "监护系统版本1{n}.{n}.3，时间1{n}:3{n}:00。", "您好，请问哪里不舒服？",
    "职业：农民，男，汉族。", "黎族，女，已婚。", "程序员，男，未婚。",
)  # fmt: skip
PLACES_ALONE = ("湖南长沙", "广东省", "成都市", "河南周口", "北京", "上海市浦东新区", "浙江杭州")


class Doc:
    """Text built piece by piece, with the spans of its identifiers."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[dict[str, object]] = []
        self.length = 0

    def add(self, text: str, category: str | None = None) -> Doc:
        if category:
            self.spans.append(
                {"start": self.length, "end": self.length + len(text), "category": category}
            )
        self.parts.append(text)
        self.length += len(text)
        return self

    def text(self) -> str:
        return "".join(self.parts)


class Planter:
    """Invented identifiers in their real-world variety; ``clean`` plants none."""

    def __init__(self, rng: random.Random, clean: bool = False) -> None:
        self.rng = rng
        self.clean = clean
        self.regions = _region_codes()

    def choice(self, seq: Sequence[str]) -> str:
        return self.rng.choice(seq)

    # names
    def full_name(self) -> str:
        r = self.rng
        surname = r.choice(COMPOUND) if r.random() < 0.06 else r.choice(SURNAMES)
        given = r.choice(GIVEN_TWO) if r.random() < 0.6 else r.choice(GIVEN_ONE)
        if r.random() < 0.1:
            given = r.choice(("", r.choice(GIVEN_ONE))) + r.choice(RARE_GIVEN)
        return surname + given

    def surname(self) -> str:
        return (
            self.rng.choice(COMPOUND)
            if self.rng.random() < 0.05
            else self.rng.choice(SURNAMES[:80])
        )

    def name(self, d: Doc) -> None:
        """A full name (gold), or a masked one in clean documents."""
        if self.clean:
            d.add(self.choice(MASKED[:6]))
        else:
            d.add(self.full_name(), "PERSON")

    def addressed(self, d: Doc, titles: tuple[str, ...] = ("先生", "女士")) -> None:
        r = self.rng
        if self.clean:
            d.add(r.choice(("您", "患者", "家属")))
            return
        form = r.random()
        if form < 0.55:
            d.add(self.surname() + r.choice(titles), "PERSON")
        elif form < 0.75:
            d.add(self.full_name() + r.choice(titles), "PERSON")
        elif form < 0.9:
            d.add(r.choice("小老") + r.choice(SURNAMES[:60]), "PERSON")
        else:
            d.add(self.surname() + "某", "PERSON")

    # numbers
    def id_number(self) -> str:
        r = self.rng
        region = r.choice(self.regions)
        year = r.randint(1925, 2015)
        birth = f"{year}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
        if r.random() < 0.08:
            return region + birth[2:] + f"{r.randint(0, 999):03d}"
        body = region + birth + f"{r.randint(0, 999):03d}"
        number = body + ric.calc_check_digit(body + "X")  # stdnum wants a check slot
        style = r.random()
        if style < 0.12:
            return f"{number[:6]} {number[6:14]} {number[14:]}"
        if style < 0.18:
            return " ".join(number[i : i + 4] for i in range(0, 18, 4))
        if style < 0.22:
            return number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
        return number

    def mobile(self) -> str:
        r = self.rng
        prefix = r.choice(
            ("130", "131", "132", "133", "135", "136", "137", "138", "139", "145", "147", "150",
             "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167",
             "170", "171", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
             "185", "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197",
             "198", "199")
        )  # fmt: skip
        number = prefix + "".join(str(r.randrange(10)) for _ in range(8))
        style = r.random()
        if style < 0.45:
            return number
        if style < 0.6:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        if style < 0.72:
            return f"{number[:3]} {number[3:7]} {number[7:]}"
        if style < 0.82:
            return "+86 " + number
        if style < 0.88:
            return "+86-" + number
        if style < 0.93:
            return "0086" + number
        if style < 0.97:
            return "(+86)" + number
        return "+86 " + f"{number[:3]} {number[3:7]} {number[7:]}"

    def landline(self) -> str:
        r = self.rng
        area = r.choice(
            (
                "010",
                "021",
                "022",
                "023",
                "020",
                "025",
                "027",
                "028",
                "0755",
                "0731",
                "0571",
                "0371",
                "0532",
                "0898",
            )
        )
        local = str(r.randint(2, 8)) + "".join(
            str(r.randrange(10)) for _ in range(7 if len(area) == 3 else r.choice((6, 7)))
        )
        style = r.random()
        if style < 0.5:
            number = f"{area}-{local}"
        elif style < 0.7:
            number = f"({area}){local}"
        elif style < 0.8:
            number = f"（{area}）{local}"
        elif style < 0.9:
            number = f"{area} {local[:4]} {local[4:]}"
        else:
            number = area + local
        if r.random() < 0.15:
            number += r.choice(("转", "-", "转")) + str(r.randint(100, 9999))
        return number

    def phone(self) -> str:
        return self.mobile() if self.rng.random() < 0.75 else self.landline()

    def bank_card(self) -> str:
        r = self.rng
        length = r.choice((16, 19, 19, 18, 17))
        body = r.choice(("62", "622202", "621700", "622848", "621226", "436742"))
        body += "".join(str(r.randrange(10)) for _ in range(length - 1 - len(body)))
        number = body + luhn.calc_check_digit(body)
        if r.random() < 0.4:
            return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return number

    def mrn(self) -> str:
        r = self.rng
        style = r.random()
        if style < 0.4:
            return str(r.randint(100000, 99999999))
        if style < 0.6:
            return (
                r.choice(("ZY", "MZ", "BA", "JZ", "H", "P"))
                + str(r.randint(2015, 2024))
                + f"{r.randint(0, 999999):06d}"
            )
        if style < 0.8:
            return f"{r.randint(0, 99999999):010d}"
        return f"{r.randint(10, 99)}-{r.randint(100000, 999999)}"

    def insurance(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            return r.choice(("1101", "3101", "4401", "5101")) + "".join(
                str(r.randrange(10)) for _ in range(r.choice((8, 10, 14)))
            )
        return "".join(
            r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(r.choice((1, 2)))
        ) + "".join(str(r.randrange(10)) for _ in range(r.choice((8, 9, 10))))

    def passport(self) -> str:
        r = self.rng
        style = r.random()
        digits = "".join(str(r.randrange(10)) for _ in range(8))
        if style < 0.5:
            return "E" + digits
        if style < 0.65:
            return "E" + r.choice("ABCDEFGHJK") + digits[:7]
        if style < 0.8:
            return "G" + digits
        return "C" + digits

    def plate(self) -> str:
        r = self.rng
        province = r.choice("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
        letter = r.choice("ABCDEFGHJKLMNPQ")
        if r.random() < 0.3:
            tail = (
                r.choice("DF")
                + r.choice("ABCDEFGHJK0123456789")
                + "".join(str(r.randrange(10)) for _ in range(4))
            )
        else:
            tail = "".join(
                r.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") if i < 2 else str(r.randrange(10))
                for i in range(5)
            )
        return province + letter + (r.choice(("", "", "·")) + tail)

    def email(self) -> str:
        r = self.rng
        user = r.choice(
            ("zhang", "wang", "li", "chen", "liu", "yang", "xiao", "lucy", "doctor", "hx")
        )
        user += (
            r.choice(("", ".", "_"))
            + r.choice(("wei", "fang", "ming", "jun", ""))
            + str(r.randint(1, 9999))
        )
        return (
            user
            + "@"
            + r.choice(
                (
                    "163.com",
                    "qq.com",
                    "126.com",
                    "gmail.com",
                    "sina.com",
                    "hospital.org.cn",
                    "foxmail.com",
                    "outlook.com",
                )
            )
        )

    def wechat(self) -> str:
        r = self.rng
        if r.random() < 0.2:
            return self.mobile().replace(" ", "").replace("-", "")[-11:]
        head = r.choice("abcdefghijklmnopqrstuvwxyz")
        return head + "".join(
            r.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(r.randint(6, 12))
        )

    def qq(self) -> str:
        return str(self.rng.randint(10000, 3999999999))

    def ip(self) -> str:
        r = self.rng
        if r.random() < 0.3:
            groups = [f"{r.randrange(0x10000):x}" for _ in range(8)]
            groups[0] = r.choice(("2001", "240e", "2408", "fe80"))
            if r.random() < 0.5:
                return ":".join(groups[:2]) + "::" + ":".join(groups[5:])
            return ":".join(g.zfill(4) if r.random() < 0.5 else g for g in groups)
        return (
            f"{r.choice((10, 172, 192, 58, 61, 114, 202, 223))}"
            f".{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        )

    def url(self) -> str:
        r = self.rng
        host = r.choice(
            (
                "www.zhangweiblog.com",
                f"weibo.com/u/{r.randint(10**9, 10**10)}",
                "www.liufamily.cn/record",
                f"space.bilibili.com/{r.randint(10**6, 10**8)}",
                "my.site.net/~chen",
            )
        )
        scheme = (
            r.choice(("https://", "http://"))
            if not host.startswith("www")
            else r.choice(("https://", "http://", ""))
        )
        return scheme + host

    # places
    def address(self) -> str:
        r = self.rng
        style = r.random()
        if style < 0.55:
            province, (city, districts) = r.choice(list(PROVINCE_CITIES.items()))
            head = (province if r.random() < 0.8 else "") + city + r.choice(districts)
            if r.random() < 0.15:
                head = city + r.choice(districts) if city else r.choice(districts)
            number = f"{r.randint(1, 999)}号"
            tail = ""
            extra = r.random()
            if extra < 0.3:
                tail = (
                    f"{r.choice(ESTATES)}{r.randint(1, 30)}栋{r.randint(1, 6)}单元"
                    f"{r.randint(1, 33)}{r.randint(1, 4):02d}室"
                )
            elif extra < 0.55:
                tail = f"{r.randint(1, 20)}号楼{r.randint(1, 6)}单元{r.randint(101, 2806)}"
            elif extra < 0.7:
                tail = f"{r.randint(1, 30)}楼"
            if r.random() < 0.1:
                # A sub-district and a road with a lettered building: 粤海街道高新南七道R2-B栋.
                return (
                    head
                    + r.choice(("粤海街道", "五常街道", "新街口街道"))
                    + r.choice(("高新南七道", "科苑路", "文一西路"))
                    + f"{r.choice('ABCR')}{r.randint(1, 9)}-{r.choice('ABCD')}栋"
                )
            return head + r.choice(STREETS) + number + tail
        if style < 0.75:
            province, city, county = r.choice(COUNTIES)
            head = (province if r.random() < 0.6 else "") + city + county
            if r.random() < 0.5:
                return (
                    head
                    + r.choice(VILLAGE_TOWNS)
                    + r.choice(VILLAGES)
                    + r.choice(("", f"{r.randint(1, 12)}组", "三组", f"{r.randint(1, 99)}号"))
                )
            return head + r.choice(("城关镇", "")) + r.choice(STREETS) + f"{r.randint(1, 300)}号"
        if style < 0.9:
            province, (city, districts) = r.choice(list(PROVINCE_CITIES.items()))
            return (
                (city or province)
                + r.choice(districts)
                + r.choice(ESTATES)
                + f"{r.randint(1, 30)}栋{r.randint(101, 2302)}室"
            )
        return (
            r.choice(ESTATES)
            + f"{r.randint(1, 30)}号楼{r.randint(1, 6)}单元{r.randint(101, 1802)}室"
        )

    def faker_address(self) -> str:
        """The shape of Faker's zh_CN addresses: province, city, district, street, 座, postcode."""
        r = self.rng
        province, (city, districts) = r.choice(list(PROVINCE_CITIES.items()))
        street = r.choice(SURNAMES[:40]) + r.choice(("路", "街"))
        return (
            f"{province}{city}{r.choice(districts)}{street}"
            f"{r.choice('ABCDEFGHJKLMN')}座 {r.randint(100000, 999999)}"
        )

    def hospital(self, d: Doc) -> None:
        if self.clean or self.rng.random() < 0.25:
            d.add(self.choice(GENERIC_HOSPITALS))
        else:
            d.add(self.choice(NAMED_HOSPITALS), "HOSPITAL")

    # dates
    def date(self, with_time: bool = False) -> str:
        r = self.rng
        y, m, day = r.randint(2005, 2024), r.randint(1, 12), r.randint(1, 28)
        style = r.random()
        if style < 0.3:
            text = f"{y}年{m}月{day}日"
        elif style < 0.45:
            text = f"{y}-{m:02d}-{day:02d}"
        elif style < 0.55:
            text = f"{y}/{m:02d}/{day:02d}"
        elif style < 0.62:
            text = f"{y}.{m}.{day}"
        elif style < 0.7:
            text = f"{y}年{m:02d}月{day:02d}日"
        elif style < 0.78:
            text = f"{m}月{day}日"
        elif style < 0.83:
            text = f"{y}-{m:02d}-{day:02d}".translate(
                str.maketrans("0123456789-", "０１２３４５６７８９－")
            )
        elif style < 0.88:
            text = f"{y}年{m}月" if r.random() < 0.6 else f"{y}年{m}月{day}-{day + 2}日"
        elif style < 0.92:
            text = f"{m}月{day}号" if r.random() < 0.5 else f"{y % 100:02d}年{m}月{day}日"
        elif style < 0.96:
            text = f"{y} 年 {m} 月 {day} 日"
        else:
            text = _chinese_date(r.choice((y, r.randint(1940, 1999))), m, day)
        if (with_time or r.random() < 0.15) and style < 0.7:
            hour, minute = r.randint(0, 23), r.randint(0, 59)
            cn_time = f"{hour}时{minute}分" if text.endswith("日") else f" {hour}时{minute}分"
            text += r.choice(
                (
                    f" {hour:02d}:{minute:02d}",
                    f" {hour}:{minute:02d}:{r.randint(0, 59):02d}",
                    cn_time,
                    f"T{hour:02d}:{minute:02d}:00",
                )
            )
        return text

    def short_year_date(self) -> str:
        """A two-digit year: 98.6.3, 05-11-30, 98/6/3 or 98年6月3日."""
        r = self.rng
        y, m, day = r.randint(0, 99), r.randint(1, 12), r.randint(1, 28)
        return r.choice((f"{y:02d}.{m}.{day}", f"{y:02d}-{m:02d}-{day:02d}", f"{y:02d}/{m}/{day}",
                         f"{y:02d}年{m}月{day}日"))  # fmt: skip

    def old_age(self) -> str:
        r = self.rng
        age = r.randint(90, 104)
        return r.choice(
            (f"{age}岁", f"{age}岁", f"{age}周岁", "九十二岁", "九十五岁", "一百零一岁")
        )

    def young_age(self) -> str:
        return f"{self.rng.randint(1, 89)}岁"


def _chinese_date(y: int, m: int, d: int) -> str:
    digits = "〇一二三四五六七八九"

    def small(n: int) -> str:
        if n < 10:
            return digits[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")

    return "".join(digits[int(c)] for c in str(y)) + "年" + small(m) + "月" + small(d) + "日"


def _region_codes() -> list[str]:
    from importlib.resources import files

    codes = []
    province = ""
    for line in files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
        else:
            code, _, rest = line.strip().partition(" ")
            if "[" not in rest and len(code) == 4 and not code.endswith("00"):
                codes.append(province + code)
    return codes


# Document kinds ------------------------------------------------------------------------


def _distractors(p: Planter, d: Doc, count: int) -> None:
    r = p.rng
    for _ in range(count):
        kind = r.random()
        if kind < 0.25:
            d.add(f"查{r.choice(LABS)}，{r.choice(LABS)}。")
        elif kind < 0.4:
            drug, dose, freq = r.choice(DRUGS)
            d.add(
                f"予{drug} {dose} {freq}口服，批号{r.randint(20200101, 20241231)}"
                f"，疗程{r.randint(3, 14)}天。"
            )
        elif kind < 0.5:
            d.add(
                f"血压{r.randint(100, 180)}/{r.randint(60, 110)}"
                f"mmHg，心率{r.randint(55, 120)}次/分，体温{r.randint(360, 395) / 10}℃。"
            )
        elif kind < 0.6:
            diagnosis, code = r.choice(DIAGNOSES)
            d.add(f"诊断：{diagnosis}（ICD-10：{code}）。")
        elif kind < 0.68:
            d.add(
                f"患者{r.choice(MASKED)}，{r.choice(('男', '女'))}"
                f"，{p.young_age()}，籍贯{r.choice(PLACES_ALONE)}。"
            )
        elif kind < 0.76:
            d.add(
                f"曾在{r.choice(GENERIC_HOSPITALS)}"
                f"诊治，病程{r.randint(2, 20)}年，加重{r.randint(1, 10)}天。"
            )
        elif kind < 0.82:
            d.add(
                f"参照{r.randint(2015, 2023)}年版指南，建议{r.randint(3, 6)}"
                f"个月后复查，每日{r.randint(1, 3)}次。"
            )
        elif kind < 0.88:
            d.add(
                f"床号{r.randint(1, 60)}床，{r.choice(DEPARTMENTS)}"
                f"，护理等级Ⅱ级，出入量{r.randint(800, 2500)}ml。"
            )
        elif kind < 0.94:
            d.add(
                f"国药准字H{r.randint(10000000, 99999999)}"
                f"，规格{r.choice(('0.25g×24粒', '10mg×7片', '500ml:25g'))}"
                f"，有效期至{r.randint(2025, 2027)}年。"
            )
        elif kind < 0.97:
            d.add(
                f"我院{r.choice(DEPARTMENTS)}"
                f"门诊随访，必要时至上级医院进一步诊治，{r.randint(60, 89)}岁以上老年人慎用。"
            )
        else:
            d.add(r.choice(HARD_NEGATIVES).format(n=r.randint(2, 9), dept=r.choice(DEPARTMENTS)))


def admission_note(p: Planter, d: Doc) -> None:
    r = p.rng
    sep = r.choice(("：", ":", "： ", " "))
    gap = r.choice(("  ", "\t", "\n", "，"))
    d.add(r.choice(("入院记录\n", "【入院记录】\n", "住院病历\n")))
    d.add(f"姓名{sep}")
    p.name(d)
    d.add(f"{gap}性别{sep}{r.choice('男女')}{gap}年龄{sep}")
    if not p.clean and r.random() < 0.15:
        d.add(p.old_age(), "AGE")
    else:
        d.add(p.young_age())
    d.add(
        f"{gap}民族{sep}汉族{gap}婚姻{sep}已婚{gap}职业{sep}"
        f"{r.choice(('农民', '退休', '教师', '工人', '个体'))}"
    )
    d.add(f"{gap}出生地{sep}{r.choice(PLACES_ALONE)}")
    if not p.clean:
        d.add(f"{gap}{r.choice(('住址', '现住址', '家庭住址', '地址'))}{sep}")
        d.add(p.address(), "ADDRESS")
        d.add(f"{gap}{r.choice(('入院日期', '入院时间'))}{sep}")
        d.add(p.date(with_time=r.random() < 0.5), "DATE")
        d.add(f"{gap}{r.choice(('住院号', '病案号', '住院号码', 'ID号'))}{sep}")
        d.add(p.mrn(), "MRN")
        if r.random() < 0.6:
            d.add(f"{gap}{r.choice(('联系电话', '电话', '联系方式', '手机'))}{sep}")
            d.add(p.phone(), "PHONE")
        if r.random() < 0.4:
            d.add(f"{gap}{r.choice(('身份证号', '身份证号码', '公民身份号码'))}{sep}")
            d.add(p.id_number(), "ID_CARD")
        if r.random() < 0.3:
            d.add(f"{gap}{r.choice(('医保卡号', '社保卡号', '医保号'))}{sep}")
            d.add(p.insurance(), "INSURANCE")
        d.add(f"{gap}病史陈述者{sep}")
        if r.random() < 0.5:
            d.add("本人")
        else:
            d.add(r.choice(("其女", "其子", "患者之妻", "患者丈夫", "其女儿")))
            p.name(d)
    d.add(
        "\n主诉："
        + r.choice(SYMPTOMS)
        + f"{r.randint(2, 10)}年，加重{r.randint(1, 7)}天。\n现病史：患者"
    )
    if not p.clean and r.random() < 0.3:
        p.name(d)
    d.add(f"于{r.randint(2, 10)}年前无明显诱因出现{r.choice(SYMPTOMS)}，")
    if not p.clean:
        d.add(r.choice(("于", "")))
        d.add(p.date(), "DATE")
        d.add(r.choice(("就诊于", "在", "至", "到")))
        p.hospital(d)
        d.add(r.choice(("，查", "，行检查示", "门诊，")))
    else:
        d.add("曾至当地医院就诊，")
    _distractors(p, d, r.randint(2, 4))
    d.add("\n既往史：否认肝炎、结核病史。个人史：吸烟20年，每日10支。家族史：父亲患高血压。\n")
    d.add(
        f"体格检查：T 36.{r.randint(2, 9)}℃，P {r.randint(60, 100)}次/分，R {r.randint(14, 22)}"
        f"次/分，BP {r.randint(100, 170)}/{r.randint(60, 100)}mmHg。\n"
    )
    diagnosis, code = r.choice(DIAGNOSES)
    d.add(f"初步诊断：{diagnosis}（{code}）\n")
    d.add(r.choice(("医师签名：", "主治医师：", "住院医师：", "记录者：", "医生签名: ")))
    p.name(d)
    d.add(gap)
    if not p.clean:
        d.add(p.date(), "DATE")


def discharge_summary(p: Planter, d: Doc) -> None:
    r = p.rng
    d.add(r.choice(("出院小结\n", "出院记录\n", "【出院小结】")))
    if not p.clean:
        d.add(r.choice(("住院号：", "病案号:", "住院号 ")))
        d.add(p.mrn(), "MRN")
        d.add(r.choice(("  ", "\n", "，")))
    d.add("姓名：")
    p.name(d)
    d.add(f"  科室：{r.choice(DEPARTMENTS)}  床号：{r.randint(1, 50)}\n")
    if not p.clean:
        d.add("入院日期：")
        d.add(p.date(), "DATE")
        d.add("  出院日期：")
        d.add(p.date(), "DATE")
    d.add(
        f"  住院天数：{r.randint(3, 30)}"
        f"天\n入院情况：患者因{r.choice(SYMPTOMS)}{r.randint(1, 12)}月入院。"
    )
    _distractors(p, d, r.randint(2, 4))
    d.add("\n诊疗经过：入院后完善相关检查，")
    if not p.clean:
        d.add(p.date(), "DATE")
        d.add(r.choice(("行冠脉造影", "行胃镜检查", "行腰椎MRI检查")) + "，")
        if r.random() < 0.5:
            d.add("请")
            p.hospital(d)
            d.add(r.choice(("会诊", "专家会诊")) + "，")
        d.add("经")
        p.addressed(d, ("主任", "医生", "教授", "副主任医师"))
        d.add("查房后调整治疗方案。")
    else:
        d.add("经上级医师查房后调整治疗方案。")
    d.add("\n出院医嘱：")
    for drug, dose, freq in r.sample(DRUGS, 2):
        d.add(f"{drug} {dose} {freq}；")
    d.add(f"{r.randint(1, 4)}周后门诊复查。")
    if not p.clean:
        if r.random() < 0.6:
            d.add(r.choice(("随访电话：", "如有不适请联系", "科室电话 ")))
            d.add(p.landline() if r.random() < 0.6 else p.mobile(), "PHONE")
            d.add("。")
        if r.random() < 0.3:
            d.add("家属")
            p.name(d)
            d.add(r.choice(("（女儿）", "（儿子）", "（配偶）")) + "联系电话：")
            d.add(p.mobile(), "PHONE")
    d.add(r.choice(("\n医师：", "\n主治医师签名：", "\n出院医师 ")))
    p.name(d)


def outpatient(p: Planter, d: Doc) -> None:
    r = p.rng
    d.add(r.choice(("门诊病历\n", "【门诊记录】", "门诊病历 ")))
    if not p.clean:
        d.add(r.choice(("门诊号：", "就诊卡号：", "登记号:", "ID号：")))
        d.add(p.mrn(), "MRN")
        d.add(r.choice(("  就诊时间：", "\n就诊日期：", "，")))
        d.add(p.date(with_time=True), "DATE")
        d.add("\n")
    d.add("患者")
    p.name(d)
    d.add(f"，{r.choice('男女')}，")
    if not p.clean and r.random() < 0.2:
        d.add(p.old_age(), "AGE")
    else:
        d.add(p.young_age())
    d.add(f"。主诉：{r.choice(SYMPTOMS)}{r.randint(1, 30)}天。")
    _distractors(p, d, r.randint(1, 3))
    if not p.clean:
        if r.random() < 0.4:
            d.add("既往于")
            p.hospital(d)
            d.add("诊断为" + r.choice(DIAGNOSES)[0] + "。")
        if r.random() < 0.3:
            before, after = r.choice(
                (("车牌号：", "。"), ("患者自驾车（", "）"), ("停车车牌 ", "。"))
            )
            d.add(before)
            d.add(p.plate(), "PLATE")
            d.add(after)
        if r.random() < 0.25:
            d.add(r.choice(("护照号：", "护照号码 ", "港澳通行证：")))
            d.add(p.passport(), "PASSPORT")
            d.add("。")
    d.add(
        r.choice(("\n处理：", "\n处置："))
        + "、".join(drug for drug, _, _ in r.sample(DRUGS, 2))
        + "。"
    )
    d.add(r.choice(("\n医生：", "\n接诊医生：", "\n医师签名：")))
    p.name(d)


def lab_report(p: Planter, d: Doc) -> None:
    r = p.rng
    d.add(r.choice(("检验报告单\n", "XX检验科 血常规报告\n", "生化检验报告\n")))
    d.add("姓名：")
    p.name(d)
    d.add(f"\t性别：{r.choice('男女')}\t年龄：")
    if not p.clean and r.random() < 0.2:
        d.add(f"{r.randint(90, 101)}{r.choice(('岁', '', 'Y'))}", "AGE")
    else:
        d.add(f"{r.randint(18, 89)}{r.choice(('岁', '', 'Y'))}")
    d.add(f"\t科别：{r.choice(DEPARTMENTS)}\t床号：{r.randint(1, 40)}\n")
    if not p.clean:
        d.add(
            r.choice(("标本号：", "样本号：", "条码号：", "检验号：", "检查单号：", "病理编号："))
        )
        d.add(p.mrn(), "MRN")
        d.add("\t" + r.choice(("住院号：", "病历号：", "门诊号：")))
        d.add(p.mrn(), "MRN")
        d.add("\n")
    d.add("项目\t结果\t单位\t参考范围\n")
    for lab in r.sample(LABS, r.randint(4, 8)):
        d.add(lab.replace(" ", "\t") + "\t" + r.choice(("↑", "↓", "", "")) + "\n")
    d.add(r.choice(("送检医生：", "申请医生：", "开单医生：")))
    p.name(d)
    d.add(r.choice(("\t检验者：", "  检验：")))
    p.name(d)
    d.add(r.choice(("\t审核者：", "  审核：")))
    p.name(d)
    if not p.clean:
        d.add(r.choice(("\n采样时间：", "\n报告时间：", "\n接收时间：")))
        d.add(p.date(with_time=True), "DATE")
        if r.random() < 0.2:
            d.add("\n报告查询：")
            d.add(p.url(), "URL")
    d.add(r.choice(("\n本报告仅对此标本负责。", "\n*结果仅供临床参考。")))


def operation_note(p: Planter, d: Doc) -> None:
    r = p.rng
    d.add("手术记录\n")
    if not p.clean:
        d.add("手术日期：")
        d.add(p.date(with_time=True), "DATE")
        d.add("\n")
    d.add("术者：")
    p.name(d)
    d.add("  一助：")
    p.name(d)
    if not p.clean and r.random() < 0.3:
        d.add(r.choice(("、", "/")))
        p.name(d)
    d.add("  麻醉医师：")
    p.name(d)
    d.add(
        f"\n术前诊断：{r.choice(DIAGNOSES)[0]}"
        f"。麻醉方式：全麻。术中出血约{r.randint(20, 400)}ml，输液{r.randint(500, 2500)}ml。"
    )
    _distractors(p, d, r.randint(1, 3))
    d.add("术后安返病房，向家属")
    if not p.clean:
        p.addressed(d, ("先生", "女士"))
    else:
        d.add("交代病情")
    d.add("交代病情，家属表示理解并签字。")


def dialogue(p: Planter, d: Doc) -> None:
    r = p.rng
    style = r.choice(
        (
            ("患者：", "医生："),
            ("病人：", "医生："),
            ("患者:", "医生:"),
            ("【患者】", "【医生】"),
            ("用户：", "医生："),
            ("Patient: ", "Doctor: "),
        )
    )
    patient, doctor = style
    nl = "\n"
    if not p.clean and r.random() < 0.2:
        d.add(doctor)
        d.add(p.full_name(), "PERSON")
        d.add(r.choice(("您好，", "，你好，", "您好！")))
    else:
        d.add(doctor + r.choice(("您好，", "你好，", "")))
    if not p.clean and r.random() < 0.5:
        p.addressed(d, ("先生", "女士", "阿姨", "叔叔", "大爷"))
        d.add("，")
    d.add("请问哪里不舒服？" + nl)
    d.add(patient + f"医生您好，我{r.choice(SYMPTOMS)}{r.randint(2, 20)}天了，")
    if not p.clean and r.random() < 0.5:
        d.add("之前在")
        p.hospital(d)
        d.add("看过，")
    d.add(f"吃了{r.choice(DRUGS)[0]}也没好。" + nl)
    d.add(doctor + f"有没有{r.choice(('发热', '胸痛', '咳嗽'))}？血压多少？" + nl)
    d.add(
        patient
        + f"血压{r.randint(120, 170)}/{r.randint(70, 100)}，我今年{r.randint(30, 85)}岁。"
        + nl
    )
    if not p.clean:
        choice = r.random()
        if choice < 0.35:
            d.add(
                doctor + r.choice(("方便留个电话吗？", "留一下联系方式，", "请留下手机号。")) + nl
            )
            d.add(
                patient
                + r.choice(("好的，", "可以，", ""))
                + r.choice(("我的电话是", "手机", "电话"))
            )
            d.add(p.phone(), "PHONE")
            d.add(r.choice(("，", "。")) + r.choice(("微信同号。", "有事打给我。", "")) + nl)
        elif choice < 0.5:
            d.add(doctor + "可以加我微信随访。" + nl)
            d.add(patient + r.choice(("我的微信号是", "我微信：", "好的，我加您，我vx ")))
            d.add(p.wechat(), "WECHAT")
            d.add(r.choice(("。", "，谢谢！")) + nl)
        elif choice < 0.6:
            d.add(patient + r.choice(("我QQ是", "QQ：", "扣扣")))
            d.add(p.qq(), "QQ")
            d.add("，检查结果可以发给我。" + nl)
        elif choice < 0.7:
            d.add(patient + r.choice(("报告发我邮箱", "邮箱：", "我的email是")))
            d.add(p.email(), "EMAIL")
            d.add("吧。" + nl)
        elif choice < 0.8:
            d.add(patient + r.choice(("我住在", "我家在", "我家住")))
            d.add(p.address(), "ADDRESS")
            d.add("，离你们医院远吗？" + nl)
        elif choice < 0.9:
            d.add(patient + "我是")
            d.add(p.date(), "DATE")
            d.add(r.choice(("做的手术", "开始吃药的", "发病的")) + "，")
            d.add(r.choice(("主刀的是", "当时是", "看的是")))
            p.addressed(d, ("主任", "医生", "教授", "大夫"))
            d.add("。" + nl)
        elif choice < 0.95:
            d.add(patient + "我妈妈")
            d.add(p.old_age(), "AGE")
            d.add("了，也有这个毛病。" + nl)
        else:
            d.add(
                patient
                + r.choice(("我叫", "医生您好，我叫", "我是患者", "我老公叫", "我爸爸", "我妈妈叫"))
            )
            d.add(p.full_name(), "PERSON")
            d.add("，" + r.choice(("上周来过。", "想咨询一下。")) + nl)
    d.add(doctor + f"建议{r.choice(('查个血常规', '做个心电图', '复查肝功能'))}，")
    _distractors(p, d, 1)
    if not p.clean and r.random() < 0.4:
        d.add(r.choice(("下周", "改天")) + "来找")
        p.addressed(d, ("主任", "医生", "护士长"))
        d.add("复诊。" + nl)
    d.add(patient + r.choice(("好的，谢谢医生！", "明白了，谢谢。", "好的。")))


def english_note(p: Planter, d: Doc) -> None:
    r = p.rng
    d.add("Patient name: ")
    if p.clean:
        d.add("[redacted]")
    else:
        d.add(r.choice(("John Smith", "Mary Johnson", "Wei Zhang", "Li Na")), "PERSON")
    d.add(f", {r.randint(30, 85)} years old. Seen on ")
    if not p.clean:
        d.add(r.choice(("2023-03-05", "2021/11/20", "March 5, 2023", "12 Jan 2022")), "DATE")
        d.add(". Phone: ")
        d.add(p.mobile(), "PHONE")
        d.add(". Email: ")
        d.add(p.email(), "EMAIL")
        d.add(". Login from ")
        d.add(p.ip(), "IP")
    d.add(
        f". BP 135/85 mmHg, HbA1c 7.1%, metformin 500 mg bid. Follow up in {r.randint(2, 8)} weeks."
    )


def prescription(p: Planter, d: Doc) -> None:
    """处方笺: a form with spaced labels and compact dates."""
    r = p.rng
    d.add(r.choice(("处方笺\n", "普通处方\n", "【处方】\n")))
    d.add(r.choice(("姓  名：", "姓 名：", "姓名：")))
    p.name(d)
    d.add(
        f"   性别：{r.choice('男女')}   年龄：{p.young_age()}"
        f"   费别：{r.choice(('医保', '自费', '新农合'))}\n"
    )
    if not p.clean:
        d.add(r.choice(("门诊号：", "病历号：", "门诊ID：")))
        d.add(p.mrn(), "MRN")
        d.add("   " + r.choice(("开具日期：", "日期：", "处方日期：")))
        y, m, day = r.randint(2010, 2024), r.randint(1, 12), r.randint(1, 28)
        d.add(f"{y}{m:02d}{day:02d}", "DATE")
        d.add("\n")
        if r.random() < 0.5:
            d.add(r.choice(("医保卡号：", "社保卡号：")))
            d.add(p.insurance(), "INSURANCE")
            d.add("\n")
    d.add(f"临床诊断：{r.choice(DIAGNOSES)[0]}\nRp：\n")
    for drug, dose, freq in r.sample(DRUGS, r.randint(2, 4)):
        d.add(f"  {drug}  {dose}×{r.randint(7, 28)}  Sig：{dose} {freq} po\n")
    d.add(r.choice(("医师：", "处方医师：", "医生签名：")))
    p.name(d)
    d.add(r.choice(("   审核药师：", "   调配：")))
    p.name(d)
    d.add(r.choice(("   核对：", "   发药：")))
    p.name(d)


def nursing_record(p: Planter, d: Doc) -> None:
    """护理记录: times, vitals, the nurse's signature, family at the bedside."""
    r = p.rng
    d.add("护理记录\n")
    for _ in range(r.randint(2, 4)):
        if not p.clean:
            d.add(p.date(with_time=True), "DATE")
        else:
            d.add(f"第{r.randint(1, 9)}天")
        d.add(
            f"  T {r.randint(360, 392) / 10}℃ P {r.randint(60, 110)}"
            f"次/分 BP {r.randint(100, 160)}/{r.randint(60, 95)}mmHg，"
        )
        d.add(r.choice(("患者神志清，精神可，", "患者诉夜间睡眠差，", "遵医嘱予吸氧2L/min，")))
        if not p.clean and r.random() < 0.4:
            d.add("家属")
            p.addressed(d, ("女士", "先生", "阿姨"))
            d.add("陪护，")
        d.add("签名：")
        p.name(d)
        d.add("\n")


def referral(p: Planter, d: Doc) -> None:
    """转诊单: two hospitals, a contact, running text."""
    r = p.rng
    d.add("双向转诊单\n")
    d.add("患者")
    p.name(d)
    d.add(f"，{r.choice('男女')}，{p.young_age()}，因{r.choice(SYMPTOMS)}由")
    p.hospital(d)
    d.add("转至")
    p.hospital(d)
    d.add("进一步诊治。")
    _distractors(p, d, r.randint(1, 2))
    if not p.clean:
        d.add("\n转出日期：")
        d.add(p.date(), "DATE")
        d.add(r.choice(("\n联系人：", "\n转诊医生：", "\n经办人：")))
        p.name(d)
        d.add(r.choice(("  电话：", "，联系电话", "  手机 ")))
        d.add(p.phone(), "PHONE")
        if r.random() < 0.5:
            d.add("\n患者住址：")
            d.add(p.faker_address(), "ADDRESS")
    d.add("\n转诊医生签名：")
    p.name(d)


def case_report(p: Planter, d: Doc) -> None:
    """A narrative case, as in a teaching file: masked patients, named doctors, dates."""
    r = p.rng
    d.add(r.choice(("病例分享：", "【病例】", "典型病例\n")))
    d.add(
        f"{r.choice(MASKED[:4])}，{r.choice('男女')}，{p.young_age()}，{r.choice(PLACES_ALONE)}人。"
    )
    if not p.clean:
        d.add("患者于")
        d.add(p.date(), "DATE")
        d.add("因" + r.choice(SYMPTOMS) + "就诊于")
        p.hospital(d)
        d.add("，接诊的")
        p.addressed(d, ("医生", "主任", "大夫"))
        d.add(r.choice(("考虑", "初步诊断为")) + r.choice(DIAGNOSES)[0] + "。")
        d.add(r.choice(("我叫", "我是主治医生")))
        d.add(p.full_name(), "PERSON")
        d.add("，随访至")
        d.add(p.date(), "DATE")
        d.add("，患者恢复良好。")
    else:
        d.add("患者于当地医院就诊，考虑" + r.choice(DIAGNOSES)[0] + "，随访半年恢复良好。")
    _distractors(p, d, r.randint(1, 3))


KINDS: dict[str, Callable[[Planter, Doc], None]] = {
    "admission": admission_note,
    "discharge": discharge_summary,
    "outpatient": outpatient,
    "lab": lab_report,
    "operation": operation_note,
    "dialogue": dialogue,
    "english": english_note,
    "prescription": prescription,
    "nursing": nursing_record,
    "referral": referral,
    "case": case_report,
}
WEIGHTS = {
    "prescription": 3,
    "nursing": 3,
    "referral": 3,
    "case": 2,
    "admission": 5,
    "discharge": 4,
    "outpatient": 4,
    "lab": 3,
    "operation": 2,
    "dialogue": 6,
    "english": 1,
}


def _extras(p: Planter, d: Doc) -> None:
    """Rarer identifiers in free text: cards, permits, accounts, addresses, relatives."""
    r = p.rng
    d.add("\n")
    options = [
        lambda: (
            d.add("退费请转入银行卡号"),
            d.add(p.bank_card(), "BANK_CARD"),
            d.add("（户名：本人）。"),
        ),
        lambda: (
            d.add("患者家属"),
            p.name(d),
            d.add("，身份证"),
            d.add(p.id_number(), "ID_CARD"),
            d.add("，已签署知情同意书。"),
        ),
        lambda: (
            d.add("联系人："),
            p.name(d),
            d.add("（" + r.choice(("女儿", "儿子", "妻子")) + "），电话"),
            d.add(p.mobile(), "PHONE"),
            d.add("。"),
        ),
        lambda: (d.add("远程会诊终端IP："), d.add(p.ip(), "IP"), d.add("，资料已上传。")),
        lambda: (d.add("影像资料已发至"), d.add(p.email(), "EMAIL"), d.add("。")),
        lambda: (d.add("患者现居"), d.add(p.address(), "ADDRESS"), d.add("，独居。")),
        lambda: (
            d.add("复诊时间"),
            d.add(p.date(with_time=True), "DATE"),
            d.add("，地点"),
            p.hospital(d),
            d.add("门诊3楼。"),
        ),
        lambda: (d.add("社保号："), d.add(p.insurance(), "INSURANCE"), d.add("。")),
        lambda: (d.add("其子"), d.add(p.full_name(), "PERSON"), d.add("陪同就诊。")),
        lambda: (
            d.add(p.full_name(), "PERSON"),
            d.add(f"{r.choice(('，', ' ', '，'))}{r.choice('男女')}，{p.young_age()}，"),
            d.add(f"因{r.choice(SYMPTOMS)}{r.randint(1, 9)}天入院。"),
        ),
        lambda: (
            d.add(r.choice(("由", "患者由", "今日由"))),
            d.add(p.full_name(), "PERSON"),
            d.add(r.choice(("陪同入院。", "陪同就诊。", "陪同行CT检查。"))),
        ),
        lambda: (d.add("病史由"), d.add(p.full_name(), "PERSON"), d.add("代诉，基本可靠。")),
        lambda: (
            d.add("手术知情同意书已由"),
            d.add(p.full_name(), "PERSON"),
            d.add(r.choice(("签字。", "签字确认。", "签名。"))),
        ),
        lambda: (
            d.add(p.full_name(), "PERSON"),
            d.add(r.choice(("之子", "之女", "之妻"))),
            d.add(p.full_name(), "PERSON"),
            d.add("陪同就诊。"),
        ),
        lambda: (
            d.add(r.choice(("出生日期：", "患者于", "既往于"))),
            d.add(p.short_year_date(), "DATE"),
            d.add(r.choice(("。", "行阑尾切除术。", "在外院就诊。"))),
        ),
        lambda: (
            d.add("患者"),
            d.add(p.full_name(), "PERSON"),
            d.add(f"，{r.choice('男女')}，"),
            d.add(p.old_age(), "AGE"),
            d.add("，因跌倒入院。"),
        ),
    ]
    for option in r.sample(options, r.randint(1, 3)):
        option()


def generate(seed: int, documents: int, clean: int) -> tuple[list[dict], list[dict]]:
    """Gold documents and clean controls, the same for the same arguments."""
    rng = random.Random(seed)
    kinds = [k for k, w in WEIGHTS.items() for _ in range(w)]
    gold = []
    for i in range(documents):
        kind = kinds[i % len(kinds)] if i < len(kinds) * 2 else rng.choice(kinds)
        planter = Planter(random.Random(rng.getrandbits(64)))
        doc = Doc()
        KINDS[kind](planter, doc)
        if kind != "english" and planter.rng.random() < 0.5:
            _extras(planter, doc)
        gold.append({"id": f"gold-{i:04d}", "kind": kind, "text": doc.text(), "spans": doc.spans})
    controls = []
    for i in range(clean):
        kind = rng.choice(kinds)
        planter = Planter(random.Random(rng.getrandbits(64)), clean=True)
        doc = Doc()
        KINDS[kind](planter, doc)
        assert not doc.spans
        controls.append({"id": f"clean-{i:04d}", "kind": kind, "text": doc.text()})
    return gold, controls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--clean", type=int, default=200)
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gold, controls = generate(args.seed, args.documents, args.clean)
    for name, rows in (("gold.jsonl", gold), ("clean.jsonl", controls)):
        with (out / name).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    spans = sum(len(g["spans"]) for g in gold)
    print(
        f"wrote {len(gold)} gold documents ({spans}"
        f" spans) and {len(controls)} clean controls to {out}"
    )


if __name__ == "__main__":
    main()
