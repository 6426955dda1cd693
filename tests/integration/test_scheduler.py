"""The client's poll scheduler (``_scheduler``): the contract other resources (videos) rely on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass

import anyio
import pytest

import odirouter_async as odr
from odirouter_async.queue.scheduler import (
    ClientClosedError,
    Outcome,
    PollingOptions,
    PollResult,
    RateLimited,
    Scheduler,
    follow,
    get_scheduler,
    wait,
)
from odirouter_async.testing import variant_emulator_fixture

pytestmark = pytest.mark.anyio

#: Tests using the emulator run once per queue gateway variant.
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.25, video_duration=0.2)


@pytest.fixture
async def sched() -> AsyncIterator[Scheduler]:
    """A scheduler on its own (no client), closed at the end."""
    s = Scheduler(PollingOptions(seed=1), poll=scripted)
    try:
        yield s
    finally:
        await s.aclose()


class Script:
    """A poll that answers from a script, counts its calls and checks one-at-a-time per key."""

    def __init__(self, *answers: PollResult | BaseException) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.running = 0
        self.max_running = 0

    async def __call__(self) -> PollResult:
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await anyio.lowlevel.checkpoint()
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer
        finally:
            self.running -= 1


PENDING = PollResult(Outcome.RUNNING)


@dataclass(eq=False)
class T:
    """A scripted target: what the scheduler holds (key, label, age, every) plus its script."""

    key: Hashable
    poll: Callable[[], Awaitable[PollResult]]
    age: float | None = 0.0
    every: float | None = None
    label: str = "ep"


async def scripted(target: T) -> PollResult:
    """The scheduler's poll function in these tests: run the target's script."""
    return await target.poll()


async def test_wait_returns_the_value_after_pending_polls(sched: Scheduler) -> None:
    """Pending answers keep the wait going; DONE returns its value; polls never overlap per key."""
    poll = Script(
        PollResult(Outcome.QUEUED), PENDING, PollResult(Outcome.PENDING), PollResult(Outcome.DONE, 42)
    )
    assert await sched.wait(T("k", poll)) == 42
    assert poll.calls == 4
    assert poll.max_running == 1
    assert "k" not in sched


async def test_ended_raises_the_error(sched: Scheduler) -> None:
    """ENDED raises the error the poll reported."""
    poll = Script(PENDING, PollResult(Outcome.ENDED, error=odr.JobFailed("boom")))
    with pytest.raises(odr.JobFailed, match="boom"):
        await sched.wait(T("k", poll))
    assert "k" not in sched


async def test_errors_back_off_and_keep_waiting(sched: Scheduler) -> None:
    """ERROR results and transient exceptions are retried; they never end the wait."""
    poll = Script(
        PollResult(Outcome.ERROR, error=odr.InternalServerError("x", status_code=503)),
        odr.APIConnectionError("reset"),
        odr.InternalServerError("bad gateway", status_code=502),
        odr.APITimeoutError(),
        PollResult(Outcome.DONE, "ok"),
    )
    assert await sched.wait(T("k", poll)) == "ok"
    assert poll.calls == 5
    assert sched.stats().errors == 4


@pytest.mark.parametrize(
    "error",
    [
        odr.BadRequestError("nope", status_code=400),
        odr.NotFoundError("gone", status_code=404),
        ValueError("bug"),
    ],
)
async def test_fatal_poll_exceptions_end_the_wait(sched: Scheduler, error: Exception) -> None:
    """A non-transient error (or a bug) raised by the poll is raised by wait(), never a hang."""
    poll = Script(PENDING, error)
    with pytest.raises(type(error)):
        await sched.wait(T("k", poll))
    assert "k" not in sched


async def test_rate_limited_slows_all_polling(sched: Scheduler) -> None:
    """RateLimited (or a RateLimitError from the poll) lowers the global rate; the wait goes on."""
    poll = Script(
        PollResult(RateLimited(0.01)),
        odr.RateLimitError("slow down", status_code=429, retry_after=0.01),
        PollResult(Outcome.DONE, 1),
    )
    assert await sched.wait(T("k", poll)) == 1
    stats = sched.stats()
    assert stats.rate_limited == 2
    assert stats.rate < PollingOptions().max_rate


async def test_cancelling_wait_removes_the_key(sched: Scheduler) -> None:
    """Cancelling wait() stops the polling of that key; other keys go on."""
    stuck = Script(PENDING)
    other = Script(PENDING, PENDING, PENDING, PENDING, PollResult(Outcome.DONE, "x"))
    with anyio.move_on_after(0.3):
        await sched.wait(T("stuck", stuck))
    assert "stuck" not in sched
    calls = stuck.calls
    assert await sched.wait(T("other", other)) == "x"  # several poll rounds later
    assert stuck.calls == calls


async def test_waiters_of_one_key_share_its_polls(sched: Scheduler) -> None:
    """Two waiters on one key share one poll stream; cancelling one keeps the other."""
    poll = Script(PENDING, PENDING, PENDING, PollResult(Outcome.DONE, "v"))
    first = asyncio.create_task(sched.wait(T("k", poll)))
    await anyio.lowlevel.checkpoint()
    with anyio.move_on_after(0.05):
        await sched.wait(T("k", poll))
    assert "k" in sched
    assert await first == "v"
    assert poll.calls == 4
    assert poll.max_running == 1


async def test_polls_in_flight_are_bounded() -> None:
    """At most max_in_flight polls run at once, whatever the number of keys."""
    s = Scheduler(PollingOptions(max_in_flight=3, seed=1), poll=scripted)
    gate = anyio.Event()
    running = 0
    peak = 0

    def make() -> Callable[[], Awaitable[PollResult]]:
        async def poll() -> PollResult:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await gate.wait()
                return PollResult(Outcome.DONE, None)
            finally:
                running -= 1

        return poll

    try:
        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(s.wait, T(i, make()))
            while s.stats().in_flight < 3:
                await anyio.lowlevel.checkpoint()
            assert s.stats().in_flight == 3
            gate.set()
        assert peak == 3
        assert len(s) == 0
    finally:
        await s.aclose()


async def test_due_polls_reuse_the_poll_task_that_just_ended() -> None:
    """12 jobs due at once, 3 polls in flight: the polls run on the first 3 tasks (a task per poll
    would be 12; the poll budget's starting rate holds the last ones back, hence up to 5)."""
    s = Scheduler(PollingOptions(max_in_flight=3, seed=1), poll=scripted)
    tasks: set[asyncio.Task[object] | None] = set()

    async def poll() -> PollResult:
        tasks.add(asyncio.current_task())
        await anyio.lowlevel.checkpoint()
        return PollResult(Outcome.DONE, "v")

    try:
        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(s.wait, T(i, poll, every=0.01))  # all due together
        assert s.stats().polls == 12 and len(s) == 0
        assert len(tasks) <= 5, len(tasks)
    finally:
        await s.aclose()


async def test_watch_deadline_calls_back_with_timeout(sched: Scheduler) -> None:
    """A watch with a deadline gets TimeoutError() when it passes, and the key is dropped."""
    got: list[BaseException | None] = []
    done = anyio.Event()

    def callback(value: object, error: BaseException | None) -> None:
        got.append(error)
        done.set()

    loop = asyncio.get_running_loop()
    sched.watch(T("k", Script(PENDING)), callback, deadline=loop.time() + 0.1)
    await done.wait()
    assert len(got) == 1 and isinstance(got[0], TimeoutError)
    assert "k" not in sched


async def test_aclose_fails_waiters_and_cancels_polls() -> None:
    """aclose() cancels polls in flight and fails every waiter with ClientClosedError."""
    s = Scheduler(PollingOptions(seed=1), poll=scripted)
    started = anyio.Event()
    cancelled = anyio.Event()

    async def hang() -> PollResult:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    waiter = asyncio.create_task(s.wait(T("k", hang)))
    other = asyncio.create_task(s.wait(T("k2", Script(PENDING))))
    await started.wait()
    await s.aclose()
    assert cancelled.is_set()
    for task in (waiter, other):
        with pytest.raises(ClientClosedError):
            await task
    with pytest.raises(ClientClosedError):
        await s.wait(T("k3", Script(PENDING)))
    await s.aclose()  # idempotent


async def test_client_scheduler_is_lazy_shared_and_closed(emu: object) -> None:
    """get_scheduler: shared with with_options views (queue.stats reads it), closed by aclose()."""
    from odirouter_async.testing import Emulator

    assert isinstance(emu, Emulator)
    client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    view = client.with_options(max_retries=0)
    sched = get_scheduler(view)
    assert get_scheduler(client) is sched
    result = await view.queue.run("nano_banana_2", {"prompt": "x"})
    assert result.outputs and client.queue.stats().polls >= 1
    await client.aclose()
    assert sched.closed
    with pytest.raises(ClientClosedError):
        get_scheduler(client)


async def test_polling_options_from_the_client(emu: object) -> None:
    """AsyncOdiRouter(polling=PollingOptions(...)) configures its scheduler."""
    from odirouter_async.testing import Emulator

    assert isinstance(emu, Emulator)
    polling = PollingOptions(max_rate=50.0, max_in_flight=4)
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, polling=polling) as client:
        sched = get_scheduler(client)
        assert sched.options.max_in_flight == 4
        assert sched.stats().rate == 50.0


