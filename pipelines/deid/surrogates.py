"""Realistic, consistent, format-preserving replacements.

Every surrogate is drawn from a generator seeded with HMAC-SHA256(secret, category, value),
so one value gets one surrogate everywhere in a run and identical documents stay identical.
Formats survive: surrogate ID numbers are valid GB 11643 numbers (existing region code,
real birth date, right check character), bank cards pass Luhn, mobile numbers keep their
13x-19x prefix, dates move by one offset per document so intervals survive, ages over 89
become 90岁以上 (HIPAA Safe Harbor).

Surrogate phones, ID numbers and cards are *signed*: some of their digits are an HMAC of
the others. The leak gate, which holds the secret, can so tell its own surrogates from a
real number that slipped through, at a false-accept rate of about 1e-4 for phones and
1e-5 for ID numbers and cards.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import hashlib
import hmac
import importlib.resources
import random
import re

from stdnum import luhn
from stdnum.cn import ric

from pipelines.deid import lexicon
from pipelines.deid.recognizers.dates import DateParts, chinese_number, parse_date
from pipelines.deid.recognizers.names import PERSONAL_TITLES, PROFESSIONAL_TITLES
from pipelines.deid.recognizers.numbers import (
    ascii_digits,
    is_card,
    is_landline,
    is_mobile,
    looks_like_id,
)
from pipelines.deid.recognizers.places import HOSPITAL_SUFFIXES
from pipelines.deid.spans import (
    ADDRESS,
    AGE,
    BANK_CARD,
    DATE,
    EMAIL,
    HOSPITAL,
    ID_CARD,
    IP,
    PERSON,
    PHONE,
    URL,
)

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_CN_DIGITS = "〇一二三四五六七八九"
_LATIN_NAMES = ("Taylor", "Morgan", "Parker", "Bennett", "Hayes", "Carter", "Foster", "Reed")
_ADDRESS_SUFFIXES = (
    "街道", "大街", "大道", "胡同", "小区", "花园", "公寓", "大厦", "家园", "新村", "广场", "社区",
    "路", "街", "巷", "弄", "道", "里", "镇", "乡", "村", "屯", "苑", "庭", "府", "城", "园",
)  # fmt: skip
_UNIT_CHARS = set("号楼单元室栋幢层座组户排门期区附")
_TITLES = PERSONAL_TITLES + PROFESSIONAL_TITLES


class Signer:
    """Digits that only the holder of the secret can compute: the surrogates' signature."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def digits(self, kind: str, payload: str, count: int) -> str:
        mac = hmac.new(self._secret, f"sig\x1f{kind}\x1f{payload}".encode(), hashlib.sha256)
        return str(int.from_bytes(mac.digest()[:8], "big") % 10**count).zfill(count)

    def is_signed_mobile(self, digits: str) -> bool:
        return len(digits) == 11 and self.digits("mobile", digits[:7], 4) == digits[7:]

    def is_signed_landline(self, digits: str) -> bool:
        return len(digits) >= 10 and self.digits("landline", digits[:-3], 3) == digits[-3:]

    def is_signed_id(self, digits: str) -> bool:
        if len(digits) == 18:
            birth = digits[6:14]
            seq = digits[14:17]
        elif len(digits) == 15:
            birth = "19" + digits[6:12]
            seq = digits[12:15]
        else:
            return False
        return (
            self.birth_day(digits[:6], birth[:4]) == birth[4:]
            and self.digits("id-seq", digits[:6] + birth, 2) == seq[:2]
        )

    def is_signed_card(self, digits: str) -> bool:
        return len(digits) >= 16 and self.digits("card", digits[:-5], 4) == digits[-5:-1]

    def birth_day(self, region: str, year: str) -> str:
        """MMDD of a surrogate birth date, fixed by region and year."""
        rng = random.Random(self.digits("id-birth", region + year, 12))
        month = rng.randint(1, 12)
        return f"{month:02d}{rng.randint(1, calendar.monthrange(int(year), month)[1]):02d}"


