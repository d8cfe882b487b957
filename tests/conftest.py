"""Shared test fixtures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.deid import DeidConfig, Deidentifier

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session", autouse=True)
def deid_secret() -> Iterator[str]:
    """The run secret that keys de-identification surrogates, as a user exports it."""
    secret = "medloom-tests-0123456789abcdef"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDLOOM_DEID_SECRET", secret)
        yield secret


@pytest.fixture(scope="module")
def engine() -> Deidentifier:
    """A de-identification engine with the default config and a test secret."""
    return Deidentifier(DeidConfig(), b"test-secret-0123456789")


def found(engine: Deidentifier, text: str) -> list[tuple[str, str]]:
    """(value, category) of every identifier the engine detects in ``text``."""
    return [(text[s.start : s.end], s.category) for s in engine.detect(text)]


def rows(folder: Path) -> list[dict[str, Any]]:
    """Every row of the Parquet files in ``folder``, file by file in name order."""
    return [row for f in sorted(folder.glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def real_file(relative: str) -> Path:
    """A file of ../shared/data/real; the test is skipped when the folder is absent."""
    path = REAL_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {relative}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture(scope="session")
def portable_runner_args(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Beam's own local job service and an SDK worker pool in separate processes.

    The pool starts workers with the `python` on PATH, so this interpreter's folder
    goes first on it.
    """
    python = sys.executable
    env = dict(os.environ, PATH=os.path.dirname(python) + os.pathsep + os.environ["PATH"])
    logs = tmp_path_factory.mktemp("portable")
    job_port, pool_port = _free_port(), _free_port()
    processes = [
        subprocess.Popen(
            [python, "-m", module, flag, str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"{name}.log").open("w"),
        )
        for name, module, flag, port in (
            ("job", "apache_beam.runners.portability.local_job_service_main", "--port", job_port),
            ("pool", "apache_beam.runners.worker.worker_pool_main", "--service_port", pool_port),
        )
    ]
    try:
        _wait_for_port(job_port, processes[0])
        _wait_for_port(pool_port, processes[1])
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        ]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
