"""What a recognizer finds: a span of text, its category, and how sure the finding is.

Categories follow the issue's list; the starred (direct) identifiers are those whose
recall target is 99.9% and that the leak gate looks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

PERSON = "PERSON"
ID_CARD = "ID_CARD"
PHONE = "PHONE"
MRN = "MRN"
INSURANCE = "INSURANCE"
BANK_CARD = "BANK_CARD"
PASSPORT = "PASSPORT"
PLATE = "PLATE"
EMAIL = "EMAIL"
URL = "URL"
IP = "IP"
WECHAT = "WECHAT"
QQ = "QQ"
ADDRESS = "ADDRESS"
DATE = "DATE"
AGE = "AGE"
HOSPITAL = "HOSPITAL"

DIRECT_CATEGORIES: frozenset[str] = frozenset(
    {PERSON, ID_CARD, PHONE, MRN, INSURANCE, BANK_CARD, PASSPORT, PLATE, EMAIL, URL, IP}
    | {WECHAT, QQ}
)
CATEGORIES: tuple[str, ...] = (
    PERSON, ID_CARD, PHONE, MRN, INSURANCE, BANK_CARD, PASSPORT, PLATE, EMAIL, URL, IP,
    WECHAT, QQ, ADDRESS, DATE, AGE, HOSPITAL,
)  # fmt: skip

# What `tag` mode writes in place of each category.
TAGS: dict[str, str] = {
    PERSON: "[姓名]",
    ID_CARD: "[身份证号]",
    PHONE: "[电话]",
    MRN: "[病历号]",
    INSURANCE: "[医保号]",
    BANK_CARD: "[银行卡号]",
    PASSPORT: "[证件号]",
    PLATE: "[车牌号]",
    EMAIL: "[邮箱]",
    URL: "[网址]",
    IP: "[IP地址]",
    WECHAT: "[微信号]",
    QQ: "[QQ号]",
    ADDRESS: "[地址]",
    DATE: "[日期]",
    AGE: "[年龄]",
    HOSPITAL: "[医院]",
}

# Evidence strength, used when two findings overlap: a checksum or a label beats a shape.
LABELLED = 3
CHECKED = 2
SHAPED = 1


@dataclass(frozen=True)
class PhiSpan:
    """A protected span: ``text[start:end]`` is an identifier of ``category``."""

    start: int
    end: int
    category: str


class Candidate(NamedTuple):
    """A recognizer's finding before overlaps are resolved (a tuple: made by the thousand)."""

    start: int
    end: int
    category: str
    strength: int = SHAPED


def resolve(candidates: list[Candidate]) -> list[PhiSpan]:
    """Non-overlapping spans in text order: stronger evidence first, then the longer span.

    Overlapping findings are settled cluster by cluster (a cluster is a run of findings
    that overlap one another), so a 10 MB text with many findings stays linear. Spans of
    one category that touch are merged.
    """
    ordered = sorted(candidates)
    taken: list[Candidate] = []
    cluster: list[Candidate] = []
    cluster_end = -1
    for cand in ordered:
        # Indexing, not the named fields: a field of a NamedTuple is a slower lookup.
        start, end = cand[0], cand[1]
        if end <= start:
            continue
        if start >= cluster_end:
            if len(cluster) > 1:
                taken.extend(_settle(cluster))
            elif cluster:
                taken.append(cluster[0])
            cluster = [cand]
        else:
            cluster.append(cand)
        if end > cluster_end:
            cluster_end = end
    if len(cluster) > 1:
        taken.extend(_settle(cluster))
    elif cluster:
        taken.append(cluster[0])
    taken.sort()
    spans: list[PhiSpan] = []
    last_end, last_category = -1, ""
    for start, end, category, _ in taken:
        if spans and category == last_category and last_end >= start:
            if end > last_end:
                spans[-1] = PhiSpan(spans[-1].start, end, category)
                last_end = end
            continue
        spans.append(PhiSpan(start, end, category))
        last_end, last_category = end, category
    return spans


def _settle(cluster: list[Candidate]) -> list[Candidate]:
    if len(cluster) <= 1:
        return cluster
    # Most clusters are one span found twice (a label and a shape, a name and its
    # repetition): the strongest finding is the whole answer. The cluster is in order, so
    # its last finding has the first's span only if all have.
    if cluster[-1][:2] == cluster[0][:2]:
        return [max(cluster, key=_strength)]
    taken: list[Candidate] = []
    for cand in sorted(cluster, key=lambda c: (-c.strength, c.start - c.end, c.start)):
        pieces = [(cand.start, cand.end)]
        for t in taken:
            pieces = [
                part
                for s, e in pieces
                for part in ((s, min(e, t.start)), (max(s, t.end), e))
                if part[1] > part[0]
            ]
        if pieces == [(cand.start, cand.end)]:
            taken.append(cand)
            continue
        # A weaker finding that sticks out of a stronger one keeps its outer parts.
        taken.extend(
            Candidate(s, e, cand.category, cand.strength)
            for s, e in pieces
            if e - s >= 2 and cand.category not in _WHOLE_ONLY
        )
    return taken


def _strength(candidate: Candidate) -> int:
    return candidate[3]


# Categories whose fragments mean nothing: a piece of a phone number is not a phone number.
_WHOLE_ONLY = frozenset({ID_CARD, PHONE, BANK_CARD, EMAIL, URL, IP, DATE, AGE, PLATE, PASSPORT})
