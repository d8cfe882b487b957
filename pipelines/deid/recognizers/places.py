"""Addresses (from street level down) and named hospitals.

Chinese addresses run from the largest unit to the smallest (省 市 区/县 镇/乡/街道 村/
路/街 号 楼 单元 室), with no spaces. The scan starts from a street-level anchor (a street
with a number, a building or room number, a village group, an estate), reads backwards
over the administrative units that lead to it and forwards over the numbers that follow,
and stops at function words (在, 于, 住...). Following HIPAA Safe Harbor's geographic rule
(45 CFR 164.514(b)(2)(i)(B)) and the issue, a province or a city alone is not an
identifier; an address that reaches the street is redacted whole, province included.

Hospitals are found from their suffix (医院, 卫生院, 诊所...) backwards; a hospital is
named when something other than generic words (当地, 县, 人民, 中医, 第一...) is left,
so 我院, 当地医院 and 县人民医院 stay, 北京协和医院 goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipelines.deid.lexicon import CITIES, PROVINCES
from pipelines.deid.recognizers import DIGIT, LABEL_GAP, Recognizer, Shape, TriggerHandler
from pipelines.deid.spans import ADDRESS, CHECKED, HOSPITAL, LABELLED, SHAPED, Candidate

ADDRESS_LABELS = (
    "住址", "地址", "家住", "现住", "住在", "居住地", "居住在", "户籍地", "户籍地址", "户口所在地",
    "通讯地址", "联系地址", "家庭住址", "家庭地址", "现住址", "现居住地", "现居", "家在", "住于",
    "暂住", "单位地址", "工作单位地址", "收货地址", "邮寄地址", "送达地址", "常住地址", "Address",
    "居住于", "现居住于", "住所", "邮编",
)  # fmt: skip
# Words a house number follows (建国路88号, 中关村大街27号, 长乐里3号, 王庄村12号).
_NUMBERED_WORDS = (
    "大街", "大道", "胡同", "路", "街", "道", "巷", "弄", "里", "段", "村", "屯", "组", "号院",
)  # fmt: skip
_VILLAGE_WORDS = ("村", "屯")
_ESTATE_WORDS = ("小区", "花园", "公寓", "大厦", "家园", "新村", "苑", "广场", "大院", "宿舍")
HOSPITAL_SUFFIXES = (
    "医院", "卫生院", "诊所", "卫生室", "卫生服务中心", "卫生服务站", "保健院", "保健所",
    "医疗中心", "疗养院", "医务室", "康复中心", "体检中心", "中医馆", "国医馆", "医学中心",
    "卫生所", "医馆", "妇幼保健院", "中心医院",
)  # fmt: skip

_SUFFIX_ENDS = frozenset(suffix[-1] for suffix in HOSPITAL_SUFFIXES)
_VALUE_END = "，。；;,、！!？?\n\r\t|:： \u3000"
_NEXT_LABEL = re.compile(
    r"(?:联系|家庭|紧急)?(?:电话|手机|邮编|姓名|联系人|电话号码|手机号|邮箱|微信)$"
)
_NUM = "0-9０-９一二三四五六七八九十百零〇两"
# What ends an address when read backwards: function words, verbs, pronouns.
_STOP = set(
    "在于住是为的了到去来从自往赴至经过与及或我你他她您们其该此这那某各哪有也又再还已即就将"
    "把被让给对由因并而但则且如若要想能会可应需请患者诉述伴后曾均每个位址居籍贯系点目今昨月"
    "间说称告叫问答看查做行转入出诊床"
)
# A hospital's name does not run back through a verb of going (送进县医院, 建议区医院).
_HOSPITAL_STOP = _STOP | set("进送议现")
# Words of a question or a recommendation, not of a name: 重庆什么医院, 广州最好妇科医院.
_NOT_A_HOSPITAL_NAME = re.compile(
    "什么|哪|最好|比较好|较好|多家|几家|正规|专业治疗|全市|全省|大城市"
)
_RUNNING_END = set(_VALUE_END) | _STOP
# Words of time and frequency that run on into a county's name when nothing stops the walk
# back (昨天兰考县人民医院, 上周郸城县人民医院, 2019年汲冢镇卫生院, 病程中兰考县人民医院).
_BEFORE_PLACE = re.compile(
    "上周|本周|上月|本月|长期|多次|反复|一直|先后|病程中|病程|既往|当时|此后|随后|然后|之后|"
    "曾经|近期|近日|回老家|老家|同年|当年|[天年晨晚早周日号次期时中内回]"
)
_PLACE_SUFFIX = frozenset("省市县区州旗镇乡道")
_ADMIN_SUFFIX = set("省市区县旗镇乡村道州盟")

# Place names that contain a stop character: the walk back goes through them.
_PLACES_WITH_STOPS = (
    "自治区", "自治州", "自治县", "自治旗", "闵行", "于都", "于洪", "于田", "行唐", "来凤", "无为",
    "时代", "现代", "那曲", "那坡", "名山", "自流井", "点军", "新都", "首都", "成都", "京都",
    "丰都", "都匀", "行政", "出口", "入口", "个旧", "来安", "会同", "会理", "也门", "得荣", "新会",
    "江都", "步行街",
)  # fmt: skip
# Hospitals known by a short name with no place in it (北京协和 is also 协和医院).
_FAMOUS_HOSPITALS = (
    "协和", "华西", "湘雅", "瑞金", "仁济", "同济", "天坛", "宣武", "齐鲁", "西京", "华山", "长海",
    "长征", "安贞", "阜外", "积水潭", "同仁", "友谊", "世纪坛", "中日友好", "和睦家", "爱尔",
    "华厦", "宜和", "邵逸夫", "逸夫", "解放军", "武警", "南方", "珠江", "佑安", "地坛", "中山",
    "东方", "美年", "慈铭", "瑞慈", "新华", "仁和", "博爱", "北大", "北医", "清华", "复旦", "浙大",
    "川大", "中大", "华科", "交大", "同仁堂", "西苑",
)  # fmt: skip
_GENERIC_HOSPITAL = re.compile(
    r"(?:当地|本地|外地|外院|上级|下级|基层|附近|其他|其它|多家|几家|一家|两家|这家|那家|同一|不同|"
    r"私立|公立|民营|私人|综合|专科|正规|三级甲等|三甲|三级|二级|一级|二甲|甲等|县级|市级|省级|区级|"
    r"乡级|社区|定点|专业|知名|大型|好的|妇产科|妇产|儿童|中西医结合|中医|西医|人民|中心|肿瘤|"
    r"精神病|精神|口腔|眼科|传染病|胸科|骨科|妇幼|整形|美容|男科|皮肤病|皮肤|宠物|动物|附属|医科大学|"
    r"大学|军队|部队|军区|连锁|乡镇|街道|卫生|保健|康复|护理|老年|职工|第[一二三四五六七八九十0-9]+|"
    r"[本我该外大小好总分省市县区乡镇村新老旧中])*"
)


class PlaceRecognizer(Recognizer):
    """ADDRESS and HOSPITAL."""

    def __init__(self) -> None:
        unit = "号院|号楼|号|弄|支弄|巷|段|栋|幢|座|单元|楼|层|室|户|组|排|门|期|区|附"
        estate = "|".join((*_ESTATE_WORDS, "苑", "庭", "府", "城", "中心", "园", "大楼", "写字楼"))
        # What may follow a street-level part: numbers with units (3幢402室, R2-B栋), an
        # estate, the 道 of a 街道 sub-district, and a further road that has a number.
        self._tail = re.compile(
            r"(?:\s?(?:[" + _NUM + r"]+|[A-Za-zＡ-Ｚ])\s?(?:" + unit + r")"
            r"|[-—－#][0-9０-９]+|(?<=[元楼层栋幢座])[0-9０-９]{2,4}(?![0-9０-９号])"
            r"|[A-Za-z0-9]+(?:[-—－][A-Za-z0-9]+)+\s?(?:栋|幢|座|号楼|单元|室)"
            r"|(?<=街)道|[\u4e00-\u9fff]{2,6}?(?:大道|大街|路|街|道)(?=\s?[0-9０-９A-Za-z])"
            r"|[\u4e00-\u9fff]{2,8}?(?:" + estate + r"))*"
        )
        self._number_after = re.compile(
            r"\s?(?:[" + _NUM + r"]+|[A-Za-zＡ-Ｚ])\s?(?:" + unit + r")"
        )
        self._place_marker = re.compile(
            r"[路街道巷弄里省市区县镇乡村屯苑城]|胡同|小区|花园|公寓|大厦|家园|新村|[0-9０-９]号"
        )
        self._postcode = re.compile(r"[ \t\u3000]?(?:邮编[:：]?)?[0-9]{6}(?![0-9])")
        self._label_value = re.compile(LABEL_GAP)
        self._generic = _GENERIC_HOSPITAL
        self._latin_name = re.compile(
            r"[A-Z][A-Za-z'.-]* (?:(?:[A-Z][A-Za-z'.-]*|of|and|&) ){0,7}$"
        )
        self._transparent: dict[str, list[tuple[str, int]]] = {}
        for token in PROVINCES + CITIES + _PLACES_WITH_STOPS:
            for offset, char in enumerate(token):
                if char in _STOP:
                    self._transparent.setdefault(char, []).append((token, offset))
        places = "|".join(sorted(PROVINCES + CITIES, key=len, reverse=True))
        self._place = re.compile(places)
        self._hospital_anchor = re.compile(
            f"(?:{places})|(?:{'|'.join(_FAMOUS_HOSPITALS)})"
            r"|(?<![当本外该我你他其所附周隔邻这那])(?<!所在)"
            r"(?:(?![最好级地等各每同不以决定专业治疗])[\u4e00-\u9fff]){2,5}?(?:[省市县区州旗镇乡]|街道)"
            r"|[\u4e00-\u9fff][氏记](?=[\u4e00-\u9fff]{0,4}$)"
            r"|[\u4e00-\u9fff]{1,6}?(?:大学|医学院|学院)|[0-9０-９]{2,4}$"
        )
        # What every anchor holds: the first two characters of a place or a known name, or
        # a character of the other branches (市, 街道, 氏, the 学 of a university, a digit).
        # The anchor tries its hundreds of names at each character, microseconds a
        # character; 当地医院 and 上级医院 hold none of these.
        self._anchor_pairs = frozenset(
            name[:2] for name in (*PROVINCES, *CITIES, *_FAMOUS_HOSPITALS)
        )
        self._anchor_chars = re.compile("[省市县区州旗镇乡街氏记学0-9０-９]")
        self._street_level = re.compile(
            r"[路街巷弄道里]\s?["
            + _NUM
            + r"]+\s?[号弄巷]|["
            + _NUM
            + r"A-Za-z]+\s?(?:号楼|栋|幢|单元|室|号院|座)"
            r"|[村屯]|小区|花园|公寓|大厦|新村|家园|[省市区县][\u4e00-\u9fff]{1,6}(?:路|街|大道|大街)"
        )

    def triggers(self) -> dict[str, TriggerHandler]:
        table: dict[str, TriggerHandler] = {}
        for word in _ESTATE_WORDS:
            table[word] = self._estate
        for label in ADDRESS_LABELS:
            table[label] = self._labelled
        for suffix in HOSPITAL_SUFFIXES:
            table[suffix] = self._hospital
        for suffix in ("Hospital", "Clinic", "Medical Center", "Medical Centre"):
            table[suffix] = self._latin_hospital
        return table

    def shapes(self) -> list[Shape]:
        han = "[\\u4e00-\\u9fff]"

        def after_admin(word: str, admin: str) -> str:
            return "|".join(f"(?<=[{admin}]{han}{{{k}}}{word})" for k in range(1, 5))

        shapes = [
            Shape(
                DIGIT,
                r"\d{0,4}\s?(?:号院|号楼|号|弄|巷|栋|幢|座|单元|室|组)",
                self._numbered,
                ahead=r"\d{0,4}\s?[号弄巷栋幢座单室组]",
            ),
        ]
        # A street without a number is an address only after a district (朝阳区建国路).
        for word in ("路", "街"):
            pattern = f"(?:{after_admin(word, '省市区县')})(?!\\s?[0-9０-９])"
            shapes.append(Shape(word, pattern, self._unnumbered_street))
        for word in ("村", "屯"):
            numbered = f"(?=\\s?[{_NUM}]+[组号])"
            shapes.append(Shape(word, f"{numbered}|{after_admin(word, '镇乡')}", self._village))
        return shapes

    # Addresses ---------------------------------------------------------------------

    def _numbered(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        """A number with its unit: 88号 after a street, 3号楼, 2单元, 501室, 村3组."""
        unit = text[start:end].lstrip("0123456789０１２３４５６７８９ ")
        before = start - 1 if start > 0 and text[start - 1] == " " else start
        if unit in ("号", "弄", "巷", "组"):
            words = _VILLAGE_WORDS if unit == "组" else _NUMBERED_WORDS
            word = next((w for w in words if text.endswith(w, 0, before)), None)
            if word is None:
                return
            left = self._walk_back(text, before - len(word))
            if left < before - len(word):
                yield self._address(text, left, before)
            return
        left = self._walk_back(text, start)
        # 3号楼 after 幸福小区 or 建国路88号 is an address; after 住院部 it is a ward.
        if left < start and self._place_marker.search(text, left, start):
            yield self._address(text, left, start)

    def _unnumbered_street(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        left = self._walk_back(text, start)
        if left < start:
            yield self._address(text, left, end)

    def _village(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        left = self._walk_back(text, start)
        if start - left >= 2:
            yield self._address(text, left, end)

    def _estate(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        left = self._walk_back(text, start)
        if start - left < 2:
            return
        if self._number_after.match(text, end) is None and not self._has_admin(text, left, start):
            return
        yield self._address(text, left, end)

    def _labelled(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        gap = self._label_value.match(text, end)
        begin = gap.end() if gap else end
        stop = begin
        limit = min(len(text), begin + 60)
        # After 住址： the value is the address; after 住在 it is running text.
        stops = _VALUE_END if ":" in text[end:begin] or "：" in text[end:begin] else _RUNNING_END
        while stop < limit and text[stop] not in stops:
            stop += 1
        if stop < limit and text[stop] in ":：":
            # The value ran into the next field's label (地址：…88号电话：…).
            stop = begin + len(_NEXT_LABEL.sub("", text[begin:stop]))
        value = text[begin:stop]
        if text[start:end] == "邮编":
            match = re.match(r"[0-9]{6}(?![0-9])", value)
            if match:
                yield Candidate(begin, begin + 6, ADDRESS, LABELLED)
            return
        if len(value) >= 4 and value[0] != "院" and self._street_level.search(value):
            postcode = self._postcode.match(text, stop)
            yield Candidate(begin, postcode.end() if postcode else stop, ADDRESS, LABELLED)

    def _walk_back(self, text: str, at: int, limit: int = 32) -> int:
        """Leftmost start of the address whose street-level part begins at ``at``."""
        i = at
        floor = max(0, at - limit)
        while i > floor:
            c = text[i - 1]
            if "\u4e00" <= c <= "\u9fff":
                if c in _STOP and not self._in_place_name(text, i - 1):
                    break
            elif not (c.isdigit() or (c.isascii() and c.isalpha()) or c in "-#－"):
                break
            i -= 1
        # The first piece before any unit name is at most a street stem long.
        first_suffix = next(
            (j for j in range(i, at) if text[j] in _ADMIN_SUFFIX or text[j] in "路街巷弄号"), at
        )
        if first_suffix - i > 7:
            i = first_suffix - 4
        while i < at and not ("\u4e00" <= text[i] <= "\u9fff" or text[i].isalnum()):
            i += 1
        return i

    def _in_place_name(self, text: str, at: int) -> bool:
        """True when the stop character at ``at`` belongs to a place name (自治区, 闵行, 于都)."""
        for token, offset in self._transparent.get(text[at], ()):
            if text.startswith(token, at - offset):
                return True
        return False

    def _has_admin(self, text: str, left: int, at: int, suffixes: str = "省市区县旗镇乡") -> bool:
        return any(text[j] in suffixes for j in range(left, at))

    def _address(self, text: str, left: int, end: int) -> Candidate:
        tail = self._tail.match(text, end)
        stop = tail.end() if tail else end
        postcode = self._postcode.match(text, stop)
        if postcode:
            stop = postcode.end()
        return Candidate(left, stop, ADDRESS, SHAPED)

    # Hospitals ---------------------------------------------------------------------

    def _latin_hospital(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        """Peking Union Medical College Hospital: the capitalised words before the suffix."""
        match = self._latin_name.search(text, max(0, start - 80), start)
        if match and match.group().strip():
            yield Candidate(match.start(), end, HOSPITAL, CHECKED)

    def _hospital(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        i = start
        floor = max(0, start - 20)
        while i > floor:
            c = text[i - 1]
            if "\u4e00" <= c <= "\u9fff":
                if c in _HOSPITAL_STOP:
                    break
                # 北京协和医院和上海瑞金医院: the name ends where another hospital's does,
                # unless this one is its branch (解放军总医院第一医学中心).
                if (
                    c in _SUFFIX_ENDS
                    and text.endswith(HOSPITAL_SUFFIXES, floor, i)
                    and text[i] not in "第分"
                ):
                    break
            elif not (c.isdigit() or (c.isascii() and c.isalpha())):
                break
            i -= 1
        # A named hospital has a place, a university or a known name in it; 治疗医院 and
        # 正规专科医院 do not. The name starts where that anchor does.
        at = i
        while at < start - 1 and text[at : at + 2] not in self._anchor_pairs:
            at += 1
        if at >= start - 1 and self._anchor_chars.search(text, i, start) is None:
            return
        anchor = self._hospital_anchor.search(text, i, start)
        if anchor is None:
            return
        begin = anchor.start()
        # The leftmost anchor may take in words before the place it names (病程中郑州市,
        # 详情山东大学): the name starts at a known place inside it.
        place = self._place.search(text, begin + 1, anchor.end())
        if place is not None:
            begin = place.start()
        elif anchor.group()[-1] in _PLACE_SUFFIX:
            begin = _skip_words_before_place(text, begin, anchor.end() - 1)
        name = text[begin:start]
        generic = self._generic.match(name)
        if (generic and generic.end() == len(name)) or _NOT_A_HOSPITAL_NAME.search(name):
            return
        yield Candidate(begin, end, HOSPITAL, CHECKED)


def _skip_words_before_place(text: str, at: int, suffix: int) -> int:
    """Where a place that ends with the unit at ``suffix`` starts, once time words are off.

    A word is taken off only while a name of two characters is left (天门市 and 中牟县 keep
    their first character), or of one after a word of two (昨天滑县).
    """
    while True:
        word = _BEFORE_PLACE.match(text, at, suffix)
        if word is None:
            return at
        left = suffix - word.end()
        if not (left >= 2 or (left >= 1 and word.end() - at >= 2)):
            return at
        at = word.end()
