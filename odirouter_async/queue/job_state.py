"""The interpreter of one queue job: HTTP answers in, decisions and ``PollResult`` out.  Pure, no I/O.

Four parts, one section each below: the job's state machine (status words -> decisions), the
answers (whole HTTP answers -> decisions, or ``Unusable``), the vocabulary every wait shares
(``Answer``, ``Ask``, ``PollResult``, the one error rule and the one ``JobTimeout`` constructor),
and ``JobPoll``, which drives one job's polls with them.

The state machine
-----------------

The queue job state machine: status and response bodies in, decisions out.  Pure.

Decisions (what one body means for the job):

- ``Pending(phase)``: ``IN_QUEUE`` (``Phase.QUEUED``) or ``IN_PROGRESS`` (``Phase.RUNNING``).
- ``Unknown(status)``: a status string nobody documented; treated as *pending*, never a crash
  (the shell logs it once, ``JobStateMachine.first_unknown``, and keeps polling under its deadline).
- ``Succeeded(result)``: done.  ``result`` is the ``JobResult`` when the body was the result
  (``GET .../response`` answers it once the job is done), ``None`` when it was a status body.
- ``Failed(error, error_type)``: ``COMPLETED`` with an ``error`` (string or object), or a
  ``FAILED``/``ERROR``-like status.
- ``Cancelled``: the same with ``error_type`` ``CANCELED``/``CANCELLED``, or a cancelled-like status.

Whole HTTP answers (status code + bytes) become decisions in the next section.

The status words are data (``_STATUS_WORDS``, matched case-insensitively, ``-`` and spaces read as
``_``); so are the state transitions (``_TRANSITIONS``), h11-style: a non-terminal state follows
every decision, a terminal state absorbs everything after it.  ``classify_cancel`` maps the
cancel route's answers to ``CancelOutcome``; ``JobPoll`` maps decisions to the
``PollSchedule`` observations the shell reports.

Answers
-------

Queue HTTP answers -> decisions, and what to do after one the SDK cannot use.  Pure, no I/O.

``decide_response`` / ``decide_status`` read one answer of ``GET .../response`` / ``.../status``
(status code, headers, bytes) and never raise: they give a decision, or
``Unusable`` carrying the answer's typed error (an ``APIStatusError`` subclass, or
``ResponseValidationError`` with the raw body) when it cannot be classified: 5xx, 404, a 4xx
without a failure body, HTML, JSON of the wrong shape or nested too deep (``RecursionError`` is
caught here).  Bodies are decoded leniently (``types.queue.decode_job_result``): no output is
ever dropped because one field has an unexpected type.

The status URL is the source of truth (the docs: ``COMPLETED`` + ``error`` means failed), so an
``Unusable`` answer of ``GET .../response`` (5xx, 404, 4xx without a failure body, HTML, JSON of
the wrong shape or too deep) is checked against ``GET .../status`` before anything else:

======================================  =========================================================
status says                             then
======================================  =========================================================
``COMPLETED`` + ``error`` / cancelled   the job ends: ``Failed`` / ``Cancelled`` (the shell keeps
                                        the /response error as the exception's ``__cause__``)
``IN_QUEUE`` / ``IN_PROGRESS`` / other  keep polling (not counted: the job is pending)
``COMPLETED`` without ``error``         remembered (no second status check); the /response answer
                                        decides: 404/410 -> the result expired (``GiveUp`` with the
                                        ``NotFoundError``); another non-transient 4xx -> the job
                                        failed with that HTTP error (fal-style); 5xx/408/409/425/
                                        malformed -> ``Retry`` with backoff
404 / 410                               the gateway does not know the job: ``GiveUp``
unreadable too                          ``Retry``
======================================  =========================================================

``Retry`` is bounded: after ``max_errors`` unusable answers in a row (``PollingOptions.max_poll_errors``,
5 by default) the job ends with the last typed error (``GiveUp``).  The delay between retries is
the schedule's per-job error backoff (``PollSchedule``: ``backoff.expo`` from 0.5 s with injected
jitter).  A usable answer resets the count.  Nothing here ever cancels a job remotely.

What a poll found
-----------------

What one poll of a remote job found, and the rules every wait shares.  Pure, no I/O.

The vocabulary of the one wait pipeline (``queue/scheduler.py`` performs the requests, the
interpreters ``JobPoll`` and ``videos/video_state.py`` read the answers, the scheduler
acts on the result):

- ``Answer``: one HTTP answer (status, headers, body, ``X-Request-Id``, URL) as the shell got it.
- ``Ask``: which of a resource's URLs the shell must GET next (``PRIMARY``, ``STATUS``).
- ``PollResult``: an observation (``Outcome`` / ``RateLimited``, the schedule's vocabulary) plus
  the value (``DONE``), the error (``ENDED``, or the cause of an ``ERROR``) and an optional status
  update for waiters that asked for them.
- ``observe_error``: the one error -> observation mapping (429 -> ``RateLimited``; connection
  errors and what ``status_rules.keeps_polling`` says (5xx, 408/409/425) -> ``ERROR``; anything
  else ends the wait).
- ``job_timeout``: the one ``JobTimeout`` constructor (its message says whether a remote cancel
  was sent).

JobPoll
-------

``JobPoll``: the interpreter of one queue job's polls.  Pure: answers in, ``PollResult`` out.

The shell (``queue/scheduler.py``) asks ``start()`` which URL to GET, feeds each answer (or the
transport error it met) to ``feed`` / ``feed_error``, and gets back either the next URL to GET
(``Ask``) or the ``PollResult`` for the scheduler.  One poll is:

- by default one ``GET response_url``: 202 + a status -> pending (``QUEUED`` / ``RUNNING`` /
  ``PENDING`` for an unknown word, logged once); the result -> ``DONE``; a failure body ->
  ``ENDED`` with ``JobFailed`` / ``JobCancelled``;
- with ``logs=True`` (a waiter follows the job's updates) ``GET status_url?logs=1`` first, and
  the response URL only once the status says ``COMPLETED``;
- an answer the SDK cannot use (5xx, 404, HTML, bad JSON...) asks the status URL once, then
  ``ResponseGuard`` (above) decides: end, retry with backoff, keep waiting;
- 429 -> ``RateLimited`` (Retry-After honoured); transport errors -> ``observe_error``.

The job's state machine lives here, so ``Job.state`` is what the polls saw.  Each status body
that differs from the last (status, queue position, number of log lines) is offered as a
``StatusUpdate`` in ``PollResult.update``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, TypeVar

import msgspec

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    JobCancelled,
    JobFailed,
    JobTimeout,
    OdiRouterError,
    RateLimitError,
    ResponseValidationError,
)
from ..http.error_body import make_status_error
from ..http.retry import parse_retry_after
from ..http.status_rules import JOB_GONE, RATE_LIMITED, keeps_polling
from ..types._base import attach_raw
from ..types.queue import JobResult, QueueStatus, StatusUpdate, decode_job_result, decode_status
from .schedule import Observation, Outcome, RateLimited

__all__ = (
    "DEFAULT_MAX_POLL_ERRORS",
    "TERMINAL",
    "TERMINAL_STATES",
    "Answer",
    "Ask",
    "CancelOutcome",
    "Cancelled",
    "Decision",
    "Failed",
    "GiveUp",
    "JobPoll",
    "JobState",
    "JobStateMachine",
    "Observation",
    "Outcome",
    "Pending",
    "Phase",
    "PollResult",
    "RateLimited",
    "ResponseGuard",
    "Retry",
    "Step",
    "Succeeded",
    "Unknown",
    "Unusable",
    "classify_cancel",
    "classify_status",
    "decide_response",
    "decide_status",
    "job_timeout",
    "observe_error",
    "status_update",
    "unusable",
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


class _Probe(msgspec.Struct):
    """Just enough of a status or ``/response`` body to route it."""

    status: object = None
    outputs: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


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


DEFAULT_MAX_POLL_ERRORS: Final = 5


@dataclass(frozen=True, slots=True)
class Unusable:
    """An answer that says nothing this SDK can act on; ``error`` is its typed error.

    5xx, a 4xx without a failure body, a body that is not JSON (HTML), JSON nested too deep or of
    the wrong shape.  Not a ``Decision``: the shell asks the status URL (``ResponseGuard``).
    """

    http_status: int
    error: OdiRouterError


_EMPTY_HEADERS: Mapping[str, str] = {}


def _text(raw: bytes) -> str:
    return raw[:2000].decode("utf-8", "replace")


def unusable(
    http_status: int, raw: bytes, headers: Mapping[str, str], rid: str | None, why: str = ""
) -> Unusable:
    """The typed error of an answer: ``ResponseValidationError`` for a 2xx, else the status error."""
    if 200 <= http_status < 300:
        message = f"unusable queue answer (HTTP {http_status}): {why or 'not the expected JSON'}"
        return Unusable(
            http_status,
            ResponseValidationError(message, x_request_id=rid, body=_text(raw), status_code=http_status),
        )
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        error = make_status_error(http_status, lower, raw, x_request_id=rid)
    except RecursionError:  # an error body nested too deep: keep it as text
        error = make_status_error(http_status, lower, b"", x_request_id=rid)
        error.body = _text(raw)
    return Unusable(http_status, error)


def _status_of(raw: bytes, status: str, rid: str | None) -> QueueStatus:
    try:
        body = decode_status(raw, rid)
    except (msgspec.DecodeError, RecursionError):
        body = None
    return body if body is not None else attach_raw(QueueStatus(status=status), raw, rid)


def decide_response(
    http_status: int,
    raw: bytes,
    *,
    http_request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Decision | Unusable:
    """What an answer of ``GET .../response`` means.  Never raises.

    - 202 + a status body: that status (pending, or failed/cancelled); "202 + COMPLETED" without
      an error is ``Unusable`` (the result is not there yet: retried a bounded number of times).
    - other 2xx: the result (``Succeeded(result)``, decoded leniently), unless the body is a
      status without ``outputs``, which is classified (a failure may come back as 200 + status).
    - any status with a status body saying failed/cancelled: ``Failed`` / ``Cancelled``.
    - anything else (5xx, 404, 4xx without a failure body, HTML, bad or too-deep JSON, a 202
      without a status): ``Unusable`` with the typed error, for the shell to check the status URL.
    """
    hdrs = headers if headers is not None else _EMPTY_HEADERS
    probe = _probe(raw)
    status = probe.status if probe is not None and isinstance(probe.status, str) else None
    if 200 <= http_status < 300:
        if probe is None:
            return unusable(http_status, raw, hdrs, http_request_id, "not a JSON object")
        status_body: QueueStatus | None = None
        if http_status == 202 or (status is not None and not probe.outputs):
            if status is None:
                return unusable(http_status, raw, hdrs, http_request_id, "a 202 without a status")
            decision = classify_status(_status_of(raw, status, http_request_id))
            if http_status == 202 and isinstance(decision, Succeeded):  # done, yet no result: bounded
                return unusable(202, raw, hdrs, http_request_id, "COMPLETED but no result yet")
            if http_status == 202 or not isinstance(decision, Succeeded):
                return decision
            status_body = decision.body
        try:
            result = decode_job_result(raw, http_request_id)
        except (msgspec.DecodeError, RecursionError) as exc:
            return unusable(http_status, raw, hdrs, http_request_id, str(exc)[:200])
        return Succeeded(result, status_body)
    if status is not None:
        decision = classify_status(_status_of(raw, status, http_request_id))
        if isinstance(decision, (Failed, Cancelled)):
            return decision
    return unusable(http_status, raw, hdrs, http_request_id)


def decide_status(
    http_status: int,
    raw: bytes,
    *,
    http_request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Decision | Unusable:
    """What an answer of ``GET .../status`` means: any 2xx status body is classified; a non-2xx
    one only when it says failed/cancelled; everything else is ``Unusable``.  Never raises."""
    hdrs = headers if headers is not None else _EMPTY_HEADERS
    probe = _probe(raw)
    if probe is None or not isinstance(probe.status, str):
        return unusable(http_status, raw, hdrs, http_request_id, "no status in the body")
    decision = classify_status(_status_of(raw, probe.status, http_request_id))
    if 200 <= http_status < 300 or isinstance(decision, (Failed, Cancelled)):
        return decision
    return unusable(http_status, raw, hdrs, http_request_id)


@dataclass(frozen=True, slots=True)
class Retry:
    """Poll ``/response`` again after the error backoff; ``error`` is what went wrong."""

    error: OdiRouterError


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The job ends with ``error`` (a typed ``OdiRouterError``); its outcome is unknown or lost."""

    error: OdiRouterError


