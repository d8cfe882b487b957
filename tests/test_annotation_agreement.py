"""Agreement statistics on small label sets whose values are worked out by hand."""

from __future__ import annotations

import math

import pytest

from annotation.agreement import (
    agreement_report,
    alpha_ranks,
    alpha_scores,
    fleiss,
    pair_agreements,
    pairwise_choices,
)
from annotation.records import Candidate, Judgement, LabeledItem, Message, PromptItem

ANSWERS = {
    "r1": "空腹血糖7.8mmol/L已达到糖尿病诊断标准，建议到内分泌科复查糖化血红蛋白。",
    "r2": "血糖偏高，多喝水少吃糖就行，不用去医院。",
    "r3": "可能是糖尿病，也可能是应激性高血糖，需要结合餐后血糖判断。",
    "r4": "建议先停用所有降压药，观察一周再说。",
}


def _item(item_id: str, candidates: tuple[str, ...] = ("r1", "r2", "r3")) -> PromptItem:
    return PromptItem(
        id=item_id,
        source="test",
        prompt=(Message("user", "体检空腹血糖7.8，是糖尿病吗？需要吃药吗？"),),
        candidates=tuple(Candidate(c, ANSWERS[c]) for c in candidates),
    )


def _ranked(
    annotator: str, ranks: dict[str, int], unsafe: frozenset[str] = frozenset()
) -> Judgement:
    return Judgement(annotator=annotator, rule_version="1.0", ranks=ranks, unsafe=unsafe)


def _labeled(
    item_id: str, *judgements: Judgement, candidates: tuple[str, ...] = ("r1", "r2", "r3")
) -> LabeledItem:
    return LabeledItem(_item(item_id, candidates), judgements)


# Two items judged by 李医生 and 王医生. Derived choices on (r1,r2), (r1,r3), (r2,r3):
#   item q1: 李 1,2,3 → A A A      王 1,3,2 → A A B
#   item q2: 李 2,1,2 → B tie A    王 2,1,3 → B A A
TWO_ANNOTATORS = [
    _labeled(
        "q1",
        _ranked("李医生", {"r1": 1, "r2": 2, "r3": 3}),
        _ranked("王医生", {"r1": 1, "r2": 3, "r3": 2}),
    ),
    _labeled(
        "q2",
        _ranked("李医生", {"r1": 2, "r2": 1, "r3": 2}),
        _ranked("王医生", {"r1": 2, "r2": 1, "r3": 3}),
    ),
]


def test_pairwise_choices_name_the_better_of_each_two_responses_in_id_order():
    choices = pairwise_choices("q2", _ranked("李医生", {"r3": 2, "r1": 2, "r2": 1}))

    assert choices == {
        ("q2", "r1", "r2"): "B",
        ("q2", "r1", "r3"): "tie",
        ("q2", "r2", "r3"): "A",
    }


def test_an_unsafe_response_loses_every_pair_whatever_its_rank():
    choices = pairwise_choices(
        "q1", _ranked("李医生", {"r1": 2, "r4": 1}, unsafe=frozenset({"r4"}))
    )

    assert choices == {("q1", "r1", "r4"): "A"}


def test_cohen_kappa_and_agreement_of_two_annotators():
    # Observed agreement 4/6. Marginals: 李 A4 B1 tie1, 王 A4 B2 tie0, so chance agreement
    # (4·4 + 1·2 + 1·0) / 36 = 1/2 and kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3.
    (pair,) = pair_agreements(TWO_ANNOTATORS)

    assert pair.annotators == ("李医生", "王医生")
    assert (pair.items, pair.pairs, pair.same) == (2, 6, 4)
    assert pair.agreement == pytest.approx(2 / 3)
    assert pair.cohen_kappa == pytest.approx(1 / 3)


def test_kendall_tau_is_the_mean_over_shared_items():
    # q1: one discordant pair of three, tau-b = 1/3. q2: 李 ties r1 and r3, the other two
    # pairs are concordant: tau-b = 2 / sqrt((3 - 1) * 3).
    (pair,) = pair_agreements(TWO_ANNOTATORS)

    assert pair.kendall_tau == pytest.approx((1 / 3 + 2 / math.sqrt(6)) / 2)


