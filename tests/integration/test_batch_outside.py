"""The outside check of #19 (the batch user's money), against a gateway nobody else here wrote.

``money_gateway.MoneyGateway`` refuses a revoked key on every route (polls too), answers an
unknown endpoint with an nginx HTML 404, and can send this process SIGTERM from a submit.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from money_gateway import MoneyGateway

import odirouter_async as odr
from odirouter_async.cli import main_async

EP = "flux_pro_11"


def args(i: int) -> dict[str, Any]:
    """Arguments of input ``i``."""
    return {"prompt": f"owl {i}"}


@pytest.mark.anyio
async def test_revoked_key_refusing_polls_leaves_running_jobs_for_the_resume(tmp_path: Path) -> None:
    """A key revoked after 8 jobs (polls answer 401 too): the 8 jobs are not recorded failed;
    with a valid key again the same call re-attaches them: 20 ok, each input paid once."""
    inputs = [args(i) for i in range(20)]
    path = tmp_path / "run.sqlite"
    async with MoneyGateway(polls_to_finish=3) as gw:
        gw.revoke_after = 8
        async with odr.AsyncOdiRouter(api_key="k", base_url=gw.url) as client:
            with pytest.raises(odr.BatchHalted) as info:
                async for _ in client.queue.map(EP, inputs, concurrency=8, journal=path):
                    pass
            assert isinstance(info.value.reason, odr.AuthenticationError)
            assert gw.refused <= 8
            gw.revoke_after = None  # a valid key again
            async with client.queue.map(EP, inputs, concurrency=8, journal=path) as results:
                outcomes = [done async for done in results]
    assert [o.error for o in outcomes if not o.ok] == []
    assert gw.created == Counter({f"owl {i}": 1 for i in range(20)}) and gw.cancels == 0


@pytest.fixture
async def cli_gw(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MoneyGateway]:
    """The gateway on the test's loop; the CLI runs in-process on that loop (``main_async``) and the
    environment points it at the gateway."""
    async with MoneyGateway(polls_to_finish=1) as gw:
        monkeypatch.setenv("ODIROUTER_API_KEY", "k")
        monkeypatch.setenv("ODIROUTER_BASE_URL", gw.url)
        yield gw


def write_inputs(path: Path, n: int) -> None:
    path.write_text("".join(json.dumps(args(i)) + "\n" for i in range(n)))


@pytest.mark.anyio
async def test_cli_unknown_endpoint_then_the_right_one_in_the_same_out_dir(
    cli_gw: MoneyGateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``odirouter batch flux_nope`` stops (exit 3, HTML 404); the suggested command with the
    endpoint corrected runs in the same --out: 40 ok, each paid once."""
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, 40)
    out = str(tmp_path / "out")
    assert (
        await main_async(["batch", "flux_nope", str(inputs), "--out", out, "-q", "--concurrency", "4"]) == 3
    )
    assert cli_gw.refused <= 4
    assert "with the right endpoint, resume with: odirouter batch flux_nope" in capsys.readouterr().err
    assert await main_async(["batch", EP, str(inputs), "--out", out, "-q", "--concurrency", "4"]) == 0, (
        capsys.readouterr()
    )
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 40 and all(r["status"] == "ok" for r in lines)
    assert cli_gw.created == Counter({f"owl {i}": 1 for i in range(40)})


@pytest.mark.anyio
async def test_cli_sigterm_stops_cleanly_and_the_same_command_pays_nothing_twice(
    cli_gw: MoneyGateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """SIGTERM (kill, docker stop) at the 30th of 100 submits: exit 143, the journal saved, jobs
    left running; the same command again: 100 ok, each input paid once, nothing cancelled."""
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, 100)
    command = ["batch", EP, str(inputs), "--out", str(tmp_path / "out"), "-q", "--concurrency", "8"]

    def term(n: int) -> None:
        if n == 30:
            os.kill(os.getpid(), signal.SIGTERM)

    cli_gw.on_submit = term
    assert await main_async(command) == 143
    err = capsys.readouterr().err
    assert "terminated (SIGTERM)" in err and "resume with: odirouter batch" in err
    assert await main_async(command) == 0
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 100 and all(r["status"] == "ok" for r in lines)
    assert cli_gw.created == Counter({f"owl {i}": 1 for i in range(100)})
    assert cli_gw.cancels == 0
