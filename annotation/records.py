"""The records that cross the annotation package: items to label and the labels they get.

Importers produce `PromptItem`s, the labeling tool stores them and the `Judgement`s that
annotators make, and exporters consume `LabeledItem`s. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Zhongjing's order: safety first, then professionalism, then fluency.
DIMENSIONS: tuple[str, ...] = ("safety", "professionalism", "fluency")
SCORE_RANGE = (1, 5)


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class Candidate:
    """One response to rank. `suggested_scores` are optional hints (e.g. GPT-4 scores)."""

    id: str
    content: str
    model: str = ""
    suggested_scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptItem:
    """A prompt (the conversation so far, ending on a user turn) and its candidates."""

    id: str
    source: str
    prompt: tuple[Message, ...]
    candidates: tuple[Candidate, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    """One annotator's labels on one item, keyed by candidate id.

    Rank 1 is best and equal ranks are ties. A candidate in `unsafe` ranks below every
    safe one whatever its rank says (see `aggregate.effective_ranks`).
    """

    annotator: str
    rule_version: str
    ranks: Mapping[str, int]
    scores: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    unsafe: frozenset[str] = frozenset()
    corrected: str | None = None
    shown_order: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class LabeledItem:
    """An item with every judgement made on it and, once settled, its final ranking.

    `final_by` is "agreement" (annotators agreed within the threshold), "adjudication"
    (an admin set it) or "" while the item is unsettled (`final_ranks` is then None).
    """

    item: PromptItem
    judgements: tuple[Judgement, ...]
    final_ranks: Mapping[str, int] | None = None
    final_by: str = ""
    rule_version: str = ""
