"""NearDedup: one copy kept per cluster of near-duplicates, by rule; every drop a reject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines.dedup import components, near
from pipelines.dedup.config import NearDedupConfig
from pipelines.dedup.near import BLOCK_DOCS, NearDedup, node_id, node_key

_CASE = (
    "患者男性，65岁，因反复胸闷气短三年，加重一周入院。既往有高血压病史十年，规律服用氨氯地平。"
    "查体：血压150/90mmHg，双肺底可闻及湿啰音，心率98次/分。"
)
_ADVICE = "糖尿病患者应控制饮食，适当运动，定期监测血糖，必要时使用胰岛素治疗，预防并发症的发生。"


def _doc(doc_id: str, text: str, source: str = "records") -> dict[str, Any]:
    return {"id": doc_id, "text": text, "source": source, "source_record_id": doc_id}


def _run(docs: list[dict[str, Any]], priorities: dict[str, int], check: Any) -> None:
    with beam.Pipeline() as p:
        result = (
            p
            | beam.Create(docs)
            | NearDedup(NearDedupConfig(component_rounds=4), priorities, 12, True)
        )
        check(result)


def test_node_keys_sort_by_priority_then_hash() -> None:
    assert node_key("b", 5) < node_key("a", 1)
    assert node_id(node_key("病例-7", 0)) == "病例-7"


def test_near_copy_is_rejected_with_the_kept_id_and_jaccard() -> None:
    docs = [_doc("a", _CASE), _doc("b", _CASE.replace("十年", "十一年")), _doc("c", _ADVICE)]
    ordered = sorted(["a", "b"], key=lambda i: node_key(i, 0))

    def check(result: Any) -> None:
        assert_that(
            result.kept | beam.Map(lambda d: d["id"]),
            equal_to([ordered[0], "c"]),
            label="kept",
        )
        assert_that(
            result.rejected | beam.Map(lambda r: (r["id"], r["stage"], r["reason"], r["detail"])),
            equal_to(
                [(ordered[1], "near_dedup", "near_duplicate", f"of {ordered[0]}, jaccard 0.87")]
            ),
            label="rejected",
        )

    _run(docs, {}, check)


def test_higher_priority_source_is_kept() -> None:
    docs = [
        _doc("forum-1", _CASE, "forum"),
        _doc("book-1", _CASE.replace("三年", "3年"), "textbook"),
    ]

    def check(result: Any) -> None:
        assert_that(result.kept | beam.Map(lambda d: d["id"]), equal_to(["book-1"]), label="kept")

    _run(docs, {"textbook": 10, "forum": 1}, check)


def test_every_document_gets_one_cluster_row() -> None:
    docs = [_doc("a", _CASE), _doc("b", _CASE + "谢谢医生。"), _doc("c", _ADVICE), _doc("d", "")]
    ordered = sorted(["a", "b"], key=lambda i: node_key(i, 0))

    def check(result: Any) -> None:
        assert_that(
            result.clusters | beam.Map(lambda r: (r["id"], r["cluster"], r["kept"])),
            equal_to(
                [
                    (ordered[0], ordered[0], True),
                    (ordered[1], ordered[0], False),
                    ("c", "c", True),
                    ("d", "d", True),
                ]
            ),
        )

    _run(docs, {}, check)


def test_without_documents_only_ids_and_clusters_travel() -> None:
    docs = [_doc("a", _CASE), _doc("b", _CASE.replace("十年", "十一年")), _doc("c", _ADVICE)]
    kept, copy = sorted(["a", "b"], key=lambda i: node_key(i, 0))

    with beam.Pipeline() as p:
        result = (
            p | beam.Create(docs) | NearDedup(NearDedupConfig(), {}, 12, False, documents=False)
        )
        assert_that(
            result.clusters | beam.Map(lambda r: (r["id"], r["kept_id"], r["similarity"])),
            equal_to([(kept, kept, 1.0), (copy, kept, None), ("c", "c", 1.0)]),
            label="clusters",
        )
        assert_that(result.kept, equal_to([]), label="kept")
        assert_that(result.rejected, equal_to([]), label="rejected")


def test_hard_negative_sharing_one_sentence_is_kept() -> None:
    shared = "既往有高血压病史十年，规律服用氨氯地平。"
    docs = [
        _doc("a", "患者女性，72岁，头晕伴视物旋转两天。" + shared + "头颅CT未见出血。"),
        _doc("b", "患者男性，58岁，双下肢水肿一月。" + shared + "尿蛋白阳性，肌酐升高。"),
    ]

    def check(result: Any) -> None:
        assert_that(result.kept | beam.Map(lambda d: d["id"]), equal_to(["a", "b"]))

    _run(docs, {}, check)


def _stat(result: Any, metric: str, label: str) -> Any:
    return (
        result.stats
        | f"Pick{label}" >> beam.Filter(lambda s: s[0][1] == f"near_dedup/{metric}")
        | f"Value{label}" >> beam.Map(lambda s: s[1])
        | f"Sum{label}" >> beam.CombineGlobally(sum)
    )


def test_many_copies_of_one_text_form_one_cluster_without_the_bands() -> None:
    docs = [_doc(f"copy-{i}", _CASE) for i in range(150)]
    kept = min((f"copy-{i}" for i in range(150)), key=lambda i: node_key(i, 0))

    def check(result: Any) -> None:
        assert_that(result.kept | beam.Map(lambda d: d["id"]), equal_to([kept]), label="kept")
        assert_that(
            result.rejected | beam.combiners.Count.Globally(), equal_to([149]), label="rejected"
        )
        # One block: 149 copies are linked to the first by their equal signatures.
        assert_that(_stat(result, "same_signature", "Same"), equal_to([149]), label="same")

    _run(docs, {}, check)


def test_a_hot_bucket_pairs_its_members_with_one_of_them() -> None:
    docs = [_doc(f"visit-{i}", _CASE + f"第{i:03d}次复诊。") for i in range(100)]
    kept = min((d["id"] for d in docs), key=lambda i: node_key(i, 0))

    def check(result: Any) -> None:
        assert_that(result.kept | beam.Map(lambda d: d["id"]), equal_to([kept]), label="kept")
        assert_that(
            _stat(result, "hot_buckets", "Hot") | beam.Map(lambda n: n > 0),
            equal_to([True]),
            label="hot",
        )

    _run(docs, {}, check)


def test_edges_sent_on_early_make_the_same_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that sends its edges on every two nodes (bounded memory) clusters the same."""
    monkeypatch.setattr(components, "FLUSH_EDGES", 2)
    monkeypatch.setattr(near, "FLUSH_EDGES", 2)
    families = [_CASE, _ADVICE, _CASE.replace("男性，65岁", "女性，58岁") + _ADVICE]
    docs = [
        _doc(f"f{f}-{v}", text + suffix)
        for f, text in enumerate(families)
        for v, suffix in enumerate(["", "请复诊", "遵医嘱", "定期随访"])
    ]

    def check(result: Any) -> None:
        assert_that(
            result.clusters | beam.Map(lambda r: (r["id"][:2], r["cluster"][:2])),
            equal_to([(f"f{f}", f"f{f}") for f in range(3) for _ in range(4)]),
            label="families",
        )
        assert_that(
            result.kept | beam.Map(lambda d: d["id"][:2]),
            equal_to(["f0", "f1", "f2"]),
            label="kept",
        )

    _run(docs, {}, check)


