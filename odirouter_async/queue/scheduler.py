"""The one polling task per client: runs ``PollSchedule`` against the network (I/O shell).

Everything that waits for a remote job (queue jobs, ``queue.run``, ``queue.map``, videos) registers
here as data, a ``PollTarget`` (below: key, endpoint label, URLs, the pure
interpreter, age, optional fixed spacing ``every``), never as a callback.  One *driver* task per
client sleeps until the schedule's next wakeup (or until a job is added or an answer arrives),
takes ``due(now, free_slots)`` and starts each poll (``run_poll(target)``, the scheduler's one poll
function) as a short task; at most ``PollingOptions.max_in_flight`` polls run at once, one at a
time per job.  Each ``PollResult`` is fed back with ``observe``: the only route by which a poll's
429 reaches the poll budget (``report_rate_limit`` is the route of submits and cancels).

The contract::

    sched = get_scheduler(client)            # the client's scheduler (the task starts on first use)
    value = await sched.wait(target, deadline=None, on_update=None)

``DONE`` -> ``wait`` returns the value; ``ENDED`` -> it raises the error; pending -> keep
waiting; ``ERROR`` -> back off; ``RateLimited`` -> slows all polling.  ``deadline`` (``loop.time()``
units) raises ``TimeoutError`` (the callers make it a ``JobTimeout``, ``queue.job_state.job_timeout``);
``watch`` is the same with a callback and no task per job (``queue.map``), and may take an
``on_update`` sink for the status updates the interpreter offers (``wait``/``follow`` below build
``on_update=`` callbacks and ``job.updates()`` on it).  Cancelling ``wait`` removes the key from
the schedule (and cancels its poll in flight).  Several waiters of one key share its polls.

Implementation notes (measured on CPython 3.11): poll tasks are plain ``asyncio`` tasks (about
13 us each against 55 us for ``anyio`` ``start_soon``), and a poll task that ends while another
poll is due runs that one too (under load most polls need no new task); the driver sleeps on a
future armed with ``loop.call_at``; wakeups are coalesced to ``tick`` seconds.  ``aclose()``
cancels the driver and the polls in flight, waits for them, and fails the remaining waiters with
``ClientClosedError``.

Types
-----

What the scheduler is handed and hands out: the ``Target`` protocol a
registered job satisfies, the poll function's and callbacks' signatures, and ``SchedulerStats``
(``client.queue.stats()``).

One poll
--------

The one poll of the wait pipeline (I/O shell): ``PollTarget`` (what is waited for, as data) and
``run_poll`` (the GETs a poll needs, fed to the target's pure interpreter).

A target names the remote resource: its scheduler key, the endpoint label whose durations are
learned together, the requester (the client view) its GETs go through, its URLs by ``Ask``
(``PRIMARY``: a job's ``response_url`` or a video's URL; ``STATUS``: a job's ``status_url``),
its age and an optional fixed spacing (``every``).  Its interpreter (``queue.job_state.JobPoll``,
``videos.video_state.VideoWatch``) says which URL to GET, reads each answer and returns the
``PollResult``; this module sends the GETs and nothing else.  Every status is returned to the
interpreter (``ok_statuses`` covers 3xx-5xx), without the transport's retries: the scheduler's
backoff is the retry.  A transport error (connection, timeout) is fed as such.

The one wait
------------

The one wait (I/O shell): the deadline rule and status updates on top of ``Scheduler.wait``.

``Job.result``, ``queue.run``, ``queue.map`` (through ``Scheduler.watch``) and ``videos.wait`` all
wait through the client's scheduler with one rule, held by ``WaitLimit``:

- ``wait_timeout=None`` (the default): no client deadline, the wait lasts as long as the job;
  otherwise a positive number of seconds (checked once: ``check_wait_timeout``);
- with one: ``WaitLimit.deadline()`` (loop time) makes the scheduler end the wait with
  ``TimeoutError``, which becomes ``WaitLimit.expired(...)`` (the message from
  ``queue.job_state.job_timeout``, the one ``JobTimeout`` constructor); the remote job is
  cancelled only when the caller asked (``cancel_on_timeout=True``), and the message says so.

``wait_within`` is that whole sequence for a caller that awaits (``Job.result``, ``queue.run``,
``videos.wait``): deadline -> ``JobTimeout`` -> the optional cancel.  ``queue.map`` waits by
callback (no task per job), so it asks the same ``WaitLimit`` for the deadline and the error.

``wait(sched, target, on_update=...)`` calls ``on_update(update)`` for each status change (a
coroutine function is awaited; if it raises, the wait raises that); ``follow`` is the same as an
async iterator (``job.updates()``).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio

from .._config import PollingOptions, RequestOptions
from .._exceptions import ClientClosedError, JobTimeout, OdiRouterError
from ..http.download import bind_downloads
from ..types.queue import JobResult
from .history import HistoryStore, open_history, restore, save_quietly, store_snapshot
from .job_state import Answer, Ask, PollResult, error_result, job_timeout
from .schedule import Observation, Outcome, PollSchedule, RateLimited, ScheduleStats

__all__ = (
    "POLL_OPTIONS",
    "Callback",
    "ClientClosedError",
    "Interpreter",
    "Outcome",
    "Poll",
    "PollResult",
    "PollTarget",
    "PollingOptions",
    "RateLimited",
    "Scheduler",
    "SchedulerStats",
    "Target",
    "UpdateCallback",
    "UpdateSink",
    "WaitLimit",
    "Watch",
    "check_wait_timeout",
    "deadline_after",
    "follow",
    "get_scheduler",
    "report_rate_limit",
    "run_poll",
    "wait",
    "wait_within",
)

Callback = Callable[[object, "BaseException | None"], None]


UpdateSink = Callable[[object], None]


class Target(Protocol):
    """What the scheduler reads of a registered job (``poll.PollTarget``)."""

    @property
    def key(self) -> Hashable: ...

    @property
    def label(self) -> str: ...

    @property
    def age(self) -> float | None: ...

    @property
    def every(self) -> float | None: ...


#: The scheduler's one poll function (``run_poll``; tests inject a scripted one).
Poll = Callable[[Any], Awaitable[PollResult]]


@dataclass(frozen=True, slots=True)
class SchedulerStats:
    """A snapshot of the scheduler: the schedule's counters plus the shell's."""

    jobs: int
    in_flight: int
    polls: int
    errors: int
    rate_limited: int
    rate: float
    recent_rate: float
    schedule: ScheduleStats


if TYPE_CHECKING:
    from ..http.transport import Transport


#: Every poll GET: no transport retries (the schedule backs off), 30 s per request.
POLL_OPTIONS: Final = RequestOptions(max_retries=0, timeout=30.0)


_ANY_STATUS: Final = frozenset(range(300, 600))


_MAX_STEPS: Final = 4  # a poll is at most a status GET and a response GET (and a spare)


_LOGS: Final[Mapping[str, str]] = {"logs": "1"}


class Interpreter(Protocol):
    """A resource kind's pure poll interpreter (``JobPoll``, ``VideoWatch``)."""

    def start(self) -> Ask:
        """A poll begins: the URL to GET first."""
        ...

    def feed(self, ask: Ask, answer: Answer, now: float) -> Ask | PollResult:
        """An answer: the next URL to GET, or the poll's result."""
        ...

    def feed_error(self, ask: Ask, exc: OdiRouterError) -> Ask | PollResult:
        """The GET failed before an answer."""
        ...


