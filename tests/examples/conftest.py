"""Fixtures for the examples' tests: a fresh emulator, and the environment an example reads
(``ODIROUTER_BASE_URL`` / ``ODIROUTER_API_KEY``) pointing at it, as a user would set it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from odirouter_async.testing import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A realistic emulator (catalogue models only) with short jobs."""
    async with Emulator(job_duration=0.05, job_jitter=0.5) as e:
        yield e


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The environment an example reads points at ``emu``."""
    monkeypatch.setenv("ODIROUTER_BASE_URL", emu.url)
    monkeypatch.setenv("ODIROUTER_API_KEY", emu.api_key)
    yield emu
