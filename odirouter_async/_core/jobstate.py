"""The queue job state machine: status and response bodies in, decisions out.  Pure.

Decisions (what one body means for the job):

- ``Pending(phase)``: ``IN_QUEUE`` (``Phase.QUEUED``) or ``IN_PROGRESS`` (``Phase.RUNNING``).
- ``Unknown(status)``: a status string nobody documented; treated as *pending*, never a crash
  (the shell logs it once, ``JobStateMachine.first_unknown``, and keeps polling under its deadline).
- ``Succeeded(result)``: done.  ``result`` is the ``JobResult`` when the body was the result
  (``GET .../response`` answers it once the job is done), ``None`` when it was a status body.
- ``Failed(error, error_type)``: ``COMPLETED`` with an ``error`` (string or object), or a
  ``FAILED``/``ERROR``-like status.
- ``Cancelled``: the same with ``error_type`` ``CANCELED``/``CANCELLED``, or a cancelled-like status.

Whole HTTP answers (status code + bytes) become decisions in ``_core/job_answers.py``.

The status words are data (``_STATUS_WORDS``, matched case-insensitively, ``-`` and spaces read as
``_``); so are the state transitions (``_TRANSITIONS``), h11-style: a non-terminal state follows
every decision, a terminal state absorbs everything after it.  ``classify_cancel`` maps the
cancel route's answers to ``CancelOutcome``; ``_core/job_poll.JobPoll`` maps decisions to the
``PollSchedule`` observations the shell reports.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import msgspec

from .._exceptions import JobCancelled, JobFailed
from ..types.queue import JobResult, QueueStatus
from .status_rules import JOB_GONE

__all__ = (
    "TERMINAL_STATES",
    "CancelOutcome",
    "Cancelled",
    "Decision",
    "Failed",
    "JobState",
    "JobStateMachine",
    "Pending",
    "Phase",
    "Succeeded",
    "Unknown",
    "classify_cancel",
    "classify_status",
)


class Phase(enum.Enum):
    """Where a pending job is, as far as the gateway says."""

    QUEUED = "queued"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class Pending:
    """Not finished: keep polling."""

    phase: Phase
    body: QueueStatus | None = None
    terminal: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Unknown:
    """A status value this SDK does not know: treated as pending (log it once)."""

    status: str
    body: QueueStatus | None = None
    terminal: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Succeeded:
    """Done without an error; ``result`` is ``None`` when the body was a status, not the result."""

    result: JobResult | None = None
    body: QueueStatus | None = None
    terminal: ClassVar[bool] = True

    @property
    def inference_time(self) -> float | None:
        """``metrics.inference_time`` of the status body, when there was one."""
        metrics = self.body.metrics if self.body is not None else None
        return metrics.inference_time if metrics is not None else None


def _error_text(error: object, error_type: str | None, fallback: str) -> str:
    if isinstance(error, str) and error.strip():
        text = error.strip()
    elif isinstance(error, dict) and isinstance(error.get("message"), str):
        text = error["message"]
    elif error is not None:
        text = str(error)[:500]
    else:
        text = fallback
    return f"{error_type}: {text}" if error_type else text


_E = TypeVar("_E", JobFailed, JobCancelled)


def _job_error(
    cls: type[_E],
    prefix: str,
    fallback: str,
    end: Failed | Cancelled,
    request_id: str | None,
    endpoint: str | None,
) -> _E:
    """The exception of a failed or cancelled job: message, the gateway's error, its status body."""
    body = end.body
    return cls(
        prefix + _error_text(end.error, end.error_type, fallback),
        request_id=request_id,
        endpoint=endpoint,
        error=end.error,
        error_type=end.error_type,
        status=body.raw if body is not None else None,
        x_request_id=body.x_request_id if body is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Failed:
    """Finished with an error (``error`` as the gateway sent it: a string or an object)."""

    error: object
    error_type: str | None = None
    body: QueueStatus | None = None
    terminal: ClassVar[bool] = True

    def exception(self, *, request_id: str | None, endpoint: str | None) -> JobFailed:
        """The ``JobFailed`` to raise for this decision."""
        return _job_error(JobFailed, "Job failed: ", "no error message", self, request_id, endpoint)


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The job was cancelled (by us or by anyone else)."""

    error: object = None
    error_type: str | None = "CANCELED"
    body: QueueStatus | None = None
    terminal: ClassVar[bool] = True

    def exception(self, *, request_id: str | None, endpoint: str | None) -> JobCancelled:
        """The ``JobCancelled`` to raise for this decision."""
        return _job_error(JobCancelled, "Job cancelled: ", "canceled", self, request_id, endpoint)


Decision = Pending | Unknown | Succeeded | Failed | Cancelled


# ----------------------------------------------------------------------------------------------
# Status words -> decisions
# ----------------------------------------------------------------------------------------------


class _Word(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"  # terminal; success unless there is an error
    FAILED = "failed"
    CANCELLED = "cancelled"


_STATUS_WORDS: Mapping[str, _Word] = {
    "IN_QUEUE": _Word.QUEUED,
    "QUEUED": _Word.QUEUED,
    "PENDING": _Word.QUEUED,
    "WAITING": _Word.QUEUED,
    "SUBMITTED": _Word.QUEUED,
    "STARTING": _Word.QUEUED,
    "IN_PROGRESS": _Word.RUNNING,
    "RUNNING": _Word.RUNNING,
    "PROCESSING": _Word.RUNNING,
    "STARTED": _Word.RUNNING,
    "COMPLETED": _Word.COMPLETED,
    "COMPLETE": _Word.COMPLETED,
    "SUCCEEDED": _Word.COMPLETED,
    "SUCCESS": _Word.COMPLETED,
    "SUCCESSFUL": _Word.COMPLETED,
    "DONE": _Word.COMPLETED,
    "FINISHED": _Word.COMPLETED,
    "OK": _Word.COMPLETED,
    "FAILED": _Word.FAILED,
    "FAILURE": _Word.FAILED,
    "ERROR": _Word.FAILED,
    "ERRORED": _Word.FAILED,
    "TIMEOUT": _Word.FAILED,
    "TIMED_OUT": _Word.FAILED,
    "EXPIRED": _Word.FAILED,
    "CANCELED": _Word.CANCELLED,
    "CANCELLED": _Word.CANCELLED,
    "ABORTED": _Word.CANCELLED,
}
_CANCEL_TYPES = frozenset({"CANCELED", "CANCELLED", "ABORTED"})


def _norm(word: str) -> str:
    return word.strip().upper().replace("-", "_").replace(" ", "_")


def _has_error(error: object) -> bool:
    if error is None or error is False:
        return False
    if isinstance(error, str):
        return bool(error.strip())
    return not (isinstance(error, (dict, list)) and not error)


def classify_status(body: QueueStatus) -> Decision:
    """What a status body means.  Never raises: unknown values are ``Unknown`` (pending)."""
    word = _STATUS_WORDS.get(_norm(body.status))
    if word is _Word.QUEUED:
        return Pending(Phase.QUEUED, body)
    if word is _Word.RUNNING:
        return Pending(Phase.RUNNING, body)
    if word is None:
        return Unknown(body.status, body)
    cancelled = body.error_type is not None and _norm(body.error_type) in _CANCEL_TYPES
    if word is _Word.CANCELLED or (cancelled and word is _Word.FAILED):
        return Cancelled(body.error, body.error_type or "CANCELED", body)
    if word is _Word.FAILED:
        return Failed(body.error, body.error_type or _norm(body.status), body)
    if _has_error(body.error):  # COMPLETED (or a synonym) with an error
        if cancelled:
            return Cancelled(body.error, body.error_type, body)
        return Failed(body.error, body.error_type, body)
    return Succeeded(None, body)


# ----------------------------------------------------------------------------------------------
# The state machine
# ----------------------------------------------------------------------------------------------


class JobState(enum.Enum):
    """The job as the client knows it."""

    SUBMITTED = "submitted"  # nothing observed yet
    QUEUED = "queued"
    RUNNING = "running"
    UNKNOWN = "unknown"  # pending, in a state the SDK does not know
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True for the absorbing states."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class _Event(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


_FOLLOW: Mapping[_Event, JobState] = {
    _Event.QUEUED: JobState.QUEUED,
    _Event.RUNNING: JobState.RUNNING,
    _Event.UNKNOWN: JobState.UNKNOWN,
    _Event.SUCCEEDED: JobState.SUCCEEDED,
    _Event.FAILED: JobState.FAILED,
    _Event.CANCELLED: JobState.CANCELLED,
}


def _absorb(state: JobState) -> Mapping[_Event, JobState]:
    return dict.fromkeys(_Event, state)


_TRANSITIONS: Mapping[JobState, Mapping[_Event, JobState]] = {
    JobState.SUBMITTED: _FOLLOW,
    JobState.QUEUED: _FOLLOW,
    JobState.RUNNING: _FOLLOW,  # RUNNING -> QUEUED is allowed: a gateway may re-queue a job
    JobState.UNKNOWN: _FOLLOW,
    JobState.SUCCEEDED: _absorb(JobState.SUCCEEDED),
    JobState.FAILED: _absorb(JobState.FAILED),
    JobState.CANCELLED: _absorb(JobState.CANCELLED),
}


def _event(decision: Decision) -> _Event:
    if isinstance(decision, Pending):
        return _Event.QUEUED if decision.phase is Phase.QUEUED else _Event.RUNNING
    if isinstance(decision, Unknown):
        return _Event.UNKNOWN
    if isinstance(decision, Succeeded):
        return _Event.SUCCEEDED
    if isinstance(decision, Failed):
        return _Event.FAILED
    return _Event.CANCELLED


class JobStateMachine:
    """One job's state.  ``decision`` is the decision that led to the current state."""

    __slots__ = ("_unknown_seen", "decision", "state")

    def __init__(self) -> None:
        self.state = JobState.SUBMITTED
        self.decision: Decision | None = None
        self._unknown_seen: set[str] = set()

    @property
    def terminal(self) -> bool:
        """True once the job has finished (success, failure or cancellation)."""
        return self.state.terminal

    def feed(self, decision: Decision) -> JobState:
        """Apply one decision; a terminal state ignores everything after it."""
        new = _TRANSITIONS[self.state][_event(decision)]
        if not self.state.terminal:
            self.decision = decision
        self.state = new
        return new

    def first_unknown(self, status: str) -> bool:
        """True the first time this unknown status value is seen (log it then, not on every poll)."""
        if status in self._unknown_seen:
            return False
        self._unknown_seen.add(status)
        return True


# ----------------------------------------------------------------------------------------------
# PUT .../cancel
# ----------------------------------------------------------------------------------------------


class _Probe(msgspec.Struct):
    status: object = None


_PROBE_DECODER = msgspec.json.Decoder(_Probe)


def _probe(raw: bytes) -> _Probe | None:
    try:
        return _PROBE_DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


class CancelOutcome(enum.Enum):
    """What the cancel route said."""

    REQUESTED = "CANCELLATION_REQUESTED"  # 202: accepted; the job ends CANCELED (poll to see it)
    ALREADY_COMPLETED = "ALREADY_COMPLETED"  # 400: the job is already terminal
    NOT_FOUND = "NOT_FOUND"  # 404: unknown job, or not ours
    REJECTED = "REJECTED"  # anything else (e.g. the endpoint does not support cancel)


_CANCEL_WORDS: Mapping[str, CancelOutcome] = {
    "CANCELLATION_REQUESTED": CancelOutcome.REQUESTED,
    "CANCELED": CancelOutcome.REQUESTED,
    "CANCELLED": CancelOutcome.REQUESTED,
    "OK": CancelOutcome.REQUESTED,
    "ALREADY_COMPLETED": CancelOutcome.ALREADY_COMPLETED,
    "COMPLETED": CancelOutcome.ALREADY_COMPLETED,
    "NOT_FOUND": CancelOutcome.NOT_FOUND,
}


def classify_cancel(http_status: int, raw: bytes | None = None) -> CancelOutcome:
    """Map a cancel answer: the body's ``status`` word first, then the HTTP status."""
    if raw:
        probe = _probe(raw)
        if probe is not None and isinstance(probe.status, str):
            known = _CANCEL_WORDS.get(_norm(probe.status))
            if known is not None:
                return known
    if 200 <= http_status < 300:
        return CancelOutcome.REQUESTED
    if http_status in JOB_GONE:
        return CancelOutcome.NOT_FOUND
    return CancelOutcome.REJECTED
