"""E-mail addresses and URLs.

The scan runs only when the text holds what every one of them contains (``@``, ``://``,
``www.``: `str.find` at memory speed), and reads the address with ASCII look-arounds:
``\\b`` does not separate a Latin address from the Chinese text it is glued to. Shapes
follow RFC 5321 (local part up to 64 characters) and RFC 3986.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipelines.deid.recognizers import LABEL_GAP, Recognizer, TriggerHandler
from pipelines.deid.spans import EMAIL, LABELLED, URL, Candidate

_URL_LABELS = ("网址", "网站", "主页", "链接", "官网", "博客", "个人主页")


class WebRecognizer(Recognizer):
    """EMAIL and URL."""

    def __init__(self) -> None:
        self._email = re.compile(
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
            r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
        )
        self._url = re.compile(
            r"(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+", re.IGNORECASE
        )
        self._bare_domain = re.compile(
            LABEL_GAP + r"[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)+(?:/[\x21-\x7e]*)?"
        )

    def triggers(self) -> dict[str, TriggerHandler]:
        return {label: self._labelled_url for label in _URL_LABELS}

    def scan(self, text: str) -> list[Candidate]:
        # Every address holds an @, every link :// or www.: str.find rules most texts out.
        found: list[Candidate] = []
        if "@" in text:
            for match in self._email.finditer(text):
                found.append(Candidate(match.start(), match.end(), EMAIL, LABELLED))
        if "://" in text or "www." in text or "WWW." in text:
            for match in self._url.finditer(text):
                stop = match.end()
                while stop > match.start() and text[stop - 1] in ".,;:!?)]'":
                    stop -= 1
                found.append(Candidate(match.start(), stop, URL, LABELLED))
        return found

    def _labelled_url(self, text: str, start: int, end: int) -> Iterable[Candidate]:
        match = self._bare_domain.match(text, end)
        if not match:
            return
        value = match.group()
        begin = end + len(value) - len(value.lstrip(" \t\u3000:：为是"))
        value_end = match.end()
        while value_end > begin and text[value_end - 1] in ".,;:!?)]'":
            value_end -= 1
        if "." in text[begin:value_end]:
            yield Candidate(begin, value_end, URL, LABELLED)
