"""What every filter works on and returns: the document with its shared statistics, a drop.

Statistics several filters need (code points, character classes, language) are computed at
most once per document, on first use, and recomputed only after a filter edits the text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from pipelines.filters.scripts import CharClass, char_classes, codepoints, language_by_script


@dataclass(frozen=True)
class Drop:
    """A filter's decision to drop a document: the named reason and the measured value."""

    reason: str
    detail: str | None = None


def above(value: float, limit: float) -> str:
    """The detail of a measured fraction over its maximum: ``0.412 > 0.287``."""
    return f"{value:.3f} > {limit:.3f}"


def below(value: float, limit: float) -> str:
    """The detail of a measured fraction under its minimum: ``0.214 < 0.300``."""
    return f"{value:.3f} < {limit:.3f}"


@dataclass
class FilterDocument:
    """The text under filtering, the edits made to it so far, and its statistics."""

    text: str
    edits: dict[str, int] = field(default_factory=dict)
    # Plain attributes, not ``cached_property`` (whose lock costs microseconds per access).
    _codepoints: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _classes: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _class_counts: list[int] | None = field(default=None, init=False, repr=False, compare=False)
    _language: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def with_class_counts(cls, text: str, class_counts: list[int]) -> FilterDocument:
        """A document whose class counts are known already (see ``batch_class_counts``)."""
        document = cls(text)
        document._class_counts = class_counts
        return document

    def edit(self, text: str, edit: str, count: int) -> None:
        """Replace the text (``count`` changes of kind ``edit``); statistics are recomputed."""
        self.text = text
        self.edits[edit] = self.edits.get(edit, 0) + count
        self._codepoints = self._classes = self._class_counts = self._language = None

    @property
    def codepoints(self) -> np.ndarray:
        if self._codepoints is None:
            self._codepoints = codepoints(self.text)
        return self._codepoints

    @property
    def classes(self) -> np.ndarray:
        """The :class:`CharClass` of each character."""
        if self._classes is None:
            self._classes = char_classes(self.text, self.codepoints)
        return self._classes

    @property
    def class_counts(self) -> list[int]:
        """How many characters of each :class:`CharClass` the text holds."""
        if self._class_counts is None:
            self._class_counts = np.bincount(self.classes, minlength=len(CharClass)).tolist()
        return self._class_counts

    @property
    def non_space_chars(self) -> int:
        return len(self.text) - self.class_counts[CharClass.SPACE]

    @property
    def language(self) -> str:
        if self._language is None:
            self._language = language_by_script(self.text, self.class_counts)
        return self._language


class QualityFilter(ABC):
    """One quality filter: a name, the reasons it drops for, and the decision on a document."""

    name: ClassVar[str]

    @abstractmethod
    def reasons(self) -> list[str]:
        """Every reason :meth:`apply` can drop for, in the order it checks them."""

    @abstractmethod
    def apply(self, document: FilterDocument) -> Drop | None:
        """A :class:`Drop`, or None to keep; a filter may edit the document first."""

    def apply_batch(self, documents: list[FilterDocument]) -> list[Drop | None]:
        """:meth:`apply` on each document; a filter whose work batches well overrides it."""
        return [self.apply(document) for document in documents]