@dataclass(eq=False, slots=True)
class PollTarget:
    """One remote job as the scheduler holds it: data, no callbacks."""

    key: Hashable
    label: str
    requester: Transport
    urls: Mapping[Ask, str]
    interpreter: Interpreter
    age: float | None = 0.0
    #: poll every this many seconds (a fixed spacing), else the adaptive schedule
    every: float | None = None
    #: ``?logs=1`` on status GETs (a waiter follows the job's updates)
    logs: bool = False


async def run_poll(target: PollTarget) -> PollResult:
    """One poll of ``target``: its GETs, each answer fed to its interpreter (never raises an SDK error)."""
    interp = target.interpreter
    ask = interp.start()
    for _ in range(_MAX_STEPS):
        query = _LOGS if target.logs and ask is Ask.STATUS else None
        try:
            resp = await target.requester.request(
                "GET", target.urls[ask], query=query, options=POLL_OPTIONS, ok_statuses=_ANY_STATUS
            )
        except OdiRouterError as exc:
            step = interp.feed_error(ask, exc)
        else:
            answer = Answer(resp.status, resp.headers, resp.content, resp.request_id, resp.url)
            step = interp.feed(ask, answer, time.time())
        if isinstance(step, PollResult):
            if isinstance(step.value, JobResult):  # result.download(dir) through this requester
                bind_downloads(step.value, target.requester)
            return step
        ask = step
    return error_result(OdiRouterError(f"the poll of {target.key!r} did not settle"))  # cannot happen


