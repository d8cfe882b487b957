"""Codes that identify a person only through their label: record numbers (MRN), insurance
numbers, passports and travel permits, WeChat and QQ accounts; and licence plates.

A hospital record number has no standard shape (住院号 1234567, 门诊号 MZ20230001, ID号
00012345): the label is the evidence, so the value after it is taken whole. Passports
follow the Exit-Entry Administration's formats (E + 8 digits, or E + letter + 7 digits for
ordinary passports, G for older ones; C + 8 for the Hong Kong/Macau permit, T or L + 8 for
the Taiwan permit; H/M + 8 or 10 for the home-return permit); without a label only the
passport shapes (E, G) are taken, as H + 8 digits is also a drug approval number
(国药准字). Plates follow GA 36-2018: a province character, a letter (not I or O), then
5 characters, or 6 for the 8-character new-energy plates (D/F first or last). QQ numbers
are 5-12 digits not starting with 0; WeChat IDs are 6-20 letters, digits, _ or -, starting
with a letter (WeChat's own rule).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from pipelines.deid.recognizers import LABEL_GAP, Recognizer, Shape, TriggerHandler
from pipelines.deid.spans import (
    CHECKED,
    INSURANCE,
    LABELLED,
    MRN,
    PASSPORT,
    PLATE,
    QQ,
    SHAPED,
    WECHAT,
    Candidate,
)

MRN_LABELS = (
    "住院号", "住院号码", "住院病历号", "病案号", "病案号码", "病历号", "病历号码", "门诊号",
    "门诊号码", "急诊号", "ID号", "患者ID", "病人ID", "就诊ID", "住院ID", "PID", "登记号",
    "就诊卡号", "就诊号", "诊疗卡号", "医疗卡号", "门诊卡号", "健康卡号", "检查号", "影像号",
    "放射号", "病理号", "标本号", "标本编号", "样本编号", "检验编号", "病历编号", "登记编号",
    "检验号", "样本号", "条码号", "申请单号", "医嘱号", "档案号", "健康档案号", "流水号",
    "住院流水号", "门诊流水号", "报告单号", "报告编号", "超声号", "心电图号", "胃镜号", "体检号",
    "预约号", "挂号单号", "HIS号", "住院编号", "病案编号", "患者编号", "病人编号", "就诊编号",
    "CT号", "MR号", "MRI号", "X线号", "ID", "MRN", "检查单号", "检验单号", "化验单号", "检查编号",
    "病理编号", "影像编号",
)  # fmt: skip
INSURANCE_LABELS = (
    "医保卡号", "医保号", "医保编号", "医保账号", "医疗保险号", "医疗保险卡号", "社保卡号",
    "社保号", "社会保障卡号", "社会保障号", "社保编号", "社会保障号码", "新农合号", "新农合卡号",
    "合作医疗号", "合作医疗证号", "参保号", "参保人编号", "医保个人编号", "个人编号", "保险单号",
    "保单号", "医保卡", "社保卡",
)  # fmt: skip
PASSPORT_LABELS = (
    "护照", "护照号", "护照号码", "通行证", "通行证号", "通行证号码", "港澳通行证",
    "往来港澳通行证", "台湾通行证", "回乡证", "台胞证", "军官证", "士兵证", "驾驶证",
    "驾驶证号", "居留证", "居留许可", "签证号", "Passport", "PASSPORT",
)  # fmt: skip
WECHAT_LABELS = (
    "微信", "微信号", "微信ID", "微信id", "WeChat", "Wechat", "WX", "wx", "VX", "vx",
    "V信", "v信", "威信", "薇信", "微信账号",
)  # fmt: skip
QQ_LABELS = ("QQ", "qq", "QQ号", "QQ号码", "qq号", "扣扣", "企鹅号")

_PROVINCES_SHORT = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class CodeRecognizer(Recognizer):
    """MRN, INSURANCE, PASSPORT, WECHAT, QQ after their labels; PLATE and passports by shape."""

    def __init__(self) -> None:
        self._code = re.compile(
            LABEL_GAP + r"(?:[A-Za-z0-9Ａ-Ｚａ-ｚ０-９][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-_/.]{2,29})"
        )
        self._wechat = re.compile(LABEL_GAP + r"(?:[A-Za-z][A-Za-z0-9_\-]{5,19}|1[3-9]\d{9})")
        self._qq = re.compile(LABEL_GAP + r"[1-9]\d{4,11}(?!\d)")

    def triggers(self) -> dict[str, TriggerHandler]:
        table: dict[str, TriggerHandler] = {}
        for labels, handler in (
            (MRN_LABELS, self._mrn),
            (INSURANCE_LABELS, self._insurance),
            (PASSPORT_LABELS, self._passport_value),
            (WECHAT_LABELS, self._wechat_value),
            (QQ_LABELS, self._qq_value),
        ):
            for label in labels:
                table[label] = _whole_word(label, handler)
        return table

    def shapes(self) -> list[Shape]:
        """Plates from their province and letter (京A), passports from E or G and the next."""
        plate = (
            f"[·•・\\s]?(?:[DF][{_PLATE_LETTER}0-9]\\d{{4}}|\\d{{5}}[DF]"
            f"|[{_PLATE_LETTER}0-9]{{4}}[{_PLATE_LETTER}0-9挂学警领港澳])(?![A-Za-z0-9])"
        )
        # E12345678 or EA1234567: the anchor holds the first of eight characters after E.
        passport = r"(?<![A-Za-z0-9]..)\d{7}(?![A-Za-z0-9])"
        return [
            Shape(province + letter, plate, self._plate)
            for province in _PROVINCES_SHORT
            for letter in _PLATE_LETTERS
        ] + [
            Shape(kind + second, passport, self._passport)
            for kind in "EG"
            for second in string.ascii_uppercase + string.digits + "０１２３４５６７８９"
        ]

    def _plate(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        if any(c.isdigit() for c in text[start:end]):
            yield Candidate(start, end, PLATE, CHECKED)

    def _passport(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        yield Candidate(start, end, PASSPORT, SHAPED)

    def _value(
        self, pattern: re.Pattern[str], text: str, end: int, category: str
    ) -> Iterable[Candidate]:
        match = pattern.match(text, end)
        if not match:
            return
        value = match.group()
        begin = end + len(value) - len(value.lstrip(" \t\u3000:：为是"))
        value_end = match.end()
        while value_end > begin and text[value_end - 1] in "-_/.":
            value_end -= 1
        if any(c.isdigit() for c in text[begin:value_end]) or category == WECHAT:
            yield Candidate(begin, value_end, category, LABELLED)

    def _mrn(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._value(self._code, text, end, MRN)

    def _insurance(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._value(self._code, text, end, INSURANCE)

    def _passport_value(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._value(self._code, text, end, PASSPORT)

    def _wechat_value(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._value(self._wechat, text, end, WECHAT)

    def _qq_value(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._value(self._qq, text, end, QQ)


def _whole_word(label: str, handler: TriggerHandler) -> TriggerHandler:
    """A Latin label (ID, QQ, wx) counts only as a word of its own, not inside IDH1 or QQQ."""
    if not (label[0].isascii() or label[-1].isascii()):
        return handler

    def guarded(text: str, start: int, end: int) -> Iterable[Candidate]:
        if label[0].isascii() and start > 0 and _is_latin_alnum(text[start - 1]):
            return ()
        if label[-1].isascii() and end < len(text) and _is_latin_alnum(text[end]):
            return ()
        return handler(text, start, end)

    return guarded


def _is_latin_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()