async def test_withdrawn_poll_frees_its_slot() -> None:
    """Cancelling a wait whose poll is in flight frees its slot for a key already waiting for one."""
    s = Scheduler(PollingOptions(max_in_flight=1, seed=1), poll=scripted)
    started = anyio.Event()

    async def hang() -> PollResult:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    try:
        stuck = asyncio.create_task(s.wait(T("a", hang, age=None)))
        await started.wait()
        queued = asyncio.create_task(s.wait(T("b", Script(PollResult(Outcome.DONE, "b")), age=None)))
        await anyio.lowlevel.checkpoint()
        assert s.stats().in_flight == 1 and "b" in s
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        assert await queued == "b"
    finally:
        await s.aclose()


async def test_updates_reach_on_update_in_order(sched: Scheduler) -> None:
    """waiting.wait(on_update=) gets each offered update in order (awaited when async), then the value."""
    poll = Script(
        PollResult(Outcome.QUEUED, update="q"),
        PollResult(Outcome.RUNNING, update="r"),
        PENDING,
        PollResult(Outcome.DONE, 5, update="d"),
    )
    seen: list[object] = []

    async def record(update: object) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(update)

    assert await wait(sched, T("k", poll), on_update=record) == 5
    assert seen == ["q", "r", "d"]
    assert "k" not in sched


