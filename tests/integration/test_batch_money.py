"""The batch user's money (#19): leaving a journaled map, submit kinds, job_retries, replayed outcomes.

Paid = a job the emulator created (``emu.jobs``); every test counts them per input.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest

import odirouter_async as odr
from odirouter_async.batch.journal import Journal
from odirouter_async.batch.map import MapOutcome
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

# Every test runs once per queue gateway variant (and "random"), as the existing map tests do.
emu = variant_emulator_fixture(name="emu", job_duration=0.1, job_jitter=0.5, video_duration=0.2)

EP = "nano_banana_2"
N = 30


def args(i: int, **emu_controls: Any) -> dict[str, Any]:
    """Arguments of input ``i`` (its prompt names it; ``_emu`` scripts the job)."""
    controls = {"duration": 0.02 + (i % 5) * 0.04, **emu_controls}
    return {"prompt": f"cat {i}", "_emu": controls}


def paid(emu: Emulator) -> Counter[str]:
    """Jobs the emulator created, by input prompt."""
    return Counter(str(job.arguments["prompt"]) for job in emu.jobs.values())


def states(path: Path) -> Counter[str]:
    """Journal entries by state."""
    with closing(sqlite3.connect(path)) as conn:
        return Counter(dict(conn.execute("SELECT state, count(*) FROM entries GROUP BY state").fetchall()))


async def collect(client: odr.AsyncOdiRouter, inputs: list[dict[str, Any]], **kw: Any) -> list[MapOutcome]:
    async with client.queue.map(EP, inputs, **kw) as results:
        return sorted([done async for done in results], key=lambda o: o.index)


async def leave_at_30_percent(client: odr.AsyncOdiRouter, how: str, path: Path, inputs: list[Any]) -> int:
    """Run the map and leave it after 30 % of the outcomes: by a cancel scope, an exception or break."""
    taken = 0
    with anyio.CancelScope() as scope:
        try:
            async with client.queue.map(EP, inputs, concurrency=8, journal=path) as results:
                async for _ in results:
                    taken += 1
                    if taken == len(inputs) * 3 // 10:
                        if how == "break":
                            break
                        if how == "exception":
                            raise KeyboardInterrupt
                        scope.cancel()
                        await anyio.lowlevel.checkpoint()  # delivered here, as a signal would be
        except KeyboardInterrupt:
            pass
    return taken


@pytest.mark.parametrize("how", ["cancel", "exception", "break"])
async def test_ctrl_c_at_30_percent_then_resume_pays_every_input_once(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path, how: str
) -> None:
    """Leaving a journaled map (Ctrl-C, an exception, break) leaves its jobs running; the resume
    re-attaches them: every input paid exactly once, no remote cancel, finished ones replayed."""
    inputs = [args(i) for i in range(N)]
    path = tmp_path / "run.sqlite"
    taken = await leave_at_30_percent(client, how, path, inputs)
    assert taken == N * 3 // 10
    assert emu.stats.count("queue.cancel") == 0
    assert states(path)["intent"] == 0  # nothing left uncertain by leaving
    outcomes = await collect(client, inputs, concurrency=8, journal=path)
    assert [o.index for o in outcomes] == list(range(N)) and all(o.ok for o in outcomes)
    assert sum(o.replayed for o in outcomes) >= taken
    assert all(not o.replayed or o.attempts == 0 for o in outcomes)
    assert paid(emu) == Counter({f"cat {i}": 1 for i in range(N)})
    assert emu.stats.count("queue.cancel") == 0


async def test_cancel_on_exit_true_with_a_journal_cancels_and_the_resume_knows(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """cancel_on_exit=True given explicitly still cancels; those inputs are journaled cancelled-by-us
    and the resume submits exactly those again (a new attempt, a new request id)."""
    emu.set_endpoint(EP, duration=1000.0, jitter=0.0)  # inputs without their own duration run long
    inputs = [{"prompt": f"cat {i}", **({"_emu": {"duration": 0.01}} if i < 2 else {})} for i in range(6)]
    path = tmp_path / "run.sqlite"
    async with client.queue.map(EP, inputs, concurrency=6, journal=path, cancel_on_exit=True) as results:
        async for _ in results:
            break
    cancelled = states(path)["cancelled"]
    assert cancelled == emu.stats.count("queue.cancel", 202) >= 1
    emu.set_endpoint(EP, duration=0.01)
    outcomes = await collect(client, inputs, concurrency=6, journal=path)
    assert all(o.ok for o in outcomes)
    assert sum(paid(emu).values()) == 6 + cancelled
    assert sum(k.endswith("-a2") for k in emu.stats.submits_by_request_id_header) == cancelled


async def test_without_a_journal_leaving_still_cancels(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without a journal the default stays: leaving the map cancels its running jobs remotely."""
    inputs = [args(i, duration=1000.0 if i else 0.01) for i in range(4)]
    async with client.queue.map(EP, inputs, concurrency=4) as results:
        async for _ in results:
            break
    assert emu.stats.count("queue.cancel", 202) == 3