if TYPE_CHECKING:
    from ..http.requester import ClientHandle


logger: Final = logging.getLogger("odirouter_async")
#: wakeups of the driver closer together than this are coalesced (seconds)
_TICK: Final = 0.005


class _Entry:
    __slots__ = ("key", "target", "task", "watchers")

    def __init__(self, target: Target) -> None:
        self.key = target.key
        self.target = target
        self.watchers: list[Watch] = []
        self.task: asyncio.Task[None] | None = None


class Watch:
    """One registered interest in a key; ``cancel()`` withdraws it (the last one stops the polling)."""

    __slots__ = ("_entry", "_sched", "active", "callback", "on_update")

    def __init__(
        self, sched: Scheduler, entry: _Entry, callback: Callback, on_update: UpdateSink | None
    ) -> None:
        self._sched = sched
        self._entry = entry
        self.callback = callback
        self.on_update = on_update
        self.active = True

    def cancel(self) -> None:
        """Stop waiting; the callback will not be called."""
        if self.active:
            self.active = False
            self._sched._detach(self)


def _set_future(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Scheduler:
    """Polls every waiting job of one client through a ``PollSchedule`` (see the module docstring)."""

    def __init__(self, options: PollingOptions | None = None, *, poll: Poll = run_poll) -> None:
        opts = options or PollingOptions()
        if opts.max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        if opts.max_poll_errors < 1:
            raise ValueError("max_poll_errors must be >= 1")
        self.options = opts
        self._poll = poll
        # ``PollingOptions.lag_target`` / ``lag_fraction`` are deprecated and not passed: the
        # schedule's own spacing is the one it was tuned and tested with
        self._sched: PollSchedule[Hashable] = PollSchedule(random.Random(opts.seed), max_rate=opts.max_rate)
        self._entries: dict[Hashable, _Entry] = {}
        self._deadlines: list[tuple[float, int, Watch]] = []
        self._seq = 0
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._driver: asyncio.Task[None] | None = None
        self._waker: asyncio.Future[None] | None = None
        self._closed = False
        self._polls = 0
        self._history: HistoryStore | None = open_history(opts.history)  # durations kept between processes

    # ------------------------------------------------------------------ the contract

    async def wait(self, target: Target, *, deadline: float | None = None) -> Any:
        """Poll ``target`` until it is done and return its value (see the module docstring).

        ``deadline`` (``loop.time()`` units): ``TimeoutError`` then.  With status updates:
        ``waiting.wait`` / ``waiting.follow`` (built on ``watch``).
        """
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(value: object, error: BaseException | None) -> None:
            if fut.done():
                return
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)

        watch = self.watch(target, done, deadline=deadline)
        try:
            return await fut
        finally:
            watch.cancel()  # a no-op once done; on cancellation it stops the polling

    def watch(
        self,
        target: Target,
        callback: Callback,
        *,
        deadline: float | None = None,
        on_update: UpdateSink | None = None,
    ) -> Watch:
        """Call ``callback(value, error)`` once ``target`` ends; no task is needed per waiting job.

        ``deadline`` (``loop.time()`` units): the callback gets ``TimeoutError()`` then, and the
        watch ends.  ``on_update(update)`` gets each status update.  Both run inside the
        scheduler: they must not block or raise.
        """
        loop = self._bind_loop()
        key = target.key
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(target)
            if self._history is not None:  # warm start on an endpoint's first job
                restore(self._history, self._sched, target.label, loop.time())
            self._sched.add(key, target.label, loop.time(), age=target.age, every=target.every)
            self._wake()
        watch = Watch(self, entry, callback, on_update)
        entry.watchers.append(watch)
        if deadline is not None:
            self._seq += 1
            heapq.heappush(self._deadlines, (deadline, self._seq, watch))
            self._wake()
        return watch

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """A request that is not a poll (a submit, a cancel) was answered 429: slow polling down."""
        if self._loop is not None and not self._closed:
            self._sched.on_rate_limited(self._loop.time(), retry_after)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> SchedulerStats:
        """Counters: jobs waiting, polls in flight and sent, errors, 429s, the allowed poll rate."""
        now = self._loop.time() if self._loop is not None else 0.0
        s = self._sched.stats(now)
        return SchedulerStats(
            jobs=len(self._entries),
            in_flight=self._in_flight,
            polls=self._polls,
            errors=s.errors,
            rate_limited=s.rate_limited,
            rate=s.rate,
            recent_rate=s.recent_rate,
            schedule=s,
        )

    @property
    def closed(self) -> bool:
        """True after ``aclose()``."""
        return self._closed

    async def aclose(self) -> None:
        """Stop polling: cancel the driver and polls in flight, fail waiters with ``ClientClosedError``."""
        if self._closed:
            return
        self._closed = True
        pending: list[asyncio.Task[None]] = list(self._tasks)
        if self._driver is not None:
            pending.append(self._driver)
            self._driver = None
        for task in pending:
            task.cancel()
        if pending:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(*pending, return_exceptions=True)
        if self._history is not None:  # keep what was learned for the next process
            store_snapshot(self._history, self._sched)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(save_quietly, self._history)
        entries = list(self._entries.values())
        self._entries.clear()
        self._deadlines.clear()
        for entry in entries:
            error = ClientClosedError(f"the client was closed while waiting for {entry.key!r}")
            self._fire(entry, None, error)

    # ------------------------------------------------------------------ internals

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise ClientClosedError("the client is closed; create a new AsyncOdiRouter")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("this client's scheduler belongs to another event loop (one client per loop)")
        if self._driver is None:
            self._driver = loop.create_task(self._drive(), name="odirouter-scheduler")
        return loop

    def _wake(self) -> None:
        waker = self._waker
        if waker is not None and not waker.done():
            waker.set_result(None)

    def _detach(self, watch: Watch) -> None:
        entry = watch._entry
        try:
            entry.watchers.remove(watch)
        except ValueError:
            return
        if not entry.watchers and self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
            self._sched.remove(entry.key)
            if entry.task is not None:
                entry.task.cancel()

    def _fire(self, entry: _Entry, value: object, error: BaseException | None) -> None:
        watchers, entry.watchers = entry.watchers, []
        for watch in watchers:
            if not watch.active:
                continue
            watch.active = False
            try:
                watch.callback(value, error)
            except Exception:  # a waiter's bug must not stop the others
                logger.exception("a job waiter's callback failed for %r", entry.key)

    def _expire(self, now: float) -> None:
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            watch = heapq.heappop(heap)[2]
            if watch.active:
                watch.active = False
                self._detach(watch)
                try:
                    watch.callback(None, TimeoutError())
                except Exception:
                    logger.exception("a job waiter's callback failed")

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        sched, tick, limit = self._sched, _TICK, self.options.max_in_flight
        try:
            while True:
                now = loop.time()
                if self._deadlines:
                    self._expire(now)
                free = limit - self._in_flight
                if free > 0 and self._entries:
                    for key in sched.due(now, free):
                        entry = self._entries.get(key)
                        if entry is not None:
                            self._start(loop, entry)
                        else:  # cannot happen (both are updated together); never leak a job
                            sched.remove(key)
                at = sched.next_wakeup(now) if self._in_flight < limit else None
                if self._deadlines:
                    first = self._deadlines[0][0]
                    at = first if at is None else min(at, first)
                fut: asyncio.Future[None] = loop.create_future()
                self._waker = fut
                handle = None if at is None else loop.call_at(max(at, now + tick), _set_future, fut)
                try:
                    await fut
                finally:
                    self._waker = None
                    if handle is not None:
                        handle.cancel()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: fail every waiter rather than leave them hanging
            logger.exception("the job scheduler failed")
            self._driver = None
            entries = list(self._entries.values())
            self._entries.clear()
            for entry in entries:
                self._sched.remove(entry.key)
                failure = OdiRouterError(f"the job scheduler failed: {exc!r}")
                failure.__cause__ = exc
                self._fire(entry, None, failure)

    def _start(self, loop: asyncio.AbstractEventLoop, entry: _Entry) -> None:
        self._in_flight += 1
        self._polls += 1
        task = loop.create_task(self._run_poll(entry))
        entry.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_poll(self, entry: _Entry) -> None:
        """Poll ``entry``; then, while another poll is already due, poll that one in this task."""
        while True:
            try:
                try:
                    result = await self._poll(entry.target)
                except OdiRouterError as exc:
                    result = error_result(exc)
                except Exception as exc:  # not ours (a bug, a closed pool): end the wait, never hang
                    result = PollResult(Outcome.ENDED, error=exc)
            finally:
                self._in_flight -= 1
                entry.task = None
                self._wake()  # a slot is free (and the answer may bring the next wakeup forward)
            if self._entries.get(entry.key) is entry:  # else: withdrawn meanwhile
                self._apply(entry, result)
            following = self._take_due()
            if following is None:
                return
            entry = following

    def _take_due(self) -> _Entry | None:
        """The next due job, started in the calling poll task (a task per poll cost ~13 us)."""
        loop = self._loop
        if self._closed or loop is None or self._in_flight >= self.options.max_in_flight:
            return None
        for key in self._sched.due(loop.time(), 1):
            entry = self._entries.get(key)
            if entry is None:  # cannot happen (both are updated together); never leak a job
                self._sched.remove(key)
                return None
            self._in_flight += 1
            self._polls += 1
            entry.task = asyncio.current_task()
            return entry
        return None

    def _apply(self, entry: _Entry, result: PollResult) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        if result.update is not None:
            self._offer(entry, result.update)
        outcome = result.outcome
        observation: Observation = outcome
        if outcome is Outcome.DONE or outcome is Outcome.ENDED:
            self._sched.observe(entry.key, observation, now, inference_time=result.inference_time)
            del self._entries[entry.key]
            if outcome is Outcome.DONE:
                self._fire(entry, result.value, None)
            else:
                error = result.error or OdiRouterError(f"{entry.key!r} ended without a result")
                self._fire(entry, None, error)
            return
        if outcome is Outcome.ERROR and result.error is not None:
            logger.debug("poll of %r failed, will retry: %s", entry.key, result.error)
        self._sched.observe(entry.key, observation, now)

    def _offer(self, entry: _Entry, update: object) -> None:
        for watch in entry.watchers:
            if watch.active and watch.on_update is not None:
                watch.on_update(update)


