"""The batch command's garbage-collector settings: an application's choice, never the library's.

A large batch keeps thousands of jobs alive for seconds, long enough for their objects to be
promoted and traversed again by every older collection: at 10 000 jobs with a journal the cyclic
collector took ~30 % of the client's CPU (``benchmarks/bench_queue.py``, ``gc_seconds``).  The
library never touches process-wide settings; ``odirouter batch`` is a program of its own and may,
for its duration only: the objects alive at the start (modules, the client) are frozen out of
every collection, and young collections run every 50 000 allocations instead of 700.  Both are
restored on the way out, so calling ``odirouter_async.cli.main`` from a program leaves its
collector as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ("BATCH_THRESHOLDS", "batch_collector")

#: ``gc.set_threshold`` during a batch (measured: GC time from ~2.6 s to < 0.1 s at 10 000 jobs)
BATCH_THRESHOLDS: Final = (50_000, 20, 100)


@contextmanager
def batch_collector() -> Iterator[None]:
    """Freeze what is alive now and collect less often until the block ends; then restore both."""
    previous = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0  # a program that froze objects itself keeps its own freeze
    if freeze:
        gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if freeze:
            gc.unfreeze()