async def test_submit_outcomes_in_three_kinds(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """401/403/404/422/429 answers are *not created* (never failed; the resume submits them, no flag);
    a 2xx without an id is *uncertain*; a job that exists is *created*."""
    path = tmp_path / "run.sqlite"
    emu.faults.add("queue.submit", status=422, body={"detail": "bad prompt"}, times=1)
    first = await collect(client, [args(0)], journal=path)
    assert first[0].submit == "not_created" and not first[0].replayed
    assert states(path) == Counter({"not_created": 1})
    emu.faults.add("queue.submit", status=429, times=10)
    pushed = await collect(client, [args(0), args(1)], journal=path, concurrency=1)
    assert all(o.submit == "not_created" for o in pushed)
    assert states(path) == Counter({"not_created": 2})
    emu.faults.clear()
    done = await collect(client, [args(0), args(1)], journal=path)
    assert all(o.ok and o.submit == "created" for o in done)
    assert paid(emu) == Counter({"cat 0": 1, "cat 1": 1})


async def test_a_schema_3_journal_with_refused_submits_resumes_them(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """An older journal that stored a refused submit as failed (no job id) is migrated: not created,
    and the resume submits it (the issue's "replayed as JobFailed after a top-up")."""
    path = tmp_path / "old.sqlite"
    inputs = [args(0), args(1)]
    async with await Journal.open(path, endpoint=EP) as journal:
        key, digest = Journal.keys_for([inputs[0]])[0], Journal.hash_arguments(inputs[0])
        await journal.record_intents([(key, 0, digest)])
        journal.record_outcome(key, False, b'{"error": "insufficient balance", "status_code": 403}')
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 3")
        conn.commit()
    outcomes = await collect(client, inputs, journal=path)
    assert all(o.ok and not o.replayed for o in outcomes)
    assert paid(emu) == Counter({"cat 0": 1, "cat 1": 1})


async def test_closing_the_client_mid_map_leaves_nothing_uncertain(emu: Emulator, tmp_path: Path) -> None:
    """A client closed while its journaled map runs: the map ends first (jobs left running,
    recorded), no input is journaled uncertain, and a new client's resume pays each input once."""
    inputs = [args(i, duration=0.3) for i in range(40)]
    path = tmp_path / "run.sqlite"
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
        results = c.queue.map(EP, inputs, concurrency=8, journal=path)
        async for _ in results:
            break
    assert states(path)["intent"] == 0 and emu.stats.count("queue.cancel") == 0
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
        outcomes = await collect(c, inputs, concurrency=8, journal=path)
    assert len(outcomes) == 40 and all(o.ok for o in outcomes)
    assert paid(emu) == Counter({f"cat {i}": 1 for i in range(40)})


async def test_a_map_left_by_break_outside_async_with_cancels_before_the_client_closes(emu: Emulator) -> None:
    """``results = c.queue.map(...)`` left by break, then the client closes: its running jobs are
    cancelled remotely first (no journal) -- never left running silently."""
    inputs = [args(i, duration=1000.0 if i else 0.01) for i in range(5)]
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
        results = c.queue.map(EP, inputs, concurrency=5)
        async for _ in results:
            break
    assert emu.stats.count("queue.cancel", 202) == 4
    assert all(job.cancelled for job in emu.jobs.values() if job.duration > 1)


async def test_job_retries_resubmit_transient_failures_only(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """job_retries=2: every transient input (INFERENCE_TIMEOUT / INTERNAL_SERVER_ERROR, failing once
    or twice) ends done; every CONTENT_BLOCKED input fails once and is never submitted again; each
    attempt is in the journal."""
    transient = {i: ("INFERENCE_TIMEOUT" if i % 2 else "INTERNAL_SERVER_ERROR", 1 + i % 2) for i in range(6)}
    inputs = [args(i, fail=kind, fail_times=times) for i, (kind, times) in transient.items()]
    inputs += [args(i, fail="CONTENT_BLOCKED") for i in range(6, 9)]
    inputs += [args(i) for i in range(9, 12)]
    path = tmp_path / "run.sqlite"
    outcomes = await collect(client, inputs, concurrency=6, journal=path, job_retries=2)
    for o in outcomes[:6]:
        assert o.ok and o.attempts == transient[o.index][1] + 1
    for o in outcomes[6:9]:
        assert isinstance(o.error, odr.JobFailed) and o.error.error_type == "CONTENT_BLOCKED"
        assert o.attempts == 1
    assert all(o.ok and o.attempts == 1 for o in outcomes[9:])
    expected = {f"cat {i}": transient[i][1] + 1 if i in transient else 1 for i in range(12)}
    assert paid(emu) == Counter(expected)
    with closing(sqlite3.connect(path)) as conn:
        attempts = sorted(a for (a,) in conn.execute("SELECT attempt FROM entries WHERE state = 'done'"))
    assert attempts == sorted([t + 1 for _, t in transient.values()] + [1] * 3)
    assert len(set(emu.stats.submits_by_request_id_header)) == sum(expected.values())


async def test_job_retries_default_is_zero(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without job_retries a transient failure is delivered as is: nothing is paid again unless asked."""
    outcomes = await collect(client, [args(0, fail="INFERENCE_TIMEOUT", fail_times=1)])
    assert isinstance(outcomes[0].error, odr.JobFailed) and len(emu.jobs) == 1
    with pytest.raises(ValueError, match="job_retries"):
        client.queue.map(EP, [], job_retries=-1)
