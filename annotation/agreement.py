"""How far annotators agree, over a project's labeled items. Pure functions, no database.

* Krippendorff's alpha, ordinal (krippendorff): one unit per (item, response); the values
  are each annotator's effective rank (unsafe responses sunk, see `aggregate.effective_ranks`)
  or their 1-5 score on one dimension. Missing values are allowed, as alpha allows.
* Derived pairwise choices: for every two responses of an item (in id order) an annotator's
  ranking says "A" (the first is better), "B" or "tie". On them: the share of equal choices
  and Cohen's kappa (scikit-learn) per annotator pair, and Fleiss' kappa (statsmodels) over
  all annotators.
* Kendall's tau-b (scipy, via `aggregate.kendall_tau`) between two annotators' rankings of
  an item, averaged over the items both judged.

A statistic that the data cannot define (one value only, no shared units) is None.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from annotation.aggregate import effective_ranks, kendall_tau
from annotation.records import DIMENSIONS, Judgement, LabeledItem

CHOICES = ("A", "B", "tie")

Unit = tuple[str, str, str]  # (item id, first response id, second response id)


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators on the items both of them judged."""

    annotators: tuple[str, str]
    items: int
    pairs: int  # response pairs both judged
    same: int  # of which both made the same choice
    agreement: float | None  # same / pairs
    cohen_kappa: float | None
    kendall_tau: float | None  # mean over the shared items


@dataclass(frozen=True)
class AgreementReport:
    items: int  # items judged by at least two annotators
    annotators: int
    alpha_ranks: float | None
    alpha_scores: Mapping[str, float | None]  # by dimension
    pairwise_agreement: float | None  # pooled over every annotator pair
    fleiss_kappa: float | None
    fleiss_units: int  # response pairs judged by `fleiss_raters` annotators each
    fleiss_raters: int
    pairs: tuple[PairAgreement, ...]


def _defined(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _alpha(values: Mapping[str, Mapping[tuple[str, str], float]]) -> float | None:
    """Ordinal alpha of {annotator: {unit: value}}; None when alpha is not defined."""
    units = sorted({unit for by_unit in values.values() for unit in by_unit})
    data = np.array(
        [[by_unit.get(unit, np.nan) for unit in units] for by_unit in values.values()],
        dtype=float,
    )
    pairable = (np.sum(~np.isnan(data), axis=0) >= 2) if data.size else np.array([])
    if not pairable.any() or len(np.unique(data[:, pairable][~np.isnan(data[:, pairable])])) < 2:
        return None
    return _defined(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))


def _multiply_judged(items: Sequence[LabeledItem]) -> list[LabeledItem]:
    return [x for x in items if len(x.judgements) >= 2]


def alpha_ranks(items: Sequence[LabeledItem]) -> float | None:
    """Krippendorff's ordinal alpha of the effective ranks, one unit per (item, response)."""
    values: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for labeled in _multiply_judged(items):
        for judgement in labeled.judgements:
            for candidate, rank in effective_ranks(judgement).items():
                values[judgement.annotator][(labeled.item.id, candidate)] = rank
    return _alpha(values)


def alpha_scores(items: Sequence[LabeledItem], dimension: str) -> float | None:
    """Krippendorff's ordinal alpha of one dimension's 1-5 scores."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
    values: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for labeled in _multiply_judged(items):
        for judgement in labeled.judgements:
            for candidate, by_dimension in judgement.scores.items():
                if dimension in by_dimension:
                    values[judgement.annotator][(labeled.item.id, candidate)] = by_dimension[
                        dimension
                    ]
    return _alpha(values)


def pairwise_choices(item_id: str, judgement: Judgement) -> dict[Unit, str]:
    """The judgement as a choice on every two responses: "A" (first better), "B" or "tie"."""
    ranks = effective_ranks(judgement)
    choices = {}
    for first, second in itertools.combinations(sorted(ranks), 2):
        if ranks[first] < ranks[second]:
            choices[(item_id, first, second)] = "A"
        elif ranks[first] > ranks[second]:
            choices[(item_id, first, second)] = "B"
        else:
            choices[(item_id, first, second)] = "tie"
    return choices


def _choices_by_annotator(items: Sequence[LabeledItem]) -> dict[str, dict[Unit, str]]:
    choices: dict[str, dict[Unit, str]] = defaultdict(dict)
    for labeled in _multiply_judged(items):
        for judgement in labeled.judgements:
            choices[judgement.annotator].update(pairwise_choices(labeled.item.id, judgement))
    return choices


def pair_agreements(items: Sequence[LabeledItem]) -> list[PairAgreement]:
    """Agreement, Cohen's kappa and Kendall's tau for every two annotators who share items."""
    choices = _choices_by_annotator(items)
    rankings: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for labeled in _multiply_judged(items):
        for judgement in labeled.judgements:
            rankings[judgement.annotator][labeled.item.id] = effective_ranks(judgement)
    result = []
    for a, b in itertools.combinations(sorted(rankings), 2):
        shared_items = sorted(rankings[a].keys() & rankings[b].keys())
        if not shared_items:
            continue
        units = sorted(choices[a].keys() & choices[b].keys())
        first, second = [choices[a][u] for u in units], [choices[b][u] for u in units]
        with warnings.catch_warnings():
            # Both annotators always choosing the same way leaves kappa undefined: None.
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            kappa = cohen_kappa_score(first, second, labels=list(CHOICES))
        taus = [kendall_tau(rankings[a][i], rankings[b][i]) for i in shared_items]
        same = sum(x == y for x, y in zip(first, second, strict=True))
        result.append(
            PairAgreement(
                annotators=(a, b),
                items=len(shared_items),
                pairs=len(units),
                same=same,
                agreement=same / len(units) if units else None,
                cohen_kappa=_defined(kappa),
                kendall_tau=math.fsum(taus) / len(taus),
            )
        )
    return result


def fleiss(items: Sequence[LabeledItem]) -> tuple[float | None, int, int]:
    """(Fleiss' kappa, units, raters per unit) on the derived pairwise choices.

    Fleiss' kappa needs the same number of raters on every unit: it uses the response
    pairs judged by the most common number of annotators (the larger on a tie).
    """
    per_unit: dict[Unit, Counter[str]] = defaultdict(Counter)
    for labeled in _multiply_judged(items):
        for judgement in labeled.judgements:
            for unit, choice in pairwise_choices(labeled.item.id, judgement).items():
                per_unit[unit][choice] += 1
    if not per_unit:
        return None, 0, 0
    raters_count = Counter(sum(c.values()) for c in per_unit.values())
    raters = max(raters_count, key=lambda n: (raters_count[n], n))
    table = np.array(
        [[c[choice] for choice in CHOICES] for c in per_unit.values() if sum(c.values()) == raters]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = fleiss_kappa(table, method="fleiss")
    return _defined(kappa), len(table), raters


def agreement_report(items: Sequence[LabeledItem]) -> AgreementReport:
    """Every statistic above over one project's labeled items."""
    pairs = pair_agreements(items)
    compared = sum(p.pairs for p in pairs)
    kappa, units, raters = fleiss(items)
    judged = _multiply_judged(items)
    return AgreementReport(
        items=len(judged),
        annotators=len({j.annotator for x in judged for j in x.judgements}),
        alpha_ranks=alpha_ranks(items),
        alpha_scores={d: alpha_scores(items, d) for d in DIMENSIONS},
        pairwise_agreement=sum(p.same for p in pairs) / compared if compared else None,
        fleiss_kappa=kappa,
        fleiss_units=units,
        fleiss_raters=raters,
        pairs=tuple(pairs),
    )
