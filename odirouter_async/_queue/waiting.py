"""The one wait (I/O shell): the deadline rule and status updates on top of ``Scheduler.wait``.

``Job.result``, ``queue.run``, ``queue.map`` (through ``Scheduler.watch``) and ``videos.wait`` all
wait through the client's scheduler with one rule:

- ``wait_timeout=None`` (the default): no client deadline, the wait lasts as long as the job;
- with one: ``deadline_after(wait_timeout)`` (loop time) makes the scheduler end the wait with
  ``TimeoutError``, which the caller turns into ``_core.observation.job_timeout(...)``; the remote
  job is cancelled only when the caller asked (``cancel_on_timeout=True``), and the message says so.

``wait(sched, target, on_update=...)`` calls ``on_update(update)`` for each status change (a
coroutine function is awaited; if it raises, the wait raises that); ``follow`` is the same as an
async iterator (``job.updates()``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from .scheduler import Scheduler, Target

__all__ = ("UpdateCallback", "check_wait_timeout", "deadline_after", "follow", "wait")

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