def test_block_files_go_under_the_temp_location_and_go_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp, seen = tmp_path / "beam-temp", tmp_path / "seen.txt"
    remove = near._remove_scratch

    def remove_and_record(scratch: str, checked: int) -> None:
        # Runs in the runner's copy of this function: what it saw goes through a file.
        seen.write_text(" ".join(sorted(p.suffix for p in Path(scratch).iterdir())))
        remove(scratch, checked)

    monkeypatch.setattr(near, "_remove_scratch", remove_and_record)
    docs = [_doc("a", _CASE), _doc("b", _CASE.replace("十年", "十一年")), _doc("c", _ADVICE)]
    with beam.Pipeline(options=PipelineOptions(["--temp_location", str(temp)])) as p:
        result = p | beam.Create(docs) | NearDedup(NearDedupConfig(), {}, 12, False)
        assert_that(result.clusters | beam.Map(lambda r: r["kept"]), equal_to([True, False, True]))
    assert seen.read_text() == ".block"
    assert list(temp.iterdir()) == []


@pytest.mark.slow
def test_a_cluster_larger_than_a_block_is_decided_in_batches() -> None:
    copies = BLOCK_DOCS + 500
    docs = [_doc(f"copy-{i:05d}", _CASE) for i in range(copies)] + [_doc("other", _ADVICE)]
    kept = min((f"copy-{i:05d}" for i in range(copies)), key=lambda i: node_key(i, 0))

    def check(result: Any) -> None:
        assert_that(
            result.kept | beam.Map(lambda d: d["id"]), equal_to([kept, "other"]), label="kept"
        )
        assert_that(
            result.clusters
            | beam.Map(lambda r: (r["kept"], r["cluster"]))
            | beam.combiners.Count.PerElement(),
            equal_to([((True, kept), 1), ((False, kept), copies - 1), ((True, "other"), 1)]),
            label="clusters",
        )

    _run(docs, {}, check)


