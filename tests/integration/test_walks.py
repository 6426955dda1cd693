"""The walks of issue #22: how many of the package's modules one call runs through, and how often
control changes module (``benchmarks/trace_modules.py`` traces them with ``sys.setprofile``).

Counts, not times: a call that does less on its path enters fewer modules.  The limits: one
``client.queue.run`` through at most 14 modules with at most 60 hops, one chat stream through at
most 12.  A failure prints the walk, module by module.  The walks are traced in a fresh interpreter:
an application that does not trace (OpenTelemetry's tracer provider is process-global, and other
tests of a worker set one; with one set, the HTTP and GenAI span modules join both walks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from benchmarks.trace_modules import Walk

ROOT = Path(__file__).resolve().parents[2]
_PROBE = (
    "import asyncio, msgspec, sys\n"
    "from benchmarks.trace_modules import walks\n"
    "found = asyncio.run(walks())\n"
    "sys.stdout.write(msgspec.json.encode({k: w.sequence for k, w in found.items()}).decode())\n"
)


@pytest.fixture(scope="module")
def found() -> dict[str, Walk]:
    """Both walks, traced once in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return {k: Walk(sequence=v) for k, v in msgspec.json.decode(out, type=dict[str, list[str]]).items()}


def _shown(walk: Walk) -> str:
    return " -> ".join(m.removeprefix("odirouter_async.") for m in walk.sequence)


def test_queue_run_walks_at_most_14_modules_and_60_hops(found: dict[str, Walk]) -> None:
    """One queue.run (submit, the scheduler's polls, the result) stays within 14 modules and 60 hops."""
    walk = found["queue.run"]
    assert len(walk.modules) <= 14, _shown(walk)
    assert walk.hops <= 60, _shown(walk)


def test_chat_stream_walks_at_most_12_modules(found: dict[str, Walk]) -> None:
    """One chat stream (open, every chunk, the end) stays within 12 modules."""
    walk = found["chat stream"]
    assert len(walk.modules) <= 12, _shown(walk)


def test_the_trace_sees_the_request_path(found: dict[str, Walk]) -> None:
    """The trace counts the package's own modules: both walks pass through the transport and the
    chat stream through its SSE decoder and protocol."""
    assert all("odirouter_async.http.transport" in w.modules for w in found.values())
    assert {"odirouter_async.http.sse", "odirouter_async.llm.chat_protocol"} <= found["chat stream"].modules
    assert "odirouter_async.queue.schedule" in found["queue.run"].modules
    assert not any(m.startswith("odirouter_async.testing") for w in found.values() for m in w.modules)
