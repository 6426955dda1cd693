"""The background task of one ``client.queue.map`` (``_Runner``): feeding, submitting, watching.

It reads an input only when a window slot is free (at most one per event-loop turn, so under
load new submits yield to due polls), submits it (shielded, so a cancellation mid-POST still
learns the job id) from one of at most ``MAX_FEEDERS`` feeder tasks (no task per input), hands
the job to the client's scheduler with a callback (no task per waiting job), delivers outcomes
to the ``_Channel``, and on the way out stops polling and cancels unfinished jobs.  It never
references the ``JobMap`` facade, so dropping the facade can cancel it.  The guarantees are
listed in ``batch/map.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sized
from functools import partial
from typing import Any, Final

import anyio
from anyio.abc import TaskGroup

from .._exceptions import BatchHalted, OdiRouterError
from ..http.transport import logger
from ..queue.job_state import CancelOutcome
from ..queue.jobs import CANCEL_GRACE, SUBMIT_GRACE, Job, job_target
from ..queue.scheduler import WaitLimit, Watch, get_scheduler
from ..types.queue import JobResult
from .map_kinds import halts_batch, is_transient_failure, submit_kind
from .map_types import MapHooks, MapOutcome, MapProgress, MapSpec, _Channel

__all__ = ("PROGRESS_INTERVAL", "RUNNING", "close_maps")

#: Progress callbacks are called at most this often (plus once at the end), seconds.
PROGRESS_INTERVAL: Final = 0.25
_CANCEL_WORKERS: Final = 64
#: Runner tasks live until they end, even when nothing else references them.
RUNNING: set[asyncio.Task[None]] = set()
#: Maps not ended yet, so that closing their client first ends them (``close_maps``).
_LIVE: weakref.WeakSet[_Runner] = weakref.WeakSet()

#: Submit POSTs in flight at once.  A wider window queues the rest locally, so that thousands of
#: submits never sit in the connection pool's queue ahead of polls that are already due.
MAX_SUBMITS_IN_FLIGHT = 128
#: Feeding tasks per map (each reads an input, runs its journal hook and submits it, then the next):
#: a task per input costs more CPU per input than reusing a bounded set of feeders (BENCHMARKS.md,
#: "CPU per job"); the journal's intents of concurrent feeders still share one transaction.
MAX_FEEDERS: Final = 1024


class _Source:
    """The map's inputs, read one at a time by the feeders, with their positions.

    At most one input is read per event-loop turn (the reader holds the lock across one
    checkpoint): under load a turn takes long, so new submits slow down and the answers already
    waiting (due polls) go first, while an idle loop still reads thousands of inputs a second.
    """

    __slots__ = ("_ait", "_it", "_lock", "ended", "error", "index")

    def __init__(self, it: Iterator[Any] | None, ait: AsyncIterator[Any] | None) -> None:
        self._it = it
        self._ait = ait
        self._lock = asyncio.Lock()
        self.index = 0
        self.ended = False
        self.error: Exception | None = None

    async def take(self) -> tuple[int, Any] | None:
        """The next ``(index, input)``; ``None`` at the end (or after the inputs raised: ``error``)."""
        async with self._lock:
            await anyio.lowlevel.checkpoint()  # one input per loop turn (see the class docstring)
            if self.ended:
                return None
            try:
                if self._it is not None:
                    item = next(self._it)
                else:
                    assert self._ait is not None
                    item = await self._ait.__anext__()
            except (StopIteration, StopAsyncIteration):
                self.ended = True
                return None
            except Exception as exc:  # the caller's iterator failed: the map stops with its error
                self.ended = True
                self.error = exc
                return None
            index, self.index = self.index, self.index + 1
        return index, item


class _Runner:
    """The state of one map and its background task.  It never references the ``JobMap``."""

    def __init__(self, spec: MapSpec) -> None:
        self.client = spec.client
        self.submit = spec.submit
        self.endpoint = spec.endpoint
        self.inputs = spec.inputs
        self.concurrency = spec.concurrency
        self.cancel_on_exit = spec.cancel_on_exit
        self.progress = spec.progress
        self.wait_timeout = spec.wait_timeout
        self.cancel_on_timeout = spec.cancel_on_timeout
        self.extra_headers = spec.extra_headers
        self.hooks = spec.hooks
        self.job_retries = spec.job_retries
        self.attempts: dict[int, int] = {}  # index -> submits so far (with ``job_retries`` only)
        self.halted: BaseException | None = None  # the answer that stopped the batch
        self.running_at_halt = 0
        self.held = 0  # inputs read but not submitted after a halt or on the way out
        self.source: _Source | None = None
        self.channel = _Channel()
        self.task: asyncio.Task[None] | None = None
        # asyncio's primitives, not anyio's: anyio checkpoints on every acquire, which costs several
        # times more per job (BENCHMARKS.md, "CPU per job"); cancellation reaches both the same way
        self.window: asyncio.Semaphore | None = None
        self.submit_slots: asyncio.Semaphore | None = None
        self.error: BaseException | None = None
        self.live: dict[int, tuple[Job, Watch]] = {}
        self.orphans: list[Job] = []
        self.submit_scopes: set[anyio.CancelScope] = set()
        self.tg: TaskGroup | None = None
        self.idle: anyio.Event | None = None
        self.changed: anyio.Event | None = None
        self.feeding = True
        self.left = False
        self.closing = False
        self.busy = 0  # submits in flight + jobs watched + outcomes being delivered + cancels
        self.submitting = self.submitted = self.done = self.failed = self.polls_done = 0
        self.started = time.monotonic()

    # -- lifecycle (called from the consumer) -------------------------------------------------

    def start(self) -> None:
        if self.task is not None:
            return
        self.window = asyncio.Semaphore(self.concurrency)
        self.submit_slots = asyncio.Semaphore(min(self.concurrency, MAX_SUBMITS_IN_FLIGHT))
        self.started = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._run(), name="odirouter-map")
        RUNNING.add(task)
        task.add_done_callback(RUNNING.discard)
        self.task = task
        _LIVE.add(self)

    async def aclose(self) -> None:
        self.left = True  # no feeder reads another input, even one already past the window
        task = self.task
        if task is None:
            return
        if not task.done():
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved; the runner stores its errors instead of raising them

    def abandon(self) -> None:
        task = self.task
        if task is not None and not task.done():
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop is closed already
                pass

    def snapshot(self) -> MapProgress:
        live = self.live.values()
        elapsed = max(1e-9, time.monotonic() - self.started)
        return MapProgress(
            submitted=self.submitted,
            done=self.done,
            failed=self.failed,
            in_flight=len(self.live) + self.submitting,
            rate=(self.done + self.failed) / elapsed,
            polls=self.polls_done + sum(job.polls for job, _ in live),
            elapsed=elapsed,
        )

    # -- the background task ------------------------------------------------------------------

    async def _run(self) -> None:
        self.idle = anyio.Event()
        try:
            await self._supervise()
        except Exception as exc:  # a bug in a child task: surface it rather than end quietly
            if self.error is None:
                self.error = exc
        finally:
            self.tg = None
            if self.halted is not None and self.error is None:
                self.error = self._halt_error(self.halted)
            with anyio.CancelScope(shield=True):
                await self._cleanup()
                # -- journal (JournalHooks): flush, or close a journal the hooks opened ----------
                if self.hooks is not None:
                    try:
                        await self.hooks.stop()
                    except Exception as exc:
                        if self.error is None:
                            self.error = exc
            self.channel.close(self.error)

    async def _supervise(self) -> None:
        async with anyio.create_task_group() as tg:
            self.tg = tg
            try:
                if self.progress is not None:
                    self.changed = anyio.Event()
                    tg.start_soon(self._progress_loop)
                if self.hooks is not None:
                    await self.hooks.start(self.endpoint)
                await self._feed()
                self.feeding = False
                self._check_idle()
                assert self.idle is not None
                await self.idle.wait()
                if self.progress is not None:
                    await self._report()
            except Exception as exc:  # from inputs, a hook or progress: stop the map
                self._fail(exc)
            except BaseException:
                self._begin_close()
                raise
            tg.cancel_scope.cancel()

    async def _feed(self) -> None:
        """Submit every input through at most ``MAX_FEEDERS`` worker tasks (not a task per input).

        A worker takes a window slot, then the next input, then submits it (``_submit_one``) and
        goes back for another; inputs are read in order and each one's ``before_submit`` hook
        starts before the next input is read (the journal assigns keys in input order).
        """
        inputs = self.inputs
        if isinstance(inputs, AsyncIterable):
            aiter_: AsyncIterator[Any] | None = inputs.__aiter__()
            source = _Source(None, aiter_)
        else:
            aiter_ = None
            source = _Source(iter(inputs), None)
        self.source = source
        try:
            async with anyio.create_task_group() as workers:
                for _ in range(min(self.concurrency, MAX_FEEDERS)):
                    workers.start_soon(self._feed_worker, source)
        finally:
            if aiter_ is not None:
                aclose = getattr(aiter_, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()

    async def _feed_worker(self, source: _Source) -> None:
        window = self.window
        assert window is not None
        while not source.ended:
            await window.acquire()
            if self.left or self.halted is not None:  # the consumer left (aclose) / the batch halted
                window.release()
                return
            try:
                got = await source.take()
            except BaseException:
                window.release()
                raise
            if got is None:
                window.release()
                if source.error is not None:  # the inputs raised: the map stops with that error
                    self._fail(source.error)
                return
            self.busy += 1
            self.submitting += 1
            await self._submit_one(*got)

    async def _submit_one(self, index: int, item: Any, retry_of: MapOutcome | None = None) -> None:
        job: Job | None = None
        replay: MapOutcome | None = None
        error: Exception | None = None
        key: str | None = None
        held: MapOutcome | None = None
        attempts = 1 if retry_of is None else retry_of.attempts + 1
        with anyio.CancelScope(shield=True) as scope:  # a cancellation mid-POST still gets the id
            self.submit_scopes.add(scope)
            try:
                if self.hooks is not None:
                    if retry_of is not None:
                        got: str | Job | MapOutcome | None = await self.hooks.before_retry(
                            index, item, retry_of
                        )
                    else:
                        got = await self.hooks.before_submit(index, item)
                    if isinstance(got, Job):
                        job = got
                    elif isinstance(got, MapOutcome):
                        replay = got
                    else:
                        key = got
                if job is None and replay is None:
                    assert self.submit_slots is not None
                    try:
                        async with self.submit_slots:
                            if self.halted is not None or self.left or self.closing:
                                held = self._held(index, item, self.halted, attempts)  # none starts now
                            else:
                                job = await self.submit(
                                    self.endpoint, item, extra_headers=self.extra_headers, x_request_id=key
                                )
                    except Exception as exc:
                        error = exc
                        if halts_batch(exc):
                            self._halt(exc)
                            held = self._held(index, item, exc, attempts)
                    if held is not None and self.hooks is not None:
                        await self.hooks.not_submitted(held)
                    if job is not None and self.hooks is not None:
                        await self.hooks.after_submit(index, key, job)
            except Exception as exc:  # a hook failed: stop the map (its journal is not trustworthy)
                if job is not None:
                    self.orphans.append(job)
                    job = None
                self.submitting -= 1
                self.busy -= 1
                self._fail(exc)
                return
            finally:
                self.submit_scopes.discard(scope)
        self.submitting -= 1
        if held is not None:  # stays pending: never delivered, its window slot freed here
            assert self.window is not None
            self.window.release()
            self.busy -= 1
            self._check_idle()
        elif replay is not None:
            self._count(replay.error)
            self._deliver(replay)
        elif job is None:
            if error is None:  # cut short on the way out
                self.busy -= 1
                self._check_idle()
            else:
                self._count(error)
                self._deliver(
                    MapOutcome(index, item, None, None, error, submit=submit_kind(error), attempts=attempts)
                )
        elif self.closing:
            self.orphans.append(job)
            self.busy -= 1
        else:
            self.submitted += 1
            if self.job_retries:
                self.attempts[index] = attempts
            try:
                self._watch(index, item, job)
            except Exception as exc:  # the client was closed meanwhile
                self._count(exc)
                self._deliver(MapOutcome(index, item, job.request_id, None, exc))
                return
            self._touch()

    def _limit(self, job: Job) -> WaitLimit:
        """The job's deadline rule (waited by callback: the cancel is a task, see ``_finished``)."""
        return WaitLimit("Job", job.request_id, job.endpoint, self.wait_timeout, self.cancel_on_timeout)

    def _watch(self, index: int, item: Any, job: Job) -> None:
        deadline = self._limit(job).deadline(job.age or 0.0)
        sched = get_scheduler(self.client)
        callback = partial(self._finished, index, item, job)
        watch = sched.watch(job_target(job), callback, deadline=deadline)
        self.live[index] = (job, watch)

    def _finished(self, index: int, item: Any, job: Job, value: object, error: BaseException | None) -> None:
        """The scheduler's callback: the job ended (or its deadline passed)."""
        if self.live.pop(index, None) is None:
            return
        self.polls_done += job.polls
        if isinstance(error, TimeoutError):
            cancel = self.cancel_on_timeout and self.tg is not None
            error = self._limit(job).expired("sent" if cancel else None)
            if cancel and self.tg is not None:
                self.busy += 1
                self.tg.start_soon(self._cancel_one, job)
        attempts = self.attempts.pop(index, 1)
        result = value if isinstance(value, JobResult) else None
        outcome = MapOutcome(index, item, job.request_id, result, error, attempts=attempts)
        if (
            attempts <= self.job_retries
            and is_transient_failure(error)
            and self.tg is not None
            and not (self.closing or self.halted is not None)
        ):
            self.submitting += 1
            self.tg.start_soon(self._submit_one, index, item, outcome)  # a new attempt
            return
        self._count(error)
        self._deliver(outcome)

    def _held(self, index: int, item: Any, reason: BaseException | None, attempts: int) -> MapOutcome:
        """An input read but not submitted (the batch halted, or the map is being left)."""
        self.held += 1
        error = reason if reason is not None else OdiRouterError("not submitted: the map ended first")
        return MapOutcome(index, item, None, None, error, submit="not_created", attempts=attempts - 1)

    def _halt(self, reason: BaseException) -> None:
        """An answer that fails every further input: submit nothing more, wait for the running jobs."""
        if self.halted is not None:
            return
        self.halted = reason
        self.running_at_halt = len(self.live)
        logger.info("map on %s: no more submits: %s", self.endpoint, reason)

    def _halt_error(self, reason: BaseException) -> BatchHalted:
        unread = 0
        if isinstance(self.inputs, Sized) and self.source is not None:
            unread = max(0, len(self.inputs) - self.source.index)
        return BatchHalted(
            reason, done=self.done + self.failed, running=self.running_at_halt, pending=self.held + unread
        )

    def _count(self, error: BaseException | None) -> None:
        if error is None:
            self.done += 1
        else:
            self.failed += 1

    def _deliver(self, outcome: MapOutcome) -> None:
        if self.hooks is not None and self.tg is not None:
            self.tg.start_soon(self._deliver_hooked, outcome)
            return
        self.channel.put(outcome if self.hooks is None else self.hooks.delivered(outcome))
        self.busy -= 1
        self._touch()
        self._check_idle()

    async def _deliver_hooked(self, outcome: MapOutcome) -> None:
        assert self.hooks is not None
        try:
            await self.hooks.finished(outcome)
        except Exception as exc:
            self._fail(exc)
        self.channel.put(self.hooks.delivered(outcome))
        self.busy -= 1
        self._touch()
        self._check_idle()

    async def _cancel_one(self, job: Job) -> None:
        try:
            outcome = await job.cancel_quietly()
            await _tell_cancelled(self.hooks, job, outcome)
        finally:
            self.busy -= 1
            self._check_idle()

    def _touch(self) -> None:
        if self.changed is not None:
            self.changed.set()

    def _check_idle(self) -> None:
        if not self.feeding and self.busy <= 0 and self.idle is not None:
            self.idle.set()

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self._begin_close()
        if self.tg is not None:
            self.tg.cancel_scope.cancel()

    def _begin_close(self) -> None:
        """Stop polling every job, and give submits in flight ``SUBMIT_GRACE`` s to return."""
        if self.closing:
            return
        self.closing = True
        deadline = anyio.current_time() + SUBMIT_GRACE
        for scope in self.submit_scopes:
            scope.deadline = min(scope.deadline, deadline)
        live, self.live = self.live, {}
        for job, watch in live.values():
            watch.cancel()
            self.orphans.append(job)

    async def _cleanup(self) -> None:
        self._begin_close()
        jobs, self.orphans = self.orphans, []
        if not (self.cancel_on_exit and jobs):
            return
        logger.info("cancelling %d unfinished job(s) of a map on %s", len(jobs), self.endpoint)
        with anyio.move_on_after(CANCEL_GRACE):
            async with anyio.create_task_group() as tg:
                for _ in range(min(_CANCEL_WORKERS, len(jobs))):
                    tg.start_soon(_cancel_worker, jobs, self.hooks)

    async def _progress_loop(self) -> None:
        try:
            while True:
                assert self.changed is not None
                await self.changed.wait()
                self.changed = anyio.Event()
                await self._report()
                await anyio.sleep(PROGRESS_INTERVAL)
        except Exception as exc:
            self._fail(exc)

    async def _report(self) -> None:
        assert self.progress is not None
        ret = self.progress(self.snapshot())
        if inspect.isawaitable(ret):
            await ret


