"""Reading reports how far it has got while a run is going."""

from __future__ import annotations

import logging

import pytest

from pipelines.transforms import ReadProgress


def test_progress_says_records_and_files_read_so_far(caplog: pytest.LogCaptureFixture) -> None:
    progress = ReadProgress(every_s=0.0)
    with caplog.at_level(logging.INFO, logger="medloom.progress"):
        progress.record()
        progress.file_done()
        progress.record()
    assert caplog.messages == [
        "read 1 records from 1 files so far (0 done)",
        "read 2 records from 2 files so far (1 done)",
    ]


def test_progress_is_quiet_between_intervals(caplog: pytest.LogCaptureFixture) -> None:
    progress = ReadProgress(every_s=3600.0)
    with caplog.at_level(logging.INFO, logger="medloom.progress"):
        for _ in range(1_000):
            progress.record()
    assert caplog.messages == []