def report_rate_limit(client: ClientHandle, retry_after: float | None) -> None:
    """A request that is not a poll (a submit, a cancel) was answered 429: slow polling down."""
    sched = client._shared.scheduler
    if isinstance(sched, Scheduler):
        sched.on_rate_limited(retry_after)


def get_scheduler(client: ClientHandle) -> Scheduler:
    """The client's scheduler, created on first use (its task starts with the first wait).

    Options come from ``client._shared.polling`` (a ``PollingOptions``) when set.
    """
    shared = client._shared
    sched = shared.scheduler
    if sched is None:
        if shared.pool.closed:
            raise ClientClosedError("the client is closed; create a new AsyncOdiRouter")
        sched = shared.scheduler = Scheduler(shared.polling)
    assert isinstance(sched, Scheduler)
    if sched._loop is None or sched._loop is not _running_loop():
        # the scheduler's task lives in the pool's loop: ClientLoopError elsewhere (checked until
        # the scheduler is bound, then only when the running loop is another one)
        shared.pool.check_loop()
    return sched


#: ``on_update(update)``: a plain function or a coroutine function.
UpdateCallback = Callable[[Any], object]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a synchronous ``stats()``: nothing to check
        return None


def check_wait_timeout(wait_timeout: float | None) -> None:
    """``ValueError`` unless ``wait_timeout`` is ``None`` or a positive number of seconds."""
    if wait_timeout is not None and not wait_timeout > 0:
        raise ValueError("wait_timeout must be a positive number of seconds or None")


