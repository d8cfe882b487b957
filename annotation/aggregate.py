"""From several annotators' rankings to one: unsafe responses sink, ties stay ties.

Disagreement on an item is 1 - the mean Kendall tau-b between every pair of annotators'
effective rankings: 0 when they agree, 1 when their orders are unrelated, 2 when reversed.
Items above the threshold go to the adjudication queue instead of being averaged away.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from scipy.stats import kendalltau

from annotation.records import Judgement, LabeledItem, PromptItem

DEFAULT_MAX_DISAGREEMENT = 0.5


def dense_ranks(keys: Mapping[str, float]) -> dict[str, int]:
    """1 for the smallest key, equal keys share a rank, no gaps: {a: .5, b: .5, c: 2} → 1, 1, 2."""
    distinct = sorted(set(keys.values()))
    position = {value: i + 1 for i, value in enumerate(distinct)}
    return {candidate: position[value] for candidate, value in keys.items()}


def effective_ranks(judgement: Judgement) -> dict[str, int]:
    """The judgement's ranks with every unsafe response moved below every safe one."""
    return dense_ranks(
        {c: (1_000_000 if c in judgement.unsafe else 0) + r for c, r in judgement.ranks.items()}
    )


def kendall_tau(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Kendall tau-b between two rankings of the same candidates (1.0 when both are all ties)."""
    order = sorted(a)
    x, y = [a[c] for c in order], [b[c] for c in order]
    if len(set(x)) == 1 and len(set(y)) == 1:
        return 1.0
    if len(set(x)) == 1 or len(set(y)) == 1:
        return 0.0
    return float(kendalltau(x, y).statistic)


def disagreement(judgements: Sequence[Judgement]) -> float:
    """1 - mean pairwise Kendall tau-b of the effective rankings; 0 for fewer than two."""
    ranked = [effective_ranks(j) for j in judgements]
    pairs = list(itertools.combinations(ranked, 2))
    if not pairs:
        return 0.0
    return 1.0 - sum(kendall_tau(a, b) for a, b in pairs) / len(pairs)


def mean_ranking(judgements: Sequence[Judgement]) -> dict[str, int]:
    """Dense ranks of each candidate's mean effective rank over the judgements."""
    ranked = [effective_ranks(j) for j in judgements]
    candidates = ranked[0].keys()
    return dense_ranks({c: sum(r[c] for r in ranked) / len(ranked) for c in candidates})


def settle(
    item: PromptItem,
    judgements: Sequence[Judgement],
    *,
    required: int,
    adjudicated: Mapping[str, int] | None = None,
    max_disagreement: float = DEFAULT_MAX_DISAGREEMENT,
) -> LabeledItem:
    """The item with its final ranking when it has one.

    An admin's adjudication wins; otherwise the item settles by agreement once `required`
    annotators have judged it and their disagreement is within `max_disagreement`.
    """
    versions = sorted({j.rule_version for j in judgements})
    rule_version = versions[-1] if versions else ""
    if adjudicated is not None:
        return LabeledItem(item, tuple(judgements), dict(adjudicated), "adjudication", rule_version)
    if len(judgements) >= required and disagreement(judgements) <= max_disagreement:
        return LabeledItem(
            item, tuple(judgements), mean_ranking(judgements), "agreement", rule_version
        )
    return LabeledItem(item, tuple(judgements), None, "", rule_version)
