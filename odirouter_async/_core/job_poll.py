"""``JobPoll``: the interpreter of one queue job's polls.  Pure: answers in, ``PollResult`` out.

The shell (``_queue/poll.py``) asks ``start()`` which URL to GET, feeds each answer (or the
transport error it met) to ``feed`` / ``feed_error``, and gets back either the next URL to GET
(``Ask``) or the ``PollResult`` for the scheduler.  One poll is:

- by default one ``GET response_url``: 202 + a status -> pending (``QUEUED`` / ``RUNNING`` /
  ``PENDING`` for an unknown word, logged once); the result -> ``DONE``; a failure body ->
  ``ENDED`` with ``JobFailed`` / ``JobCancelled``;
- with ``logs=True`` (a waiter follows the job's updates) ``GET status_url?logs=1`` first, and
  the response URL only once the status says ``COMPLETED``;
- an answer the SDK cannot use (5xx, 404, HTML, bad JSON...) asks the status URL once, then
  ``ResponseGuard`` (``_core/job_answers.py``) decides: end, retry with backoff, keep waiting;
- 429 -> ``RateLimited`` (Retry-After honoured); transport errors -> ``observe_error``.

The job's state machine lives here, so ``Job.state`` is what the polls saw.  Each status body
that differs from the last (status, queue position, number of log lines) is offered as a
``StatusUpdate`` in ``PollResult.update``.
"""

from __future__ import annotations

import logging
from typing import Final

from .._exceptions import JobCancelled, JobFailed, OdiRouterError
from ..types.queue import JobResult, QueueStatus, StatusUpdate
from .job_answers import (
    DEFAULT_MAX_POLL_ERRORS,
    GiveUp,
    ResponseGuard,
    Retry,
    Unusable,
    decide_response,
    decide_status,
)
from .jobstate import (
    Cancelled,
    Decision,
    Failed,
    JobStateMachine,
    Pending,
    Phase,
    Succeeded,
    Unknown,
)
from .observation import Answer, Ask, Outcome, PollResult, RateLimited, error_result
from .retry import parse_retry_after

__all__ = ("JobPoll", "status_update")

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
