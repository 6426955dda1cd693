"""A virtual clock for the tests: an asyncio event loop whose timers fire without waiting them out.

The loop's clock (``loop.time()``, hence ``anyio.current_time()``, ``asyncio.sleep``, ``anyio.sleep``,
``fail_after``, the client's poll scheduler and backoff, and the emulator, which keeps time by the
loop it serves on) is the real monotonic clock plus an offset.  When the loop would block with
only timers left (no callback ready, no socket ready), it first waits ``GRACE`` of real time for
I/O, then moves the offset forward to the next timer instead of sleeping until it.

Why the grace, and why it is safe: the client and the emulator talk over 127.0.0.1 on this same
loop, so a request written by one side is readable by the other when ``send`` returns, and the loop
then has a socket ready and never jumps. The grace covers what is not instantaneous (a kernel that
defers a loopback packet): the clock only jumps once nothing has arrived for that long. While a
thread works for the loop (``run_in_executor``, ``anyio.to_thread``, a batch journal's sqlite
thread) the clock does not jump at all. Timers still fire in their order, so "the poll sleep ends
before the 10 s read timeout" stays true; only the waiting between them is skipped.

Tests whose peers live outside this loop in real time (subprocesses, PostgreSQL, an emulator
in a thread) or whose subject is real time are marked ``@pytest.mark.realtime`` and get asyncio's
own loop (see ``anyio_backend`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import linecache
import queue
import selectors
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

#: Real seconds the loop waits for I/O before it moves the clock to the next timer.
GRACE = 0.002

_T = TypeVar("_T")


def _anyio_worker_busy() -> bool:
    """An anyio worker thread (``anyio.to_thread``: file writes, the poll history) has work queued
    or running (its queue's ``unfinished_tasks`` drops after the result is handed to the loop),
    or a batch journal's sqlite thread is at work (``_journal_busy``)."""
    frames: dict[int, Any] | None = None
    for thread in threading.enumerate():
        work = getattr(thread, "queue", None)
        if isinstance(work, queue.Queue) and work.unfinished_tasks:
            return True
        if thread.name == "odirouter-journal" and thread.ident is not None:
            frames = sys._current_frames() if frames is None else frames
            if _journal_busy(thread, frames.get(thread.ident)):
                return True
    return False


def _journal_busy(thread: threading.Thread, frame: Any) -> bool:
    """The journal thread (``batch.journal_worker``) has messages queued, or is not blocked waiting
    for one: it is writing, and the loop will hear from it (a caller awaits its answer)."""
    worker = getattr(getattr(thread, "_target", None), "__self__", None)
    pending = getattr(worker, "_q", None)
    if pending is not None and not pending.empty():
        return True
    if frame is None:
        return False
    waiting = frame.f_code.co_name == "_serve" and "q.get(" in linecache.getline(
        frame.f_code.co_filename, frame.f_lineno
    )
    return not waiting


class _VirtualSelector(selectors.DefaultSelector):
    """The loop's selector: when only timers are left it waits the real grace for I/O, then
    reports the wait as done, counting the skipped seconds the loop's clock adds.  While a
    thread works for the loop it never jumps: it polls in grace-long real waits instead."""

    def __init__(self, grace: float, threads_busy: Callable[[], bool]) -> None:
        super().__init__()
        self.grace = grace
        self.threads_busy = threads_busy
        self.skipped = 0.0
        self.jumps = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:  # no timer at all: only I/O (or another thread) can wake the loop
            return super().select(None)
        ready = super().select(min(timeout, self.grace))
        if ready or timeout <= self.grace or self.threads_busy():
            return ready
        self.skipped += timeout - self.grace  # the real grace already passed
        self.jumps += 1
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose clock jumps to the next timer when only timers are left."""

    def __init__(self, grace: float = GRACE) -> None:
        self._executor_futures: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
        self._virtual = _VirtualSelector(grace, self._threads_busy)
        super().__init__(self._virtual)

    def time(self) -> float:
        """Real monotonic seconds plus every jump made so far."""
        return time.monotonic() + self._virtual.skipped

    @property
    def skipped(self) -> float:
        """Seconds of waiting the clock skipped so far."""
        return self._virtual.skipped

    def run_in_executor(  # type: ignore[override]  # TypeVarTuple is 3.11+
        self, executor: Any, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """As asyncio's, and the clock stands still until the call is done."""
        future = super().run_in_executor(executor, func, *args)
        self._executor_futures.add(future)
        return future

    def _threads_busy(self) -> bool:
        return any(not f.done() for f in self._executor_futures) or _anyio_worker_busy()
