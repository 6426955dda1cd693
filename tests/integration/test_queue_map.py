"""client.queue.map: the window, outcomes as jobs finish, failures, leaving early, progress, hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import odirouter_async as odr
from odirouter_async.batch.map import MapHooks, MapOutcome, MapProgress
from odirouter_async.batch.map_runner import RUNNING
from odirouter_async.queue.jobs import Job
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

#: Every test here runs once per queue gateway variant (the SDK must not depend on which one).
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.25, video_duration=0.2)

#: For tests about how inputs are read and how many jobs run at once, which no variant changes:
#: only the seeded ``random`` gateway, whose jobs answer as every variant does, mixed.
mixed_variants = pytest.mark.parametrize("emu", ["random"], indirect=True)

EP = "nano_banana_2"


def args(i: int, duration: float = 0.05, **controls: object) -> dict[str, Any]:
    """Arguments of job ``i``."""
    return {"prompt": f"cat {i}", "_emu": {"duration": duration, **controls}}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


async def settle_runners() -> None:
    """Wait until every map's background task (and its cleanup) has ended."""
    while RUNNING:
        await asyncio.gather(*list(RUNNING), return_exceptions=True)


@pytest.mark.slow
@mixed_variants
async def test_500_jobs_window_of_50(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """500 jobs, concurrency 50: all finish, never more than 50 at once, no read-ahead, failures contained."""
    pulled = consumed = 0
    lead = 0

    def inputs() -> Iterator[dict[str, Any]]:
        nonlocal pulled, lead
        for i in range(500):
            pulled += 1
            lead = max(lead, pulled - consumed)
            yield args(i, 0.05 + (i % 5) * 0.05, **({"fail": "CONTENT_BLOCKED"} if i % 100 == 7 else {}))

    outcomes: list[MapOutcome] = []
    async with client.queue.map(EP, inputs(), concurrency=50) as results:
        async for done in results:
            consumed += 1
            outcomes.append(done)
    assert sorted(o.index for o in outcomes) == list(range(500))
    failed = [o for o in outcomes if o.error is not None]
    assert sorted(o.index for o in failed) == [7, 107, 207, 307, 407]
    assert all(isinstance(o.error, odr.JobFailed) and o.error.error_type == "CONTENT_BLOCKED" for o in failed)
    for o in outcomes:
        assert o.input["prompt"] == f"cat {o.index}"
        if o.error is None:
            assert o.result is not None and o.result.request_id == o.request_id
    assert lead <= 50
    spans = [(job.created_at, job.first_seen_done_at or job.finished_at) for job in emu.jobs.values()]
    assert len(spans) == 500
    assert max_overlap(spans) <= 50
    assert emu.stats.duplicate_submits == 0


@mixed_variants
async def test_async_iterable_inputs(client: odr.AsyncOdiRouter) -> None:
    """An async generator works as inputs and is closed at the end."""
    closed = False

    async def gen() -> AsyncIterator[dict[str, Any]]:
        nonlocal closed
        try:
            for i in range(20):
                yield args(i)
        finally:
            closed = True

    outcomes = [done async for done in client.queue.map(EP, gen(), concurrency=8)]
    assert sorted(o.index for o in outcomes) == list(range(20))
    assert all(o.ok for o in outcomes)
    assert closed


async def test_failed_submit_is_an_outcome(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A rejected submit (or a bad input) is an outcome with its error; the others go on."""
    inputs: list[Any] = [args(0), {"prompt": "x", "_emu": {"duration": "soon"}}, "not a mapping", args(3)]
    async with client.queue.map(EP, inputs, concurrency=4) as results:
        outcomes = {o.index: o async for o in results}
    assert outcomes[0].ok and outcomes[3].ok
    assert isinstance(outcomes[1].error, odr.UnprocessableEntityError) and outcomes[1].request_id is None
    assert isinstance(outcomes[2].error, TypeError)
    assert len(emu.jobs) == 2


async def test_break_cancels_the_rest(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Leaving the async with block early cancels every unfinished job and stops polling."""
    inputs = [args(0, 0.05)] + [args(i, 60) for i in range(1, 12)]
    async with client.queue.map(EP, inputs, concurrency=8) as results:
        async for done in results:
            assert done.index == 0
            break
    assert len(emu.jobs) == 8  # the window: no input was read beyond it
    unfinished = [j for j in emu.jobs.values() if j.duration == 60]
    assert len(unfinished) == 7 and all(j.cancelled for j in unfinished)
    assert client.queue.stats().jobs == 0


async def test_plain_async_for_break_cleans_up(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A plain async for that breaks: the dropped map cancels its jobs in the background."""
    inputs = [args(0, 0.05)] + [args(i, 60) for i in range(1, 6)]
    async for done in client.queue.map(EP, inputs, concurrency=6):
        assert done.ok
        break
    await settle_runners()
    assert sum(j.cancelled for j in emu.jobs.values()) == 5
    assert client.queue.stats().jobs == 0



async def _cancel_once_created(emu: Emulator, n: int, scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` (a Ctrl-C, a timeout) once the emulator holds ``n`` jobs."""
    while len(emu.jobs) < n:  # noqa: ASYNC110 - the emulator offers no job-created event
        await anyio.sleep(0.01)
    scope.cancel()


async def test_cancellation_cancels_remote_jobs(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A cancel scope around the map (a timeout, Ctrl-C) cancels the jobs remotely on the way out."""
    seen: list[MapOutcome] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_once_created, emu, 10, scope)
            async with client.queue.map(EP, [args(i, 60) for i in range(10)], concurrency=10) as results:
                async for done in results:
                    seen.append(done)
    assert seen == []
    assert len(emu.jobs) == 10 and all(j.cancelled for j in emu.jobs.values())
    assert client.queue.stats().jobs == 0


async def test_no_cancel_on_exit_leaves_jobs_running(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """cancel_on_exit=False: leaving early stops polling but cancels nothing."""
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_once_created, emu, 4, scope)
            async with client.queue.map(EP, [args(i, 60) for i in range(4)], cancel_on_exit=False) as results:
                async for _ in results:
                    pass
    assert len(emu.jobs) == 4 and not any(j.cancelled for j in emu.jobs.values())
    assert emu.stats.count("queue.cancel") == 0


async def test_per_job_wait_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """wait_timeout= is per job: late ones end as JobTimeout (left running), the others succeed."""
    inputs = [args(0, 0.05), args(1, 60), args(2, 0.1), args(3, 60)]
    async with client.queue.map(EP, inputs, concurrency=4, wait_timeout=1.0) as results:
        outcomes = {o.index: o async for o in results}
    assert outcomes[0].ok and outcomes[2].ok
    for i in (1, 3):
        rid = outcomes[i].request_id
        assert isinstance(outcomes[i].error, odr.JobTimeout)
        assert "not cancelled" in str(outcomes[i].error)
        assert rid is not None and not emu.jobs[rid].cancelled
    assert emu.stats.count("queue.cancel") == 0


async def test_per_job_wait_timeout_with_cancel_on_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """cancel_on_timeout=True: jobs past their wait_timeout are cancelled remotely."""
    inputs = [args(0, 0.05), args(1, 60)]
    async with client.queue.map(
        EP, inputs, concurrency=2, wait_timeout=1.0, cancel_on_timeout=True
    ) as results:
        outcomes = {o.index: o async for o in results}
    assert outcomes[0].ok and isinstance(outcomes[1].error, odr.JobTimeout)
    rid = outcomes[1].request_id
    assert rid is not None and emu.jobs[rid].cancelled


async def test_inputs_error_stops_the_map(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An exception raised by inputs is raised by the map; running jobs are cancelled."""

    def inputs() -> Iterator[dict[str, Any]]:
        yield args(0, 60)
        yield args(1, 60)
        raise RuntimeError("bad input file")

    with pytest.raises(RuntimeError, match="bad input file"):
        async with client.queue.map(EP, inputs(), concurrency=4) as results:
            async for _ in results:
                pass
    assert all(j.cancelled for j in emu.jobs.values())


async def test_progress_callbacks(client: odr.AsyncOdiRouter) -> None:
    """progress (sync or async) gets snapshots; the last one has every count."""
    seen: list[MapProgress] = []

    async def on_progress(p: MapProgress) -> None:
        seen.append(p)

    results = client.queue.map(EP, [args(i) for i in range(10)], concurrency=5, progress=on_progress)
    async with results:
        outcomes = [o async for o in results]
    assert len(outcomes) == 10
    last = seen[-1]
    assert (last.submitted, last.done, last.failed, last.in_flight) == (10, 10, 0, 0)
    assert last.polls >= 10 and last.rate > 0 and last.elapsed > 0
    assert results.snapshot().done == 10
    sync_seen: list[MapProgress] = []
    async with client.queue.map(EP, [args(0)], progress=sync_seen.append) as results:
        assert [o.index async for o in results] == [0]
    assert sync_seen[-1].done == 1


async def test_progress_error_stops_the_map(client: odr.AsyncOdiRouter) -> None:
    """A failing progress callback is raised, not swallowed."""

    def broken(p: MapProgress) -> None:
        raise ValueError("typo in my callback")

    with pytest.raises(ValueError, match="typo"):
        async with client.queue.map(EP, [args(i) for i in range(3)], progress=broken) as results:
            async for _ in results:
                pass


async def test_map_argument_checks(client: odr.AsyncOdiRouter) -> None:
    """Bad concurrency, inputs, timeout or endpoint are refused at once."""
    with pytest.raises(ValueError):
        client.queue.map(EP, [], concurrency=0)
    with pytest.raises(TypeError):
        client.queue.map(EP, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.queue.map(EP, [], wait_timeout=0)
    with pytest.raises(ValueError):
        client.queue.map("a/b", [])
    assert [o async for o in client.queue.map(EP, [])] == []


class Recorder(MapHooks):
    """Hooks that record calls, key submits, re-attach one job and replay one outcome."""

    def __init__(self, attach: Job, replay: MapOutcome) -> None:
        self.calls: list[tuple[str, int]] = []
        self.attach = attach
        self.replay = replay

    async def start(self, endpoint: str) -> None:
        self.calls.append(("start", -1))

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        self.calls.append(("before", index))
        if index == 0:
            return self.attach
        if index == 1:
            return self.replay
        return f"stable-{index}"

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        self.calls.append(("after", index))
        assert key == f"stable-{index}" and job.request_id

    async def finished(self, outcome: MapOutcome) -> None:
        self.calls.append(("finished", outcome.index))


async def test_journal_hooks(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Hooks: a stable key per submit (X-Request-Id), re-attach instead of resubmitting, replay."""
    earlier = await client.queue.submit(EP, args(0))
    attach = client.queue.job(EP, earlier.request_id, submitted_at=earlier.submitted_at)
    replay = MapOutcome(1, args(1), "mmsu_old", None, odr.JobFailed("from the journal"))
    hooks = Recorder(attach, replay)
    async with client.queue.map(EP, [args(i) for i in range(4)], hooks=hooks) as results:
        outcomes = {o.index: o async for o in results}
    assert outcomes[0].request_id == earlier.request_id and outcomes[0].ok
    assert outcomes[1] is replay
    assert outcomes[2].ok and outcomes[3].ok
    assert len(emu.jobs) == 3  # the earlier job + two new submits
    assert emu.stats.submits_by_request_id_header["stable-2"] == 1
    assert emu.stats.submits_by_request_id_header["stable-3"] == 1
    assert hooks.calls[0] == ("start", -1)
    for i in range(4):
        assert ("finished", i) in hooks.calls
    assert ("after", 0) not in hooks.calls and ("after", 1) not in hooks.calls


@pytest.mark.slow
async def test_many_jobs_use_few_requests() -> None:
    """A batch of 300 x 0.5 s jobs costs at most 3 requests per job after the submit."""
    async with (
        Emulator(job_duration=0.5, job_jitter=0.25, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        inputs = ({"prompt": str(i)} for i in range(300))
        async with client.queue.map(EP, inputs, concurrency=300) as results:
            assert len([o async for o in results if o.ok]) == 300
        assert sum(emu.stats.job_requests.values()) / 300 <= 3.0


async def test_submits_in_flight_are_bounded(
    client: odr.AsyncOdiRouter, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wide window still sends at most MAX_SUBMITS_IN_FLIGHT submit POSTs at once."""
    from odirouter_async.batch import map_runner as _map_runner

    monkeypatch.setattr(_map_runner, "MAX_SUBMITS_IN_FLIGHT", 5)
    emu.faults.add("queue.submit", delay=0.1, times=None)
    inputs = [{"prompt": f"p{i}", "_emu": {"duration": 0.01}} for i in range(15)]
    async with client.queue.map("nano_banana_2", inputs, concurrency=15) as results:
        outcomes = [done async for done in results]
    assert all(o.error is None for o in outcomes)
    arrivals = sorted(r.time for r in emu.stats.records("queue.submit"))
    assert len(arrivals) == 15
    # The sixth submit can only start once one of the first five has been answered (0.1 s later).
    assert arrivals[5] - arrivals[0] >= 0.09


@mixed_variants
async def test_a_wide_map_runs_on_a_few_feeder_tasks(
    client: odr.AsyncOdiRouter, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inputs are submitted by at most MAX_FEEDERS tasks, not a task per input (memory, CPU)."""
    from odirouter_async.batch import map_runner as _map_runner

    monkeypatch.setattr(_map_runner, "MAX_FEEDERS", 4)
    emu.faults.add("queue.submit", delay=0.05, times=None)
    peak = 0

    def progress(_: MapProgress) -> None:
        nonlocal peak
        names = [t.get_name() for t in asyncio.all_tasks()]  # anyio names a task after its function
        peak = max(peak, sum(n.endswith(("._feed_worker", "._submit_one")) for n in names))

    inputs = [args(i, 0.01) for i in range(60)]
    async with client.queue.map(EP, inputs, concurrency=60, progress=progress) as results:
        outcomes = [done async for done in results]
    assert sorted(o.index for o in outcomes if o.ok) == list(range(60))
    assert 1 <= peak <= 4  # a task per input would have put ~60 here


@mixed_variants
async def test_inputs_are_read_one_per_event_loop_turn(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Feeders read at most one input per loop turn: under load, new submits yield to due polls."""
    turns = 0
    stop = anyio.Event()

    async def count_turns() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await anyio.lowlevel.checkpoint()

    read_at: list[int] = []

    def inputs() -> Iterator[dict[str, Any]]:
        for i in range(40):
            read_at.append(turns)
            yield args(i, 0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(count_turns)
        async with client.queue.map(EP, inputs(), concurrency=40) as results:
            outcomes = [done async for done in results]
        stop.set()
    assert len(outcomes) == 40 and all(o.ok for o in outcomes)
    assert len(set(read_at)) == len(read_at)  # never two inputs in one turn
