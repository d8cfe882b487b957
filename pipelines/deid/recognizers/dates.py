"""Dates (with their times) and ages over 89.

HIPAA's Safe Harbor list (45 CFR 164.514(b)(2)(i)(C)) is the source of both rules: every
element of a date more precise than the year is an identifier, and so is an age over 89.
A year alone (2023年) is therefore left as it is, and so are ages of 89 and under.
Formats: YYYY年M月D日, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD (full-width too), YYYY年M月,
M月D日 (or 号), D/M/YYYY, Chinese numerals (二〇二三年三月五日, 一九九五年三月十二日),
English month names, each optionally followed by a time (14:30, 14时30分, 上午9点). Two-digit
years: 95年3月12日 always, 95.3.12 (or - and /) only after a word that tells a day (于,
日期：, 出生, 入院), as elsewhere it is a version or a row of measurements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.deid.recognizers import DIGIT, Recognizer, Shape, TriggerHandler
from pipelines.deid.spans import AGE, CHECKED, DATE, LABELLED, Candidate

_PERIOD = "(?:上午|下午|凌晨|早上|早晨|晚上|中午|傍晚|夜间|夜里|晚|早)"
# A clock in Chinese numerals (下午三点二十分, 十四时三十分): an hour alone is a time only
# after a part of the day or as 十x时, since 一时 and 一点 are also "a moment", "a little".
_CN_CLOCK = "[零〇一二三四五六七八九十两]"
_TIME = (
    r"(?:(?:\s{0,2}|T)(?:" + _PERIOD + r"?\s{0,2}"
    r"(?:\d{1,2}\s?[:：]\s?\d{2}(?:\s?[:：]\s?\d{2}(?:\.\d+)?)?"
    r"|\d{1,2}\s?[时点](?:\s?\d{1,2}\s?分(?:\s?\d{1,2}\s?秒)?|半)?"
    f"|{_CN_CLOCK}{{1,3}}[时点](?:{_CN_CLOCK}{{1,3}}分(?:{_CN_CLOCK}{{1,3}}秒)?|半|整)"
    "|二?十[一二三四五六七八九]?时)"
    f"|{_PERIOD}\\s{{0,2}}{_CN_CLOCK}{{1,3}}[时点](?!点)))?"
)
_RANGE = "(?:[-~～－—]|至|到)"
_CN_DIGIT = "〇零一二三四五六七八九"
_CN_NUMBER = "一二三四五六七八九十"
_MONTHS_EN = (
    "Jan|January|Feb|February|Mar|March|Apr|April|May|Jun|June|Jul|July|Aug|August"
    "|Sep|Sept|September|Oct|October|Nov|November|Dec|December"
)


@dataclass(frozen=True)
class DateParts:
    """A date as written: the numbers, and where each sits in the text of the span."""

    year: int | None
    month: int
    day: int | None
    # (start, end) offsets inside the span text of each number, to rewrite them in place.
    year_at: tuple[int, int] | None
    month_at: tuple[int, int]
    day_at: tuple[int, int] | None


_NUMERIC_DATE = re.compile(
    r"(?P<d4>\d{1,2})/(?P<m4>\d{1,2})/(?P<y4>\d{4})"
    r"|(?P<y>\d{4}|\d{2})\s{0,2}(?:(?P<s>[-/.．－／])\s{0,2}(?P<m>\d{1,2})\s{0,2}(?P=s)\s{0,2}"
    r"(?P<d>\d{1,2})|年\s{0,2}(?P<m2>\d{1,2})\s{0,2}月(?:\s{0,2}(?P<d2>\d{1,2})\s{0,2}[日号]?)?)"
    r"|(?P<m3>\d{1,2})\s{0,2}月\s{0,2}(?P<d3>\d{1,2})"
)
# A two-digit year (95年3月12日) is of this century below the pivot, of the last one above.
_CENTURY_PIVOT = 30
# Words that make 95.3.12 a date: a day is being told (于, 日期：, 出生, 入院...).
_DATE_CONTEXT = re.compile(
    r"(?:于|在|自|从|至|到|日期|时间|生日|出生|生于|入院|出院|手术|就诊|发病|复查|随访)"
    r"[ \t\u3000]*[:：]?[ \t\u3000]*$"
)


def parse_date(value: str) -> DateParts | None:
    """The numeric parts of a date span (Arabic digits only), or None for other spellings."""
    match = _NUMERIC_DATE.match(value.translate(_FOLD))
    if not match:
        return None
    g = match.group
    if g("y4"):
        return DateParts(
            int(g("y4")), int(g("m4")), int(g("d4")), match.span("y4"), match.span("m4"),
            match.span("d4"),
        )  # fmt: skip
    if g("m3"):
        return DateParts(None, int(g("m3")), int(g("d3")), None, match.span("m3"), match.span("d3"))
    month_key = "m" if g("m") else "m2"
    day_key = "d" if g("d") else ("d2" if g("d2") else None)
    year = int(g("y"))
    if len(g("y")) == 2:
        year += 2000 if year < _CENTURY_PIVOT else 1900
    return DateParts(
        year,
        int(g(month_key)),
        int(g(day_key)) if day_key else None,
        match.span("y"),
        match.span(month_key),
        match.span(day_key) if day_key else None,
    )


# Safe Harbor's bound: an age over 89 is an identifier. Above the longest human life (122
# years, a few more for a wish such as 活到120岁) it is a typo (466岁), not an age.
_OLDEST = 89
_LONGEST_LIFE = 130
_LATIN = re.compile("[A-Za-z]")
_FOLD = str.maketrans("０１２３４５６７８９：－／．", "0123456789:-/.")


class DateRecognizer(Recognizer):
    """DATE and AGE (over 89)."""

    def __init__(self) -> None:
        self._compact_date = re.compile(
            r"[ \t\u3000]*[:：]?[ \t\u3000]*(?P<d>(?:19|20)\d{6})(?![0-9])" + _TIME
        )
        self._month_before = re.compile(f"(?<![A-Za-z])(?:{_MONTHS_EN})\\.?\\s$")
        self._age_value = re.compile(
            r"[ \t\u3000]*[:：]?[ \t\u3000]*(?P<n>\d{2,3})"
            r"(?:\s?(?:周岁|岁|Y|y|yrs?|years))?(?![\d.])"
        )

    def triggers(self) -> dict[str, TriggerHandler]:
        table: dict[str, TriggerHandler] = {
            label: self._labelled_age for label in ("年龄", "年纪", "Age", "AGE", "享年")
        }
        # 20230305 is a date only where a label says so (elsewhere it is a lot number).
        for label in ("日期", "生日", "Date", "DATE", "DOB"):
            table[label] = self._labelled_compact_date
        return table

    def shapes(self) -> list[Shape]:
        day = r"\d{1,2}"
        separated = "|".join(
            f"{re.escape(sep)}\\s{{0,2}}{day}\\s{{0,2}}{re.escape(sep)}" for sep in "-/.．－／"
        )
        # A range of days is one date: 5月20-22日, 5月20日至22日.
        days = (
            day
            + r"(?:\s{0,2}"
            + _RANGE
            + r"\s{0,2}"
            + day
            + r")?\s{0,2}[日号]"
            + (r"(?:\s{0,2}" + _RANGE + r"\s{0,2}" + day + r"\s{0,2}[日号])?")
        )
        numeric = (
            r"(?<![.．]\d)(?:\d{3}\s{0,2}(?:(?:" + separated + r")\s{0,2}"
            + day + r"(?![0-9０-９])(?:\s{0,2}[日号])?|年\s{0,2}" + day + r"\s{0,2}月(?:\s{0,2}"
            + days + r")?)"
            r"|\d?\s{0,2}月\s{0,2}" + days
            + r"|\d?/\d{1,2}/\d{4}(?![0-9０-９]))" + _TIME
        )  # fmt: skip
        cn_year = (
            f"[{_CN_DIGIT}]{{0,3}}年[{_CN_NUMBER}]{{1,2}}月(?:[{_CN_NUMBER}]{{1,3}}[日号])?" + _TIME
        )
        cn_day = f"(?<=[{_CN_NUMBER}]月)[{_CN_NUMBER}]{{1,3}}[日号]" + _TIME
        short_year = (
            r"(?<![.．]\d)\d\s{0,2}(?:年\s{0,2}" + day + r"\s{0,2}月\s{0,2}" + day
            + r"\s{0,2}[日号]|(?:" + "|".join(
                f"{re.escape(sep)}{day}{re.escape(sep)}" for sep in "-/.．－／"
            ) + r")" + day + r"(?![0-9０-９]|[.．]\d))" + _TIME
        )  # fmt: skip
        return [
            Shape(DIGIT, numeric, self._date, ahead=r"\d{0,3}\s{0,2}[-/.．－／年月]"),
            Shape(DIGIT, short_year, self._short_year_date, ahead=r"\d\s{0,2}[-/.．－／年]"),
            Shape(
                DIGIT,
                f"\\d?\\s(?:{_MONTHS_EN})\\.?,?\\s(?:19|20)\\d{{2}}" + _TIME,
                self._date,
                ahead=r"\d?\s[JFMASOND]",
            ),
            # Only 9x and three-digit ages reach the handler: most ages are 89 or under.
            Shape(
                DIGIT,
                r"(?<![.．]\d)(?:(?<=9)\d|\d{2})(?:\.\d)?\s?(?:余|多)?\s?(?:周岁|岁)"
                r"|(?:(?<=9)\d|\d{2})(?:-year-old|\syears?\sold)",
                self._age,
                ahead=r"\d{1,2}[.\s余多周岁-]",
            ),
            # Years from 2000 (二〇二三) and of each decade (一九九〇) have a 〇 or a 零.
            Shape("〇", cn_year, self._chinese_date),
            Shape("零", cn_year, self._chinese_date),
            # 一九九五年: the years of the last century without a 〇, from their 九.
            Shape("九", "(?<=一九)" + cn_year, self._chinese_date),
            Shape("月", cn_day, self._chinese_date),
            Shape("九十", "[一二三四五六七八九]?(?:余|多)?周?岁", self._age),
            Shape(
                "百", "(?<=一百)[零一二三四五六七八九十]{0,3}(?:余|多)?周?岁", self._age_in_chinese
            ),
            # March 5, 2023: found from its day, the month read backwards.
            Shape(
                DIGIT,
                r"\d?(?:st|nd|rd|th)?,?\s(?:19|20)\d{2}" + _TIME,
                self._english_date,
                late=True,
                ahead=r"\d?(?:st|nd|rd|th)?,?\s(?:19|20)",
            ),
        ]

    def _date(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        value = text[start:end]
        if not _LATIN.search(value):
            parts = parse_date(value)
            if not parts or not _valid(parts):
                return
        yield Candidate(start, end, DATE, CHECKED)

    def _short_year_date(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        value = text[start:end]
        if "年" not in value and not _DATE_CONTEXT.search(text, max(0, start - 8), start):
            return
        parts = parse_date(value)
        if parts and _valid(parts):
            yield Candidate(start, end, DATE, CHECKED)

    def _english_date(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        month = self._month_before.search(text, max(0, start - 11), start)
        if month:
            yield Candidate(month.start(), end, DATE, CHECKED)

    def _chinese_date(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        begin = start
        while begin > 0 and text[begin - 1] in _CN_DIGIT + _CN_NUMBER:
            begin -= 1
        yield Candidate(begin, end, DATE, CHECKED)

    def _age(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        if _OLDEST < _age_value(text[start:end]) <= _LONGEST_LIFE:
            yield Candidate(start, end, AGE, CHECKED)

    def _labelled_compact_date(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        match = self._compact_date.match(text, end)
        if match:
            value = match.group("d")
            parts = DateParts(int(value[:4]), int(value[4:6]), int(value[6:]), None, (0, 0), None)
            if _valid(parts):
                yield Candidate(match.start("d"), match.end(), DATE, LABELLED)

    def _labelled_age(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        match = self._age_value.match(text, end)
        if match and _OLDEST < int(match.group("n")) <= _LONGEST_LIFE:
            yield Candidate(match.start("n"), match.end(), AGE, LABELLED)

    def _age_in_chinese(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        yield from self._age(text, start - 1, end)


def _valid(parts: DateParts) -> bool:
    if parts.year is not None and not 1900 <= parts.year <= 2099:
        return False
    return 1 <= parts.month <= 12 and (parts.day is None or 1 <= parts.day <= 31)


def _age_value(value: str) -> int:
    """The number of years in an age expression, Arabic or Chinese numerals."""
    digits = re.match(r"\d+", value.translate(_FOLD))
    if digits:
        return int(digits.group())
    return chinese_number(re.sub(r"[余多周岁]", "", value))


def chinese_number(value: str) -> int:
    """九十二 → 92, 一百零二 → 102, 百 → 100: numbers below a thousand."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    total, current = 0, 0
    for char in value:
        if char in digits:
            current = digits[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
    return total + current
