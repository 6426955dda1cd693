"""What the map hooks of both journal stores share: the store protocol (``JournalStore``), which
outcomes are final, how they are recorded, and the bookkeeping of the jobs a map follows.

``JournalHooks`` (sqlite, ``journal_hooks``) and ``PgJournalHooks`` (PostgreSQL, ``pg_hooks``)
differ in where the inputs come from (the caller's list vs the rows a worker claims) and in what
``before_submit`` decides; once a job exists they behave the same, here: ``StoreHooks`` records
the job id, a cancel the gateway accepted, and each final outcome (``done`` with the raw result
body, ``failed`` with :func:`error_payload` -- only for a job that ran and failed), a submit that
provably created no job as *not created* (``record_not_created``: the resume submits it again,
``map_kinds.submit_kind``), and each new attempt of ``job_retries`` (``record_retry``);
:func:`reattach_job` rebuilds a recorded job.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

import msgspec

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InsufficientBalanceError,
    InternalServerError,
    JobError,
    JobTimeout,
    JournalError,
    PermissionDeniedError,
    RateLimitError,
)
from ..queue.job_state import CancelOutcome
from ..queue.jobs import Job, job_urls
from ..queue.scheduler import ClientClosedError
from .map_kinds import submit_kind
from .map_types import MapHooks, MapOutcome

if TYPE_CHECKING:
    from ..http.requester import ClientHandle

__all__ = (
    "JournalStore",
    "StoreHooks",
    "error_payload",
    "is_final_outcome",
    "reattach_job",
    "submit_created_no_job",
)

_encode: Final = msgspec.json.Encoder().encode


def error_payload(exc: BaseException) -> bytes:
    """An error as the JSON stored in the journal: message, type, error_type, ids, status."""
    body: dict[str, Any] = {"error": getattr(exc, "message", None) or str(exc), "type": type(exc).__name__}
    for name in ("request_id", "x_request_id", "error_type", "status_code", "endpoint"):
        value = getattr(exc, name, None)
        if value is not None:
            body[name] = value
    return _encode(body)


def submit_created_no_job(exc: BaseException) -> bool | None:
    """What a failed submit proves: ``False`` no job was created, ``None`` a job may exist.

    (Never ``True`` any more: a refused submit is *not created*, never failed; see
    ``map_kinds.submit_kind``.)
    """
    return False if submit_kind(exc) == "not_created" else None


#: Refusals of a poll that are about the account, not the job (see ``is_final_outcome``).
_ACCOUNT_REFUSALS: Final = (
    AuthenticationError,
    PermissionDeniedError,
    InsufficientBalanceError,
    RateLimitError,
)


def is_final_outcome(outcome: MapOutcome) -> bool:
    """Whether ``outcome`` is the input's last word (a rerun would not change it).

    A failed submit never is: not created (a rerun submits it) or uncertain.  Nor is a job whose
    poll was refused for the account's sake (a key refused or revoked, no credit, 429 after the
    retries): that says nothing about the job, which may still finish; a resume re-attaches it.
    """
    error = outcome.error
    if error is None:
        return True
    if outcome.request_id is None:  # the submit failed
        return False
    if isinstance(error, (JobTimeout, ClientClosedError, *_ACCOUNT_REFUSALS)):
        return False  # the job may still finish: a resume re-attaches
    return isinstance(error, (JobError, APIStatusError))


def reattach_job(
    client: ClientHandle,
    endpoint: str,
    request_id: str,
    submitted_at: float | None,
    urls: tuple[str | None, str | None, str | None] = (None, None, None),
) -> Job:
    """The ``Job`` an earlier run (or another worker) submitted, from its recorded id and time.

    ``urls``: the recorded status, response and cancel URLs; a missing one is the documented URL.
    """
    documented = job_urls(client.requester.base_url, endpoint, request_id)
    status_url, response_url, cancel_url = (url or doc for url, doc in zip(urls, documented, strict=True))
    mono = None if submitted_at is None else time.monotonic() - max(0.0, time.time() - submitted_at)
    return Job(
        client,
        endpoint,
        request_id,
        status_url=status_url,
        response_url=response_url,
        cancel_url=cancel_url,
        submitted_at=submitted_at,
        submitted_mono=mono,
    )


class JournalStore(Protocol):
    """What both journal stores offer (see ``journal.Journal`` for the precise semantics)."""

    endpoint: str
    run_id: str

    def request_id_for(self, key: str, attempt: int = 1) -> str:
        """The ``X-Request-Id`` of ``key``'s submit number ``attempt``."""

    async def record_intents(self, items: Iterable[tuple[str, int, str]]) -> None:
        """Durably record ``(key, index, args_hash)`` intents before the submits."""

    def record_submitted(
        self,
        key: str,
        request_id: str,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
    ) -> None:
        """The gateway's job id for ``key`` (batched)."""

    def record_outcome(self, key: str, ok: bool, payload: bytes | None) -> None:
        """How ``key`` ended (batched)."""

    def record_cancelled(self, key: str) -> None:
        """This client cancelled ``key``'s job (batched)."""

    def record_not_created(self, key: str, payload: bytes, later: bool = False) -> None:
        """The submit of ``key`` provably created no job (batched); a resume submits it again
        (``later``: not in this run -- a definite refusal, not a push-back)."""

    async def record_retry(self, key: str, attempt: int, payload: bytes) -> None:
        """Durably: ``key``'s job failed (``payload``) and attempt ``attempt`` starts."""

    async def commit(self) -> None:
        """Everything recorded so far survives this process."""

    async def flush(self) -> None:
        """Everything recorded so far is durable."""

    async def close(self) -> None:
        """Flush and release the store (idempotent)."""