async def test_raising_on_update_ends_the_wait(sched: Scheduler) -> None:
    """An on_update callback that raises ends the wait with that error and stops the polling."""
    poll = Script(PollResult(Outcome.QUEUED, update="q"), PENDING)

    def boom(update: object) -> None:
        raise ValueError(f"callback saw {update}")

    with pytest.raises(ValueError, match="callback saw q"):
        await wait(sched, T("k", poll), on_update=boom)
    assert "k" not in sched


async def test_follow_yields_updates_then_raises_the_end(sched: Scheduler) -> None:
    """follow() yields every update, the ending one included, then raises the job's error."""
    poll = Script(
        PollResult(Outcome.RUNNING, update="r"),
        PollResult(Outcome.ENDED, error=odr.JobFailed("boom"), update="end"),
    )
    got: list[object] = []
    with pytest.raises(odr.JobFailed, match="boom"):
        async for update in follow(sched, T("k", poll)):
            got.append(update)
    assert got == ["r", "end"]


async def test_wait_deadline_raises_timeout_and_drops_the_key(sched: Scheduler) -> None:
    """Scheduler.wait(deadline=) raises TimeoutError when it passes; the key leaves the schedule."""
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        await sched.wait(T("k", Script(PENDING)), deadline=loop.time() + 0.05)
    assert "k" not in sched and len(sched) == 0
