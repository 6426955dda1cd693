"""Warm starts end to end: ``PollingOptions(history=path)`` against the emulator, two clients in a row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import odirouter_async as odr
from odirouter_async import PollingOptions
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def one_job(emu: Emulator, history: Path) -> int:
    """Run one job in a fresh client with ``history``; the polls it took."""
    polling = PollingOptions(history=str(history), seed=1)
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, polling=polling) as client:
        result = await client.queue.run("my-model", {"prompt": "x"})
        assert result.outputs
        return client.queue.stats().polls


async def test_second_client_starts_warm_from_the_history_file(tmp_path: Path) -> None:
    """The first client saves the endpoint's durations on close; the second polls its job less."""
    history = tmp_path / "cache" / "poll-history.json"
    async with Emulator(job_duration=1.0, job_jitter=0.0, permissive=True) as emu:
        cold = await one_job(emu, history)
        saved = json.loads(history.read_bytes())["endpoints"]
        assert set(saved) == {"my-model"}
        assert 0.9 <= saved["my-model"]["q"][0] <= 1.5
        warm = await one_job(emu, history)
    assert warm <= 2 < cold


async def test_corrupt_history_file_does_not_break_jobs(tmp_path: Path) -> None:
    """A garbage history file is ignored (logged): the job completes and the file is rewritten."""
    history = tmp_path / "poll-history.json"
    history.write_bytes(b"\x00garbage")
    async with Emulator(job_duration=0.3, job_jitter=0.0, permissive=True) as emu:
        await one_job(emu, history)
    assert "my-model" in json.loads(history.read_bytes())["endpoints"]
