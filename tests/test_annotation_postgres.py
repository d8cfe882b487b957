"""The store tests of test_annotation_store.py, run again against PostgreSQL.

They need the server at 127.0.0.1:5432 (trust authentication, database ``test``; user
$PGUSER, default ``postgres``). Each test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from test_annotation_store import (  # noqa: F401 (collected here again, on PostgreSQL)
    store,
    test_a_draft_is_kept_with_the_assignment,
    test_a_password_opens_only_its_own_account,
    test_a_skip_frees_the_slot_for_someone_else_but_not_for_the_skipper,
    test_a_skipped_item_cannot_be_submitted_afterwards,
    test_a_submission_needs_every_rank_and_every_score,
    test_accounts_and_projects_are_unique_and_checked,
    test_adding_the_same_items_twice_adds_them_once,
    test_adjudication_needs_an_admin_and_a_rank_for_every_response,
    test_an_acknowledged_label_survives_sigkill_of_the_process,
    test_an_annotator_cannot_touch_another_annotators_assignment,
    test_an_annotator_never_gets_the_same_item_twice,
    test_an_item_goes_to_at_most_overlap_annotators,
    test_an_item_with_more_than_k_responses_keeps_k_chosen_by_id_not_order,
    test_an_unsafe_response_sinks_below_every_safe_one,
    test_concurrent_annotators_never_push_an_item_past_its_overlap,
    test_concurrent_submissions_of_one_assignment_store_one_judgement,
    test_disagreeing_items_wait_in_the_queue_until_an_admin_ranks_them,
    test_each_annotator_gets_a_random_order_that_is_recorded,
    test_items_settle_by_agreement_with_the_mean_ranking,
    test_items_someone_holds_are_handed_out_first_so_they_complete,
    test_items_that_cannot_be_ranked_are_rejected_with_a_reason,
    test_progress_per_annotator_and_per_project,
    test_submitting_again_replaces_the_labels_and_never_duplicates_them,
    test_the_unfinished_item_comes_back_until_it_is_submitted,
    test_values_out_of_range_or_about_unknown_responses_are_refused,
)

pytestmark = pytest.mark.slow

SERVER = f"host=127.0.0.1 port=5432 dbname=test user={os.environ.get('PGUSER', 'postgres')}"


@pytest.fixture
def store_url() -> Iterator[str]:
    """A fresh schema on the test server, as the search path of the store's connections."""
    try:
        admin = psycopg.connect(SERVER, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {str(error).strip()}")
    schema = f"medloom_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        user = admin.info.user
        try:
            yield (
                f"postgresql+psycopg://{user}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
            )
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