class Surrogates:
    """Replacement text for a detected value, and the date offset of a document."""

    def __init__(self, secret: bytes, date_shift_days: int = 365) -> None:
        self._secret = secret
        self._shift = date_shift_days
        self.signer = Signer(secret)

    def date_offset(self, doc_key: str) -> int:
        """Days every date of the document moves by: never 0, at most ``date_shift_days``."""
        rng = self._rng("date-offset", doc_key)
        return rng.randint(1, self._shift) * rng.choice((-1, 1))

    def replace(self, category: str, value: str, date_offset: int) -> str:
        if category == DATE:
            return shift_date(value, date_offset)
        if category == AGE:
            return "90+" if value.isascii() else "90岁以上"
        method = getattr(self, "_" + category.lower(), None)
        return method(value) if method else self._code(value)

    def _rng(self, kind: str, value: str) -> random.Random:
        mac = hmac.new(self._secret, f"{kind}\x1f{value}".encode(), hashlib.sha256)
        return random.Random(int.from_bytes(mac.digest(), "big"))

    # People ------------------------------------------------------------------------

    def _person(self, value: str) -> str:
        if value.isascii():
            rng = self._rng(PERSON, value)
            return re.sub(r"(?<![A-Za-z])[A-Z][a-z]+", lambda _: rng.choice(_LATIN_NAMES), value)
        if value[:1] in "小老" and len(value) == 2:
            return value[0] + self._surname(value[1])
        title = max((t for t in _TITLES if value.endswith(t)), key=len, default="")
        name = value[: len(value) - len(title)]
        surname = name[:2] if name[:2] in lexicon.COMPOUND_SURNAMES else name[:1]
        given = name[len(surname) :]
        if given and given != "某":
            rng = self._rng("given", name)
            given = "".join(rng.choice(lexicon.SURROGATE_GIVEN_CHARS) for _ in given)
        return self._surname(surname) + given + title

    def _surname(self, surname: str) -> str:
        rng = self._rng("surname", surname)
        pool = lexicon.COMPOUND_SURNAMES if len(surname) == 2 else lexicon.SURROGATE_SURNAMES
        choice = rng.choice(pool)
        return choice if choice != surname else rng.choice(pool)

    # Numbers -----------------------------------------------------------------------

    def _id_card(self, value: str) -> str:
        digits = ascii_digits(value)
        rng = self._rng(ID_CARD, digits)
        if len(digits) == 15:
            year = "19" + digits[6:8] if digits[6:8].isdigit() else "1970"
        else:
            year = digits[6:10] if digits[6:10].isdigit() and int(digits[6:10]) >= 1900 else "1970"
        region = rng.choice([code for code, since in _region_codes() if since <= int(year)])
        birth = year + self.signer.birth_day(region, year)
        seq = self.signer.digits("id-seq", region + birth, 2)
        sex_digit = digits[16] if len(digits) == 18 else digits[14:15]
        parity = int(sex_digit) % 2 if sex_digit.isdigit() else rng.randint(0, 1)
        seq += str(rng.randrange(parity, 10, 2))
        if len(digits) == 15:
            return _pour(value, region + birth[2:] + seq)
        body = region + birth + seq
        # python-stdnum computes the check character of a number that includes one.
        return _pour(value, body + ric.calc_check_digit(body + "X"))

    def _phone(self, value: str) -> str:
        extension = re.search(r"(?:转|分机|ext\.?|EXT\.?|x)\s?[0-9０-９]+$", value)
        dashed = re.search(r"-[0-9０-９]{1,6}$", value)
        if not extension and dashed and is_landline(ascii_digits(value[: dashed.start()])):
            extension = dashed
        main = value[: extension.start()] if extension else value
        digits = ascii_digits(main)
        rng = self._rng(PHONE, digits)
        if len(digits) >= 11 and is_mobile(digits[-11:]):
            head = digits[:-11] + digits[-11:-8] + "".join(str(rng.randrange(10)) for _ in range(4))
            new = head + self.signer.digits("mobile", head[-7:], 4)
        elif digits[:1] == "0" and len(digits) >= 10:
            area = 3 if digits[1] in "12" else 4
            body = digits[:area] + str(rng.randint(2, 8))
            body += "".join(str(rng.randrange(10)) for _ in range(len(digits) - area - 4))
            new = body + self.signer.digits("landline", body, 3)
        else:
            body = str(rng.randint(2, 8)) + "".join(
                str(rng.randrange(10)) for _ in range(max(0, len(digits) - 4))
            )
            new = body + self.signer.digits("landline", body, 3)
        replaced = _pour(main, new)
        if extension:
            tail = extension.group()
            replaced += _pour(tail, _random_digits(rng, len(ascii_digits(tail))))
        return replaced

    def _bank_card(self, value: str) -> str:
        digits = ascii_digits(value)
        rng = self._rng(BANK_CARD, digits)
        length = min(max(len(digits), 16), 19)
        bin_ = digits[:6] if digits[:1] in "3456" else "621226"
        middle = "".join(str(rng.randrange(10)) for _ in range(length - 6 - 5))
        head = bin_ + middle
        body = head + self.signer.digits("card", head, 4)
        return _pour(value, body + luhn.calc_check_digit(body))

    def _ip(self, value: str) -> str:
        rng = self._rng(IP, value)
        if value.count(":") > 1:
            # IPv6: a unique local address (fd00::/8), compressed if the value was.
            groups = [f"{rng.randrange(0x10000):x}" for _ in range(8)]
            groups[0] = f"fd{rng.randrange(256):02x}"
            return ":".join(groups[:3]) + "::" + groups[7] if "::" in value else ":".join(groups)
        port = value.partition(":")[2]
        new = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
        return new + (":" + port if port else "")

    def _code(self, value: str) -> str:
        """Record numbers, insurance numbers, passports, QQ, WeChat, plates: same shape.

        A long number is drawn again while it looks like a phone, an ID or a card, so the
        leak gate does not take a surrogate record number for one.
        """
        rng = self._rng("code", value)
        while True:
            new = self._code_once(value, rng)
            digits = ascii_digits(new)
            if not (
                looks_like_id(digits) or is_card(digits) or is_mobile(digits) or is_landline(digits)
            ):
                return new

    def _code_once(self, value: str, rng: random.Random) -> str:
        out = []
        for i, char in enumerate(value):
            if char.isdigit():
                digit = str(rng.randint(1 if i == 0 else 0, 9))
                out.append(digit.translate(_FULL_WIDTH) if "０" <= char <= "９" else digit)
            elif char.isascii() and char.isalpha() and i >= 2:
                letter = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
                out.append(letter if char.isupper() else letter.lower())
            else:
                out.append(char)
        return "".join(out)

    # Web ---------------------------------------------------------------------------

    def _email(self, value: str) -> str:
        rng = self._rng(EMAIL, value.lower())
        local = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(rng.randint(5, 9)))
        local += str(rng.randint(10, 99))
        tld = value.rsplit(".", 1)[-1].lower()
        return f"{local}@example.{tld if tld in ('org', 'net') else 'com'}"

    def _url(self, value: str) -> str:
        rng = self._rng(URL, value)
        scheme = value.split("://")[0] + "://" if "://" in value else ""
        return f"{scheme}www.example.com/{rng.getrandbits(32):08x}"

    # Places ------------------------------------------------------------------------

    def _hospital(self, value: str) -> str:
        rng = self._rng(HOSPITAL, value)
        if value.isascii():
            suffix = value.rsplit(" ", 1)[-1] if " " in value else "Hospital"
            return f"{rng.choice(_LATIN_NAMES)} Memorial {suffix}"
        suffix = max((s for s in HOSPITAL_SUFFIXES if value.endswith(s)), key=len, default="医院")
        return rng.choice(lexicon.SURROGATE_HOSPITAL_STEMS) + suffix

    def _address(self, value: str) -> str:
        """Administrative units down to the county stay; streets, estates and numbers change."""
        rng = self._rng(ADDRESS, value)
        keep = _ADMIN_PREFIX.match(value).end()
        out = [value[:keep]]
        for token in re.finditer(r"[\u4e00-\u9fff]+|[0-9０-９]+|[A-Za-z]+|.", value[keep:]):
            piece = token.group()
            if piece[0].isdigit():
                out.append(_pour(piece, _random_digits(rng, len(piece))))
            elif piece.isascii() and piece.isalpha():
                out.append("".join(rng.choice("ABCDEFGH") for _ in piece))
            elif "\u4e00" <= piece[0] <= "\u9fff":
                out.append(_new_place_words(piece, rng))
            else:
                out.append(piece)
        return "".join(out)


