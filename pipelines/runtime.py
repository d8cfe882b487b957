"""How a medloom process runs: settings of the Python runtime, the same in every process.

The command line applies them when it starts; every worker of a pipeline, when a
counting DoFn is set up (``pipelines.counting.CountingDoFn``). Arrow's memory pool is set
by the corpus run and by the DoFns that build Arrow tables (``pipelines.spill``).
"""

from __future__ import annotations

import gc

import pyarrow as pa

# The cyclic garbage collector's first threshold (CPython's default: 700 new containers).
GC_FIRST_THRESHOLD = 50_000


def collect_garbage_rarely() -> None:
    """Run the cyclic garbage collector less often in this process.

    A batch of documents is thousands of small dicts and lists: at CPython's default
    threshold of 700 new containers the collector runs thousands of times a run, and every
    full collection walks all of Beam's, numpy's and pyarrow's objects as well (about a
    tenth of the pipeline's CPU on the 30 MB benchmark corpus; importing Beam,
    great-expectations and matplotlib, which make a million objects and no garbage, another
    1.5 CPU-s). Documents hold no reference cycles (reference counting frees them): rarer
    collections only leave the odd cycle of Beam's a little longer.
    """
    first, second, third = gc.get_threshold()
    if first < GC_FIRST_THRESHOLD:
        gc.set_threshold(GC_FIRST_THRESHOLD, second, third)


def return_arrow_memory() -> None:
    """Allocate Arrow's buffers with jemalloc, set to return freed memory to the system.

    pyarrow's default pool on Linux, mimalloc, keeps what a shard's merge and write freed:
    on the 120 MB benchmark corpus the pipeline peaked about 60 MB higher with it (415
    against 350 MB), more for larger shards. Where pyarrow has no jemalloc, the system
    allocator, which returns large blocks too.
    """
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        pool = pa.system_memory_pool()
    else:
        pa.jemalloc_set_decay_ms(0)
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)
