"""Stop conditions of a whole batch (#19): no credit, a refused key, an unknown endpoint.

The map stops submitting at the first such answer (at most ``concurrency`` submits were already in
flight), still delivers the running jobs, leaves the rest pending and raises ``BatchHalted``;
``odirouter batch`` exits 3 with one line saying what happened and the command that resumes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cli_env import point_cli_at

import odirouter_async as odr
from odirouter_async.batch.map import MapOutcome
from odirouter_async.cli import main_async
from odirouter_async.testing import Emulator, variant_emulator_fixture

EP = "nano_banana_2"
CONCURRENCY = 8

# The map tests run once per queue gateway variant (and "random"), as the existing map tests do.
emu = variant_emulator_fixture(name="emu", job_duration=0.05, job_jitter=0.5, video_duration=0.2)


def args(i: int) -> dict[str, Any]:
    """Arguments of input ``i``."""
    return {"prompt": f"owl {i}", "_emu": {"duration": 0.01 + (i % 4) * 0.02}}


def paid(emu: Emulator) -> Counter[str]:
    """Jobs the emulator created, by input prompt."""
    return Counter(str(job.arguments["prompt"]) for job in emu.jobs.values())


async def run_until_halted(
    client: odr.AsyncOdiRouter, inputs: list[dict[str, Any]], **kw: Any
) -> tuple[list[MapOutcome], odr.BatchHalted]:
    """The outcomes a map delivered before it raised ``BatchHalted``, and that error."""
    got: list[MapOutcome] = []
    with pytest.raises(odr.BatchHalted) as info:
        async with client.queue.map(EP, inputs, concurrency=CONCURRENCY, **kw) as results:
            async for done in results:
                got.append(done)
    return got, info.value


@pytest.mark.anyio
async def test_credit_runs_out_at_40_of_120_then_a_top_up_finishes_the_rest(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Credit for 40 of 120: the map stops submitting at the first 403 "insufficient balance"
    (at most `concurrency` refused), delivers the 40 jobs, raises BatchHalted; after a top-up the
    same call gives 120 results, 0 failed, 0 paid twice."""
    inputs = [args(i) for i in range(120)]
    path = tmp_path / "run.sqlite"
    emu.queue_credit = 40
    got, halted = await run_until_halted(client, inputs, journal=path)
    refused = emu.stats.count("queue.submit", 403)
    assert 1 <= refused <= CONCURRENCY
    assert isinstance(halted.reason, odr.InsufficientBalanceError)
    assert len(got) == 40 and all(o.ok for o in got)
    assert (halted.done, halted.pending) == (40, 80) and 0 <= halted.running <= CONCURRENCY
    assert isinstance(halted, odr.OdiRouterError) and "insufficient balance" in str(halted)
    emu.queue_credit = None  # the top-up
    async with client.queue.map(EP, inputs, concurrency=CONCURRENCY, journal=path) as results:
        outcomes = [done async for done in results]
    assert len(outcomes) == 120 and all(o.ok for o in outcomes)
    assert sum(o.replayed for o in outcomes) == 40
    assert paid(emu) == Counter({f"owl {i}": 1 for i in range(120)})
    assert emu.stats.count("queue.submit", 403) == refused


