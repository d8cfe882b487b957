"""Beam options from the command line: the local runner is the FnApiRunner, never Prism."""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from pipelines.beam_options import pipeline_options, runner_name


def test_no_runner_or_the_direct_runner_runs_on_the_fn_api_runner() -> None:
    for args in ([], ["--runner", "DirectRunner"]):
        options = pipeline_options(args)
        assert options.view_as(StandardOptions).runner == "FnApiRunner"
        assert runner_name(options) == "DirectRunner"


def test_direct_runner_options_still_reach_the_engine() -> None:
    options = pipeline_options(
        ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
    )
    direct = options.view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (2, "multi_processing")


def test_another_runner_is_left_as_given() -> None:
    options = pipeline_options(["--runner", "DataflowRunner", "--project", "med-data"])
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert runner_name(options) == "DataflowRunner"


def test_local_worker_processes_get_two_malloc_arenas(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "")  # so that the test's own setting is undone
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    pipeline_options(["--direct_num_workers", "2"])
    assert "MALLOC_ARENA_MAX" not in os.environ
    pipeline_options(["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])
    assert os.environ["MALLOC_ARENA_MAX"] == "2"


def test_a_malloc_arena_count_the_user_set_is_kept(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    pipeline_options(["--direct_running_mode", "multi_processing"])
    assert os.environ["MALLOC_ARENA_MAX"] == "4"
