"""The public types of ``client.queue.map``: ``MapOutcome``, ``MapProgress``, ``MapHooks``.

Also ``_Channel``, the outcome queue between a map's background task and its one consumer.
``batch/map.py`` re-exports everything; the behaviour is described there.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..types.queue import JobResult
from .map_kinds import SubmitKind

if TYPE_CHECKING:
    from ..http.requester import ClientHandle
    from ..queue.job_state import CancelOutcome
    from ..queue.jobs import Job

__all__ = ("MapHooks", "MapOutcome", "MapProgress")


@dataclass(frozen=True, slots=True)
class MapOutcome:
    """One input's outcome: ``result`` or ``error`` (exactly one is set).

    Attributes:
        index: position of the input in ``inputs``.
        input: the input itself.
        request_id: the job's id (``None`` when the submit failed).
        result: the ``JobResult`` when the job succeeded.
        error: the exception otherwise (``JobFailed``, ``JobCancelled``, ``JobTimeout``, or the
            submit's error).
        replayed: True when the outcome was read back from a journal (an earlier run finished
            it: its result files may be on disk already), False when it finished in this run.
        submit: what the submit did: ``"created"`` (a job exists: ``request_id``),
            ``"not_created"`` (the gateway provably made no job: nothing paid; a journal's
            resume submits it again), ``"uncertain"`` (the request may have made a job).
        attempts: submits of this input by this map (``job_retries`` adds to it); 0 for a replay.
    """

    index: int
    input: Any
    request_id: str | None
    result: JobResult | None
    error: BaseException | None
    replayed: bool = False
    submit: SubmitKind = "created"
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True when the job succeeded."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class MapProgress:
    """A snapshot of a running map (passed to ``progress``).

    Attributes:
        submitted: jobs the gateway accepted so far.
        done: jobs finished with a result.
        failed: inputs finished with an error (failed submits included).
        in_flight: submits in flight plus jobs running.
        rate: finished inputs per second since the start.
        polls: poll requests spent on this map's jobs so far (result fetches included).
        elapsed: seconds since the start.
    """

    submitted: int
    done: int
    failed: int
    in_flight: int
    rate: float
    polls: int
    elapsed: float


class MapHooks:
    """Extension points of ``map`` for a journal; every method here does nothing."""

    async def start(self, endpoint: str) -> None:
        """Called once, before the first input is read."""

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        """Called before input ``index`` is submitted.

        Return a stable key (sent as ``X-Request-Id``), a ``Job`` to wait for instead of
        submitting (one an earlier run submitted), a ``MapOutcome`` to yield as is (one an earlier
        run finished), or ``None``.
        """
        return None

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        """Called once the gateway accepted the job (its id and URLs are known)."""

    async def before_retry(self, index: int, input: Any, failed: MapOutcome) -> str | None:
        """Called before input ``index`` is submitted again (``job_retries``) after ``failed``.

        Record the failed attempt and the new one; return the new attempt's key (or ``None``).
        """
        return None

    async def not_submitted(self, outcome: MapOutcome) -> None:
        """Called instead of ``finished`` for an input held back after the batch halted
        (``outcome.submit == "not_created"``; the caller never sees it: it stays pending)."""
        await self.finished(outcome)

    async def cancelled(self, job: Job, outcome: CancelOutcome | None) -> None:
        """Called after the map tried to cancel ``job`` remotely (``None``: the cancel failed)."""

    async def finished(self, outcome: MapOutcome) -> None:
        """Called when an outcome is final, before the caller sees it."""

    def delivered(self, outcome: MapOutcome) -> MapOutcome:
        """The outcome as the caller sees it (default: as is; a shared journal gives the position
        of the input in the caller's ``inputs``, not the order this worker claimed it in)."""
        return outcome

    async def stop(self) -> None:
        """Called once when the map has ended and cleaned up (shielded): flush or close here."""


class _Channel:
    """Outcomes from the runner to the one consumer; ``close`` ends it (optionally with an error)."""

    __slots__ = ("_closed", "_error", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[MapOutcome] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None

    def _notify(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put(self, item: MapOutcome) -> None:
        self._items.append(item)
        self._notify()

    def close(self, error: BaseException | None = None) -> None:
        self._closed = True
        self._error = error
        self._notify()

    async def get(self) -> MapOutcome:
        while not self._items:
            if self._closed:
                error, self._error = self._error, None
                if error is not None:
                    raise error
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Submit(Protocol):
    """``client.queue.submit`` as the map needs it (the map never imports ``resources``)."""

    def __call__(
        self,
        endpoint: str,
        arguments: Mapping[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
        x_request_id: str | None = None,
    ) -> Awaitable[Job]: ...


@dataclass(frozen=True, slots=True)
class MapSpec:
    """What one ``client.queue.map(...)`` runs, as ``queue/resource.py`` builds it."""

    client: ClientHandle
    submit: Submit
    endpoint: str
    inputs: Iterable[Any] | AsyncIterable[Any]
    concurrency: int
    cancel_on_exit: bool
    progress: Callable[[MapProgress], Awaitable[None] | None] | None
    wait_timeout: float | None
    cancel_on_timeout: bool
    extra_headers: Mapping[str, str] | None
    hooks: MapHooks | None
    job_retries: int = 0