def _new_place_words(run: str, rng: random.Random) -> str:
    """Replace the name part of each place word in a run of Han characters."""
    out = []
    i = 0
    while i < len(run):
        if run[i] in _UNIT_CHARS:
            out.append(run[i])
            i += 1
            continue
        kept = next((s for s in _ADDRESS_SUFFIXES if run.startswith(s, i)), None)
        if kept:
            out.append(kept)
            i += len(kept)
            continue
        # The shortest stem that ends in a known suffix: 建设路, 幸福小区, 王庄村.
        for j in range(i + 2, len(run) + 1):
            suffix = next((s for s in _ADDRESS_SUFFIXES if run.endswith(s, i, j)), None)
            if suffix and j - len(suffix) > i:
                out.append(rng.choice(_pool_for(suffix)) + suffix)
                i = j
                break
        else:
            out.append(rng.choice(lexicon.SURROGATE_PLACE_STEMS))
            i = len(run)
    return "".join(out)


def _pool_for(suffix: str) -> tuple[str, ...]:
    if suffix in ("路", "街", "大街", "大道", "巷", "弄", "胡同", "道", "里"):
        return lexicon.SURROGATE_STREET_STEMS
    if suffix in ("镇", "乡", "村", "屯", "街道", "社区"):
        return lexicon.SURROGATE_PLACE_STEMS
    return lexicon.SURROGATE_ESTATE_STEMS


