"""The one wait (I/O shell): the deadline rule and status updates on top of ``Scheduler.wait``.

``Job.result``, ``queue.run``, ``queue.map`` (through ``Scheduler.watch``) and ``videos.wait`` all
wait through the client's scheduler with one rule, held by ``WaitLimit``:

- ``wait_timeout=None`` (the default): no client deadline, the wait lasts as long as the job;
  otherwise a positive number of seconds (checked once, here: ``check_wait_timeout``);
- with one: ``WaitLimit.deadline()`` (loop time) makes the scheduler end the wait with
  ``TimeoutError``, which becomes ``WaitLimit.expired(...)`` (the message from
  ``_core.observation.job_timeout``, the one ``JobTimeout`` constructor); the remote job is
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
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from .._core.observation import job_timeout
from .._exceptions import JobTimeout
from .scheduler import Scheduler, Target

__all__ = (
    "UpdateCallback",
    "WaitLimit",
    "check_wait_timeout",
    "deadline_after",
    "follow",
    "wait",
    "wait_within",
)

#: ``on_update(update)``: a plain function or a coroutine function.
UpdateCallback = Callable[[Any], object]


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
