"""Status updates while waiting (issue #11): ``result/run(on_update=)`` and ``job.updates()``."""

from __future__ import annotations

import itertools
from contextlib import aclosing

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

#: Every test here runs once per queue gateway variant (the SDK must not depend on which one).
emu = variant_emulator_fixture(name="emu", permissive=True, job_duration=0.2, job_jitter=0.25)

EP = "flux_pro_11"


def slow(**controls: object) -> dict[str, object]:
    """A job that is queued, then runs, long enough to be seen in both phases."""
    return {"prompt": "a cat", "_emu": {"queue_delay": 0.3, "duration": 0.3, **controls}}


def check(updates: list[odr.StatusUpdate], emu: Emulator, request_id: str) -> None:
    """The updates of one job: its id, no repeats, ending COMPLETED with logs when the gateway sends them."""
    assert updates and all(u.request_id == request_id for u in updates)
    assert updates[-1].status == "COMPLETED"
    keys = [(u.status, u.queue_position, len(u.logs)) for u in updates]
    assert all(a != b for a, b in itertools.pairwise(keys))
    assert {u.status for u in updates} <= {"IN_QUEUE", "IN_PROGRESS", "COMPLETED"}
    if not emu.jobs[request_id].variant.loose:  # the loose variant sends logs: null
        assert [line["message"] for line in updates[-1].logs] == ["queued", "running", "done"]
        queued = [u for u in updates if u.status == "IN_QUEUE"]
        assert all(u.queue_position == 0 for u in queued)


async def test_result_on_update_reports_each_change(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """result(on_update=) calls back on every status change, with logs, then returns the result."""
    job = await client.queue.submit(EP, slow())
    seen: list[odr.StatusUpdate] = []
    result = await job.result(on_update=seen.append)
    assert result.outputs
    check(seen, emu, job.request_id)


async def test_plain_wait_sends_no_status_requests(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without on_update nothing changes: the response URL alone is polled."""
    await (await client.queue.submit(EP, slow())).result()
    assert emu.stats.count("queue.status") == 0


async def test_run_on_update_awaits_a_coroutine_callback(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """run(on_update=) awaits an async callback for every update."""
    seen: list[odr.StatusUpdate] = []

    async def record(update: odr.StatusUpdate) -> None:
        seen.append(update)

    result = await client.queue.run(EP, slow(), on_update=record)
    assert result.request_id is None or result.request_id == seen[-1].request_id
    check(seen, emu, seen[-1].request_id)


async def test_raising_callback_ends_the_wait_and_leaves_the_job(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """A callback that raises ends result() with that error; the job is not cancelled."""
    job = await client.queue.submit(EP, {"prompt": "x", "_emu": {"duration": 60}})

    def boom(update: odr.StatusUpdate) -> None:
        raise RuntimeError(f"stop at {update.status}")

    with pytest.raises(RuntimeError, match="stop at"):
        await job.result(on_update=boom)
    assert not emu.jobs[job.request_id].cancelled
    assert client.queue.stats().jobs == 0


async def test_updates_iterator_then_the_kept_result(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """job.updates() yields the changes until the job ends; result() then costs no request."""
    job = await client.queue.submit(EP, slow())
    seen = [update async for update in job.updates()]
    check(seen, emu, job.request_id)
    before = emu.stats.total
    assert (await job.result()).outputs
    assert emu.stats.total == before


async def test_updates_of_a_failed_job_end_and_result_raises(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """A failed job ends the updates normally; result() raises JobFailed without a request."""
    job = await client.queue.submit(EP, slow(fail="RUNTIME_ERROR"))
    seen = [update async for update in job.updates()]
    assert seen and seen[-1].status == "COMPLETED"
    before = emu.stats.total
    with pytest.raises(odr.JobFailed):
        await job.result()
    assert emu.stats.total == before


async def test_updates_wait_timeout_and_early_exit(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """updates(wait_timeout=) raises JobTimeout; closing the iterator early stops the polling."""
    job = await client.queue.submit(EP, {"prompt": "x", "_emu": {"duration": 60}})
    with pytest.raises(odr.JobTimeout, match="not cancelled"):
        async for _ in job.updates(wait_timeout=0.3):
            pass
    async with aclosing(job.updates()) as updates:
        async for _ in updates:
            break
    assert client.queue.stats().jobs == 0
    assert not emu.jobs[job.request_id].cancelled
