"""The leak gate: a last, high-recall scan for direct identifiers before a dataset is written.

It looks only for what must never leave: mobile and landline numbers, resident ID numbers
(by shape: region and birth date, the check character aside), bank cards (Luhn) and
e-mail addresses, with no label needed and no negative context. Given the run secret it
recognises the engine's own signed surrogates and the reserved example domains of
RFC 2606, so de-identified output passes and a number that slipped through does not.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pipelines.deid.recognizers.numbers import (
    ascii_digits,
    is_card,
    is_landline,
    is_mobile,
    looks_like_id,
)
from pipelines.deid.spans import BANK_CARD, EMAIL, ID_CARD, PHONE
from pipelines.deid.surrogates import Signer

# What `_number` says of one of the engine's own signed surrogates.
_SURROGATE = "surrogate"


class LeakGate:
    """Counts the direct identifiers left in a text; an empty result means clean."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret
        self._build()

    def __getstate__(self) -> dict[str, Any]:
        return {"secret": self._secret}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._secret = state["secret"]
        self._build()

    def _build(self) -> None:
        self._signer = Signer(self._secret) if self._secret else None
        self._run = re.compile(
            r"\d(?<![0-9０-９]\d)(?:\d|[ \u3000\-－–—.](?=\d)){6,}(?:[XxＸｘ])?(?![0-9０-９])"
        )
        self._checks = (
            (ID_CARD, looks_like_id, Signer.is_signed_id),
            (BANK_CARD, is_card, Signer.is_signed_card),
            (PHONE, is_mobile, Signer.is_signed_mobile),
            (PHONE, is_landline, Signer.is_signed_landline),
        )
        self._separator = re.compile(r"[ \u3000\-－–—.]")
        self._email = re.compile(
            r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"
        )

    def scan(self, text: str) -> dict[str, int]:
        """Direct identifiers found, counted per category."""
        counts: Counter[str] = Counter()
        for match in self._run.finditer(text):
            groups = [ascii_digits(g) for g in self._separator.split(match.group())]
            for category in self._numbers([g for g in groups if g]):
                counts[category] += 1
        if "@" in text:
            for match in self._email.finditer(text):
                domain = match.group().rsplit("@", 1)[1].lower()
                if not re.fullmatch(r"example\.(?:com|org|net)", domain):
                    counts[EMAIL] += 1
        return dict(counts)

    def _numbers(self, groups: list[str]) -> list[str]:
        """Categories of the numbers in a run of digit groups, longest reading first.

        A reading that is one of our signed surrogates takes its groups too, so a
        surrogate card is not read again as a phone number made of its first groups.
        """
        found = []
        i = 0
        while i < len(groups):
            for j in range(len(groups), i, -1):
                verdict = self._number("".join(groups[i:j]))
                if verdict:
                    if verdict != _SURROGATE:
                        found.append(verdict)
                    i = j
                    break
            else:
                i += 1
        return found

    def _number(self, digits: str) -> str | None:
        """The category of a number that looks direct, _SURROGATE for our own, or None."""
        number = digits
        if (
            len(digits) in (13, 15)
            and digits.startswith(("86", "0086"))
            and is_mobile(digits[-11:])
        ):
            number = digits[-11:]
        for category, looks, signed in self._checks:
            if looks(number):
                if self._signer and signed(self._signer, number):
                    return _SURROGATE
                return category
        return None
