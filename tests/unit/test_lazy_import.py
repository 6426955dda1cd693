"""``import odirouter_async`` loads only what a chat call needs (issue #23); every name still resolves."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import odirouter_async
heavy = [m for m in sys.modules if m.startswith(("odirouter_async.queue", "odirouter_async.batch",
    "odirouter_async.cli", "odirouter_async.videos", "odirouter_async.http.multipart", "opentelemetry"))]
print(heavy)
"""

_RESOLVE = """
import odirouter_async
from odirouter_async import Job, JobMap, Journal, SchedulerStats, Video, JobState  # noqa: F401
missing = [n for n in odirouter_async.__all__ if getattr(odirouter_async, n, None) is None]
assert "Job" in dir(odirouter_async)
print(missing)
"""


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_import_loads_no_queue_videos_cli_or_opentelemetry() -> None:
    """A fresh ``import odirouter_async`` loads no queue, schedule, videos, CLI, multipart, OTel."""
    assert _run(_PROBE) == "[]"


def test_every_public_name_still_resolves() -> None:
    """Every name in ``__all__`` resolves, and ``from odirouter_async import Job`` works."""
    assert _run(_RESOLVE) == "[]"


def test_client_builds_queue_and_videos_on_first_use() -> None:
    """``client.queue`` / ``client.videos`` are built (and the queue imported) on first access, once."""
    code = """
import sys
import odirouter_async
client = odirouter_async.AsyncOdiRouter(api_key="k", base_url="http://127.0.0.1:9")
before = "odirouter_async.queue.jobs" in sys.modules
same = client.queue is client.queue, client.videos is client.videos
print(before, *same, "odirouter_async.queue.jobs" in sys.modules)
"""
    assert _run(code) == "False True True True"
