"""Numbers that identify a person: resident ID numbers, phone numbers, bank cards, IPs.

Shapes come from the standards: GB 11643-1999 (18-character ID: 6-digit region, YYYYMMDD
birth date, 3-digit sequence, ISO 7064 MOD 11-2 check character, X for 10; the older
15-character form has a YYMMDD date and no check), the numbering plan of the Ministry of
Industry and Information Technology (mobile numbers are 11 digits starting 13-19; area
codes are 010, 02X or a 4-digit 0XXX, local numbers 7-8 digits; 400/800 service numbers
are 10 digits), and ISO/IEC 7812 (bank cards of 16-19 digits with a Luhn check; UnionPay
cards start with 62). IPv6 addresses follow RFC 4291 (eight groups of 1-4 hex digits, or
fewer around one ``::``) and are checked with `ipaddress`; a clock time (12:30:45) has
neither eight groups nor ``::``.

A checksum turns a noisy shape into an exact one, so an 18-digit number is an ID only when
its check character is right, and a 16-19 digit number is a card only when Luhn holds;
a label (身份证号：, 卡号：) lifts both requirements. A negative label nearby (批号,
国药准字...) keeps lot and approval numbers from being read as phones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from stdnum import luhn
from stdnum.cn import ric

from pipelines.deid.recognizers import DIGIT, LABEL_GAP, Recognizer, Shape, TriggerHandler
from pipelines.deid.spans import (
    BANK_CARD,
    CHECKED,
    ID_CARD,
    IP,
    LABELLED,
    PHONE,
    SHAPED,
    Candidate,
)

_ASCII_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")

# Words before a number that say it is a lot, approval or product number, not a person's.
_NOT_PERSONAL = re.compile(
    r"(?:批号|批准文号|国药准字|准字|注册证号|注册号|货号|型号|规格|产品编号|生产日期|有效期"
    r"|序列号|版本号|订单号|快递单号|运单号|发票号|标准号|GB|ISBN|DOI|PMID|NCT)"
    r"[^，。；\n]{0,6}$"
)

_HEX = "[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(
    rf"(?<![0-9A-Za-z:])(?:(?:{_HEX}:){{7}}{_HEX}"
    rf"|(?:{_HEX}(?::{_HEX}){{0,6}})?::(?:{_HEX}(?::{_HEX}){{0,6}})?)(?![0-9A-Za-z:])"
)

_PHONE_LABELS = (
    "电话", "联系电话", "手机", "手机号", "手机号码", "电话号码", "联系方式", "座机", "家庭电话",
    "单位电话", "紧急联系电话", "联系人电话", "家属电话", "Tel", "TEL", "Phone", "Mobile", "电话号",
    "号码", "来电", "致电",
)  # fmt: skip
_ID_LABELS = (
    "身份证", "身份证号", "身份证号码", "公民身份号码", "身份号码", "证件号", "证件号码",
    "居民身份证", "身份证件号",
)  # fmt: skip
_BANK_LABELS = ("银行卡", "银行卡号", "银行账号", "卡号", "账号", "银行帐号", "帐号", "开户账号")


def ascii_digits(value: str) -> str:
    """Digits and X only, full-width folded to ASCII: the number as a checksum sees it."""
    return re.sub(r"[^0-9X]", "", value.translate(_ASCII_DIGITS))


def is_id18(digits: str) -> bool:
    """GB 11643 18-character number with a valid check character and birth date."""
    return (
        len(digits) == 18
        and digits[:17].isdigit()
        and _plausible_birth(digits[6:14])
        # python-stdnum computes the check character of a number that includes one.
        and ric.calc_check_digit(digits) == digits[17]
    )


def looks_like_id(digits: str) -> bool:
    """A resident ID number's shape (region, birth date), the check character aside."""
    if len(digits) == 18 and digits[:17].isdigit() and digits[0] in "12345678":
        return _plausible_birth(digits[6:14])
    if len(digits) == 15 and digits.isdigit() and digits[0] in "12345678":
        return _plausible_birth("19" + digits[6:12])
    return False


def is_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789" and digits.isdigit()


