"""The walks of issue #22: how many of the package's modules one call runs through, and how often
control changes module (``benchmarks/trace_modules.py`` traces them with ``sys.setprofile``).

Counts, not times: a call that does less on its path enters fewer modules.  The limits: one
``client.queue.run`` through at most 14 modules with at most 60 hops, one chat stream through at
most 12.  A failure prints the walk, module by module.
"""

from __future__ import annotations

import pytest

from benchmarks.trace_modules import Walk, walks

pytestmark = pytest.mark.anyio


def _shown(walk: Walk) -> str:
    return " -> ".join(m.removeprefix("odirouter_async.") for m in walk.sequence)


async def test_queue_run_walks_at_most_14_modules_and_60_hops() -> None:
    """One queue.run (submit, the scheduler's polls, the result) stays within 14 modules and 60 hops."""
    walk = (await walks())["queue.run"]
    assert len(walk.modules) <= 14, _shown(walk)
    assert walk.hops <= 60, _shown(walk)


async def test_chat_stream_walks_at_most_12_modules() -> None:
    """One chat stream (open, every chunk, the end) stays within 12 modules."""
    walk = (await walks())["chat stream"]
    assert len(walk.modules) <= 12, _shown(walk)


async def test_the_trace_sees_the_request_path() -> None:
    """The trace counts the package's own modules: both walks pass through the transport."""
    found = await walks()
    assert all("odirouter_async.http.transport" in w.modules for w in found.values())
    assert not any(m.startswith("odirouter_async.testing") for w in found.values() for m in w.modules)
