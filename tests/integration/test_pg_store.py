"""The PostgreSQL journal store in-process: ``queue.map(journal=DSN)``, claims, fencing, leases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pg_fixtures
import psycopg
import pytest

import odirouter_async as odr
from odirouter_async import JournalError
from odirouter_async.batch.pg_hooks import input_rows
from odirouter_async.batch.pg_store import PgJournal
from odirouter_async.testing import Emulator

# PostgreSQL answers from another process, in real time.
pytestmark = [pytest.mark.anyio, pytest.mark.realtime]

pg = pg_fixtures.pg
dsn = pg_fixtures.dsn
EP = "nano_banana_2"


@pytest.fixture
async def emu_client() -> AsyncIterator[tuple[Emulator, odr.AsyncOdiRouter]]:
    """An in-process emulator (0.1 s jobs) and a client bound to it."""
    async with (
        Emulator(job_duration=0.1, job_jitter=0.2, keep_log=False) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        yield emu, client


async def test_two_maps_on_one_dsn_share_the_inputs(
    emu_client: tuple[Emulator, odr.AsyncOdiRouter], dsn: str
) -> None:
    """Two concurrent maps with the same DSN split 300 inputs; each is submitted exactly once."""
    emu, client = emu_client
    inputs = [{"prompt": f"p{i}"} for i in range(300)]
    counts: list[int] = []

    async def worker() -> None:
        n = 0
        async with client.queue.map(EP, inputs, concurrency=32, journal=dsn) as results:
            async for outcome in results:
                assert outcome.error is None and outcome.result is not None
                n += 1
        counts.append(n)

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        tg.start_soon(worker)
    assert sum(counts) == 300
    assert emu.stats.count("queue.submit") == 300 and emu.stats.duplicate_submits == 0
    assert pg_fixtures.states(dsn) == {"done": 300}
    async with client.queue.map(EP, inputs, journal=dsn) as results:  # a rerun: nothing left to do
        assert [o async for o in results] == []
    assert emu.stats.count("queue.submit") == 300


async def test_outcomes_carry_the_position_of_their_input_in_the_callers_list(
    emu_client: tuple[Emulator, odr.AsyncOdiRouter], dsn: str
) -> None:
    """Two workers on one DSN: each outcome's index is its input's position in ``inputs`` (the
    emulator echoes the arguments), ``input`` is the caller's object, and the union covers each once."""
    emu, client = emu_client
    # Identical prompts twice: distinct inputs by occurrence, positions must still be told apart.
    inputs = [{"prompt": f"p{i % 150}", "n": i} for i in range(200)] + [{"prompt": "same"}] * 2
    seen: list[int] = []

    async def worker() -> None:
        async with client.queue.map(EP, inputs, concurrency=16, journal=dsn) as results:
            async for outcome in results:
                assert outcome.result is not None, outcome.error
                assert outcome.input is inputs[outcome.index]
                assert outcome.result.raw["metadata"] == inputs[outcome.index]
                seen.append(outcome.index)

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        tg.start_soon(worker)
    assert sorted(seen) == list(range(len(inputs)))
    assert emu.stats.count("queue.submit") == len(inputs)


async def test_an_input_only_another_worker_loaded_has_index_minus_one(
    emu_client: tuple[Emulator, odr.AsyncOdiRouter], dsn: str
) -> None:
    """A batch holding an input this caller did not pass: its outcome has index -1 and the claimed
    arguments as input; the caller's own inputs keep their positions."""
    _, client = emu_client
    other = await PgJournal.open(dsn, endpoint=EP)
    try:
        await other.load_inputs(input_rows([{"prompt": "theirs"}, {"prompt": "ours"}]))
    finally:
        await other.close()
    inputs = [{"prompt": "first"}, {"prompt": "ours"}]
    async with client.queue.map(EP, inputs, journal=dsn) as results:
        got = {o.index: o.input async for o in results}
    assert got == {-1: {"prompt": "theirs"}, 0: inputs[0], 1: inputs[1]}


async def test_a_stalled_worker_cannot_submit_what_another_took_over(dsn: str) -> None:
    """A worker whose lease expired loses its claimed rows: its intent is refused, so it never submits."""
    a = await PgJournal.open(dsn, endpoint=EP, lease=30)
    b = await PgJournal.open(dsn, endpoint=EP, lease=30)
    try:
        await a.load_inputs(input_rows([{"prompt": "x"}, {"prompt": "y"}]))
        mine = await a.claim(10)
        assert [r.state for r in mine] == ["claimed", "claimed"]
        assert await b.claim(10) == []  # live worker's rows are not claimable
        with psycopg.connect(dsn, autocommit=True) as conn:  # a's lease runs out (a stalled)
            conn.execute("UPDATE odirouter_workers SET lease_until = now() WHERE id = %s", (a.worker_id,))
        taken = await b.claim(10)
        assert {r.key for r in taken} == {r.key for r in mine}
        assert await a.claim_intents([mine[0].key]) == set()  # fenced: a must not submit
        assert await b.claim_intents([mine[0].key]) == {mine[0].key}
        assert b.request_id_for(mine[0].key) == a.request_id_for(mine[0].key)  # one run_id per batch
    finally:
        await a.close()
        await b.close()


async def test_a_dead_workers_submit_in_flight_becomes_uncertain_not_resent(dsn: str) -> None:
    """An intent whose worker died is claimed as ``uncertain`` (reported), and only a resubmitting
    worker gets it back to submit, with the same attempt (same request id)."""
    a = await PgJournal.open(dsn, endpoint=EP, lease=30)
    b = await PgJournal.open(dsn, endpoint=EP, lease=30)
    try:
        await a.load_inputs(input_rows([{"prompt": "x"}]))
        (row,) = await a.claim(1)
        assert await a.claim_intents([row.key]) == {row.key}
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE odirouter_workers SET lease_until = now() WHERE id = %s", (a.worker_id,))
        (seen,) = await b.claim(5)
        assert seen.state == "uncertain"
        assert await b.claim(5) == []  # reported once, never handed out for a silent resend
        (again,) = await b.claim(5, resubmit_uncertain=True)
        assert again.state == "claimed" and again.attempt == row.attempt
    finally:
        await a.close()
        await b.close()


async def test_a_batch_of_another_endpoint_is_refused_and_the_dsn_never_shown(dsn: str) -> None:
    """Joining a batch under another endpoint is a JournalError; the store's repr has no password."""
    j = await PgJournal.open(dsn, endpoint=EP, batch="shared")
    try:
        assert "postgresql" not in repr(j)
        with pytest.raises(JournalError, match="runs on endpoint"):
            await PgJournal.open(dsn, endpoint="flux_pro_11", batch="shared")
    finally:
        await j.close()


async def test_an_unreachable_database_is_a_journal_error() -> None:
    """A DSN nobody listens on: a clear JournalError (without the password) after the reconnect window."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(JournalError, match="unreachable") as info:
        await PgJournal.open(f"postgresql://u:secret@127.0.0.1:{port}/x", endpoint=EP, reconnect_timeout=0.3)
    assert "secret" not in str(info.value)
