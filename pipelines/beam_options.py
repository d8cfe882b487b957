"""Beam options from a command line, with medloom's local default runner.

Beam 2.77's DirectRunner first tries the Prism runner, which downloads an executable from
GitHub when the job starts: offline it fails (after building the job's runner API graph a
second time) and falls back; online it would fetch and run an unpinned binary beside
hospital data. medloom's default, and what ``--runner DirectRunner`` means here, is the
DirectRunner's own batch engine, the FnApiRunner, straight away: the same engine the
fallback reaches, and ``--direct_num_workers`` and ``--direct_running_mode`` work on it.
Any other runner (``DataflowRunner``, ``PortableRunner``, ``PrismRunner``) is left as given.

Local worker processes (``--direct_running_mode multi_processing``) start with glibc's
``MALLOC_ARENA_MAX`` at 2 unless the environment sets it: a worker's gRPC threads would
otherwise each get an arena, and memory freed by one stage stays split over them (at 300k
documents, ``medloom dedup``'s largest worker peaked at 993 MB with the default, 742 MB with 2;
benchmarks/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

LOCAL_RUNNER = "DirectRunner"
_ENGINE = "FnApiRunner"
WORKER_ARENAS = "2"


def pipeline_options(beam_args: Sequence[str]) -> PipelineOptions:
    """The options ``beam_args`` give, the local runner set to the FnApiRunner."""
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner in (None, LOCAL_RUNNER):
        standard.runner = _ENGINE
    if options.view_as(DirectOptions).direct_running_mode == "multi_processing":
        # Read by each worker process's C library when it starts, never by this one.
        os.environ.setdefault("MALLOC_ARENA_MAX", WORKER_ARENAS)
    return options


def runner_name(options: PipelineOptions) -> str:
    """The runner as a user names it: ``DirectRunner`` for the local engine."""
    runner = options.view_as(StandardOptions).runner
    return LOCAL_RUNNER if runner in (None, _ENGINE) else str(runner)