Step = Decision | Retry | GiveUp


def _http_failure(answer: Unusable, status: Succeeded | None) -> Failed:
    """A 4xx result answer after ``COMPLETED`` without ``error``: the job's own failure (fal)."""
    error = answer.error
    detail: object = error.message
    error_type = f"HTTP_{answer.http_status}"
    if isinstance(error, APIStatusError):
        body = error.body
        if isinstance(body, dict) and body.get("detail") is not None:
            detail = body["detail"]
        error_type = error.error_type or error.headers.get("x-fal-error-type") or error_type
    return Failed(detail, error_type, status.body if status is not None else None)


class ResponseGuard:
    """One job's recovery state (see the module docstring)."""

    __slots__ = ("completed", "errors", "max_errors")

    def __init__(self, max_errors: int = DEFAULT_MAX_POLL_ERRORS) -> None:
        if max_errors < 1:
            raise ValueError("max_errors must be >= 1")
        self.max_errors = max_errors
        self.errors = 0
        self.completed: Succeeded | None = None  # the status body that said COMPLETED, no error

    @property
    def needs_status(self) -> bool:
        """True while the status URL has not said ``COMPLETED`` without an error."""
        return self.completed is None

    def usable(self) -> None:
        """A usable answer arrived: the count of unusable ones starts again."""
        self.errors = 0

    def recover(self, answer: Unusable, status: Decision | Unusable | None) -> Step:
        """The next step after ``answer``; ``status``: the status URL's answer (``None``: not asked)."""
        if isinstance(status, (Failed, Cancelled, Pending, Unknown)):
            return status
        if isinstance(status, Succeeded):
            self.completed = status
        elif isinstance(status, Unusable) and status.http_status in JOB_GONE:
            return GiveUp(status.error)
        if self.completed is not None:
            code = answer.http_status
            if code in JOB_GONE:
                return GiveUp(answer.error)
            if 400 <= code < 500 and code != RATE_LIMITED and not keeps_polling(code):
                return _http_failure(answer, self.completed)
        self.errors += 1
        if self.errors >= self.max_errors:
            return GiveUp(answer.error)
        return Retry(answer.error)