def is_landline(digits: str) -> bool:
    """Area code (010, 02X, 0XXX) followed by a 7-8 digit local number."""
    if not digits.isdigit() or len(digits) < 10 or digits[0] != "0":
        return False
    area = 3 if digits[1] in "12" else 4
    local = digits[area:]
    return len(local) in (7, 8) and local[0] not in "01"


def is_card(digits: str) -> bool:
    return 16 <= len(digits) <= 19 and digits.isdigit() and luhn.is_valid(digits)


def _plausible_birth(yyyymmdd: str) -> bool:
    if not yyyymmdd.isdigit():
        return False
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    return 1900 <= year <= 2030 and 1 <= month <= 12 and 1 <= day <= 31


class NumberRecognizer(Recognizer):
    """ID_CARD, PHONE, BANK_CARD and IP, from digit runs and their labels."""

    def __init__(self) -> None:
        self._group_split = re.compile(r"[ \u3000\-－–—]")
        self._area_before = re.compile(r"(?:\(|（)\s?0\d{2,3}\s?(?:\)|）)\s?$")
        self._country_before = re.compile(r"(?:\+|＋)\s?$|(?:\(|（)\+?86(?:\)|）)\s?$")
        self._extension = re.compile(r"\s?(?:转|分机|ext\.?|EXT\.?|x|-)\s?\d{1,6}(?!\d)")
        self._label_value = re.compile(
            LABEL_GAP
            + r"(?:\(|（)?(?:\+?86)?[\d０-９](?:[\d０-９]|[ \-－–—()（）](?=[\d０-９(（])){5,22}"
            r"(?:[XxＸｘ](?![A-Za-z]))?"
        )

    def scan(self, text: str) -> list[Candidate]:
        # Every IPv6 address has 7 colons or a "::": a count and a find rule most texts out.
        if "::" not in text and text.count(":") < 7:
            return []
        found: list[Candidate] = []
        for match in _IPV6.finditer(text):
            value = match.group()
            try:
                address = ipaddress.IPv6Address(value)
            except ValueError:
                continue
            # ::1 and :: name no machine; a3::b7 is as likely a code as an address.
            if not (address.is_loopback or address.is_unspecified) and len(value) >= 8:
                found.append(Candidate(match.start(), match.end(), IP, CHECKED))
        return found

    def triggers(self) -> dict[str, TriggerHandler]:
        table: dict[str, TriggerHandler] = {}
        for label in _PHONE_LABELS:
            table[label] = self._labelled_phone
        for label in _ID_LABELS:
            table[label] = self._labelled_id
        for label in _BANK_LABELS:
            table[label] = self._labelled_card
        return table

    def shapes(self) -> list[Shape]:
        return [
            # A run: digits in groups joined by one space or dash, 7 characters or more.
            Shape(
                DIGIT,
                r"(?<![A-Za-z_]\d)(?:\d|[ \u3000\-－–—](?=\d)){6,}(?:[XxＸｘ](?![A-Za-z]))?"
                r"(?![0-9０-９A-Za-z])",
                self._run,
                ahead=r"(?:\d|[ \u3000\-－–—]){6}",
            ),
            Shape(
                DIGIT,
                r"(?<![.．]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)(?::\d{2,5})?",
                self._ip,
                ahead=r"\d{0,2}\.",
            ),
        ]

    def _run(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._classify(text, start, text[start:end])

    def _ip(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        octets = text[start:end].split(":")[0].split(".")
        if any(int(o) > 255 or (len(o) > 1 and o[0] == "0") for o in octets):
            return
        # 5.64.52.9 is as likely a row of measurements: a low first octet needs a label.
        if int(octets[0]) >= 10 or "IP" in text[max(0, start - 12) : start].upper():
            yield Candidate(start, end, IP, CHECKED)

    def _classify(self, text: str, start: int, run: str) -> Iterable[Candidate]:
        """Split a run into its groups and read the longest number at each group."""
        negative = _NOT_PERSONAL.search(text, max(0, start - 16), start) is not None
        groups = []
        offset = start
        for part in self._group_split.split(run):
            if part:
                groups.append((offset, offset + len(part), part.translate(_ASCII_DIGITS)))
            offset += len(part) + 1
        i = 0
        while i < len(groups):
            found = None
            # No number read here is longer than a 19-digit card: a run of many groups
            # (a table row of numbers) is read in windows, not in all its spans.
            last, width = i, len(groups[i][2])
            while last + 1 < len(groups) and width + len(groups[last + 1][2]) <= _LONGEST:
                last += 1
                width += len(groups[last][2])
            for j in range(last, i - 1, -1):
                if any(len(g[2]) < 3 for g in groups[i + 1 : j]):
                    # Numbers are written in groups of 3 or 4 (138 1234 5678, 6222 0212
                    # 3456 7890); 12 13 14 15 is a row of values.
                    continue
                digits = "".join(g[2] for g in groups[i : j + 1])
                category, strength = _read(digits)
                # Under a lot-number label only a checksummed ID number still counts.
                if category and not (negative and category != ID_CARD):
                    found = (j, category, strength)
                    break
            if found is None:
                i += 1
                continue
            j, category, strength = found
            begin, end = groups[i][0], groups[j][1]
            if category == PHONE:
                begin, end = self._widen_phone(text, begin, end)
            yield Candidate(begin, end, category, strength)
            i = j + 1
        local = "".join(g[2] for g in groups)
        if 7 <= len(local) <= 8 and local[0] not in "01" and not negative:
            before = self._area_before.search(text, max(0, start - 9), start)
            if before:
                _, end = self._widen_phone(text, start, start + len(run))
                yield Candidate(before.start(), end, PHONE, CHECKED)

    def _widen_phone(self, text: str, begin: int, end: int) -> tuple[int, int]:
        """Take in a leading + or (+86) and a trailing extension."""
        before = self._country_before.search(text, max(0, begin - 6), begin)
        if before:
            begin = before.start()
        ext = self._extension.match(text, end)
        if ext:
            end = ext.end()
        return begin, end

    def _labelled(self, text: str, end: int, category: str) -> Iterable[Candidate]:
        match = self._label_value.match(text, end)
        if not match:
            return
        value = match.group()
        begin = end + len(value) - len(value.lstrip(" \t\u3000:：为是"))
        value_end = match.end()
        while value_end > begin and text[value_end - 1] in " -－–—(（":
            value_end -= 1
        digits = ascii_digits(text[begin:value_end])
        if category == PHONE:
            # Several numbers after one label (电话13812345678 13987654321) stay apart.
            numbers = [
                c for c in self._classify(text, begin, text[begin:value_end]) if c.category == PHONE
            ]
            if len(numbers) > 1:
                yield from (Candidate(c.start, c.end, PHONE, LABELLED) for c in numbers)
            elif len(digits) >= 7:
                yield Candidate(
                    begin, self._widen_phone(text, begin, value_end)[1], PHONE, LABELLED
                )
        elif category == ID_CARD:
            if len(digits) in (15, 18):
                yield Candidate(begin, value_end, ID_CARD, LABELLED)
        elif 12 <= len(digits) <= 19:
            yield Candidate(begin, value_end, BANK_CARD, LABELLED)

    def _labelled_phone(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._labelled(text, end, PHONE)

    def _labelled_id(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        return self._labelled(text, end, ID_CARD)

    def _labelled_card(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        # 卡号 alone labels a card; inside 医保卡号 or 就诊卡号 it is another label's tail.
        if end - start == 2 and start > 0 and "\u4e00" <= text[start - 1] <= "\u9fff":
            return ()
        return self._labelled(text, end, BANK_CARD)


# The longest number `_read` accepts: a bank card of 19 digits.
_LONGEST = 19


def _read(digits: str) -> tuple[str | None, int]:
    """The category a bare number has by its shape and checksums, and how sure that is."""
    n = len(digits)
    if n == 18 and is_id18(digits):
        return ID_CARD, CHECKED
    if "X" in digits:
        return None, 0
    if n == 15 and looks_like_id(digits):
        return ID_CARD, SHAPED
    if is_card(digits):
        return BANK_CARD, CHECKED
    if is_mobile(digits):
        return PHONE, CHECKED
    if ((n == 13 and digits[:2] == "86") or (n == 15 and digits[:4] == "0086")) and is_mobile(
        digits[-11:]
    ):
        return PHONE, CHECKED
    if is_landline(digits):
        return PHONE, SHAPED
    if n == 10 and digits[:3] in ("400", "800"):
        return PHONE, SHAPED
    return None, 0
