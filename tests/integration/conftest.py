"""Integration fixtures: the emulator (from the package's pytest plugin) and a client bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.testing import Emulator

#: Fast retries so tests that exercise them stay quick (delays are still real sleeps).
FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A fresh emulator with short jobs; any model id, echo answers (tests assert exact text)."""
    options = {"permissive": True, "echo": True}
    async with Emulator(job_duration=0.2, job_jitter=0.25, video_duration=0.2, **options) as e:
        yield e


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[odr.AsyncOdiRouter]:
    """A client bound to the emulator, with fast retries."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, retry_policy=FAST_RETRY) as c:
        yield c