S = TypeVar("S", bound=JournalStore)


class StoreHooks(MapHooks, Generic[S]):
    """The part of a journal's map hooks that follows jobs and records outcomes (see above).

    ``store``: an open store (the caller closes it) or ``None`` with ``owned=True`` (``start``
    opens one and sets ``_journal``; ``stop`` closes it).  Subclasses map each map index to its
    journal key in ``_keys`` (from ``before_submit`` on) and put indices whose outcome is already
    recorded (replays) in ``_replays``.
    """

    def __init__(self, store: S | None, client: ClientHandle, *, owned: bool) -> None:
        self._journal = store
        self._owned = owned
        self._client = client
        self._keys: dict[int, str] = {}
        self._replays: set[int] = set()
        self._job_keys: dict[str, str] = {}  # request id -> key of the jobs not finished yet
        self._running: set[str] = set()  # request ids of jobs submitted / re-attached, not ended
        self._id_keys: dict[str, str] = {}  # key -> the key its request ids are made from
        self._attempts: dict[str, int] = {}  # key -> its attempt now (set by ``before_submit``)
        self.cancelled_jobs = 0
        self.not_created = self.retried = 0

    @property
    def journal(self) -> S:
        """The store (open once the map started)."""
        if self._journal is None:
            raise JournalError("the journal is opened when the map starts")
        return self._journal

    @property
    def running_jobs(self) -> int:
        """Jobs submitted or re-attached by this map that neither ended nor were cancelled."""
        return len(self._running)

    def _follow(self, key: str, job: Job) -> Job:
        """Remember that ``job`` (submitted or re-attached) runs for ``key``."""
        self._job_keys[job.request_id] = key
        self._running.add(job.request_id)
        return job

    async def cancelled(self, job: Job, outcome: CancelOutcome | None) -> None:
        """The map cancelled ``job`` on its way out: record ``cancelled`` if the gateway accepted."""
        key = self._job_keys.pop(job.request_id, None)
        if outcome is not CancelOutcome.REQUESTED:
            return
        self._running.discard(job.request_id)
        if key is not None:
            self.cancelled_jobs += 1
            self.journal.record_cancelled(key)

    async def before_retry(self, index: int, input: Any, failed: MapOutcome) -> str | None:
        """Record the failed attempt and the new one (durably, before the new submit); its request id."""
        key = self._keys[index]
        assert failed.error is not None and failed.request_id is not None
        self._running.discard(failed.request_id)
        self._job_keys.pop(failed.request_id, None)
        attempt = self._attempts[key] = self._attempts.get(key, 1) + 1
        await self.journal.record_retry(key, attempt, error_payload(failed.error))
        self.retried += 1
        return self.journal.request_id_for(self._id_keys.get(key, key), attempt)

    async def finished(self, outcome: MapOutcome) -> None:
        """Record a final outcome (batched); leave non-final ones for a later run or worker."""
        key = self._keys.pop(outcome.index, None)
        if key is not None:
            self._attempts.pop(key, None)
            self._id_keys.pop(key, None)
        if outcome.request_id is not None:
            self._running.discard(outcome.request_id)
            if not isinstance(outcome.error, JobTimeout):  # a timed-out job may still be cancelled
                self._job_keys.pop(outcome.request_id, None)
        if key is None or outcome.index in self._replays:
            return
        journal = self.journal
        error = outcome.error
        if error is None:
            result = outcome.result
            assert result is not None
            journal.record_outcome(key, True, result.raw_bytes or _encode(result.raw))
        elif outcome.request_id is None:
            if outcome.submit == "not_created":  # never failed: the resume submits it again
                self.not_created += 1
                later = not isinstance(error, (RateLimitError, InternalServerError, APIConnectionError))
                journal.record_not_created(key, error_payload(error), later)
            # else uncertain: the intent stays (reported by the resume)
        elif is_final_outcome(outcome):
            journal.record_outcome(key, False, error_payload(error))

    async def stop(self) -> None:
        """Flush; close the store if these hooks opened it."""
        journal = self._journal
        if journal is None:
            return
        if self._owned:
            await journal.close()
        else:
            await journal.flush()
