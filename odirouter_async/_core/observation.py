"""What one poll of a remote job found, and the rules every wait shares.  Pure, no I/O.

The vocabulary of the one wait pipeline (``_queue/poll.py`` performs the requests, the
interpreters ``_core/job_poll.py`` and ``_core/video_state.py`` read the answers, the scheduler
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
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .._exceptions import APIConnectionError, APIStatusError, JobTimeout, OdiRouterError, RateLimitError
from .poll_schedule import Observation, Outcome, RateLimited
from .status_rules import keeps_polling

__all__ = (
    "TERMINAL",
    "Answer",
    "Ask",
    "Observation",
    "Outcome",
    "PollResult",
    "RateLimited",
    "job_timeout",
    "observe_error",
)

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