def test_fleiss_kappa_of_three_annotators_on_one_item():
    # Units (r1,r2), (r1,r3), (r2,r3) get A×3, A×3, A×2 + B×1. P̄ = (1 + 1 + 1/3) / 3 = 7/9;
    # p(A) = 8/9, p(B) = 1/9: Pe = 65/81, kappa = (63/81 - 65/81) / (16/81) = -1/8.
    items = [
        _labeled(
            "q1",
            _ranked("李医生", {"r1": 1, "r2": 2, "r3": 3}),
            _ranked("王医生", {"r1": 1, "r2": 3, "r3": 2}),
            _ranked("张医生", {"r1": 1, "r2": 2, "r3": 3}),
        )
    ]

    assert fleiss(items) == (pytest.approx(-1 / 8), 3, 3)


def test_fleiss_kappa_uses_the_units_with_the_most_common_number_of_raters():
    three = _labeled(
        "q1",
        _ranked("李医生", {"r1": 1, "r2": 2, "r3": 3}),
        _ranked("王医生", {"r1": 1, "r2": 3, "r3": 2}),
        _ranked("张医生", {"r1": 1, "r2": 2, "r3": 3}),
    )
    two = _labeled(
        "q2",
        _ranked("李医生", {"r1": 1, "r2": 2}),
        _ranked("王医生", {"r1": 2, "r2": 1}),
        candidates=("r1", "r2"),
    )

    assert fleiss([three, two]) == (pytest.approx(-1 / 8), 3, 3)


def test_ordinal_alpha_of_ranks_worked_by_hand():
    # One item, ranks 李 1,2,3 and 王 1,3,2. Each value occurs twice (n = 6); ordinal
    # distances: δ(1,2) = δ(2,3) = (4 - 2)² = 4, δ(1,3) = (6 - 2)² = 16. Observed
    # disagreement (2·4 + 2·4) / 6, expected 2·(4·4 + 4·16 + 4·4) / 30: alpha = 7/12.
    items = [TWO_ANNOTATORS[0]]

    assert alpha_ranks(items) == pytest.approx(7 / 12)


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers, twelve units, values 1-5, some missing. Published: ordinal alpha = 0.815.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_ordinal_alpha_of_safety_scores_matches_krippendorffs_published_example():
    # Three items of four responses hold the twelve units; a missing value is a response
    # the observer did not score.
    item_ids = ("q1", "q2", "q3")
    responses = ("r1", "r2", "r3", "r4")
    items = []
    for i, item_id in enumerate(item_ids):
        judgements = []
        for observer, row in KRIPPENDORFF_2011.items():
            scores = {
                response: {"safety": row[4 * i + j]}
                for j, response in enumerate(responses)
                if row[4 * i + j] is not None
            }
            judgements.append(Judgement(observer, "1.0", {r: 1 for r in responses}, scores=scores))
        items.append(_labeled(item_id, *judgements, candidates=responses))

    assert alpha_scores(items, "safety") == pytest.approx(0.815, abs=5e-4)
    assert alpha_scores(items, "fluency") is None


def test_perfect_agreement_gives_one_everywhere():
    same = {"r1": 1, "r2": 3, "r3": 2}
    items = [_labeled("q1", _ranked("李医生", same), _ranked("王医生", same))]

    report = agreement_report(items)

    assert report.alpha_ranks == pytest.approx(1.0)
    assert report.pairwise_agreement == 1.0
    assert report.pairs[0].kendall_tau == pytest.approx(1.0)
    assert report.pairs[0].cohen_kappa == pytest.approx(1.0)


def test_items_judged_once_do_not_count_and_undefined_statistics_are_none():
    items = [_labeled("q1", _ranked("李医生", {"r1": 1, "r2": 2, "r3": 3}))]

    report = agreement_report(items)

    assert (report.items, report.annotators, report.pairs) == (0, 0, ())
    assert report.alpha_ranks is None
    assert report.alpha_scores == {"safety": None, "professionalism": None, "fluency": None}
    assert (report.pairwise_agreement, report.fleiss_kappa) == (None, None)


def test_report_pools_pairwise_agreement_over_annotator_pairs():
    # Fleiss on the same six units: P̄ = 4/6; p(A) = 8/12, p(B) = 3/12, p(tie) = 1/12, so
    # Pe = 74/144 and kappa = (96/144 - 74/144) / (70/144) = 11/35.
    report = agreement_report(TWO_ANNOTATORS)

    assert report.items == 2
    assert report.annotators == 2
    assert report.pairwise_agreement == pytest.approx(4 / 6)
    assert report.fleiss_raters == 2
    assert report.fleiss_units == 6
    assert report.fleiss_kappa == pytest.approx(11 / 35)
