"""`medloom annotate ...` from a shell: accounts, a project, import, progress, export."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_annotation_store import FAST_HASHER

from annotation.cli import session_secret
from annotation.store import Labels, Store
from pipelines.cli import main
from pipelines.errors import MedloomError

ANSWERS = [
    {
        "id": "chest-pain",
        "prompt": "我叫王小明，电话13912345678，爬楼时胸口闷痛，休息后好转，要紧吗？",
        "responses": [
            "这可能是心绞痛，建议尽快到心内科就诊，做心电图和运动负荷试验。",
            "没事，多休息就好。",
            "可能是心脏问题，也可能是胃食管反流，先去医院排除心脏原因。",
        ],
    },
    {
        "id": "child-fever",
        "prompt": "孩子发烧39度两天了，吃了布洛芬还反复，要去医院吗？",
        "responses": ["需要就医，查血常规。", "继续吃退烧药观察。"],
    },
]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "labels.db"
    monkeypatch.setenv("MEDLOOM_ANNOTATE_DB", str(path))
    return str(path)


def _with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_accounts_project_import_progress_and_export_from_the_shell(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    candidates = tmp_path / "answers.jsonl"
    candidates.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in ANSWERS) + "\n")
    _with_stdin(monkeypatch, "admin-password\n")
    assert main(["annotate", "create-admin", "--username", "admin"]) == 0
    for name in ("li", "wang"):
        _with_stdin(monkeypatch, f"{name}-password\n")
        assert main(["annotate", "add-user", "--username", name]) == 0
    assert main(["annotate", "create-project", "--name", "内科", "--overlap", "2", "--k", "3"]) == 0

    assert (
        main(["annotate", "import", "--project", "内科", "--format", "jsonl", str(candidates)]) == 0
    )
    imported = capsys.readouterr().out

    assert "project 内科: added 2, already there 0, cut to K responses 0, rejected 0" in imported
    store = Store(db)
    held = store.next_item("内科", "li")
    assert held is not None
    assert "13912345678" not in held.item.prompt[0].content
    assert "王小明" not in held.item.prompt[0].content
    for name in ("li", "wang"):
        assignment = store.next_item("内科", name)
        assert assignment is not None
        ranks = {c.id: i + 1 for i, c in enumerate(assignment.item.candidates)}
        scores = {c: {"safety": 4, "professionalism": 4, "fluency": 4} for c in ranks}
        store.submit(assignment.id, name, Labels(ranks=ranks, scores=scores, seconds=30), "1.0")
    store.close()

    assert main(["annotate", "progress", "--project", "内科"]) == 0
    progress = capsys.readouterr().out
    assert main(["annotate", "export", "--project", "内科", "--output", str(tmp_path / "out")]) == 0
    exported = capsys.readouterr().out

    assert progress.splitlines() == [
        "内科 (N=2, K=3): 2 items, 2/4 judgements, 1 complete, 1 agreed, 0 adjudicated, "
        "0 awaiting adjudication",
        "annotator  submitted  in progress  skipped  minutes  median s",
        "li         1          0            0        0.5      30      ",
        "wang       1          0            0        0.5      30      ",
    ]
    assert "settled: 1" in exported
    pairs = pq.read_table(tmp_path / "out" / "pairs" / "part-00000.parquet")
    assert pairs.num_rows == 3


def test_an_unknown_project_ends_in_one_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    candidates = tmp_path / "answers.jsonl"
    candidates.write_text(json.dumps(ANSWERS[0], ensure_ascii=False) + "\n")

    code = main(["annotate", "import", "--project", "外科", "--format", "jsonl", str(candidates)])

    assert code == 2
    assert capsys.readouterr().err == "medloom: error: no project '外科'\n"


def test_a_password_is_read_from_standard_input_never_from_the_command_line(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    _with_stdin(monkeypatch, "")

    code = main(["annotate", "add-user", "--username", "li"])

    assert code == 2
    assert capsys.readouterr().err == "medloom: error: no password on standard input\n"


def test_the_session_secret_is_made_once_beside_a_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("MEDLOOM_ANNOTATE_SECRET", raising=False)
    db = str(tmp_path / "labels.db")

    first, second = session_secret(db), session_secret(db)

    secret_file = tmp_path / "labels.db.secret"
    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    monkeypatch.setenv("MEDLOOM_ANNOTATE_SECRET", "from-the-environment-0123456789abcdef")
    assert session_secret(db) == "from-the-environment-0123456789abcdef"


def test_a_postgresql_server_needs_the_secret_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("MEDLOOM_ANNOTATE_SECRET", raising=False)

    with pytest.raises(MedloomError, match="set MEDLOOM_ANNOTATE_SECRET"):
        session_secret("postgresql+psycopg://annotate@db.example/labels")


def test_an_export_keeps_out_items_that_hold_an_evaluation_prompt(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    candidates = tmp_path / "answers.jsonl"
    candidates.write_text(json.dumps(ANSWERS[1], ensure_ascii=False) + "\n")
    eval_prompts = tmp_path / "eval_prompts.txt"
    eval_prompts.write_text("孩子发烧39度两天了，吃了布洛芬还反复，要去医院吗？\n\n")
    store = Store(db, hasher=FAST_HASHER)
    store.create_project("儿科", overlap=1, k=2)
    store.create_user("li", "li-password")
    store.close()
    assert (
        main(
            [
                "annotate",
                "import",
                "--project",
                "儿科",
                "--format",
                "jsonl",
                "--no-deid",
                str(candidates),
            ]
        )
        == 0
    )
    store = Store(db, hasher=FAST_HASHER)
    held = store.next_item("儿科", "li")
    assert held is not None
    scores = {c.id: {"safety": 4, "professionalism": 4, "fluency": 4} for c in held.item.candidates}
    ranks = {c.id: i + 1 for i, c in enumerate(held.item.candidates)}
    store.submit(held.id, "li", Labels(ranks=ranks, scores=scores), "1.0")
    store.close()
    capsys.readouterr()

    code = main(
        [
            "annotate",
            "export",
            "--project",
            "儿科",
            "--output",
            str(tmp_path / "out"),
            "--eval-prompts",
            str(eval_prompts),
        ]
    )

    exported = capsys.readouterr().out
    assert code == 0
    assert "eval_overlaps_removed: 1" in exported.splitlines()
    assert "pairs: 0" in exported.splitlines()
    assert pq.read_table(tmp_path / "out" / "ranking" / "part-00000.parquet").num_rows == 0
