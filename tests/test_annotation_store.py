"""The labeling tool's store on SQLite: accounts, assignment with overlap, labels, results.

tests/test_annotation_postgres.py runs the same tests against PostgreSQL by overriding
the `store_url` fixture.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from annotation.records import DIMENSIONS, Candidate, Message, PromptItem
from annotation.store import Conflict, InvalidLabels, Labels, NotFound, Store, StoreError

# argon2id with a small cost: the same algorithm and code path, cheap enough for many tests.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
RULES = "1.0"

QUESTIONS = (
    "体检发现空腹血糖7.8mmol/L，是糖尿病吗？需要马上吃药吗？",
    "孩子发烧39度两天了，吃了布洛芬还反复，要去医院吗？",
    "最近总是胸口闷，爬楼梯时更明显，休息一下就好，是心脏病吗？",
    "高血压吃了三年氨氯地平，血压控制得很好，可以自己停药吗？",
    "怀孕8周，感冒了鼻塞流涕，能吃感冒药吗？",
)
ANSWERS = (
    "这个数值已达到糖尿病诊断标准，但需要另一天复查或查糖化血红蛋白确认，建议到内分泌科就诊。",
    "先别紧张，可能只是偶然升高，多喝水、少吃甜食，一个月后再查。",
    "可以先控制饮食和运动，是否用药要医生根据糖化血红蛋白和并发症情况决定。",
    "直接吃二甲双胍就行，每天三次，每次两片。",
    "建议停掉所有药物观察。",
)


def make_items(count: int = 3, k: int = 4, prefix: str = "q") -> list[PromptItem]:
    return [
        PromptItem(
            id=f"{prefix}{i}",
            source="test",
            prompt=(Message("user", QUESTIONS[i % len(QUESTIONS)]),),
            candidates=tuple(
                Candidate(f"r{j}", ANSWERS[j % len(ANSWERS)], model=f"model-{j}") for j in range(k)
            ),
        )
        for i in range(count)
    ]


def complete(order: tuple[str, ...], **extra: object) -> Labels:
    """Ranks 1..K in the given order and a full set of scores."""
    return Labels(
        ranks={c: i + 1 for i, c in enumerate(order)},
        scores={c: {d: 5 - min(i, 3) for d in DIMENSIONS} for i, c in enumerate(order)},
        **extra,
    )


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'labels.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url, hasher=FAST_HASHER)
    store.create_user("admin", "admin-password", "admin")
    for name in ("li", "wang", "zhang"):
        store.create_user(name, f"{name}-password")
    yield store
    store.close()


def test_adding_the_same_items_twice_adds_them_once(store: Store):
    store.create_project("内科", overlap=2, k=4)

    first = store.add_items("内科", make_items(3))
    second = store.add_items("内科", make_items(4))

    assert (first.added, first.existing) == (3, 0)
    assert (second.added, second.existing) == (1, 3)
    assert store.progress("内科").items == 4


def test_an_item_with_more_than_k_responses_keeps_k_chosen_by_id_not_order(store: Store):
    store.create_project("内科", k=3)
    store.create_project("外科", k=3)
    item = make_items(1, k=5)[0]
    reversed_item = PromptItem(item.id, item.source, item.prompt, item.candidates[::-1])

    result = store.add_items("内科", [item])
    store.add_items("外科", [reversed_item])

    kept = [c.id for c in store.item("内科", item.id).candidates]
    assert result.trimmed == 1
    assert len(kept) == 3
    assert sorted(kept) == sorted(c.id for c in store.item("外科", item.id).candidates)


def test_items_that_cannot_be_ranked_are_rejected_with_a_reason(store: Store):
    store.create_project("内科")
    lonely = PromptItem("q-one", "test", (Message("user", QUESTIONS[0]),), (Candidate("r0", "好"),))
    twins = PromptItem(
        "q-twins",
        "test",
        (Message("user", QUESTIONS[0]),),
        (Candidate("r0", ANSWERS[0]), Candidate("r0", ANSWERS[1])),
    )

    result = store.add_items("内科", [lonely, twins])

    assert result.added == 0
    assert result.rejected == (
        ("q-one", "fewer than 2 responses to rank"),
        ("q-twins", "two responses share an id"),
    )


def test_an_item_goes_to_at_most_overlap_annotators(store: Store):
    store.create_project("内科", overlap=2)
    store.add_items("内科", make_items(1))

    first = store.next_item("内科", "li")
    second = store.next_item("内科", "wang")

    assert first is not None and second is not None
    assert first.item.id == second.item.id == "q0"
    assert store.next_item("内科", "zhang") is None


def test_an_annotator_never_gets_the_same_item_twice(store: Store):
    store.create_project("内科", overlap=3)
    store.add_items("内科", make_items(2))
    seen = []

    while (assignment := store.next_item("内科", "li")) is not None:
        seen.append(assignment.item.id)
        store.submit(assignment.id, "li", complete(assignment.shown_order), RULES)

    assert seen == ["q0", "q1"]


def test_the_unfinished_item_comes_back_until_it_is_submitted(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(3))

    first = store.next_item("内科", "li")
    again = store.next_item("内科", "li")

    assert first is not None and again is not None
    assert again.id == first.id
    assert store.current_assignment("内科", "li") == first


def test_items_someone_holds_are_handed_out_first_so_they_complete(store: Store):
    store.create_project("内科", overlap=2)
    store.add_items("内科", make_items(3))

    li = store.next_item("内科", "li")
    wang = store.next_item("内科", "wang")
    zhang = store.next_item("内科", "zhang")

    assert li is not None and wang is not None and zhang is not None
    assert [li.item.id, wang.item.id, zhang.item.id] == ["q0", "q0", "q1"]


def test_each_annotator_gets_a_random_order_that_is_recorded(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(4) + make_items(4, prefix="p"))
    orders = []
    for name in ("li", "wang"):
        while (assignment := store.next_item("内科", name)) is not None:
            assert sorted(assignment.shown_order) == ["r0", "r1", "r2", "r3"]
            assert store.assignment(assignment.id, name).shown_order == assignment.shown_order
            store.submit(assignment.id, name, complete(assignment.shown_order), RULES)
            orders.append(assignment.shown_order)

    labeled = store.labeled_items("内科")
    assert [x.judgements[0].shown_order for x in labeled] == orders
    # Eight independent shuffles of four responses all alike has probability 24^-7.
    assert len(set(orders)) > 1


def test_a_skip_frees_the_slot_for_someone_else_but_not_for_the_skipper(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(2))

    held = store.next_item("内科", "li")
    assert held is not None
    store.skip(held.id, "li")
    after_skip = store.next_item("内科", "li")
    for_wang = store.next_item("内科", "wang")

    assert held.item.id == "q0"
    assert after_skip is not None and after_skip.item.id == "q1"
    assert for_wang is not None and for_wang.item.id == "q0"
    assert store.progress("内科").annotators[0].skipped == 1


def test_a_draft_is_kept_with_the_assignment(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None
    draft = Labels(ranks={"r2": 1}, scores={"r2": {"safety": 5}}, corrected="", seconds=12.5)

    store.save_draft(assignment.id, "li", draft, RULES)

    labels = store.assignment(assignment.id, "li").labels
    assert labels.ranks == {"r2": 1}
    assert labels.scores == {"r2": {"safety": 5}}
    assert labels.seconds == 12.5
    assert store.labeled_items("内科") == []


def test_a_submission_needs_every_rank_and_every_score(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None
    order = assignment.shown_order
    labels = complete(order)
    no_rank = Labels(ranks={c: 1 for c in order[1:]}, scores=labels.scores)
    no_score = Labels(ranks=labels.ranks, scores={**labels.scores, order[0]: {"safety": 3}})

    with pytest.raises(InvalidLabels, match=f"response '{order[0]}' has no rank"):
        store.submit(assignment.id, "li", no_rank, RULES)
    with pytest.raises(InvalidLabels, match=f"response '{order[0]}' has no professionalism"):
        store.submit(assignment.id, "li", no_score, RULES)


def test_values_out_of_range_or_about_unknown_responses_are_refused(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None

    with pytest.raises(InvalidLabels, match=r"rank 5 of 'r0' is outside 1\.\.4"):
        store.save_draft(assignment.id, "li", Labels(ranks={"r0": 5}), RULES)
    with pytest.raises(InvalidLabels, match=r"safety score 6 of 'r1' is outside 1\.\.5"):
        store.save_draft(assignment.id, "li", Labels(scores={"r1": {"safety": 6}}), RULES)
    with pytest.raises(InvalidLabels, match="unknown response id 'r9'"):
        store.save_draft(assignment.id, "li", Labels(unsafe=frozenset({"r9"})), RULES)


def test_submitting_again_replaces_the_labels_and_never_duplicates_them(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None
    order = assignment.shown_order

    first = store.submit(assignment.id, "li", complete(order), RULES)
    repeat = store.submit(assignment.id, "li", complete(order), RULES)
    changed = store.submit(assignment.id, "li", complete(order[::-1]), RULES)

    assert (first.created, repeat.created, changed.created) == (True, False, False)
    assert first.judgement_id == repeat.judgement_id == changed.judgement_id
    (labeled,) = store.labeled_items("内科")
    assert len(labeled.judgements) == 1
    assert labeled.judgements[0].ranks == complete(order[::-1]).ranks
    assert store.progress("内科").submitted == 1


def test_an_annotator_cannot_touch_another_annotators_assignment(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(1))
    li = store.next_item("内科", "li")
    assert li is not None

    with pytest.raises(NotFound):
        store.assignment(li.id, "wang")
    with pytest.raises(NotFound):
        store.save_draft(li.id, "wang", Labels(ranks={"r0": 1}), RULES)
    with pytest.raises(NotFound):
        store.submit(li.id, "wang", complete(li.shown_order), RULES)
    with pytest.raises(NotFound):
        store.skip(li.id, "wang")


def test_a_skipped_item_cannot_be_submitted_afterwards(store: Store):
    store.create_project("内科")
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None
    store.skip(assignment.id, "li")

    with pytest.raises(Conflict, match="skipped"):
        store.submit(assignment.id, "li", complete(assignment.shown_order), RULES)


def _label_with(
    store: Store, project: str, name: str, ranking: dict[str, int], **extra: object
) -> None:
    assignment = store.next_item(project, name)
    assert assignment is not None
    scores = {c: {d: 4 for d in DIMENSIONS} for c in ranking}
    store.submit(assignment.id, name, Labels(ranks=ranking, scores=scores, **extra), RULES)


def test_items_settle_by_agreement_with_the_mean_ranking(store: Store):
    store.create_project("内科", overlap=2)
    store.add_items("内科", make_items(1))
    _label_with(store, "内科", "li", {"r0": 1, "r1": 2, "r2": 3, "r3": 4}, seconds=40)
    _label_with(store, "内科", "wang", {"r0": 1, "r1": 3, "r2": 2, "r3": 4}, seconds=55)

    (labeled,) = store.labeled_items("内科")

    assert labeled.final_by == "agreement"
    assert labeled.final_ranks == {"r0": 1, "r1": 2, "r2": 2, "r3": 3}
    assert labeled.rule_version == RULES
    assert [(j.annotator, j.seconds) for j in labeled.judgements] == [("li", 40), ("wang", 55)]
    assert store.adjudication_queue("内科") == []


def test_an_unsafe_response_sinks_below_every_safe_one(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(1))
    _label_with(store, "内科", "li", {"r0": 2, "r1": 3, "r2": 4, "r3": 1}, unsafe=frozenset({"r3"}))

    (labeled,) = store.labeled_items("内科")

    assert labeled.final_ranks == {"r0": 1, "r1": 2, "r2": 3, "r3": 4}


def test_disagreeing_items_wait_in_the_queue_until_an_admin_ranks_them(store: Store):
    store.create_project("内科", overlap=2, max_disagreement=0.5)
    store.add_items("内科", make_items(1))
    _label_with(store, "内科", "li", {"r0": 1, "r1": 2, "r2": 3, "r3": 4})
    _label_with(store, "内科", "wang", {"r0": 4, "r1": 3, "r2": 2, "r3": 1})

    (entry,) = store.adjudication_queue("内科")
    assert (entry.item_id, entry.disagreement, entry.judgements) == ("q0", 2.0, 2)
    assert store.labeled_items("内科")[0].final_ranks is None

    store.adjudicate("内科", "q0", {"r0": 1, "r1": 1, "r2": 2, "r3": 3}, "admin", "r0与r1都正确")

    (labeled,) = store.labeled_items("内科")
    assert labeled.final_by == "adjudication"
    assert labeled.final_ranks == {"r0": 1, "r1": 1, "r2": 2, "r3": 3}
    assert store.adjudication_queue("内科") == []
    assert store.progress("内科").adjudicated == 1


def test_adjudication_needs_an_admin_and_a_rank_for_every_response(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(1))

    with pytest.raises(StoreError, match="'li' is not an admin"):
        store.adjudicate("内科", "q0", {"r0": 1, "r1": 2, "r2": 3, "r3": 4}, "li")
    with pytest.raises(InvalidLabels, match="response 'r3' has no rank"):
        store.adjudicate("内科", "q0", {"r0": 1, "r1": 2, "r2": 3}, "admin")


def test_progress_per_annotator_and_per_project(store: Store):
    store.create_project("内科", overlap=2)
    store.add_items("内科", make_items(3))
    _label_with(store, "内科", "li", {"r0": 1, "r1": 2, "r2": 3, "r3": 4}, seconds=30)
    _label_with(store, "内科", "li", {"r0": 1, "r1": 2, "r2": 3, "r3": 4}, seconds=50)
    _label_with(store, "内科", "wang", {"r0": 1, "r1": 2, "r2": 3, "r3": 4}, seconds=20)
    store.next_item("内科", "zhang")

    progress = store.progress("内科")

    assert (progress.items, progress.target, progress.submitted) == (3, 6, 3)
    assert (progress.complete_items, progress.agreed, progress.awaiting_adjudication) == (1, 1, 0)
    assert [
        (a.username, a.submitted, a.in_progress, a.seconds_total, a.seconds_median)
        for a in progress.annotators
    ] == [("li", 2, 0, 80.0, 40.0), ("wang", 1, 0, 20.0, 20.0), ("zhang", 0, 1, 0.0, None)]
    assert store.my_progress("内科", "wang").submitted == 1
    # q0 has li and wang, q1 has li and zhang (who holds it): only q2 is left for wang.
    assert store.my_progress("内科", "wang").available == 1


def test_a_password_opens_only_its_own_account(store: Store):
    li = store.authenticate("li", "li-password")

    assert li is not None and (li.username, li.role) == ("li", "annotator")
    assert store.authenticate("li", "wang-password") is None
    assert store.authenticate("nobody", "li-password") is None


def test_accounts_and_projects_are_unique_and_checked(store: Store):
    with pytest.raises(Conflict, match="user 'li' exists already"):
        store.create_user("li", "another-password")
    with pytest.raises(StoreError, match="at least 8 characters"):
        store.create_user("zhao", "short")
    with pytest.raises(StoreError, match="role must be one of admin, annotator"):
        store.create_user("zhao", "zhao-password", "owner")
    store.create_project("内科")
    with pytest.raises(Conflict, match="project '内科' exists already"):
        store.create_project("内科")
    with pytest.raises(NotFound, match="no project '外科'"):
        store.add_items("外科", make_items(1))


def test_concurrent_annotators_never_push_an_item_past_its_overlap(store_url: str, store: Store):
    store.create_project("内科", overlap=2)
    store.add_items("内科", make_items(5))
    names = [f"annotator{i}" for i in range(8)]
    for name in names:
        store.create_user(name, f"{name}-password")
    errors: list[BaseException] = []
    # Two stores on one database, as a server and a command-line import would be: they
    # share no lock in Python, only the database's own.
    other = Store(store_url, hasher=FAST_HASHER)

    def work(name: str, through: Store) -> None:
        try:
            while (assignment := through.next_item("内科", name)) is not None:
                through.submit(assignment.id, name, complete(assignment.shown_order), RULES)
        except BaseException as error:  # reported to the test thread below
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(name, (store, other)[i % 2]))
        for i, name in enumerate(names)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()

    assert errors == []
    per_item = Counter(x.item.id for x in store.labeled_items("内科") for _ in x.judgements)
    assert per_item == {f"q{i}": 2 for i in range(5)}
    for labeled in store.labeled_items("内科"):
        annotators = [j.annotator for j in labeled.judgements]
        assert len(set(annotators)) == len(annotators)


def test_concurrent_submissions_of_one_assignment_store_one_judgement(store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(1))
    assignment = store.next_item("内科", "li")
    assert assignment is not None
    results = []

    def submit() -> None:
        results.append(store.submit(assignment.id, "li", complete(assignment.shown_order), RULES))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.created for r in results) == [False] * 5 + [True]
    assert len({r.judgement_id for r in results}) == 1
    assert len(store.labeled_items("内科")[0].judgements) == 1


def test_an_acknowledged_label_survives_sigkill_of_the_process(store_url: str, store: Store):
    store.create_project("内科", overlap=1)
    store.add_items("内科", make_items(1))
    # A child process submits, says so, and is killed before it could close anything.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from annotation.store import Store, Labels
                store = Store({store_url!r})
                a = store.next_item("内科", "li")
                ranks = {{c: i + 1 for i, c in enumerate(a.shown_order)}}
                scores = {{c: {{"safety": 5, "professionalism": 4, "fluency": 3}} for c in ranks}}
                store.submit(a.id, "li", Labels(ranks=ranks, scores=scores), "1.0")
                print("acknowledged", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "acknowledged"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    reopened = Store(store_url, hasher=FAST_HASHER)
    (labeled,) = reopened.labeled_items("内科")
    reopened.close()
    assert labeled.judgements[0].annotator == "li"
    assert child.returncode == -signal.SIGKILL