#: The outcomes that end a wait.
TERMINAL: Final = frozenset({Outcome.DONE, Outcome.ENDED})


class Ask(enum.Enum):
    """Which URL of the resource the shell must GET next."""

    PRIMARY = "primary"  # a queue job's response_url, a video's /v1/videos/{id}
    STATUS = "status"  # a queue job's status_url


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as the shell received it (any status: nothing was raised)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    x_request_id: str | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll found: an observation, the final value or the error, and a status update."""

    outcome: Observation
    value: object = None
    error: BaseException | None = None
    inference_time: float | None = None  # metrics.inference_time of a DONE job, if known
    update: object = None  # a StatusUpdate / Video for waiters that follow the job's progress

    @property
    def terminal(self) -> bool:
        """True when this result ends the wait (``DONE`` or ``ENDED``)."""
        return self.outcome in TERMINAL


def observe_error(exc: OdiRouterError) -> Observation | None:
    """The observation for an error a poll met; ``None`` means it ends the wait with ``exc``."""
    if isinstance(exc, RateLimitError):
        return RateLimited(exc.retry_after)
    if isinstance(exc, APIConnectionError):
        return Outcome.ERROR
    if isinstance(exc, APIStatusError) and keeps_polling(exc.status_code):
        return Outcome.ERROR
    return None


def error_result(exc: OdiRouterError) -> PollResult:
    """``observe_error`` as a ``PollResult``: transient -> keep waiting, else the end of the wait."""
    observation = observe_error(exc)
    return PollResult(Outcome.ENDED if observation is None else observation, error=exc)


def job_timeout(
    what: str,
    *,
    request_id: str,
    endpoint: str | None,
    wait_timeout: float | None,
    cancel: str | None = None,
    detail: str = "",
    status: object = None,
) -> JobTimeout:
    """The ``JobTimeout`` of every wait.

    ``what``: "Job" or "video"; ``cancel``: ``None`` when no remote cancel was sent, ``"sent"``
    when one is on its way, ``"failed"`` when it could not be sent, else what the cancel said;
    ``detail``: e.g. the last status seen.
    """
    if cancel is None:
        how = "it was not cancelled and may still run"
    elif cancel == "failed":
        how = "the remote cancel failed; it may still run"
    else:
        how = "a remote cancel was sent" + ("" if cancel == "sent" else f" ({cancel})")
    shown = "" if wait_timeout is None else f" within {wait_timeout:g} s"
    on = f" on {endpoint}" if endpoint else ""
    return JobTimeout(
        f"{what} {request_id}{on} did not finish{shown}{detail}; {how}",
        request_id=request_id,
        endpoint=endpoint,
        status=status,
    )


logger: Final = logging.getLogger("odirouter_async")


_NOT_ASKED: Final = object()


def status_update(request_id: str, body: QueueStatus | None, status: str | None = None) -> StatusUpdate:
    """The ``StatusUpdate`` for a status body (or, with ``body=None``, just a status word)."""
    if body is None:
        return StatusUpdate(request_id=request_id, status=status or "COMPLETED")
    logs = body.logs if isinstance(body.logs, list) else []
    return StatusUpdate(
        request_id=request_id,
        status=body.status,
        queue_position=body.queue_position,
        logs=logs,
        raw=body.raw,
    )


class JobPoll:
    """One queue job's interpreter and state (see the module docstring)."""

    __slots__ = (
        "_carry",
        "_guard",
        "_last_update",
        "_pending",
        "_status_seen",
        "endpoint",
        "final",
        "logs",
        "max_errors",
        "request_id",
        "requests",
        "sm",
    )

    def __init__(
        self, request_id: str, endpoint: str, *, max_errors: int = DEFAULT_MAX_POLL_ERRORS, logs: bool = False
    ) -> None:
        self.request_id = request_id
        self.endpoint = endpoint
        self.max_errors = max_errors
        #: ask the status URL (with ``?logs=1``) first on each poll
        self.logs = logs
        self.sm = JobStateMachine()
        #: the job's outcome once seen: the result, or the ``JobFailed`` / ``JobCancelled`` / error
        self.final: JobResult | OdiRouterError | None = None
        #: HTTP requests fed so far
        self.requests = 0
        self._guard: ResponseGuard | None = None
        self._pending: Unusable | None = None
        self._status_seen: object = _NOT_ASKED
        self._last_update: tuple[object, ...] | None = None
        self._carry: StatusUpdate | None = None  # the status URL's COMPLETED, before the result

    # -- the poll -----------------------------------------------------------------------------

    def start(self) -> Ask:
        """A poll begins: the URL to GET first."""
        self._pending = None
        self._status_seen = _NOT_ASKED
        self._carry = None
        return Ask.STATUS if self.logs else Ask.PRIMARY

    def feed(self, ask: Ask, answer: Answer, now: float) -> Ask | PollResult:
        """The answer of ``GET`` ``ask`` (``now``: wall-clock seconds, for Retry-After dates)."""
        self.requests += 1
        if answer.status == 429:
            return PollResult(RateLimited(parse_retry_after(answer.headers, now)))
        rid, headers = answer.x_request_id, answer.headers
        if ask is Ask.STATUS:
            return self._status(
                decide_status(answer.status, answer.body, http_request_id=rid, headers=headers)
            )
        decision = decide_response(answer.status, answer.body, http_request_id=rid, headers=headers)
        if isinstance(decision, Unusable):
            return self._unusable(decision)
        if self._guard is not None:
            self._guard.usable()
        return self.apply(decision)

    def feed_error(self, ask: Ask, exc: OdiRouterError) -> Ask | PollResult:
        """``GET`` ``ask`` failed before an answer (connection, timeout)."""
        self.requests += 1
        if ask is Ask.STATUS and self._pending is not None:
            return self._recover(self._pending, Unusable(0, exc))
        return error_result(exc)

    def _status(self, status: Decision | Unusable) -> Ask | PollResult:
        pending = self._pending
        if pending is not None:  # asked because /response was unusable
            return self._recover(pending, status)
        self._status_seen = status  # asked first (logs): pending and failures end the poll here
        if isinstance(status, (Pending, Unknown, Failed, Cancelled)):
            return self.apply(status)
        if isinstance(status, Succeeded):
            self._carry = self._offer(status.body)
        return Ask.PRIMARY

    def _unusable(self, answer: Unusable) -> Ask | PollResult:
        seen = self._status_seen
        if seen is not _NOT_ASKED:  # the status URL was asked in this poll already
            assert isinstance(seen, (Pending, Unknown, Succeeded, Failed, Cancelled, Unusable))
            return self._recover(answer, seen)
        if self._guard_of().needs_status:
            self._pending = answer
            return Ask.STATUS
        return self._recover(answer, None)

    def _guard_of(self) -> ResponseGuard:
        if self._guard is None:
            self._guard = ResponseGuard(self.max_errors)
        return self._guard

    def _recover(self, answer: Unusable, status: Decision | Unusable | None) -> PollResult:
        self._pending = None
        step = self._guard_of().recover(answer, status)
        if isinstance(step, Retry):
            logger.debug("job %s: unusable answer, will retry: %s", self.request_id, step.error)
            return PollResult(Outcome.ERROR, error=step.error)
        if isinstance(step, GiveUp):  # not kept: a later wait asks again
            return PollResult(Outcome.ENDED, error=step.error)
        return self.apply(step, cause=answer.error)

    # -- decisions ----------------------------------------------------------------------------

    def apply(self, decision: Decision, cause: OdiRouterError | None = None) -> PollResult:
        """Feed a decision to the state machine; the ``PollResult`` it means."""
        update, self._carry = self._offer(decision.body) or self._carry, None
        if isinstance(decision, Pending):
            self.sm.feed(decision)
            outcome = Outcome.QUEUED if decision.phase is Phase.QUEUED else Outcome.RUNNING
            return PollResult(outcome, update=update)
        if isinstance(decision, Unknown):
            self.log_unknown(decision.status)
            self.sm.feed(decision)
            return PollResult(Outcome.PENDING, update=update)
        if isinstance(decision, Succeeded):
            result = decision.result
            if result is None:  # a status said COMPLETED, not the result: poll again (defensive)
                self.log_unknown("COMPLETED (HTTP 202)")
                return PollResult(Outcome.PENDING, update=update)
            self.settle(result)
            update = update or self._offer(None, "COMPLETED")
            return PollResult(
                Outcome.DONE, value=result, inference_time=decision.inference_time, update=update
            )
        self.sm.feed(decision)
        exc = decision.exception(request_id=self.request_id, endpoint=self.endpoint)
        exc.__cause__ = cause  # the /response answer (its body), when the status URL decided
        self.final = exc
        return PollResult(Outcome.ENDED, error=exc, update=update)

    def settle(self, final: JobResult | JobFailed | JobCancelled) -> None:
        """Keep the outcome (also when a poll of another handle of this job found it)."""
        if self.final is not None:
            return
        self.final = final
        if isinstance(final, JobResult):
            self.sm.feed(Succeeded(final))
        elif isinstance(final, JobCancelled):
            self.sm.feed(Cancelled(final.error, final.error_type))
        else:
            self.sm.feed(Failed(final.error, final.error_type))

    def log_unknown(self, status: str) -> None:
        """Log an unknown status word, once per job and word."""
        if self.sm.first_unknown(status):
            logger.warning(
                "job %s on %s reports an unknown status %r; treating it as pending",
                self.request_id,
                self.endpoint,
                status,
            )

    def _offer(self, body: QueueStatus | None, status: str | None = None) -> StatusUpdate | None:
        """A ``StatusUpdate`` when the status body differs from the last one offered."""
        if body is None and status is None:
            return None
        update = status_update(self.request_id, body, status)
        key = (update.status, update.queue_position, len(update.logs))
        if key == self._last_update:
            return None
        self._last_update = key
        return update