def _random_digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(count - 1))


def _pour(template: str, digits: str) -> str:
    """Write ``digits`` into the digit (and X) positions of ``template``, keeping its layout.

    Full-width positions get full-width digits; surplus digits go at the end, missing ones
    drop the template's remaining digit positions.
    """
    out = []
    it = iter(digits)
    for char in template:
        if char.isdigit() or char in "XxＸｘ":
            new = next(it, "")
            out.append(new.translate(_FULL_WIDTH) if "０" <= char <= "９" else new)
        else:
            out.append(char)
    out.extend(it)
    return "".join(out)


def shift_date(value: str, days: int) -> str:
    """The date moved by ``days``, written the way it was (widths, separators, digits)."""
    parts = parse_date(value)
    if parts is not None:
        return _shift_numeric(value, parts, days)
    compact = re.match(r"((?:19|20)\d{2})(\d{2})(\d{2})", value)
    if compact:
        new = _moved(*(int(g) for g in compact.groups()), days)
        return f"{new.year:04d}{new.month:02d}{new.day:02d}" + value[8:]
    chinese = re.match(
        r"(?P<y>[〇零一二三四五六七八九]{4})?(?:年)?(?P<m>[一二三四五六七八九十]{1,2})月"
        r"(?:(?P<d>[一二三四五六七八九十]{1,3})(?P<u>[日号]))?",
        value,
    )
    if chinese:
        year = (
            int("".join(str(_CN_DIGITS.index(c) if c != "零" else 0) for c in chinese["y"]))
            if chinese["y"]
            else 2000
        )
        new = _moved(
            year, chinese_number(chinese["m"]), chinese_number(chinese["d"] or "十五"), days
        )
        text = ""
        if chinese["y"]:
            year_text = "".join(_CN_DIGITS[int(c)] for c in f"{new.year:04d}")
            # 二零二三 and 二〇二三 are both written: keep the writer's zero.
            text += (year_text.replace("〇", "零") if "零" in chinese["y"] else year_text) + "年"
        text += _chinese_small(new.month) + "月"
        if chinese["d"]:
            text += _chinese_small(new.day) + chinese["u"]
        return text + value[chinese.end() :]
    english = re.search(r"(?P<d>\d{1,2})?\D*?(?P<y>(?:19|20)\d{2})", value)
    month = next((i for i, name in enumerate(calendar.month_abbr) if name and name in value), 0)
    if english and month:
        day_match = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b(?!\d)", value)
        day = int(day_match.group(1)) if day_match else 15
        new = _moved(int(english["y"]), month, day, days)
        return f"{calendar.month_name[new.month]} {new.day}, {new.year}"
    # A spelling not read above: its digits go rather than the date stay.
    return re.sub(r"\d", "0", value)


