"""Person names: labels, titles, dialogue forms, masked forms and name-like words."""

from __future__ import annotations

import pytest

from pipelines.deid import Deidentifier


def names(engine: Deidentifier, text: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.detect(text) if s.category == "PERSON"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("姓名：张伟  性别：男  年龄：45岁", ["张伟"]),
        ("姓名 欧阳娜娜\t性别 女", ["欧阳娜娜"]),
        ("患者诸葛明，男，62岁，因胸痛入院。", ["诸葛明"]),
        ("病史陈述者：其女李秀英。", ["李秀英"]),
        ("主治医师：王建国  住院医师：刘芳", ["王建国", "刘芳"]),
        ("检验者：周萍\t审核者：司马光", ["周萍", "司马光"]),
        ("其子赵强陪同就诊。", ["赵强"]),
        ("联系人：孙丽（女儿）", ["孙丽"]),
        ("家长：王芳，电话未留。", ["王芳"]),
        ("送检者：赵敏\t接收者：钱程", ["赵敏", "钱程"]),
        ("谈话人：周杰  见证人：孙丽", ["周杰", "孙丽"]),
        ("紧急联系人/电话：李娜/13912345678", ["李娜"]),
        ("患者张伟之母代诉病史。", ["张伟"]),
        ("我老公叫周强，今年40岁。", ["周强"]),
        ("我爸爸何长贵今年72岁了。", ["何长贵"]),
        ("我爸叫李建国，72岁，退休工人。", ["李建国"]),
        ("我的名字是王建国，上次来过。", ["王建国"]),
    ],
)
def test_names_after_labels_are_found(engine: Deidentifier, text: str, expected: list[str]) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("张先生，您的检查结果出来了。", ["张先生"]),
        ("李女士您好，请问哪里不舒服？", ["李女士"]),
        ("这个问题需要问王医生。", ["王医生"]),
        ("明天请刘主任会诊。", ["刘主任"]),
        ("经王建国主任查房后调整方案。", ["王建国主任"]),
        ("小陈说他明天来复查。", ["小陈"]),
        ("老赵，你的血压控制得不错。", ["老赵"]),
        ("患者周某，女，95岁。", ["周某"]),
        ("向家属孙女士交代病情。", ["孙女士"]),
    ],
)
def test_names_in_dialogue_conventions_are_found(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "患者张某某，男，60岁。",
        "患者王**，女，因腹痛就诊。",
        "患者李XX于昨日入院。",
        "精神可，签名：陈*\n医师签名：赵××\n",
        "术者：王＊  一助：张某某  麻醉医师：李Ｘ",
        "姓名:刘某某\t性别:男",
        "患者平素体健，否认高血压病史。",
        "患者高热3天，体温最高39.5℃。",
        "建议您及时向医生咨询。",
        "请于医生指导下用药。",
        "你是一名耐心细致的全科医生。",
        "这种情况要找专科医生看看。",
        "谢谢医生！",
        "乳腺小叶增生，建议复查。",
        "叶为3小叶的复叶，通过小切口或小孔进入腹腔。",
        "结节小于5mm，定期随访。",
        "请医生查明病因后再治疗。",
        "借助辅助手段来改善症状。",
    ],
)
def test_masked_names_and_name_like_words_are_left_alone(engine: Deidentifier, text: str) -> None:
    assert names(engine, text) == []


def test_a_name_found_once_is_found_everywhere_in_the_document(engine: Deidentifier) -> None:
    text = "姓名：陈静。陈静于3天前出现头痛，陈静否认外伤史。"
    assert names(engine, text) == ["陈静", "陈静", "陈静"]


