"""The de-identification engine: detect identifiers in a text, then replace them.

`Deidentifier` is a pure function of its config, its secret and the text: it keeps no
state between texts, so one instance can live in a Beam DoFn. Pickling it carries only
the config, the secret and the choice of scanner; the expressions are compiled again
when it is unpickled.

Detection finds the trigger words in one Hyperscan pass (`pipelines.deid.prefilter`),
the shapes that start with a digit in one `re` pass (`pipelines.deid.scanner`), runs the
recognizers' own cheap passes (e-mail, IPv6, speakers), finds repeated names again, then
settles overlaps. ``words="re"`` finds the words with `re` too: the portable reference
that tests/test_deid_prefilter.py holds the Hyperscan pass to. Measured on a 2-core
shared VM beside Presidio: see benchmarks/deid.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pipelines.deid.config import DeidConfig
from pipelines.deid.prefilter import HyperScanner
from pipelines.deid.recognizers import DIGIT, Recognizer, Shape, TriggerHandler
from pipelines.deid.recognizers.codes import CodeRecognizer
from pipelines.deid.recognizers.dates import DateRecognizer
from pipelines.deid.recognizers.names import NameRecognizer
from pipelines.deid.recognizers.numbers import NumberRecognizer
from pipelines.deid.recognizers.places import PlaceRecognizer
from pipelines.deid.recognizers.web import WebRecognizer
from pipelines.deid.scanner import Scanner
from pipelines.deid.spans import CATEGORIES, TAGS, Candidate, PhiSpan, resolve
from pipelines.deid.surrogates import Surrogates


class Deidentifier:
    """Finds the identifiers of a text and writes it again without them."""

    def __init__(
        self, config: DeidConfig, secret: bytes, *, words: Literal["hyperscan", "re"] = "hyperscan"
    ) -> None:
        self._config = config
        self._secret = secret
        self._words = words
        self._build()

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self._config, "secret": self._secret, "words": self._words}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._config = state["config"]
        self._secret = state["secret"]
        self._words = state["words"]
        self._build()

    def _build(self) -> None:
        # Dates come first: a digit run is read by the first shape that matches it, and
        # 2023-03-05 is a date before it is a run of digits.
        self._recognizers: list[Recognizer] = [
            DateRecognizer(),
            NumberRecognizer(),
            CodeRecognizer(),
            WebRecognizer(),
            NameRecognizer(),
            PlaceRecognizer(),
        ]
        self._refiners = [r for r in self._recognizers if type(r).refine is not Recognizer.refine]
        self._scanners = [r for r in self._recognizers if type(r).scan is not Recognizer.scan]
        literals: dict[str, list[TriggerHandler]] = {}
        shapes: list[Shape] = []
        for recognizer in self._recognizers:
            for literal, handler in recognizer.triggers().items():
                literals.setdefault(literal, []).append(handler)
            shapes.extend(recognizer.shapes())
        anchored = [s for s in shapes if s.anchor != DIGIT]
        self._scanner: HyperScanner | Scanner = (
            HyperScanner(literals, anchored)
            if self._words == "hyperscan"
            else Scanner(literals, anchored)
        )
        self._digits = Scanner({}, [s for s in shapes if s.anchor == DIGIT])
        self._categories = frozenset(self._config.categories)
        self._surrogates = Surrogates(self._secret, self._config.date_shift_days)

    def detect(self, text: str) -> list[PhiSpan]:
        """Identifier spans of ``text``, in order, not overlapping."""
        if not text:
            return []
        found: list[Candidate] = []
        self._scanner.scan(text, found)
        self._digits.scan(text, found)
        for recognizer in self._scanners:
            found.extend(recognizer.scan(text))
        for recognizer in self._refiners:
            found.extend(recognizer.refine(text, found))
        spans = resolve(found)
        if len(self._categories) < len(CATEGORIES):
            spans = [s for s in spans if s.category in self._categories]
        return spans

    def apply(self, text: str, doc_key: str) -> tuple[str, dict[str, int]]:
        """The text with every identifier replaced, and how many of each were replaced.

        ``doc_key`` fixes the document's date offset: pass a key of the content (a hash
        of the text) to keep identical documents identical, or a patient key to keep
        intervals across one patient's documents.
        """
        spans = self.detect(text)
        if not spans:
            return text, {}
        mode = self._config.mode
        offset = self._surrogates.date_offset(doc_key) if mode == "surrogate" else 0
        pieces: list[str] = []
        last = 0
        for span in spans:
            pieces.append(text[last : span.start])
            value = text[span.start : span.end]
            if mode == "tag":
                pieces.append(TAGS[span.category])
            elif mode == "mask":
                pieces.append("*" * len(value))
            else:
                pieces.append(self._surrogates.replace(span.category, value, offset))
            last = span.end
        pieces.append(text[last:])
        return "".join(pieces), dict(Counter(span.category for span in spans))
