"""An emulator served from a thread with its own event loop, for code that runs its own (the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from anyio.from_thread import start_blocking_portal

from odirouter_async.testing import Emulator


@contextmanager
def threaded_emulator(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch | None = None
) -> Iterator[Emulator]:
    """Serve ``emulator`` from a thread; with ``monkeypatch``, the environment points the CLI at it."""
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(emulator) as e,
    ):
        if monkeypatch is not None:
            monkeypatch.setenv("ODIROUTER_API_KEY", e.api_key)
            monkeypatch.setenv("ODIROUTER_BASE_URL", e.url)
        yield e
