"""What to do after a queue answer the SDK cannot classify (``Unusable``).  Pure, no I/O.

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

from dataclasses import dataclass
from typing import Final

from ._exceptions import APIStatusError, OdiRouterError
from ._jobstate import Cancelled, Decision, Failed, Pending, Succeeded, Unknown, Unusable

__all__ = ("DEFAULT_MAX_POLL_ERRORS", "GiveUp", "ResponseGuard", "Retry", "Step")

DEFAULT_MAX_POLL_ERRORS: Final = 5
_GONE: Final = frozenset({404, 410})
_TRANSIENT_4XX: Final = frozenset({408, 409, 425, 429})


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
        elif isinstance(status, Unusable) and status.http_status in _GONE:
            return GiveUp(status.error)
        if self.completed is not None:
            code = answer.http_status
            if code in _GONE:
                return GiveUp(answer.error)
            if 400 <= code < 500 and code not in _TRANSIENT_4XX:
                return _http_failure(answer, self.completed)
        self.errors += 1
        if self.errors >= self.max_errors:
            return GiveUp(answer.error)
        return Retry(answer.error)
