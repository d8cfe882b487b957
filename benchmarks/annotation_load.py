"""Load on the labeling tool: simulated annotators against `medloom annotate serve`.

    .venv/bin/python benchmarks/annotation_load.py [--annotators 50] [--seconds 30]
        [--think-ms 2000] [--crash] [--db URL] [--out benchmarks/out/annotation-load]

The server is the real command (`medloom annotate serve`, uvicorn, one process) on a
loopback port, over a fresh database (SQLite by default; ``--db postgresql+psycopg://...``
for PostgreSQL, on an empty schema). Each simulated annotator logs in with its password and
then, until the time is up: takes an item (``POST /api/projects/1/next``), thinks, saves a
partial draft, thinks, submits the full labels; one submit in twenty is sent twice, as a
double click or a retry would. A submit counts as acknowledged when the server answered 200.

Then the database is read directly: every acknowledged label must be there with the ranks
that were sent (none lost), no assignment may hold two judgements and no item more than N
annotators (none duplicated). Printed: submits acknowledged, per second, and the p50 / p95
/ p99 latency of submit, draft and next as the clients saw them.

``--crash`` kills the server with SIGKILL halfway, starts it again on the same database and
port, and lets the annotators carry on (their cookies still work: the session secret is
the same); a submit that failed is sent again after the restart. The check afterwards is
the same: every label acknowledged before or after the kill is there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from annotation.records import DIMENSIONS, Candidate, Message, PromptItem  # noqa: E402
from annotation.store import Store, normalize_url  # noqa: E402

REAL = REPO.parent / "shared" / "data" / "real"
SECRET = "benchmark-session-secret-0123456789abcdef"
PASSWORD = "benchmark-password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Tally:
    acknowledged: dict[int, dict[str, int]] = field(default_factory=dict)  # assignment → ranks
    submit_ms: list[float] = field(default_factory=list)
    draft_ms: list[float] = field(default_factory=list)
    next_ms: list[float] = field(default_factory=list)
    repeats: int = 0
    failures: int = 0  # requests that got no answer or an error status


def _texts() -> tuple[list[str], list[str]]:
    """Questions and answers from the real CMtMedQA test set when present, else made up."""
    path = REAL / "zhongjing" / "CMtMedQA_test.json"
    if path.exists():
        records = json.loads(path.read_text("utf-8"))
        questions = [r.get("instruction") or r.get("instruct") or "" for r in records]
        answers = [r.get("output", "") for r in records]
        return [q for q in questions if q][:1000], [a for a in answers if a][:1000]
    questions = [f"第{i}位患者：最近头痛、失眠，血压145/95，需要吃药吗？" for i in range(200)]
    answers = [
        f"回答{i}：建议先监测一周血压，低盐饮食，规律作息，必要时就诊。" * 3 for i in range(200)
    ]
    return questions, answers


def _items(count: int, k: int) -> list[PromptItem]:
    questions, answers = _texts()
    rng = random.Random(7)
    return [
        PromptItem(
            id=f"load-{i:05d}",
            source="benchmark",
            prompt=(Message("user", questions[i % len(questions)]),),
            candidates=tuple(
                Candidate(f"r{j}", rng.choice(answers), model=f"model-{j}") for j in range(k)
            ),
        )
        for i in range(count)
    ]


def _prepare(db: str, annotators: int, items: int, overlap: int) -> None:
    store = Store(db)
    store.create_user("admin", PASSWORD, "admin")
    for n in range(annotators):
        store.create_user(f"annotator{n:02d}", PASSWORD)
    store.create_project("load", overlap=overlap, k=4)
    store.add_items("load", _items(items, 4))
    store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(db: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, MEDLOOM_ANNOTATE_SECRET=SECRET)
    env.pop("MEDLOOM_DEID_SECRET", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "annotate",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--allow-http",
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not start in 60 s; see {log}")


def _labels(order: list[str], rng: random.Random, *, partial: bool) -> dict:
    ranking = order[:]
    rng.shuffle(ranking)
    ranks = {c: i + 1 for i, c in enumerate(ranking)}
    if partial:
        first = ranking[0]
        return {"ranks": {first: 1}, "scores": {first: {"safety": 4}}, "seconds": 20.0}
    return {
        "ranks": ranks,
        "scores": {c: {d: rng.randint(1, 5) for d in DIMENSIONS} for c in order},
        "unsafe": [ranking[-1]] if rng.random() < 0.1 else [],
        "seconds": round(rng.uniform(20, 120), 1),
    }


async def _log_in(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    """Log in as a person would (the login form); return the API headers for the session."""
    page = await client.get("/login")
    token = _CSRF.search(page.text).group(1)
    landing = await client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token},
        follow_redirects=True,
    )
    landing.raise_for_status()
    return {"X-CSRF-Token": _CSRF.search(landing.text).group(1)}


async def _annotator(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    deadline: float,
    think: float,
    tally: Tally,
    seed: int,
) -> None:
    rng = random.Random(seed)
    # People do not all press the key in the same millisecond.
    await asyncio.sleep(rng.uniform(0, 2 * think))

    async def call(
        samples: list[float], method: str, url: str, **kwargs: object
    ) -> httpx.Response | None:
        # Through a server restart: send again until it answers or the time is up.
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError:
                tally.failures += 1
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 200:
                samples.append((time.perf_counter() - started) * 1000)
            else:
                tally.failures += 1
            return response
        return None

    while time.monotonic() < deadline:
        taken = await call(tally.next_ms, "POST", "/api/projects/1/next")
        if taken is None or taken.status_code != 200 or taken.json() is None:
            return
        assignment = taken.json()
        order = [r["id"] for r in assignment["responses"]]
        await asyncio.sleep(rng.uniform(0, 2 * think))
        await call(
            tally.draft_ms,
            "POST",
            f"/api/assignments/{assignment['id']}/draft",
            json=_labels(order, rng, partial=True),
        )
        await asyncio.sleep(rng.uniform(0, 2 * think))
        labels = _labels(order, rng, partial=False)
        sends = 2 if rng.random() < 0.05 else 1
        for _ in range(sends):
            response = await call(
                tally.submit_ms, "POST", f"/api/assignments/{assignment['id']}/submit", json=labels
            )
            if response is not None and response.status_code == 200:
                tally.acknowledged[assignment["id"]] = labels["ranks"]
        tally.repeats += sends - 1


def _percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    cuts = statistics.quantiles(samples, n=100)
    return (
        f"p50 {cuts[49]:.1f} ms  p95 {cuts[94]:.1f} ms  p99 {cuts[98]:.1f} ms  (n={len(samples)})"
    )


def _verify(db: str, tally: Tally, overlap: int) -> tuple[int, int, list[str]]:
    """(labels in the database, acknowledged, problems) read straight from the tables."""
    problems = []
    # A direct look at the tables, none of the store's logic in between.
    engine = create_engine(normalize_url(db))
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT a.id, a.item_id, a.user_id, j.ranks FROM assignments a "
            "JOIN judgements j ON j.assignment_id = a.id WHERE j.status = 'submitted'"
        ).all()
    engine.dispose()
    stored = {}
    per_item: dict[int, set[int]] = {}
    for assignment_id, item_id, user_id, ranks in rows:
        ranks = json.loads(ranks) if isinstance(ranks, str) else ranks
        if assignment_id in stored:
            problems.append(f"assignment {assignment_id} holds two judgements")
        stored[assignment_id] = ranks
        annotators = per_item.setdefault(item_id, set())
        if user_id in annotators:
            problems.append(f"item {item_id} judged twice by user {user_id}")
        annotators.add(user_id)
    problems += [
        f"item {i} has {len(a)} annotators > {overlap}"
        for i, a in per_item.items()
        if len(a) > overlap
    ]
    for assignment_id, ranks in tally.acknowledged.items():
        if assignment_id not in stored:
            problems.append(f"acknowledged label of assignment {assignment_id} is missing")
        elif stored[assignment_id] != ranks:
            problems.append(f"assignment {assignment_id} holds other ranks than acknowledged")
    return len(stored), len(tally.acknowledged), problems


async def _run(
    args: argparse.Namespace,
    base: str,
    server: list[subprocess.Popen],
    restart: Callable[[], subprocess.Popen],
) -> tuple[Tally, float]:
    tally = Tally()
    names = [f"annotator{n:02d}" for n in range(args.annotators)]
    clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in names]
    # Logging in (argon2, deliberately slow) happens before the clock starts.
    sessions = await asyncio.gather(*(_log_in(c, n) for c, n in zip(clients, names, strict=True)))
    started = time.monotonic()
    deadline = started + args.seconds
    workers = [
        asyncio.create_task(
            _annotator(client, headers, deadline, args.think_ms / 1000, tally, seed)
        )
        for seed, (client, headers) in enumerate(zip(clients, sessions, strict=True))
    ]
    if args.crash:
        await asyncio.sleep(args.seconds / 2)
        acknowledged = len(tally.acknowledged)
        server[0].send_signal(signal.SIGKILL)
        server[0].wait()
        print(f"SIGKILL after {acknowledged} acknowledged submits; restarting", flush=True)
        server[0] = await asyncio.to_thread(restart)
    await asyncio.gather(*workers)
    wall = time.monotonic() - started
    for client in clients:
        await client.aclose()
    return tally, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--think-ms", type=float, default=2000, help="mean pause between two requests"
    )
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--crash", action="store_true", help="SIGKILL the server halfway")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in --out)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "annotation-load")
    args = parser.parse_args()

    if args.db is None and args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.db or f"sqlite:///{args.out / 'labels.db'}"
    log = args.out / "server.log"
    print(f"preparing {args.annotators} annotators and {args.items} items in {db}", flush=True)
    _prepare(db, args.annotators, args.items, args.overlap)
    port = _free_port()
    server = [_start_server(db, port, log)]
    try:
        tally, wall = asyncio.run(
            _run(args, f"http://127.0.0.1:{port}", server, lambda: _start_server(db, port, log))
        )
    finally:
        server[0].send_signal(signal.SIGTERM)
        server[0].wait(30)
    stored, acknowledged, problems = _verify(db, tally, args.overlap)
    print(f"annotators {args.annotators}, think {args.think_ms:.0f} ms, wall {wall:.1f} s")
    print(
        f"submits acknowledged {acknowledged} ({acknowledged / wall:.1f}/s), "
        f"sent twice {tally.repeats}, labels in the database {stored}, "
        f"failed requests {tally.failures}"
    )
    print(f"submit  {_percentiles(tally.submit_ms)}")
    print(f"draft   {_percentiles(tally.draft_ms)}")
    print(f"next    {_percentiles(tally.next_ms)}")
    if problems:
        print(f"FAILED: {len(problems)} problems, first: {problems[:5]}")
        return 1
    print("every acknowledged label is in the database; none is duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
