"""What an error proves about the user's money, for ``queue.map`` and its journals (pure rules).

- :func:`submit_kind`: a failed submit is ``"not_created"`` (the gateway provably made no job:
  401, 402, 403, 404, 422 and the other definite 4xx refusals, 429 / 503 after the retries, a
  request never sent, a request refused locally -- bad arguments, a closed client) or
  ``"uncertain"`` (the request may have reached the gateway and made a job: a timeout after the
  body left, another 5xx, a 2xx without a usable id).  A successful submit is ``"created"``.
  Nothing *not created* is ever recorded as failed: a resume submits it again, no flag needed.
- :func:`halts_batch`: an answer that will fail every further input of the batch (no credit,
  a bad or revoked key, an unknown endpoint): the map stops submitting (``BatchHalted``).
- :func:`is_transient_failure`: a job that ran and failed for a reason a new attempt may not
  meet (``INFERENCE_TIMEOUT``, ``INTERNAL_SERVER_ERROR``, a result that stayed unusable after
  the bounded poll retries): ``job_retries`` submits it again.  Never an input error
  (``CONTENT_BLOCKED``, ``REQUEST_INVALID``, ...).
"""

from __future__ import annotations

from typing import Final, Literal

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ClientClosedError,
    InsufficientBalanceError,
    JobFailed,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
)
from ..http.status_rules import keeps_polling, submit_made_no_job

__all__ = ("SubmitKind", "halts_batch", "is_transient_failure", "submit_kind")

SubmitKind = Literal["created", "not_created", "uncertain"]

#: Job ``error_type`` values worth a new attempt (``job_retries``).
TRANSIENT_ERROR_TYPES: Final = frozenset({"INFERENCE_TIMEOUT", "INTERNAL_SERVER_ERROR"})


def submit_kind(exc: BaseException) -> SubmitKind:
    """``"not_created"`` or ``"uncertain"``: what the failed submit's error proves (see above)."""
    if isinstance(exc, ResponseValidationError):
        return "uncertain"  # a 2xx without a usable id: a job may exist that nobody can find
    if isinstance(exc, (ValueError, TypeError)):
        return "not_created"  # refused by the SDK before sending
    if isinstance(exc, ClientClosedError):
        return "uncertain" if exc.sent else "not_created"
    if isinstance(exc, APIStatusError):
        return "not_created" if submit_made_no_job(exc.status_code) else "uncertain"
    if isinstance(exc, APIConnectionError) and not exc.sent:
        return "not_created"
    return "uncertain"


def halts_batch(exc: BaseException) -> bool:
    """Whether a submit's error will fail every further input (no credit, bad key, unknown endpoint)."""
    return isinstance(
        exc, (InsufficientBalanceError, AuthenticationError, PermissionDeniedError, NotFoundError)
    )


def is_transient_failure(exc: BaseException | None) -> bool:
    """Whether a job's failure is worth a new attempt (``job_retries``); see the module docstring."""
    if isinstance(exc, JobFailed):
        return exc.error_type in TRANSIENT_ERROR_TYPES
    # the result stayed unusable after the bounded retries (5xx / 408 / 409 / 425 / malformed)
    if isinstance(exc, APIStatusError):
        return keeps_polling(exc.status_code)
    return isinstance(exc, ResponseValidationError)
