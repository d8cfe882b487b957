"""Person names: after labels (姓名：, 患者, 其子), before titles (张先生, 王建国主任), in
dialogue forms (小陈, 老赵, 周某), before a sex-and-age note (张伟，男，45岁), and every
further occurrence in the document of a name found once.

A Chinese name is a surname (single or compound: 欧阳, 司马, 诸葛) and a given name of one
or two characters. Surnames are common characters (高, 方, 常), so a surname alone is
never evidence: a name needs a context, its given name must use characters that given
names use, and common words that look like names after 患者 (平素, 高热, 周一) are listed
as not names. Masked forms (张某某, 王**, 李XX) are not identifiers and are left alone;
a single 某 after a surname (患者周某) still tells the surname, so it is one.

Where the context alone says "a name stands here" (after 姓名： or 签名：, before ，男，45岁,
您好, 陪同, 代诉 or 签字, before a title), a given name may use any Chinese character
but the few hundred commonest ones of medical text (刘旻, 郑赟, 欧阳翀); where the
context is weaker (患者 glued to the name) the given name must use the whitelist.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Iterable

from pipelines.deid.lexicon import (
    COMMON_CHARS,
    COMMON_SURNAMES,
    COMPOUND_SURNAMES,
    GIVEN_NAME_CHARS,
    SURNAMES,
)
from pipelines.deid.recognizers import HAN, LABEL_GAP, Recognizer, Shape, TriggerHandler, char_class
from pipelines.deid.spans import LABELLED, PERSON, SHAPED, Candidate

# Labels whose value is a name: 姓名：张伟, 主治医师：王建国, 其子李强.
NAME_LABELS = (
    "姓名", "姓 名", "姓  名", "姓　名", "患者姓名", "病人姓名", "患儿姓名", "家属姓名", "联系人",
    "联系人姓名", "紧急联系人", "监护人", "法定代理人", "代理人", "委托人", "授权委托人", "陪同人",
    "陪护人", "病史陈述者", "陈述者", "供史者", "病史提供者", "签名", "签字", "签名人", "审核",
    "审核人", "审核者", "复核", "复核人", "核对", "核对人", "检验者", "检验人", "检查者", "报告人",
    "报告者", "记录者", "记录人", "录入", "录入者", "操作者", "操作人", "术者", "主刀", "助手",
    "一助", "二助", "麻醉师", "患者", "病人", "患儿", "产妇", "孕妇", "伤者", "患方", "就诊人",
    "病友", "其子", "其女", "其夫", "其妻", "其父", "其母", "之子", "之女", "儿子", "女儿", "丈夫",
    "妻子", "爱人", "老伴", "配偶", "父亲", "母亲", "哥哥", "姐姐", "弟弟", "妹妹", "孙子", "孙女",
    "外孙", "儿媳", "女婿", "家属", "同事", "朋友", "邻居", "室友", "我叫", "名叫", "叫做", "本人",
    "名字叫", "他叫", "她叫", "，叫", "孩子叫", "病员", "其女儿", "其儿子", "其妻子", "其丈夫",
    "其母亲", "其父亲", "其爱人", "其孙子", "其孙女", "之妻", "之夫", "之父", "之母", "检验",
    "检查者", "复核者", "三助", "发药", "调配", "配药", "审方", "核发", "经办人", "经手人",
    "洗手护士", "巡回护士", "器械护士", "麻醉", "麻醉医生", "记录", "家长", "亲属", "申请人",
    "送检者", "送检人", "采样者", "采样人", "采集者", "采集人", "接收者", "接收人", "执行者",
    "执行人", "开单者", "开单人", "书写者", "书写人", "见证人", "谈话人", "被谈话人", "受托人",
    "爸爸", "妈妈", "老公", "老婆", "老公叫", "老婆叫", "爸爸叫", "妈妈叫", "儿子叫", "女儿叫",
    "丈夫叫", "妻子叫", "联系人及电话", "联系人/电话", "联系人及联系方式", "联系人/联系方式",
    "爸叫", "妈叫", "哥叫", "姐叫", "弟叫", "妹叫", "爷叫", "奶叫", "名字是", "姓名是",
)  # fmt: skip
# Labels that are also common words: a name follows them only after ：, : or a space.
_FIELD_LABELS = frozenset(
    (
        "签名", "签字", "审核", "复核", "核对", "检验", "记录", "录入", "操作者", "操作人", "术者",
        "主刀", "助手", "一助", "二助", "三助", "麻醉", "麻醉师", "检查者", "报告人", "报告者",
        "记录者", "记录人", "审核人", "审核者", "复核人", "核对人", "检验者", "检验人", "录入者",
        "签名人", "医生", "医师", "大夫", "主任", "副主任", "教授", "副教授", "护士", "护士长",
        "护师", "老师", "院长", "副院长", "科长", "博士", "药师", "技师", "本人", "联系人",
        "监护人", "代理人", "委托人", "陪同人", "陪护人", "陈述者", "供史者", "发药", "调配",
        "配药", "审方", "核发", "经办人", "经手人", "家长", "亲属", "申请人", "送检者", "送检人",
        "采样者", "采样人", "采集者", "采集人", "接收者", "接收人", "执行者", "执行人", "开单者",
        "开单人", "书写者", "书写人", "见证人", "谈话人", "被谈话人", "受托人",
    )
)  # fmt: skip
# Titles after a name (张先生, 王建国主任); the professional ones also label a name after
# them (主治医师：王建国, 医生王建国).
PERSONAL_TITLES = (
    "先生", "女士", "小姐", "太太", "夫人", "阿姨", "叔叔", "伯伯", "大爷", "大妈", "大娘",
    "大姐", "大哥", "奶奶", "爷爷", "婆婆", "姥姥", "姥爷", "师傅", "同志", "同学", "老板",
    "姐", "哥", "律师", "警官",
)  # fmt: skip
PROFESSIONAL_TITLES = (
    "医生", "医师", "大夫", "主任", "副主任", "教授", "副教授", "护士", "护士长", "护师",
    "老师", "院长", "副院长", "科长", "博士", "主任医师", "副主任医师", "主治医师", "主治医生",
    "住院医师", "住院医生", "主管医生", "主管医师", "经治医师", "管床医生", "管床医师",
    "上级医师", "接诊医生", "接诊医师", "首诊医生", "送检医生", "申请医生", "申请医师",
    "开单医生", "报告医师", "报告医生", "审核医师", "记录医师", "检验医师", "操作医师",
    "麻醉医师", "主刀医生", "责任护士", "医师签名", "医生签名", "护士签名", "患者签名",
    "家属签名", "药师", "技师",
)  # fmt: skip
_LATIN_LABELS = (
    "Name", "NAME", "Patient name", "Patient", "PATIENT", "Mr.", "Mrs.", "Ms.", "Miss", "Dr.",
    "Prof.",
)  # fmt: skip

# Characters that may stand right before a name: function words and verbs of address.
_BEFORE_NAME = set(
    "的找问是叫跟和给请被向对谢让与称由经见及同那这位名者人后时诉告约从带陪喊说在于等或为"
    "把将帮替邀吗呢啊呀吧嗯哦您你我他她们好看挂去到以因当据按遵予嘱示令之即还也都并而又再"
    "已来想要派有属儿女子夫妻父母哥姐弟妹孙媳婿伴友事居员方午晚早末随"
    # The ends of the titles that label a name glued to them (上级医师王建国主任医师).
    "师生士"
)
# 小/老 + surname + next character that are words, not people.
_NOT_SHORT_NAMES = frozenset(
    [
        "小孙子", "小孙女", "小程序", "小苏打", "老陈醋", "老黄历", "老黄牛", "小黄鸭", "小黄人",
        "小黄车", "小马驹", "小马甲", "小胡子", "老姜汤", "小熊猫", "老马识", "小王子", "老王八",
        "小汤圆", "老汤药", "小田鼠", "小钟表", "小丁香", "小杨树", "老杨树", "小夏天", "小余数",
        "小梁骨", "小林子", "小罗卜", "老周期", "小周期", "小许多", "小叶增", "小叶性", "小叶间",
        "小叶中", "小叶核", "小叶状", "小叶片", "小白鼠", "小白菜", "老白干", "小白兔", "小孔径",
        "小孔隙", "小毛病", "老毛病", "小龙虾", "小石子", "小石头", "老方法", "小方法", "小金鱼",
        "小高峰", "小黄豆", "小钱包", "小任务", "小常识", "老常规", "小文章", "老文件", "小高潮",
        "小江湖",
    ]
)  # fmt: skip
# What may follow a 小X / 老X name of a rarer surname: punctuation, function words, verbs.
_AFTER_SHORT_NAME = set(
    "，。！？、；：,.!?;: \n说啊呀你您的来去是吗呢吧和跟也在今昨又还就都把给让叫问答他她我家同"
    "这那陪最总刚已早晚对带帮请快别不没要会能可很真好哈哦嗯啦嘛呗哟啥怎为因觉感看做拿吃喝住出进"
    "过被将以从向等及与或得着了开查复交考认建指"
)
# Surname-initial words that read like names in these contexts.
_NOT_NAMES = frozenset(
    (
        "全科", "专科", "专家", "全职", "周一", "周二", "周三", "周四", "周五", "周六", "周日",
        "周末", "周岁", "周期", "周围",
        "周边", "周身", "周天", "高热", "高血", "高压", "高峰", "高达", "高于", "高度", "高龄",
        "高危", "高发", "常规", "平素", "平时", "平安", "平和", "平静", "明显", "明确", "安静",
        "安全", "安定", "安康", "全身", "全程", "全部", "金黄", "白天", "方便", "方法", "方案",
        "于是", "时间", "应该", "应当", "应用", "马上", "曾经", "陈旧", "程度", "宁可", "万一",
        "向来", "文化", "文明", "江河", "龙眼", "钱财", "石头", "黄色", "白色", "申请", "成功",
        "成年", "成人", "易感", "易于", "任何", "关于", "关心", "关节", "康复", "华佗", "包括",
        "包块", "车祸", "连续", "严重", "严格", "单纯", "单位", "单独", "单身", "苏醒", "杜绝",
        "史上", "贾某", "甘露", "柴胡", "雷同", "林中", "余生", "伍德", "司空", "海水", "海鲜",
        "谷丙", "谷草", "谷氨", "宁静", "汤药", "姜汁", "毛发", "孔隙", "蒲公", "燕麦", "梅毒",
        "梅花", "花生", "红花", "牛奶", "马来", "信心", "信任", "师傅", "包子", "明天", "明年",
        "明晚", "明早", "明日", "万里", "金银", "金刚", "孙子", "孙女", "容易", "钟表", "文章",
        "易怒", "常见", "华夏", "江南", "余下", "林木", "宁夏", "时和", "关怀", "方才", "高中",
        "司机", "高龄", "单身", "金银花", "夏季", "夏天", "冬季", "秋季", "春季", "万分", "文字",
        "于今", "于此", "于该", "于本", "于当", "于近", "于去", "于前", "于昨", "于次", "于入",
        "于术", "于门", "于外", "于我", "于两", "于半", "于一", "于二", "于三", "于四", "于五",
        "于六", "于七", "于八", "于九", "于十", "于上", "于下", "于同", "黄疸", "黄染", "高烧",
        "朱砂", "田间", "许久", "何时", "孙辈", "农民", "全家", "蒙古", "盖章", "卫生", "管床",
        "解释", "全麻", "白班", "常规", "权威", "麻醉",
    )
)  # fmt: skip
# How much a name's context vouches for it: glued to a label in running text (患者刘旻因),
# beside a word only names stand beside (，男，45岁 / 陪同 / 您好 / 先生), or in a form field
# (姓名：, 签名：, a label and a space).
WEAK, BESIDE, FIELD = 0, 1, 2
# Labels that are also the speakers of a dialogue (患者：… 医生：…): at the start of a line,
# what follows their colon is a turn, not a name, unless it stands alone on the line.
_SPEAKERS = frozenset(("患者", "病人", "患儿", "家属", "本人", "病员", "医生", "医师", "大夫"))
# Anywhere, not only at a line start: 高血压患者：… heads a paragraph, 转诊医生：… is a field.
_PATIENTS = frozenset(("患者", "病人", "患儿", "病员"))
# Words after a name that only a person's name stands before (李明华陪同, 王建国之子).
_NAME_MARKS = ("陪同", "代诉", "签字", "签名", "之子", "之女", "之母", "之父", "之妻", "之夫")
_MARK_SET = frozenset(_NAME_MARKS)
# What a form asks for in a name field instead of a name (签名：盖章).
_FORM_WORDS = frozenset(("盖章", "印章", "盖印"))
_PERSON_FIELDS = frozenset(
    (
        "联系人", "紧急联系人", "监护人", "法定代理人", "代理人", "委托人", "授权委托人",
        "联系人及电话", "联系人/电话", "联系人及联系方式", "联系人/联系方式", "签名人", "家长",
        "签名", "签字", "医生签名", "医师签名", "护士签名", "患者签名", "家属签名",
    )
)  # fmt: skip
# Up to this many names, each is looked for with str.find; more take one pass of the text.
_FIND_EACH = 16
_TIME_AFTER_NAME = re.compile("于(?:[0-9０-９一二三四五六七八九十半数两]|今|昨|前|近|入院|当)")
_GREETINGS = ("您好", "你好")
# Words that open a turn spoken to the doctor or by one (张伟：医生您好… / 王芳：我头疼): after a
# name at the start of a line they make it a speaker, not a field label (黄柏：清热燥湿).
_TURN_OPENERS = (
    "医生", "大夫", "主任", "护士", "老师", "您好", "你好", "请问", "谢谢", "我", "嗯", "好的",
    "是的", "对", "哦", "啊",
)  # fmt: skip
# Characters a given name outside the whitelist may not use: the commonest characters of
# medical text and the function words, so that 刘旻 is a name and 时和 or 高血 are not.
_NOT_GIVEN = frozenset(
    (set(COMMON_CHARS) - set(GIVEN_NAME_CHARS))
    | set("您你我他她它们啊呀吗呢吧嘛哦嗯哈啦的了着过给被把将让向跟与及或和在于对从自由经请叫找")
    | set("问谢签陪代之其男女性岁某")
    # Ends of words for people that stand where a name would (黎族，男 / 文员，女 / 华侨，男).
    | set("族员侨")
    # Clinical characters that follow a surname-like character in a finding, not a name
    # (患者房颤于3年前, 左膝于2年前, 宫缩于今晨, 经麻醉医生).
    | set("颤缩膝踝髋肘腕肩臀腿臂趾肺肾胸腋脐疸瘫痫痪癫痰喘悸晕眩痹疝痔瘘疣癣醉")
)
# The characters a given name may use where the context vouches for a rare one: the
# whitelist and every other Chinese character not ruled out, in one set (one lookup).
_GIVEN_OR_RARE = frozenset(GIVEN_NAME_CHARS) | frozenset(
    chr(c) for c in range(0x4E00, 0xA000) if chr(c) not in _NOT_GIVEN
)
# The last character of any name a title or a mark may follow: a given-name character, a
# surname (王医生, 欧阳医生) or a rare character that a vouching context allows.
_MAY_END_NAME = _GIVEN_OR_RARE | set(SURNAMES) | {s[-1] for s in COMPOUND_SURNAMES}
_COMMON = frozenset(COMMON_CHARS)
# What a label's gap (LABEL_GAP) may hold besides one colon.
_GAP_CHARS = frozenset(" \t\u3000:：为是")
_TITLES = frozenset(PERSONAL_TITLES + PROFESSIONAL_TITLES)
_LINE_END = ("", "\n", "\r", "\t", " ", "\u3000")
_CLAUSE_END = (*_LINE_END, "，", ",", "、", "（", "(", "。", "；", ";", "/")
_INTRODUCTION_END = frozenset((*_CLAUSE_END, "的", "！", "!", "？", "?", "啊", "呀"))
# What may stand right before a name that only its right-hand context vouches for.
_OPENERS = frozenset("的叫喂嗨由经请找让给陪和与及同跟向对为是")
# Words that hand the patient to a person: before a title they vouch for a rare given name
# of any surname (经包昶医生, 由鲁祎主任).
_HANDED_TO = frozenset("经由请找邀")
# ... unless the word and the surname make a word of their own (经常, 由于).
_HANDED_TO_WORDS = frozenset(("经常", "由于", "请于"))
_AGE_BEFORE_SEX = re.compile(r"[，,、 ]\s?\d{1,3}(?:周岁|岁)$")
# Surnames outside the commonest that still make 小X / 老X names (老叶, 老于).
_SHORT_FORM_EXTRA = "高叶金白江于孔方石龙毛武钱万史任常文"
_MASK_AFTER = set("某*＊XxＸ×○〇□")
_MOU_TAIL = set("些种个项天日时处一部类位年月段次件样地市县省区院医单公厂村镇")


class NameRecognizer(Recognizer):
    """PERSON."""

    def __init__(self) -> None:
        self._surnames = frozenset(SURNAMES)
        self._common_surnames = frozenset(COMMON_SURNAMES)
        self._given = frozenset(GIVEN_NAME_CHARS)
        compound = "|".join(COMPOUND_SURNAMES)
        single = char_class(SURNAMES)
        given = char_class(GIVEN_NAME_CHARS)
        self._compounds = frozenset(COMPOUND_SURNAMES)
        self._gap = re.compile(LABEL_GAP)
        self._label_set = frozenset(NAME_LABELS + _NAME_MARKS)
        # Labels whose value can only be a person's name.
        self._name_fields = frozenset(
            label
            for label in NAME_LABELS + PROFESSIONAL_TITLES
            if "姓" in label or label in _PERSON_FIELDS
        )
        # The first character of a name, and of a labelled value (a gap, then the name).
        self._may_start = self._surnames | {c[0] for c in COMPOUND_SURNAMES}
        self._may_start_value = self._may_start | set(" \t\u3000:：为是" + string.ascii_uppercase)
        self._full_name = re.compile(f"(?:{compound}|{single}){given}{{1,2}}")
        speaker = f"[ \\t\\u3000]*(?P<name>(?:{compound}|{single})[{HAN}]{{1,2}})[:：]"
        self._speaker = re.compile("\n" + speaker)
        self._first_speaker = re.compile(speaker)
        self._padded_name = re.compile(
            f"(?:{compound}|{single})[ \\u3000]{{1,2}}[{HAN}](?=[\\s，,。；;（(]|$)"
        )
        self._latin_value = re.compile(r"[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2}")
        self._latin = re.compile(r"[ \t]*[:：]?[ \t]*(?P<name>" + self._latin_value.pattern + ")")
        # Surnames that also begin common words before a title (向医生咨询, 祝医生顺利).
        self._title_surnames = self._surnames - set("向于应全常时平和能师帅祝班")

    def triggers(self) -> dict[str, TriggerHandler]:
        table: dict[str, TriggerHandler] = {}
        for label in NAME_LABELS:
            table[label] = self._after_label
        for mark in _NAME_MARKS:
            table[mark] = self._around_mark if mark in table else self._before_mark
        for greeting in _GREETINGS:
            table[greeting] = self._around_greeting
        for title in PERSONAL_TITLES:
            table[title] = self._before_title
        for title in PROFESSIONAL_TITLES:
            table[title] = self._around_title
        table["某"] = self._mou
        table["我是"] = self._self_introduced
        for label in ("我姓", "免贵姓", "姓"):
            table[label] = self._surname_only
        for sex in "男女":
            for mark in "，,（(、 ":
                table[mark + sex] = self._before_sex
        for label in _LATIN_LABELS:
            table[label] = self._after_latin_label
        return table

    def shapes(self) -> list[Shape]:
        surnames = char_class(COMMON_SURNAMES + _SHORT_FORM_EXTRA)
        # 小于 is "less than", 小叶 a lobule (乳腺小叶), 小孔 a small hole; 老于 is a person.
        return [
            Shape("小", f"(?![于叶孔]){surnames}", self._short_form),
            Shape("老", surnames, self._short_form),
        ]

    def scan(self, text: str) -> list[Candidate]:
        """Named speakers of a dialogue (张伟：医生您好…): a pattern that starts with the line
        break skips from line to line in C."""
        first = self._first_speaker.match(text)
        speakers = [first] if first else []
        speakers.extend(self._speaker.finditer(text))
        if not speakers:
            return []
        # How many lines each name opens, counted once: a long dialogue has many lines.
        turns = Counter(match.group("name") for match in speakers)
        return [
            Candidate(match.start("name"), match.end("name"), PERSON, LABELLED)
            for match in speakers
            if self._is_speaker(text, match, turns[match.group("name")])
        ]

    def _self_introduced(self, text: str, label_start: int, start: int) -> Iterable[Candidate]:
        """我是张伟，… : the name must end its clause (我是张家口人 is no name)."""
        end = self._read_name(text, start, BESIDE)
        value = text[start:end]
        if (
            end > start
            and text[end : end + 1] in _INTRODUCTION_END
            and value not in _NOT_NAMES
            and value[:2] not in _NOT_NAMES
        ):
            end = self._trim(text, start, end, labelled=True)
            if end > start:
                yield Candidate(start, end, PERSON, LABELLED)

    def _is_speaker(self, text: str, match: re.Match[str], turns: int) -> bool:
        """A name before a line's colon speaks when its turn opens as speech or it opens
        more than one line (``turns``)."""
        name = match.group("name")
        if name in _NOT_NAMES or name[:2] in _NOT_NAMES:
            return False
        if self._full_name.fullmatch(name) and text.startswith(_TURN_OPENERS, match.end()):
            return True
        return turns >= 2 and self._is_name(name, BESIDE)

    def refine(self, text: str, found: list[Candidate]) -> list[Candidate]:
        """The names listed after a name found (术者：张伟、李娜), and every other occurrence
        of a full name found once in the document."""
        # Indexing, not the named fields (a slower lookup): most texts have no name at all.
        labelled = [c for c in found if c[2] == PERSON and c[3] >= LABELLED]
        if not labelled:
            return []
        # The names listed, then every occurrence of the names found.
        more = list(self._listed(text, labelled))
        # 姓名：王　芳 is 王芳 in running text.
        values = [
            text[c.start : c.end].replace(" ", "").replace("\u3000", "") for c in (*labelled, *more)
        ]
        names = {value for value in values if self._is_name(value, FIELD)}
        # 孩子叫李子轩 … 子轩有没有发烧: a two-character given name is used alone, unless
        # it is a title (王阿姨) or both its characters are common in medical text.
        names.update(
            given
            for given in [name[2 if name[:2] in self._compounds else 1 :] for name in names]
            if len(given) == 2
            and given not in _TITLES
            and not (given[0] in _COMMON and given[1] in _COMMON)
        )
        if len(names) <= _FIND_EACH:
            for name in names:
                at = text.find(name)
                while at >= 0:
                    more.append(Candidate(at, at + len(name), PERSON, SHAPED))
                    at = text.find(name, at + len(name))
            return more
        # A long text with many names (a register of patients): one pass over the text,
        # testing the names that start at each of their first characters.
        lengths = sorted({len(name) for name in names}, reverse=True)
        firsts = re.compile(char_class(name[0] for name in names))
        for match in firsts.finditer(text):
            at = match.start()
            for length in lengths:
                if at + length <= len(text) and text[at : at + length] in names:
                    more.append(Candidate(at, at + length, PERSON, SHAPED))
        return more

    def _listed(self, text: str, names: list[Candidate]) -> Iterable[Candidate]:
        """Names that follow a name in a list: 张伟、李娜、王芳 or 张伟/李娜."""
        for name in names:
            at = name.end
            while text[at : at + 1] in ("、", "/"):
                end = self._read_name(text, at + 1, FIELD)
                value = text[at + 1 : end]
                if (
                    end == at + 1
                    or text[end : end + 1] not in _CLAUSE_END
                    or value in _NOT_NAMES
                    or value[:2] in _NOT_NAMES
                ):
                    break
                yield Candidate(at + 1, end, PERSON, LABELLED)
                at = end

    def _is_name(self, value: str, context: int) -> bool:
        """A surname and a given name; where the ``context`` vouches, the given name may be rare."""
        if self._full_name.fullmatch(value):
            return True
        if not context or value in _NOT_NAMES:
            return False
        for surname_len in (2, 1):
            surname, given = value[:surname_len], value[surname_len:]
            if 1 <= len(given) <= 2 and self._may_be_rare(surname, given, context):
                return all(c in _GIVEN_OR_RARE for c in given)
        return False

    def _may_be_rare(self, surname: str, given: str, context: int) -> bool:
        """Whether ``given`` may use rare characters after ``surname`` in this context."""
        if surname in self._compounds:
            return True
        if surname not in self._surnames:
            return False
        # Beside a name word (陪同, ，男) a rarer surname and a lone rare character (司机)
        # are too often a word; a second, whitelisted character makes it a name.
        return (
            context >= FIELD
            or surname in self._common_surnames
            or (len(given) == 2 and (given[0] in self._given or given[1] in self._given))
        )

    def _read_name(self, text: str, at: int, context: int) -> int:
        """End of the name that starts at ``at`` (``at`` when none): surname, then given name."""
        pair = text[at : at + 2]
        for surname_len in (2, 1) if pair in self._compounds else (1,):
            surname = text[at : at + surname_len]
            if surname_len == 1 and surname not in self._surnames:
                return at
            begin = at + surname_len
            if text[begin : begin + 1] == "某" and text[begin + 1 : begin + 2] != "某":
                return begin + 1
            end = begin
            while end < begin + 2 and end < len(text) and text[end] in self._given:
                end += 1
            if context and end < begin + 2:
                # A rare character, where the context allows one, ends the name or follows.
                rare = begin
                while rare < begin + 2 and rare < len(text):
                    char = text[rare]
                    if char not in _GIVEN_OR_RARE:
                        break
                    rare += 1
                if rare > end and self._may_be_rare(surname, text[begin:rare], context):
                    end = rare
            if end > begin:
                # 张伟之母: 之 is a given-name character, and here the start of a word.
                return end - 1 if text[end - 1 : end + 1] in _MARK_SET and end > begin + 1 else end
        return at

    def _after_label(self, text: str, start: int, end: int) -> list[Candidate]:
        # Most labels are followed by no name: one set lookup rules them out, two after a
        # colon (患者：我头疼, 医生：您好 open the turns of a dialogue).
        if text[end : end + 1] not in self._may_start_value or (
            text[end] in ":：" and text[end + 1 : end + 2] not in self._may_start_value
        ):
            return []
        # Most labels are followed by the name or by a colon and the name (签名：陈*):
        # the gap's expression only where a space, a second colon or 为/是 may follow.
        name_start = end
        if text[end] in ":：":
            name_start = end + 1
        if text[name_start : name_start + 1] in _GAP_CHARS:
            name_start = self._gap.match(text, end).end()  # type: ignore[union-attr]
        if (
            text[name_start + 1 : name_start + 2] in _MASK_AFTER
            and not text[name_start].isascii()
            and (text[name_start + 1] != "某" or text[name_start + 2 : name_start + 3] == "某")
        ):
            # 签名：陈*, 术者：赵××, 患者刘某某 (the clean controls' commonest value after a
            # label): no character of a mask is a given name's, so no name is read here.
            return []
        gap = text[end:name_start]
        colon = "：" in gap or ":" in gap
        label = text[start:end]
        field = colon or " " in gap or "\t" in gap or "\u3000" in gap
        if text[name_start : name_start + 1].isascii():
            # 姓名：Zhang Wei: a name in Latin letters, only where the field holds a name.
            latin = self._latin_value.match(text, name_start)
            if field and latin and label in self._name_fields:
                return [Candidate(name_start, latin.end(), PERSON, LABELLED)]
            return []
        # After 姓名： a name-like word is a name (宁静 is a person there); after 术者： or
        # 记录： a word that reads like a name is a word (记录：卫生宣教, 麻醉：全麻).
        name_field = field and label in self._name_fields
        name_end = self._read_name(text, name_start, FIELD if field else BESIDE)
        if field and name_end == name_start:
            # 姓名：王　芳: forms pad a two-character name to the width of three.
            padded = self._padded_name.match(text, name_start)
            if padded and (text[padded.end() - 1] in _GIVEN_OR_RARE):
                return [Candidate(name_start, padded.end(), PERSON, LABELLED)]
        if not field and label in _PATIENTS:
            # 患者庞钊于10年前: the time the history starts vouches for a rare name.
            vouched = self._read_name(text, name_start, FIELD)
            if vouched > name_end and _TIME_AFTER_NAME.match(text, vouched):
                name_end = vouched
        if name_end == name_start:
            return []
        after = text[name_end : name_end + 1]
        speaker = label in _PATIENTS or (label in _SPEAKERS and _at_line_start(text, start))
        if (colon and speaker and after not in _LINE_END) or (
            not field
            and (label in _FIELD_LABELS or after not in _CLAUSE_END)
            # 患者庞钊于10年前: the time the history starts closes the name.
            and not (label in _PATIENTS and _TIME_AFTER_NAME.match(text, name_end))
        ):
            # 患者：… is a speaker's turn (医生：金银花是一种中药) unless the name ends
            # the line; a label glued to the name is weak (患者刘旻因…, 麻醉方式：): there
            # the whitelist decides, and a speaker's turn must pause after the name.
            name_end = self._read_name(text, name_start, WEAK)
            after = text[name_end : name_end + 1]
            if name_end == name_start or (colon and after not in _CLAUSE_END):
                return []
        if (
            name_start == end
            and label in _FIELD_LABELS
            and _is_han(text[name_end : name_end + 1])
            and text[name_end] not in "的说"
        ):
            # 请医生查明, 辅助手段来: glued to a field label, a name must end the phrase
            # (护士刘婷。), not run on into it.
            return []
        value = text[name_start:name_end]
        if text[name_end : name_end + 1] in (":", "：") or value in _FORM_WORDS:
            # 签名：盖章 is what to do there; 签名：时间： is an empty field and the next label.
            return []
        if (
            field
            and not name_field
            and (
                value in _NOT_NAMES
                or (value[:2] in _NOT_NAMES and _is_han(text[name_end : name_end + 1]))
            )
        ):
            return []
        name_end = self._trim(text, name_start, name_end, field)
        if name_end > name_start:
            return [Candidate(name_start, name_end, PERSON, LABELLED)]
        return []

    def _trim(self, text: str, start: int, end: int, labelled: bool = False) -> int:
        """End of the name once masked forms and name-like words are ruled out; start if none."""
        surname_len = 2 if text[start : start + 2] in self._compounds else 1
        if end < len(text) and text[end - 1] == "某" and text[end] in _MASK_AFTER:
            return start
        if text[start + surname_len : start + surname_len + 1] == "某":
            return end if end >= len(text) or text[end] not in _MOU_TAIL else start
        if end < len(text) and text[end] in _MASK_AFTER:
            return start
        if labelled:
            return end
        while end - start > surname_len:
            if text[start:end] not in _NOT_NAMES and text[start : start + 2] not in _NOT_NAMES:
                return end
            end -= 1
        return start

    def _before_title(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        if text[start - 1 : start] not in _MAY_END_NAME:
            # Most titles follow a line break, a colon or a verb (谢谢医生, 咨询医生).
            return
        name_start = self._name_before(text, start, allow_bare_surname=True, context=WEAK)
        if name_start is None:
            # A title follows many words (向家庭医生, 按时完成医生): a rare given name
            # only where a clause or an opening word (经, 请, 由) stands before it.
            name_start = self._name_before(text, start, allow_bare_surname=False)
            if name_start is not None and name_start and not _opens_name(text[name_start - 1]):
                return
        if name_start is None:
            name_start = self._name_before(text, start, allow_bare_surname=False, context=FIELD)
            if (
                name_start is None
                or text[name_start - 1 : name_start] not in _HANDED_TO
                or text[name_start - 1 : name_start + 1] in _HANDED_TO_WORDS
            ):
                return
        yield Candidate(name_start, end, PERSON, LABELLED)
        if self._is_name(text[name_start:start], BESIDE):
            # The bare name as well, so that refine() finds it again elsewhere.
            yield Candidate(name_start, start, PERSON, LABELLED)

    def _around_title(self, text: str, start: int, end: int) -> list[Candidate]:
        # A list, and the side with no name ruled out here: 医生 is the commonest trigger.
        found = self._after_label(text, start, end)
        if text[start - 1 : start] in _MAY_END_NAME:
            found.extend(self._before_title(text, start, end))
        return found

    def _name_before(
        self, text: str, at: int, allow_bare_surname: bool, context: int = BESIDE
    ) -> int | None:
        """Start of a name that ends at ``at``: full names first, then a bare surname."""
        last = text[at - 1 : at]
        # Most hits have no name before them: the last character rules out most at once.
        could_be_given = last in (_GIVEN_OR_RARE if context else self._given)
        for length in (4, 3, 2) if could_be_given else ():
            begin = at - length
            if begin < 0:
                continue
            head = text[begin]
            if not (head in self._surnames or text[begin : begin + 2] in self._compounds):
                continue
            candidate = text[begin:at]
            if self._is_name(candidate, context) and candidate not in _NOT_NAMES:
                surname = candidate[:2] if candidate[:2] in self._compounds else candidate[0]
                if (len(surname) == 2 or surname in self._surnames) and _free_before(text, begin):
                    return begin
        if not allow_bare_surname:
            return None
        if at >= 2 and text[at - 2 : at] in self._compounds and _free_before(text, at - 2):
            return at - 2
        if at >= 1 and _free_before(text, at - 1):
            surname = text[at - 1]
            if surname in self._title_surnames:
                return at - 1
            # 于医生 is a name after 经 or 找, a phrase in 请于医生指导下.
            before = text[at - 2] if at >= 2 else ""
            relaxed = surname in "于全常平时" and not _is_han(before)
            if surname in self._surnames and (relaxed or before in "经找问跟叫谢喊见"):
                return at - 1
        return None

    def _short_form(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        if text[start : end + 1] in _NOT_SHORT_NAMES or not _free_before(text, start):
            return
        after = text[end : end + 1]
        # The rarer surnames (小白, 小叶) also start words: they need a clear word break.
        if text[start + 1] in _SHORT_FORM_EXTRA and after and after not in _AFTER_SHORT_NAME:
            return
        yield Candidate(start, end, PERSON, LABELLED)

    def _mou(self, text: str, start: int, end: int) -> list[Candidate]:
        if end < len(text) and (text[end] in _MASK_AFTER or text[end] in _MOU_TAIL):
            return []
        if (
            start >= 2
            and text[start - 2 : start] in self._compounds
            and _free_before(text, start - 2)
        ):
            return [Candidate(start - 2, end, PERSON, LABELLED)]
        if start >= 1 and text[start - 1] in self._surnames and _free_before(text, start - 1):
            return [Candidate(start - 1, end, PERSON, LABELLED)]
        return []

    def _surname_only(self, text: str, start: int, end: int) -> list[Candidate]:
        """我姓吴，叫…: the surname told alone."""
        pair = text[end : end + 2]
        surname = pair if pair in self._compounds else text[end : end + 1]
        after = text[end + len(surname) : end + len(surname) + 1]
        known = surname in self._surnames or len(surname) == 2
        if surname and known and after in ("", "，", ",", "。", "、", " ", "叫", "的"):
            return [Candidate(end, end + len(surname), PERSON, LABELLED)]
        return []

    def _before_sex(self, text: str, start: int, end: int) -> list[Candidate]:
        if end < len(text) and _is_han(text[end]) and text[end] not in "性，,、）) ":
            return []
        # 李桂芝，78岁，女: the age may stand between the name and the sex.
        age = _AGE_BEFORE_SEX.search(text, max(0, start - 8), start)
        at = age.start() if age else start
        name_start = self._name_before_vouched(text, at, self._introduced)
        if name_start is None:
            return []
        return [Candidate(name_start, at, PERSON, LABELLED)]

    def _before_mark(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        """由李明华陪同, 王建国之子, 张伟签字: a name right before the word."""
        if text[start - 1 : start] not in _MAY_END_NAME:
            return
        name_start = self._name_before_vouched(text, start, self._introduced)
        if name_start is not None:
            yield Candidate(name_start, start, PERSON, LABELLED)

    def _name_before_vouched(
        self, text: str, at: int, vouched: Callable[[str, int], bool]
    ) -> int | None:
        """A name before ``at``; a rarer one (鲁祎, 牛劼) where ``vouched`` says so too."""
        begin = self._name_before(text, at, allow_bare_surname=False)
        if begin is None:
            begin = self._name_before(text, at, allow_bare_surname=False, context=FIELD)
            if begin is not None and not vouched(text, begin):
                return None
        return begin

    def _introduced(self, text: str, at: int) -> bool:
        """A line or clause starts at ``at``, or a word that introduces a name ends there."""
        return (
            _at_line_start(text, at)
            or text[at - 1 : at] == "由"
            or text[max(0, at - 2) : at] in self._label_set
            or text[max(0, at - 3) : at] in self._label_set
        )

    def _around_mark(self, text: str, start: int, end: int) -> list[Candidate]:
        found = self._after_label(text, start, end)
        if text[start - 1 : start] in _MAY_END_NAME:
            found.extend(self._before_mark(text, start, end))
        return found

    def _around_greeting(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        """王建国您好, 王建国，你好, 您好，张伟，: a name beside a greeting."""
        if text[end : end + 1] == "好":
            return
        at = start - 1 if start and text[start - 1] in "，, " else start
        after = end + 1 if text[end : end + 1] in "，, " else end
        if (
            text[at - 1 : at] not in _MAY_END_NAME
            and text[after : after + 1] not in self._may_start
        ):
            # 医生：您好，请问…: neither side can hold a name.
            return
        begin = self._name_before_vouched(text, at, _at_line_start)
        if begin is not None and (begin == 0 or _opens_name(text[begin - 1])):
            yield Candidate(begin, at, PERSON, LABELLED)
        at = end + 1 if text[end : end + 1] in "，, " else end
        name_end = self._read_name(text, at, BESIDE)
        value = text[at:name_end]
        if (
            name_end > at + 1
            and text[name_end : name_end + 1] in ("，", ",", "。", "！", "!", "\n", " ", "")
            and value not in _NOT_NAMES
            and value[:2] not in _NOT_NAMES
        ):
            yield Candidate(at, name_end, PERSON, LABELLED)

    def _after_latin_label(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        if start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
            return
        match = self._latin.match(text, end)
        if not match:
            return
        label = text[start:end]
        colon = match.group().lstrip(" \t").startswith((":", "："))
        if label[0] in "NnP" and not colon:
            # Name: and Patient: are labels; "patient John" in a sentence is not.
            return
        name_start = start if label.endswith(".") or label == "Miss" else match.start("name")
        yield Candidate(name_start, match.end("name"), PERSON, LABELLED)


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _at_line_start(text: str, at: int) -> bool:
    """Nothing but a line break, a speaker's colon or a sentence end stands before ``at``."""
    return at == 0 or text[at - 1] in "\n\r\t ：:。；;】]"


def _opens_name(char: str) -> bool:
    return not _is_han(char) or char in _OPENERS


def _free_before(text: str, at: int) -> bool:
    """True when the character before ``at`` cannot be the first half of the name's word.

    A doubled character (谢谢医生, 常常) is a word, not a surname after a verb.
    """
    if at == 0 or not _is_han(text[at - 1]):
        return True
    return text[at - 1] in _BEFORE_NAME and text[at - 1] != text[at]