def _shift_numeric(value: str, parts: DateParts, days: int) -> str:
    year = parts.year if parts.year is not None else 2000
    new = _moved(year, parts.month, parts.day or 15, days)
    if parts.day_at and parts.day is not None:
        last = _DAY_RANGE.match(value, parts.day_at[1])
        if last:
            # 5月20-22日: the last day moves with the first, so the range keeps its length.
            start = _moved(year, parts.month, parts.day, 0)
            month_end = calendar.monthrange(start.year, start.month)[1]
            # 12月30日至2日 runs into the next month.
            span = int(last["d"]) - parts.day
            end = new + datetime.timedelta(days=span if span >= 0 else span + month_end)
            value = value[: last.start("d")] + str(end.day) + value[last.end("d") :]
    edits = [(parts.month_at, new.month)]
    if parts.year_at:
        edits.append((parts.year_at, new.year))
    if parts.day_at:
        edits.append((parts.day_at, new.day))
    # A writer who pads (03月, 2023-03-05) pads every field; 3月12日 moves to 4月5日, not 4月05日.
    padded = not _UNPADDED.search(value) or any(
        value[start] in "0０" for start, end in (parts.month_at, parts.day_at or (0, 0)) if end
    )
    out = value
    for (start, end), number in sorted(edits, reverse=True):
        old = value[start:end]
        if (start, end) == parts.year_at and len(old) == 2:
            number %= 100
        elif (start, end) != parts.year_at and not padded:
            old = old[:1]
        text = str(number).zfill(len(old)) if len(old) > 1 else str(number)
        if "０" <= old[0] <= "９":
            text = text.translate(_FULL_WIDTH)
        out = out[:start] + text + out[end:]
    return out


_DAY_RANGE = re.compile(
    r"\s{0,2}[日号]?\s{0,2}(?:[-~～－—]|至|到)\s{0,2}(?P<d>\d{1,2})(?=\s{0,2}[日号])"
)
# Dates written with 年月日 or dots need not pad their month and day; ISO-like ones do.
_UNPADDED = re.compile("[年月日号.．]")


def _moved(year: int, month: int, day: int, days: int) -> datetime.date:
    day = min(day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day) + datetime.timedelta(days=days)


def _chinese_small(number: int) -> str:
    if number < 10:
        return _CN_DIGITS[number]
    tens, ones = divmod(number, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


_ADMIN_PREFIX = re.compile(
    r"(?:[\u4e00-\u9fff]{2,7}?(?:省|自治区))?(?:[\u4e00-\u9fff]{2,7}?(?:市|自治州|地区|盟))?"
    r"(?:[\u4e00-\u9fff]{1,5}?(?:区|县|旗)(?![路街道巷弄号]))?"
)


@functools.cache
def _region_codes() -> tuple[tuple[str, int], ...]:
    """County-level region codes in use today and the year each came in (GB/T 2260, as
    shipped by python-stdnum), so that a surrogate's region existed at its birth date."""
    data = importlib.resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    codes = []
    province = ""
    for line in data.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        code, _, rest = line.strip().partition(" ")
        names = rest.partition("=")[2].strip('"').split(",")
        span = re.match(r"\[(\d*)-(\d*)\]", names[-1])
        if len(code) != 4 or code.endswith("00") or (span and span.group(2)):
            continue
        codes.append((province + code, int(span.group(1) or 0) if span else 0))
    return tuple(codes)