def test_a_given_name_used_alone_after_the_full_name_is_found(engine: Deidentifier) -> None:
    text = "家长：孩子叫李子轩，今年3岁。\n医生：子轩有没有发烧？\n家长：王阿姨说阿姨也发烧了。"
    assert names(engine, text) == ["李子轩", "子轩", "王阿姨"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("姓名：王　芳  性别：女\n王芳于3天前出现发热。", ["王\u3000芳", "王芳"]),
        ("主治医师：李  强    住院医师：张 伟", ["李  强", "张 伟"]),
        ("患者：王 我头疼。姓名：张 某", []),
    ],
)
def test_a_two_character_name_padded_to_the_width_of_three_is_found(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


def test_a_latin_name_in_a_chinese_name_field_is_found(engine: Deidentifier) -> None:
    text = "患者姓名：Zhang Wei，男，45岁。医生：CT提示肺结节。"
    assert names(engine, text) == ["Zhang Wei"]


def test_a_name_before_a_sex_and_age_note_is_found(engine: Deidentifier) -> None:
    assert names(engine, "黄晓明，男，52岁，反复咳嗽2周。") == ["黄晓明"]


def test_a_latin_name_after_its_label_is_found(engine: Deidentifier) -> None:
    assert names(engine, "Patient name: John Smith, 67 years old.") == ["John Smith"]


def test_a_surname_told_alone_is_found(engine: Deidentifier) -> None:
    assert names(engine, "患者：我姓吴，叫吴德明，今年58了。") == ["吴", "吴德明"]
    assert names(engine, "陪诊的是我老婆，她姓李") == ["李"]


def test_a_name_glued_to_a_title_label_at_the_end_of_a_phrase_is_found(
    engine: Deidentifier,
) -> None:
    assert names(engine, "张主任查房：切口愈合良好。记录：护士刘婷") == ["张主任", "刘婷"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("张伟，女，32岁，因发热3天入院。", ["张伟"]),
        ("李桂芝，78岁，女，退休教师。", ["李桂芝"]),
        ("家属王建国签字。", ["王建国"]),
        ("由李明华陪同入院。", ["李明华"]),
        ("病史由孙丽华代诉，可靠。", ["孙丽华"]),
        ("王建国之子王磊陪同就诊。", ["王建国", "王磊"]),
        ("王建国您好，请问哪里不舒服？", ["王建国"]),
        ("医生：王建国，您好，报告出来了。", ["王建国"]),
        ("您好，张伟，您的报告已出。", ["张伟"]),
        ("主治医师 孙立 \n", ["孙立"]),
        ("3床 赖桂香 女 76岁 COPD急性加重，5床 傅海 男 58岁 术后第1天。", ["赖桂香", "傅海"]),
        ("今日随庞国栋主任医师查房。", ["庞国栋主任医师"]),
        ("上级医师王建国主任医师查房后指示：继续抗感染治疗。", ["王建国主任医师"]),
    ],
)
def test_bare_names_are_found_by_the_words_around_them(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("姓名：闫翀  性别：男", ["闫翀"]),
        ("签名：郑赟", ["郑赟"]),
        ("记录者：易晞，2013年12月", ["易晞"]),
        ("刘旻，男，45岁，因胸痛入院。", ["刘旻"]),
        ("患者欧阳翀，男，6岁。", ["欧阳翀"]),
        ("紧急联系人:周旻\n", ["周旻"]),
        ("其子鲁祎陪同就诊。", ["鲁祎"]),
        ("医生：毛堇您好，请问哪里不舒服？", ["毛堇"]),
        ("转诊医生：文玥，联系电话见附页。", ["文玥"]),
    ],
)
def test_rare_given_name_characters_are_read_where_the_context_vouches_for_a_name(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


def test_a_rare_given_name_character_needs_a_strong_context(engine: Deidentifier) -> None:
    # 患者 glued to the name is a weak context: the whitelist decides, and 旻 is not in it.
    assert names(engine, "患者刘旻因胸痛入院。") == []


def test_the_time_a_history_starts_closes_a_name_after_the_patient_label(
    engine: Deidentifier,
) -> None:
    assert names(engine, "现病史：患者张劼于7年前无明显诱因出现胸痛。") == ["张劼"]
    assert names(engine, "患者黄疸于3天前加重，患者曾于3年前行手术。") == []


def test_the_time_a_history_starts_vouches_for_a_rare_surname_and_given_name(
    engine: Deidentifier,
) -> None:
    assert names(engine, "现病史：患者庞钊于10年前无明显诱因出现胸闷。") == ["庞钊"]
    # A finding of a limb or a rhythm stands there too: its characters are no given name.
    assert names(engine, "患者房颤于3年前确诊，患者左膝于2年前开始疼痛。") == []


def test_a_word_that_hands_the_patient_over_vouches_for_a_rare_name_before_a_title(
    engine: Deidentifier,
) -> None:
    assert names(engine, "2021-04-04行冠脉造影，经包昶医生查房后调整治疗方案。") == ["包昶医生"]
    assert names(engine, "经麻醉医生评估后手术，病情随时变化医生会告知。") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("医生您好，我是张伟，今年45岁，最近总是头疼。", ["张伟"]),
        ("我是李秀英的女儿，想替我妈问一下。", ["李秀英"]),
        ("本人王芳，女，因头痛就诊。", ["王芳"]),
        ("我叫李秀英，65岁，高血压十年。", ["李秀英"]),
    ],
)
def test_self_introductions_are_found(engine: Deidentifier, text: str, expected: list[str]) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text", ["我是张家口人，在北京工作。", "我是高中生，最近失眠。", "我是张某某的家属。"]
)
def test_a_self_introduction_must_end_its_clause_with_the_name(
    engine: Deidentifier, text: str
) -> None:
    assert names(engine, text) == []