def test_pairs_found_in_several_bands_are_kept_once_in_order() -> None:
    big, small = np.uint64(2**63 - 5), np.uint64(7)
    first_blocks = np.array([big, small, big, small], dtype=np.uint64)
    first_rows = np.array([2047, 3, 2047, 3], dtype=np.uint64)
    blocks = np.array([small, big, small, small], dtype=np.uint64)
    rows = np.array([0, 1, 0, 9], dtype=np.uint64)
    bands = np.array([1, 1, 2, 1], dtype=np.uint64)
    first, pairs, shared = near._distinct_pairs(first_blocks, first_rows, blocks, rows, bands)
    assert first.tolist() == [7, 7, 2**63 - 5]
    assert pairs.tolist() == [[3, 7, 9], [3, 2**63 - 5, 1], [2047, 7, 0]]
    assert shared.tolist() == [1, 1, 3]


def _bucket_pairs(max_bucket_size: int, keys_of_rows: list[list[int]]) -> list[list[int]]:
    """(row, other block, other row, bands shared) of one block's documents, whose band keys
    are given row by row (a document's rank is its row)."""
    pairs_in_bucket = near._PairsInBucket(max_bucket_size, 2, "near_dedup")
    pairs_in_bucket.start_bundle()
    rows = [row for row, keys in enumerate(keys_of_rows) for _ in keys]
    entries = (
        5,
        np.array([k for keys in keys_of_rows for k in keys], dtype=np.uint64).tobytes(),
        np.array(rows, dtype=np.uint64).tobytes(),
        np.array(rows, dtype=np.uint32).tobytes(),
    )
    found = list(pairs_in_bucket.process((0, [entries])))
    assert [block for block, _ in found] == [5]
    return np.frombuffer(found[0][1], dtype=np.uint64).reshape(-1, 4).tolist()


def test_a_pair_carries_the_number_of_bands_it_shares() -> None:
    # Rows 0 and 1 share two bands; row 2 shares one with each of them.
    assert _bucket_pairs(64, [[11, 12], [11, 12], [11, 13]]) == [
        [0, 5, 1, 2],
        [0, 5, 2, 1],
        [1, 5, 2, 1],
    ]


def test_a_hot_buckets_pairs_count_as_enough_shared_bands() -> None:
    # Three members in a bucket of at most two: each is paired with the first only, and the
    # pair stands for the bucket, so it counts as the two bands a candidate needs.
    assert _bucket_pairs(2, [[11], [11], [11]]) == [[0, 5, 1, 2], [0, 5, 2, 2]]