def deadline_after(wait_timeout: float | None, elapsed: float = 0.0) -> float | None:
    """The scheduler deadline (``loop.time()`` units) ``wait_timeout`` seconds after a start
    ``elapsed`` seconds ago; ``None`` for no deadline."""
    if wait_timeout is None:
        return None
    return asyncio.get_running_loop().time() + wait_timeout - elapsed


@dataclass(frozen=True, slots=True)
class WaitLimit:
    """One wait's deadline rule: ``wait_timeout`` (checked), its deadline, the ``JobTimeout`` at it.

    ``what``: "Job" or "video" (for the message); ``cancel_on_timeout``: whether the deadline
    sends a remote cancel.
    """

    what: str
    request_id: str
    endpoint: str | None
    wait_timeout: float | None
    cancel_on_timeout: bool = False

    def __post_init__(self) -> None:
        check_wait_timeout(self.wait_timeout)

    def deadline(self, elapsed: float = 0.0) -> float | None:
        """The scheduler deadline of a wait that started ``elapsed`` seconds ago."""
        return deadline_after(self.wait_timeout, elapsed)

    def expired(self, cancel: str | None = None, *, detail: str = "", status: object = None) -> JobTimeout:
        """The ``JobTimeout`` when the deadline passed (``cancel``: what the remote cancel did)."""
        return job_timeout(
            self.what,
            request_id=self.request_id,
            endpoint=self.endpoint,
            wait_timeout=self.wait_timeout,
            cancel=cancel,
            detail=detail,
            status=status,
        )


