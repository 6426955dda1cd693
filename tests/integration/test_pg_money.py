"""The batch user's money (#19) with the PostgreSQL journal: halt on no credit, top-up, job_retries."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pg_fixtures
import psycopg
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

pg = pg_fixtures.pg
dsn = pg_fixtures.dsn
EP = "nano_banana_2"


@pytest.fixture
async def emu_client() -> AsyncIterator[tuple[Emulator, odr.AsyncOdiRouter]]:
    """An in-process emulator (0.05 s jobs) and a client bound to it."""
    async with (
        Emulator(job_duration=0.05, job_jitter=0.2, keep_log=False) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        yield emu, client


def paid(emu: Emulator) -> Counter[str]:
    """Jobs the emulator created, by input prompt."""
    return Counter(str(job.arguments["prompt"]) for job in emu.jobs.values())


async def test_credit_out_halts_then_top_up_finishes_each_input_once(
    emu_client: tuple[Emulator, odr.AsyncOdiRouter], dsn: str
) -> None:
    """Credit for 40 of 120 on a shared batch: BatchHalted after at most `concurrency` refusals, no
    row failed; after a top-up the same call runs the other 80: 0 paid twice."""
    emu, client = emu_client
    inputs = [{"prompt": f"p{i}"} for i in range(120)]
    emu.queue_credit = 40
    got = 0
    with pytest.raises(odr.BatchHalted) as info:
        async with client.queue.map(EP, inputs, concurrency=8, journal=dsn) as results:
            async for outcome in results:
                assert outcome.ok
                got += 1
    assert got == 40 and isinstance(info.value.reason, odr.InsufficientBalanceError)
    assert emu.stats.count("queue.submit", 403) <= 8
    assert "failed" not in pg_fixtures.states(dsn)
    emu.queue_credit = None
    async with client.queue.map(EP, inputs, concurrency=8, journal=dsn) as results:
        rest = [o async for o in results]
    assert len(rest) == 80 and all(o.ok for o in rest)
    assert pg_fixtures.states(dsn) == {"done": 120}
    assert paid(emu) == Counter({f"p{i}": 1 for i in range(120)})


async def test_job_retries_record_each_attempt(
    emu_client: tuple[Emulator, odr.AsyncOdiRouter], dsn: str
) -> None:
    """job_retries=2 on a shared batch: a transient input ends done at attempt 3, a blocked one fails once."""
    emu, client = emu_client
    inputs = [
        {"prompt": "t", "_emu": {"fail": "INTERNAL_SERVER_ERROR", "fail_times": 2}},
        {"prompt": "b", "_emu": {"fail": "CONTENT_BLOCKED"}},
    ]
    async with client.queue.map(EP, inputs, journal=dsn, job_retries=2) as results:
        outcomes = {o.index: o async for o in results}
    assert outcomes[0].ok and outcomes[0].attempts == 3
    assert isinstance(outcomes[1].error, odr.JobFailed) and outcomes[1].attempts == 1
    assert paid(emu) == Counter({"t": 3, "b": 1})
    with psycopg.connect(dsn) as conn:
        rows = dict(conn.execute("SELECT state, attempt FROM odirouter_inputs ORDER BY idx").fetchall())
    assert rows == {"done": 3, "failed": 1}