async def close_maps(shared: object) -> None:
    """End every map still running on the client whose shared state is ``shared`` (its close).

    Each one stops like a map left early: with ``cancel_on_exit`` its unfinished jobs are
    cancelled remotely, else (a journaled map) they are left running, recorded for the resume --
    before the client's connections close, never silently abandoned half-way.
    """
    runners = [
        r for r in list(_LIVE) if r.client._shared is shared and r.task is not None and not r.task.done()
    ]
    for runner in runners:
        logger.info("closing the client ends a map still running on %s", runner.endpoint)
        await runner.aclose()


async def _cancel_worker(jobs: list[Job], hooks: MapHooks | None) -> None:
    while jobs:
        job = jobs.pop()
        try:
            outcome: CancelOutcome | None = await job.cancel(max_retries=1)
        except Exception as exc:
            logger.info("could not cancel job %s: %s", job.request_id, exc)
            outcome = None
        await _tell_cancelled(hooks, job, outcome)


async def _tell_cancelled(hooks: MapHooks | None, job: Job, outcome: CancelOutcome | None) -> None:
    """Tell the hooks (the journal) how the remote cancel of ``job`` went; never raises."""
    if hooks is None:
        return
    try:
        await hooks.cancelled(job, outcome)
    except Exception as exc:
        logger.warning("could not record the cancel of job %s: %s", job.request_id, exc)
