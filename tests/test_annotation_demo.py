"""The demo's preference samples: what they hold, and the datasets the demo makes of them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from annotation.demo import build_demo_preferences
from annotation.records import DIMENSIONS
from pipelines.deid import Deidentifier

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = DATA / "preference"


def _lines(name: str) -> list[dict]:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, engine: Deidentifier) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("preference")
    return out, build_demo_preferences(DATA, out, engine)


def test_every_sample_prompt_has_four_answers_and_an_unsafe_one() -> None:
    candidates = {c["id"]: c for c in _lines("candidates.jsonl")}
    flagged: dict[str, set[int]] = {}
    for judgement in _lines("annotations.jsonl"):
        flagged.setdefault(judgement["item"], set(judgement["unsafe"]))
        flagged[judgement["item"]] &= set(judgement["unsafe"])

    assert len(candidates) == 8
    assert all(len(c["responses"]) == 4 for c in candidates.values())
    # Every annotator of an item agrees on at least one unsafe answer.
    assert sorted(item for item, common in flagged.items() if common) == sorted(candidates)


def test_sample_judgements_rank_in_the_order_of_their_scores() -> None:
    """Rule 1.0: safety first, then professionalism, then fluency; unsafe answers last."""
    for judgement in _lines("annotations.jsonl"):
        scores = judgement["scores"]
        order = [tuple(-scores[d][p] for d in DIMENSIONS) for p in range(4)]
        placed = [(p in judgement["unsafe"], judgement["ranks"][p]) for p in range(4)]
        for a in range(4):
            for b in range(4):
                if order[a] < order[b]:
                    assert placed[a] < placed[b], (judgement["item"], judgement["annotator"])
                if order[a] == order[b]:
                    assert placed[a] == placed[b], (judgement["item"], judgement["annotator"])
        assert all(scores["safety"][p] <= 2 for p in judgement["unsafe"])


def test_demo_counts(demo: tuple[Path, dict]) -> None:
    _, counts = demo

    assert counts == {
        "import": {"read": 8, "in_items": 8, "quarantined": 0, "items": 8, "candidates": 32},
        "judgements": 17,
        "export": {
            "items": 8,
            "eval_overlaps_removed": 1,
            "near_duplicates_removed": 1,
            "ranking_rows": 6,
            "settled": 5,
            "unsettled": 1,
            "pairs": 33,
            "corrected_pairs": 4,
            "ties_dropped": 1,
        },
    }


def test_disagreeing_item_stays_out_of_the_pairs(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    ranking = pq.read_table(out / "ranking").to_pylist()
    pairs = pq.read_table(out / "pairs").to_pylist()

    unsettled = [r for r in ranking if r["final_by"] == ""]
    assert [r["prompt"][-1]["content"][:8] for r in unsettled] == ["怀孕8周，这两天"]
    assert unsettled[0]["id"] not in {p["item_id"] for p in pairs}
    assert {r["final_by"] for r in ranking} == {"agreement", ""}


def test_filtered_items_are_in_no_output(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    files = [*(out / "llamafactory").iterdir(), *(out / "openrlhf").iterdir()]
    written = "".join(f.read_text(encoding="utf-8") for f in files)
    prompts = [r["prompt"][-1]["content"] for r in pq.read_table(out / "ranking").to_pylist()]

    assert not any("幽门螺杆菌" in p for p in prompts)
    assert "幽门螺杆菌" not in written
    assert sum("二甲双胍" in p for p in prompts) == 1
    assert not any(p.endswith("谢谢医生。") for p in prompts)


def test_the_invented_name_is_replaced_everywhere(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    ranking = pq.read_table(out / "ranking").to_pylist()
    texts = json.dumps(ranking, ensure_ascii=False) + "".join(
        p.read_text(encoding="utf-8") for p in (out / "openrlhf").iterdir()
    )

    assert "王芳" not in texts
    assert any(r["prompt"][0]["content"].startswith("我叫") for r in ranking)


def test_the_multi_turn_sample_keeps_its_history(demo: tuple[Path, dict]) -> None:
    out, _ = demo
    ranking = pq.read_table(out / "ranking").to_pylist()

    (fever,) = [r for r in ranking if len(r["prompt"]) == 3]
    assert [m["role"] for m in fever["prompt"]] == ["user", "assistant", "user"]
    assert fever["final_ranks"] == [4, 3, 1, 2]
    assert [a["corrected"] is not None for a in fever["annotations"]] == [False, True]
