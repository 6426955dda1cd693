"""``client.queue.map``: one job per input, a bounded window, outcomes as jobs finish (I/O shell).

Guarantees (also in ``JobMap``'s docstring):

- **Window.**  At most ``concurrency`` inputs are between "read from ``inputs``" and "outcome
  taken by the caller": submits in flight, jobs running, and finished outcomes not yet taken.
  An input is read only when a slot is free, so a generator of unbounded length is never read
  ahead, and memory is bounded by the window whatever the pace of the caller.
- **Outcomes.**  One ``MapOutcome`` per input, in finishing order; a failed submit or job is an
  outcome with ``error`` set and never stops the others.  An exception raised by ``inputs``
  itself (or by ``progress``) stops the map: running jobs are cancelled (``cancel_on_exit``),
  outcomes already finished are still yielded, then the exception is raised.
- **Leaving early** (``break``, an exception, a cancellation): with ``async with``, the exit
  stops polling and, with ``cancel_on_exit`` (by default only without a journal), cancels
  every unfinished job remotely before it returns (a submit in flight is given a few seconds to
  return its id, so it can be cancelled too).  With a plain ``async for`` the same cleanup starts
  when the ``JobMap`` is dropped (right after the loop, in CPython), in the background;
  ``await results.aclose()`` waits for it, and so does closing the client.
- **Waiting costs no task per job**: jobs are watched by the client's scheduler, which calls back.
- **The user's money** (#19, rules in ``map_kinds``): a failed submit's outcome says what it
  proves (``MapOutcome.submit``: ``not_created`` / ``uncertain``); an answer that will fail every
  further input (no credit, a refused key, an unknown endpoint) stops new submits at once (at
  most ``concurrency`` were in flight), the running jobs are still delivered, the inputs read but
  not submitted are handed to ``MapHooks.not_submitted`` (never to the caller) and the map ends
  with ``BatchHalted``; ``job_retries`` submits a transient failure again (``before_retry``);
  closing the client first ends its maps still running (``close_maps``), as leaving them would.

The journal (resumable batches) hooks in through ``MapHooks``: before a submit (its key is sent as
``X-Request-Id``, or it re-attaches a job submitted by an earlier run, or replays an outcome),
after a submit, and when an outcome is final (before the caller sees it).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from .._closing import AsyncClosing
from ..queue.jobs import endpoint_segment
from ..queue.scheduler import check_wait_timeout
from .map_runner import PROGRESS_INTERVAL as PROGRESS_INTERVAL, _Runner
from .map_types import (
    MapHooks as MapHooks,
    MapOutcome as MapOutcome,
    MapProgress as MapProgress,
    MapSpec as MapSpec,
)

__all__ = ("JobMap", "MapHooks", "MapOutcome", "MapProgress", "MapSpec")


class JobMap(AsyncClosing):
    """The async iterator (and async context manager) ``client.queue.map(...)`` returns.

    ::

        async with client.queue.map("flux_pro_11", inputs, concurrency=64) as results:
            async for done in results:         # MapOutcome, as jobs finish
                if done.error is None:
                    await client.queue.download(done.result, "out/")

    - At most ``concurrency`` inputs are in the window (submits in flight + jobs running +
      outcomes finished but not taken yet); inputs are read only when a slot frees, so a
      generator is never read ahead and memory stays bounded.
    - A failed submit or job is an outcome with ``error``; it never stops the others.
    - Leaving the ``async with`` block early (``break``, an exception, a cancellation) stops
      polling and, with ``cancel_on_exit``, cancels the unfinished jobs remotely before the block
      exits.  A plain ``async for`` works too; when it is left early the same cleanup runs in the
      background once the ``JobMap`` is dropped (or at ``await results.aclose()``).
    - ``progress``, if given, is called (sync or async, in the map's background task) with a
      ``MapProgress`` at most every 0.25 s while things change, and once at the end.
    """

    def __init__(self, spec: MapSpec) -> None:
        endpoint_segment(spec.endpoint)
        concurrency = spec.concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        if not isinstance(spec.inputs, (Iterable, AsyncIterable)):
            raise TypeError(
                f"inputs must be an iterable or an async iterable, not {type(spec.inputs).__name__}"
            )
        check_wait_timeout(spec.wait_timeout)
        self._runner = _Runner(spec)
        self._closed = False

    def __aiter__(self) -> JobMap:
        return self

    async def __anext__(self) -> MapOutcome:
        runner = self._runner
        if runner.task is None:
            if self._closed:
                raise StopAsyncIteration
            runner.start()
        outcome = await runner.channel.get()
        assert runner.window is not None
        runner.window.release()
        return outcome

    async def __aenter__(self) -> JobMap:
        if not self._closed:
            self._runner.start()
        return self

    async def aclose(self) -> None:
        """Stop: cancel unfinished jobs (``cancel_on_exit``) and wait until that is done."""
        self._closed = True
        await self._runner.aclose()

    def snapshot(self) -> MapProgress:
        """The map's counters now (the same ``MapProgress`` the ``progress`` callback gets)."""
        return self._runner.snapshot()

    def __del__(self) -> None:
        runner = getattr(self, "_runner", None)
        if runner is not None:
            runner.abandon()
