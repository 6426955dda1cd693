"""Queue HTTP answers -> decisions, and what to do after one the SDK cannot use.  Pure, no I/O.

``decide_response`` / ``decide_status`` read one answer of ``GET .../response`` / ``.../status``
(status code, headers, bytes) and never raise: they give a ``_core/jobstate.py`` decision, or
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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import msgspec

from .._exceptions import APIStatusError, OdiRouterError, ResponseValidationError
from ..types._base import attach_raw
from ..types.queue import QueueStatus, decode_job_result, decode_status
from .error_body import make_status_error
from .jobstate import Cancelled, Decision, Failed, Pending, Succeeded, Unknown, classify_status
from .status_rules import JOB_GONE, RATE_LIMITED, keeps_polling

__all__ = (
    "DEFAULT_MAX_POLL_ERRORS",
    "GiveUp",
    "ResponseGuard",
    "Retry",
    "Step",
    "Unusable",
    "decide_response",
    "decide_status",
    "unusable",
)

DEFAULT_MAX_POLL_ERRORS: Final = 5


# ----------------------------------------------------------------------------------------------
# GET .../response and GET .../status answers
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unusable:
    """An answer that says nothing this SDK can act on; ``error`` is its typed error.

    5xx, a 4xx without a failure body, a body that is not JSON (HTML), JSON nested too deep or of
    the wrong shape.  Not a ``Decision``: the shell asks the status URL (``ResponseGuard``).
    """

    http_status: int
    error: OdiRouterError


class _Probe(msgspec.Struct):
    status: object = None
    outputs: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


_PROBE_DECODER = msgspec.json.Decoder(_Probe)
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


def _probe(raw: bytes) -> _Probe | None:
    try:
        return _PROBE_DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


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