def test_a_named_speaker_at_the_start_of_a_line_is_found_in_every_turn(
    engine: Deidentifier,
) -> None:
    text = "张伟：医生您好，我最近头疼。\n李医生：您好，疼了多久了？\n张伟：三天了。"
    assert names(engine, text) == ["张伟", "李医生", "张伟"]


def test_a_speaker_with_a_rare_given_name_is_found_when_the_speaker_speaks_again(
    engine: Deidentifier,
) -> None:
    text = "张昶：头疼三天了\n医生：发热吗？\n张昶：不发热"
    assert names(engine, text) == ["张昶", "张昶"]


def test_role_speakers_and_field_labels_at_the_start_of_a_line_are_not_names(
    engine: Deidentifier,
) -> None:
    text = "患者：医生您好\n医生：你好\n家属：他头疼\n印象：肝囊肿\n印象：胆囊结石\n黄柏：清热燥湿"
    assert names(engine, text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("患者签名：盖章", []),
        ("医生签名：时间：2023-03-05", []),
        ("家属签名：王建国 日期：2023年3月5日", ["王建国"]),
    ],
)
def test_a_signature_field_holds_a_name_not_what_to_do_there(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "医生：金银花是一种常见的中药，可以清热解毒。",
        "患者：夏季身体出汗睡不着怎么办？",
        "做完检查后及时和医生沟通。",
        "患者于一年多前无明显诱因出现胸痛。",
        "我的高中同学是乙肝小三阳。",
        "我们的班主任患酒精肝。",
        "请家属签字。",
        "由家属陪同入院，由司机陪同返家。",
        "谢谢您好，那您好好休息，同时祝您好运。",
        "高龄，男性，既往高血压病史。",
        "王不留行10g，黄芪30g，白细胞12.3×10^9/L，温度38.5℃，周期28天。",
        "3. 中重度高血压患者：艾灸会导致体表温度升高。",
        "可每周腹腔麻醉白介素-2压制腹水。",
        "你可以向家庭医生寻求推荐，按时完成医生安排的检查。",
        "麻醉方式：全麻。",
        "我妈妈高血压十年了，爸爸常年抽烟，我老公经常喝酒。",
        "农民，男，45岁。黎族，女，已婚。\n文员，女，32岁。\n华侨，男。全家您好！",
        "麻醉：全麻\n记录：卫生宣教\n记录者：白班\n报告人：解释\n陪同人：司机",
    ],
)
def test_surname_initial_words_beside_name_contexts_are_left_alone(
    engine: Deidentifier, text: str
) -> None:
    assert names(engine, text) == []


def test_a_register_of_many_patients_finds_every_name_again(engine: Deidentifier) -> None:
    # More names than are looked for one by one: the one-pass search gives the same spans.
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
    people = [surname + g for surname in "王李张刘陈" for g in given[:5]]
    text = "".join(f"姓名：{p}，复诊。" for p in people) + "".join(f"{p}已出院。" for p in people)
    assert names(engine, text) == people + people


@pytest.mark.parametrize(
    "text, expected",
    [
        ("术者：张伟、李娜、王芳。", ["张伟", "李娜", "王芳"]),
        ("医师：张伟/李娜", ["张伟", "李娜"]),
        ("家属王建国、李秀英签字。", ["王建国", "李秀英"]),
    ],
)
def test_names_listed_after_a_name_are_found(
    engine: Deidentifier, text: str, expected: list[str]
) -> None:
    assert names(engine, text) == expected


def test_a_list_after_a_name_stops_at_the_first_word_that_is_not_a_name(
    engine: Deidentifier,
) -> None:
    assert names(engine, "患者张伟、高血压病史10年。姓名：李娜、性别：女") == ["张伟", "李娜"]