@pytest.mark.anyio
async def test_no_credit_without_a_journal_halts_too(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without a journal the map halts the same way (HTTP 402 here): nothing is reported failed."""
    emu.balance = 5
    got, halted = await run_until_halted(client, [args(i) for i in range(50)])
    assert isinstance(halted.reason, odr.InsufficientBalanceError) and halted.reason.status_code == 402
    assert len(got) == 5 and all(o.ok for o in got)
    assert emu.stats.count("queue.submit", 402) <= CONCURRENCY


@pytest.mark.anyio
async def test_unknown_endpoint_sends_at_most_concurrency_submits(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """An unknown endpoint (404 on submit): at most `concurrency` submits, BatchHalted(NotFoundError),
    nothing delivered as failed, and the journal holds no failed or uncertain entry."""
    emu.unknown_endpoints.add(EP)
    got, halted = await run_until_halted(client, [args(i) for i in range(100)], journal=tmp_path / "j.sqlite")
    assert got == [] and isinstance(halted.reason, odr.NotFoundError)
    assert 1 <= emu.stats.count("queue.submit") <= CONCURRENCY
    assert halted.pending == 100 and halted.done == 0


@pytest.mark.anyio
async def test_a_refused_key_halts_the_batch(emu: Emulator) -> None:
    """A bad or revoked key (401): at most `concurrency` submits, then BatchHalted(AuthenticationError)."""
    async with odr.AsyncOdiRouter(api_key="revoked", base_url=emu.url) as bad:
        got, halted = await run_until_halted(bad, [args(i) for i in range(60)])
    assert got == [] and isinstance(halted.reason, odr.AuthenticationError)
    assert emu.stats.count("queue.submit") <= CONCURRENCY


# -- the command line (in-process on the test's loop: ``main_async``, the same parse and exit codes) --


# The command's own work (exit code, resume line, results.jsonl, downloads) against every variant
# at once: "random" gives each job its own (seeded), so the 120 jobs mix ids, foreign URLs and loose
# types.  Where the map itself halts and resumes is the test above, once per variant.
mixed_emu = variant_emulator_fixture(
    name="mixed_emu", variants=("random",), job_duration=0.05, job_jitter=0.5, video_duration=0.2
)


@pytest.fixture
def cli_emu(mixed_emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """An emulator with every queue variant mixed per job; the CLI points at it."""
    point_cli_at(mixed_emu.url, mixed_emu.api_key, monkeypatch)
    return mixed_emu


def write_inputs(path: Path, n: int) -> None:
    path.write_text("".join(json.dumps({"prompt": f"owl {i}"}) + "\n" for i in range(n)))


@pytest.mark.anyio
async def test_cli_credit_out_then_top_up_same_command(
    cli_emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``odirouter batch`` out of credit at 40 of 120: exit 3, one line with the resume command; the
    same command after a top-up: exit 0, 120 ok lines, 0 failed, 0 paid twice, no re-download."""
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, 120)
    out = tmp_path / "out"
    command = ["batch", EP, str(inputs), "--out", str(out), "-q", "--concurrency", str(CONCURRENCY)]
    cli_emu.queue_credit = 40
    assert await main_async(command) == 3
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("stopped: out of credit")]
    assert "80 inputs not submitted" in line
    assert line.endswith("after a top-up, resume with: odirouter " + " ".join(command))
    assert cli_emu.stats.count("queue.submit", 403) <= CONCURRENCY
    cli_emu.queue_credit = None
    downloads = cli_emu.stats.count("files")
    assert await main_async(command) == 0
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 120 and all(r["status"] == "ok" for r in lines)
    assert paid(cli_emu) == Counter({f"owl {i}": 1 for i in range(120)})
    assert cli_emu.stats.count("files") - downloads == 80


@pytest.mark.anyio
async def test_cli_unknown_endpoint_exits_3_after_at_most_concurrency_submits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``odirouter batch flux_nope``: at most `concurrency` submits, exit 3, the resume line."""
    async with Emulator(job_duration=0.02) as e:
        point_cli_at(e.url, e.api_key, monkeypatch)
        inputs = tmp_path / "in.jsonl"
        write_inputs(inputs, 100)
        command = [
            "batch",
            "flux_nope",
            str(inputs),
            "--out",
            str(tmp_path / "o"),
            "--concurrency",
            "4",
            "-q",
        ]
        assert await main_async(command) == 3
        assert 1 <= e.stats.count("queue.submit") <= 4
    err = capsys.readouterr().err
    assert "stopped: unknown endpoint (HTTP 404: App not found: flux_nope)" in err
    assert "100 inputs not submitted" in err and "resume with: odirouter batch flux_nope" in err
    results = tmp_path / "o" / "results.jsonl"
    assert not results.exists() or not results.read_text()


@pytest.mark.anyio
async def test_cli_job_retries_and_replays_not_downloaded_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--job-retries 2``: transient failures end ok, a blocked input fails once; a rerun after
    results.jsonl was lost replays from the journal and downloads nothing already on disk."""
    async with Emulator(job_duration=0.02) as e:
        point_cli_at(e.url, e.api_key, monkeypatch)
        inputs = tmp_path / "in.jsonl"
        transient = {"fail": "INFERENCE_TIMEOUT", "fail_times": 2}
        rows: list[dict[str, Any]] = [{"prompt": f"t {i}", "_emu": transient} for i in range(3)]
        rows += [{"prompt": "blocked", "_emu": {"fail": "CONTENT_BLOCKED"}}, {"prompt": "fine"}]
        inputs.write_text("".join(json.dumps(r) + "\n" for r in rows))
        out = tmp_path / "out"
        command = ["batch", EP, str(inputs), "--out", str(out), "-q", "--job-retries", "2"]
        assert await main_async(command) == 1
        lines = {r["line"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
        assert [lines[n]["status"] for n in range(1, 6)] == ["ok", "ok", "ok", "failed", "ok"]
        assert lines[4]["error_type"] == "CONTENT_BLOCKED"
        assert paid(e) == Counter({"t 0": 3, "t 1": 3, "t 2": 3, "blocked": 1, "fine": 1})
        (out / "results.jsonl").unlink()
        downloads = e.stats.count("files")
        assert await main_async(command) == 1
        assert e.stats.count("files") == downloads and len(e.jobs) == 11
    assert "4 results of earlier runs already in outputs/" in capsys.readouterr().err