async def wait_within(
    sched: Scheduler,
    target: Target,
    limit: WaitLimit,
    *,
    elapsed: float = 0.0,
    on_update: UpdateCallback | None = None,
    cancel: Callable[[], Awaitable[str | None]] | None = None,
    detail: Callable[[], tuple[str, object]] | None = None,
) -> Any:
    """``wait`` until ``limit``'s deadline; then the remote ``cancel`` (only when the limit says
    ``cancel_on_timeout``: it returns what the cancel did, ``None`` if none was sent) and the
    ``JobTimeout``.

    ``detail()``: what the message adds (e.g. the last status seen) and the error's ``status``.
    """
    try:
        return await wait(sched, target, deadline=limit.deadline(elapsed), on_update=on_update)
    except TimeoutError:
        sent = await cancel() if limit.cancel_on_timeout and cancel is not None else None
        text, status = detail() if detail is not None else ("", None)
        raise limit.expired(sent, detail=text, status=status) from None


async def wait(
    sched: Scheduler,
    target: Target,
    *,
    deadline: float | None = None,
    on_update: UpdateCallback | None = None,
) -> Any:
    """``sched.wait(target)``, calling ``on_update`` with each status update when given."""
    if on_update is None:
        return await sched.wait(target, deadline=deadline)
    end: list[Any] = []
    async with aclosing(follow(sched, target, deadline=deadline, end=end)) as updates:
        async for update in updates:
            result = on_update(update)
            if inspect.isawaitable(result):
                await result
    return end[0]


async def follow(
    sched: Scheduler, target: Target, *, deadline: float | None = None, end: list[Any] | None = None
) -> AsyncGenerator[Any, None]:
    """Yield each status update of ``target`` until it ends; its value is appended to ``end``.

    An ending error (or ``TimeoutError`` at ``deadline``) is raised after the updates before it.
    Closing the iterator early (``contextlib.aclosing``) withdraws the wait (the last waiter
    stops the polling).
    """
    queue: asyncio.Queue[tuple[bool, object, BaseException | None]] = asyncio.Queue()

    def finished(value: object, error: BaseException | None) -> None:
        queue.put_nowait((True, value, error))

    def updated(update: object) -> None:
        queue.put_nowait((False, update, None))

    watch = sched.watch(target, finished, deadline=deadline, on_update=updated)
    try:
        while True:
            last, item, error = await queue.get()
            if not last:
                yield item
                continue
            if error is not None:
                raise error
            if end is not None:
                end.append(item)
            return
    finally:
        watch.cancel()
