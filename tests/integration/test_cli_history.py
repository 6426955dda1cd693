"""``odirouter run`` keeps a poll history under ``$XDG_CACHE_HOME`` by default: a second run starts warm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_env import point_cli_at

from odirouter_async.cli import main_async
from odirouter_async.testing import Emulator


@pytest.mark.anyio
async def test_second_run_reads_the_history_the_first_run_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run 1 writes $XDG_CACHE_HOME/odirouter_async/poll-history.json; run 2 polls its job less."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    history = tmp_path / "odirouter_async" / "poll-history.json"
    async with Emulator(job_duration=3.0, job_jitter=0.0, permissive=True) as emu:
        point_cli_at(emu.url, emu.api_key, monkeypatch)
        assert not history.exists()
        assert await main_async(["run", "my-model", "--json", '{"prompt": "cold"}']) == 0
        saved = json.loads(history.read_bytes())["endpoints"]
        assert set(saved) == {"my-model"}
        assert await main_async(["run", "my-model", "--json", '{"prompt": "warm"}']) == 0
        cold_id, warm_id = emu.jobs
        cold, warm = emu.stats.job_requests[cold_id], emu.stats.job_requests[warm_id]
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 2  # both runs printed their result
    # a 3 s job: cold scouts from 0.25 s (6-7 polls here), warm aims at the learned 3 s (2); a
    # loaded machine can add a poll to either, so the gap asserted is 3 (without the history both are cold)
    assert warm <= cold - 3
