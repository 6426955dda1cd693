"""``Job``: the handle of one queue job (status, result, cancel), and the queue's URL rules (I/O shell).

A job is waited for through the client's scheduler (``_scheduler``): each poll is one ``GET`` of
its ``response_url``, which answers 202 + a status while the job is pending and the result once
it is done, so the poll that finds a job done is also its result fetch.  ``_jobstate`` decides
what each answer means; this module only sends and maps:

- 202 / 2xx / a failure body on any status -> the decision (pending, unknown, result, failed,
  cancelled); an unknown status is pending and logged once per job;
- 429 -> ``RateLimited`` (slows all polling); connection errors -> ``ERROR`` (backed off);
- anything else (5xx, 404, other 4xx, HTML, malformed or too-deep JSON) is ``Unusable``: the
  status URL is asked (``_job_answers.ResponseGuard`` decides): failed/cancelled there ends the
  job, pending keeps polling, ``COMPLETED`` re-fetches the result a bounded number of times
  (``PollingOptions.max_poll_errors``), then the job ends with the last typed error.

A job is cancelled remotely only when the caller cancels or a deadline runs out, never because
of an answer (``result(cancel_on_exit=True)``).

URLs: the ones the gateway returned are used as given; a URL on another origin is fetched without
the key (``Transport`` decides), or refused with ``strict_origins=True``.  Re-attached jobs get the
documented paths under ``base_url``.  An endpoint id is used exactly as given (dots and all); only
an empty id, ``.``/``..`` and ``/`` are refused, other unsafe characters are percent-encoded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import anyio

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from .._core.job_answers import (
    DEFAULT_MAX_POLL_ERRORS,
    GiveUp,
    ResponseGuard,
    Retry,
    Unusable,
    decide_response,
    decide_status,
)
from .._core.jobstate import (
    Cancelled,
    CancelOutcome,
    Decision,
    Failed,
    JobState,
    JobStateMachine,
    Pending,
    Phase,
    Succeeded,
    Unknown,
    classify_cancel,
    classify_status,
)
from .._core.retry import parse_retry_after
from .._exceptions import (
    APIConnectionError,
    JobCancelled,
    JobError,
    JobFailed,
    JobTimeout,
    OdiRouterError,
    RateLimitError,
    ResponseValidationError,
)
from .._http.transport import logger
from ..types.queue import JobResult, QueueStatus
from .scheduler import Outcome, PollResult, RateLimited, Scheduler, get_scheduler

if TYPE_CHECKING:
    from .._http.requester import ClientHandle

__all__ = ("CANCEL_GRACE", "QUEUE_PATH", "Job", "endpoint_segment", "job_urls", "submit_protected")

QUEUE_PATH: Final = "/model/v1/queue"
#: How long a remote cancel sent on the way out (timeout, cancellation) may take, seconds.
CANCEL_GRACE: Final = 5.0
#: How long a submit caught by a cancellation may still take to return its id, seconds.
SUBMIT_GRACE: Final = 5.0

_SAFE: Final = "-._~!$&'()*+,;=:@"
_POLL_OPTIONS: Final = RequestOptions(max_retries=0, timeout=30.0)
_ANY_ERROR: Final = frozenset(range(300, 600))
_CANCEL_OK: Final = frozenset({202, 400, 404, 405, 409, 410, 422, 501})
_PENDING: Final = PollResult(Outcome.PENDING)
_QUEUED: Final = PollResult(Outcome.QUEUED)
_RUNNING: Final = PollResult(Outcome.RUNNING)


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if "/" in value or value in (".", ".."):
        raise ValueError(f"{what} {value!r} is not a single path segment ('/' and '.'/'..' are refused)")
    return quote(value, safe=_SAFE)


def endpoint_segment(endpoint: str) -> str:
    """The model id as a URL path segment: as given (dots kept), unsafe characters percent-encoded."""
    return _segment(endpoint, "endpoint")


def job_urls(base_url: str, endpoint: str, request_id: str) -> tuple[str, str, str]:
    """The documented (status, response, cancel) URLs of a job under ``base_url``."""
    rid = _segment(request_id, "request_id")
    base = f"{base_url}{QUEUE_PATH}/{endpoint_segment(endpoint)}/requests/{rid}"
    return f"{base}/status", f"{base}/response", f"{base}/cancel"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class Job:
    """One queue job: ``await job.result()``, ``await job.status()``, ``await job.cancel()``.

    Get one from ``client.queue.submit(...)`` or ``client.queue.job(endpoint, request_id)``.

    Attributes:
        request_id: the gateway's id of the job.
        endpoint: the model id it runs on.
        status_url / response_url / cancel_url: as the gateway returned them (or built from
            ``base_url`` for a re-attached job).
        submitted_at: wall-clock time (``time.time()``) of the submit, ``None`` when unknown.
    """

    __slots__ = (
        "__weakref__",
        "_client",
        "_final",
        "_guard",
        "_key",
        "_mono",
        "_polls",
        "_sm",
        "cancel_url",
        "endpoint",
        "request_id",
        "response_url",
        "status_url",
        "submitted_at",
    )

    def __init__(
        self,
        client: ClientHandle,
        endpoint: str,
        request_id: str,
        *,
        status_url: str,
        response_url: str,
        cancel_url: str,
        submitted_at: float | None,
        submitted_mono: float | None,
    ) -> None:
        self._client = client
        self.endpoint = endpoint
        self.request_id = request_id
        self.status_url = status_url
        self.response_url = response_url
        self.cancel_url = cancel_url
        self.submitted_at = submitted_at
        self._mono = submitted_mono
        self._key = ("queue", request_id)
        self._sm = JobStateMachine()
        self._final: JobResult | JobError | None = None
        self._polls = 0
        self._guard: ResponseGuard | None = None

    def __repr__(self) -> str:
        return f"Job(endpoint={self.endpoint!r}, request_id={self.request_id!r}, state={self.state.value!r})"

    # -- what the client knows --------------------------------------------------------------

    @property
    def state(self) -> JobState:
        """What the client last saw: submitted, queued, running, unknown, succeeded, failed, cancelled."""
        return self._sm.state

    @property
    def done(self) -> bool:
        """True once the client has seen the job finish (successfully or not)."""
        return self._sm.terminal

    @property
    def polls(self) -> int:
        """Poll requests this handle has sent (the result fetch included)."""
        return self._polls

    @property
    def age(self) -> float | None:
        """Seconds since the submit (``None`` for a re-attached job of unknown age)."""
        return None if self._mono is None else max(0.0, time.monotonic() - self._mono)

    # -- calls ------------------------------------------------------------------------------

    async def status(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> QueueStatus:
        """``GET status_url``: the job's ``QueueStatus`` (status, error, error_type, metrics).

        A status value the SDK does not know is returned as is (and logged once per job).
        """
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client.requester.request("GET", self.status_url, options=opts)
        decision = decide_status(
            resp.status, resp.content, http_request_id=resp.request_id, headers=resp.headers
        )
        if isinstance(decision, Unusable):
            raise decision.error
        body = decision.body
        if body is None:  # cannot happen: a status answer's decision keeps its body
            raise ResponseValidationError("no status body", x_request_id=resp.request_id)
        decision = classify_status(body)
        if isinstance(decision, Unknown):
            self._log_unknown(decision.status)
        self._sm.feed(decision)
        return body

    async def result(
        self,
        *,
        wait_timeout: float | None = None,
        cancel_on_timeout: bool = False,
        cancel_on_exit: bool = False,
    ) -> JobResult:
        """Wait for the job (through the client's scheduler) and return its ``JobResult``.

        Args:
            wait_timeout: seconds to wait in all (from this call); ``None``, the default, waits
                as long as the job lives.
            cancel_on_timeout: send a remote cancel when ``wait_timeout`` runs out (default:
                the job is left running; the ``JobTimeout`` message says which).
            cancel_on_exit: send a remote cancel when this call is cancelled (the awaiting task,
                or a cancel scope around it); ``wait_timeout`` running out is not such a
                cancellation.  An error (a bad answer, a closed client) never cancels the job.

        Raises:
            JobFailed: the job ended with an error.
            JobCancelled: the job was cancelled (``error_type == "CANCELED"``).
            JobTimeout: ``wait_timeout`` ran out (the job may still be running unless cancelled).
            NotFoundError: the gateway does not know the job (expired, or another key's).
            APIStatusError / ResponseValidationError: the gateway kept answering what the SDK
                cannot use (``PollingOptions.max_poll_errors`` times in a row); the job may exist.

        Cancelling the awaiting task (or a cancel scope around it) stops polling this job.
        The outcome is kept: a second call returns (or raises) it without a request.
        """
        if wait_timeout is not None and not wait_timeout > 0:
            raise ValueError("wait_timeout must be a positive number of seconds or None")
        return await self._wait(
            wait_timeout, cancel_on_timeout=cancel_on_timeout, cancel_on_exit=cancel_on_exit
        )

    async def _wait(
        self,
        wait_timeout: float | None,
        *,
        cancel_on_timeout: bool,
        cancel_on_exit: bool,
        shown_timeout: float | None = None,
    ) -> JobResult:
        """``result()``; ``shown_timeout`` is the caller's total (``queue.run``), for the message."""
        final = self._final
        if final is not None:
            if isinstance(final, JobError):
                raise final
            return final
        sched = get_scheduler(self._client)
        if wait_timeout is None or wait_timeout > 0:
            with anyio.move_on_after(wait_timeout) as scope:
                try:
                    value: JobResult = await sched.wait(self._key, self.endpoint, self._poll, age=self.age)
                except (JobFailed, JobCancelled) as exc:  # another handle of this job may have polled it
                    self._record(exc)
                    raise
                except anyio.get_cancelled_exc_class():
                    # our own deadline is not the caller's cancellation: only cancel_on_timeout
                    if cancel_on_exit and not self.done and not scope.cancel_called:
                        await self.cancel_quietly()
                    raise
                self._record(value)
                return value
        how = "it was not cancelled and may still run"
        if cancel_on_timeout and not self.done:
            outcome = await self.cancel_quietly()
            how = f"a remote cancel was sent ({outcome.value})" if outcome else "the remote cancel failed"
        shown = wait_timeout if shown_timeout is None else shown_timeout
        raise JobTimeout(
            f"Job {self.request_id} on {self.endpoint} did not finish within {shown} s; {how}",
            request_id=self.request_id,
            endpoint=self.endpoint,
        )

    async def cancel(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> CancelOutcome:
        """``PUT cancel_url``: ``REQUESTED`` (202), ``ALREADY_COMPLETED`` (400), ``NOT_FOUND`` (404).

        Those never raise; ``REJECTED`` is any other refusal (e.g. the endpoint cannot cancel).
        After ``REQUESTED`` the job ends with ``JobCancelled`` (stopping upstream work and billing
        is up to the provider).
        """
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        try:
            resp = await self._client.requester.request(
                "PUT", self.cancel_url, options=opts, ok_statuses=_CANCEL_OK
            )
        except RateLimitError as exc:
            sched = self._client._shared.scheduler
            if sched is not None:
                sched.on_rate_limited(exc.retry_after)
            raise
        return classify_cancel(resp.status, resp.content)

    async def cancel_quietly(self) -> CancelOutcome | None:
        """Best-effort cancel on the way out: shielded, at most ``CANCEL_GRACE`` s, never raises."""
        with anyio.move_on_after(CANCEL_GRACE, shield=True):
            try:
                return await self.cancel(max_retries=1)
            except Exception as exc:
                logger.info("could not cancel job %s: %s", self.request_id, exc)
        return None

    # -- the poll ---------------------------------------------------------------------------

    def _record(self, final: JobResult | JobFailed | JobCancelled) -> None:
        """Keep the outcome (also when a poll of another handle of this job found it)."""
        if self._final is not None:
            return
        self._final = final
        if isinstance(final, JobResult):
            self._sm.feed(Succeeded(final))
        elif isinstance(final, JobCancelled):
            self._sm.feed(Cancelled(final.error, final.error_type))
        else:
            self._sm.feed(Failed(final.error, final.error_type))

    def _log_unknown(self, status: str) -> None:
        if self._sm.first_unknown(status):
            logger.warning(
                "job %s on %s reports an unknown status %r; treating it as pending",
                self.request_id,
                self.endpoint,
                status,
            )

    async def _poll(self) -> PollResult:
        """One ``GET response_url``; what it means for the scheduler (see the module docstring)."""
        self._polls += 1
        resp = await self._client.requester.request(
            "GET", self.response_url, options=_POLL_OPTIONS, ok_statuses=_ANY_ERROR
        )
        if resp.status == 429:
            return PollResult(RateLimited(parse_retry_after(resp.headers, time.time())))
        decision = decide_response(
            resp.status, resp.content, http_request_id=resp.request_id, headers=resp.headers
        )
        if isinstance(decision, Unusable):
            return await self._recover(decision)
        if self._guard is not None:
            self._guard.usable()
        return self._apply(decision)

    async def _recover(self, answer: Unusable) -> PollResult:
        """An unusable ``/response`` answer: ask the status URL, then retry or end (``_job_answers``)."""
        guard = self._guard
        if guard is None:
            sched = self._client._shared.scheduler
            limit = sched.options.max_poll_errors if isinstance(sched, Scheduler) else DEFAULT_MAX_POLL_ERRORS
            guard = self._guard = ResponseGuard(limit)
        status: Decision | Unusable | None = None
        if guard.needs_status:
            self._polls += 1
            try:
                resp = await self._client.requester.request(
                    "GET", self.status_url, options=_POLL_OPTIONS, ok_statuses=_ANY_ERROR
                )
            except APIConnectionError as exc:
                status = Unusable(0, exc)
            else:
                if resp.status == 429:
                    return PollResult(RateLimited(parse_retry_after(resp.headers, time.time())))
                status = decide_status(
                    resp.status, resp.content, http_request_id=resp.request_id, headers=resp.headers
                )
        step = guard.recover(answer, status)
        if isinstance(step, Retry):
            logger.debug("job %s: unusable answer, will retry: %s", self.request_id, step.error)
            return PollResult(Outcome.ERROR, error=step.error)
        if isinstance(step, GiveUp):
            return PollResult(Outcome.ENDED, error=step.error)
        return self._apply(step, cause=answer.error)

    def _apply(self, decision: Decision, cause: OdiRouterError | None = None) -> PollResult:
        if isinstance(decision, Pending):
            self._sm.feed(decision)
            return _QUEUED if decision.phase is Phase.QUEUED else _RUNNING
        if isinstance(decision, Unknown):
            self._log_unknown(decision.status)
            self._sm.feed(decision)
            return _PENDING
        if isinstance(decision, Succeeded):
            result = decision.result
            if result is None:  # a status said COMPLETED, not the result: poll again (defensive)
                self._log_unknown("COMPLETED (HTTP 202)")
                return _PENDING
            self._sm.feed(decision)
            result.__dict__["_client"] = self._client
            self._final = result
            return PollResult(Outcome.DONE, value=result)
        self._sm.feed(decision)
        exc = decision.exception(request_id=self.request_id, endpoint=self.endpoint)
        exc.__cause__ = cause  # the /response answer (its body), when the status URL decided
        self._final = exc
        return PollResult(Outcome.ENDED, error=exc)


async def submit_protected(submit: Awaitable[Job], sink: list[Job] | None = None) -> Job:
    """Await a submit so that a cancellation arriving mid-POST still gets the job, and cancels it.

    The POST runs in its own task; if the caller is cancelled meanwhile, the POST may finish for
    ``SUBMIT_GRACE`` seconds more, the job it created is cancelled remotely (and appended to
    ``sink``), and the cancellation goes on.  (Without this the job would be created and billed
    with nobody knowing its id.)
    """
    task: asyncio.Future[Job] = asyncio.ensure_future(submit)
    try:
        return await asyncio.shield(task)
    except BaseException:
        if not task.done():
            with anyio.move_on_after(SUBMIT_GRACE, shield=True):
                await asyncio.wait({task})
            if not task.done():
                task.cancel()
                raise
        if task.cancelled() or task.exception() is not None:
            raise
        job = task.result()
        if sink is not None:
            sink.append(job)
        await job.cancel_quietly()
        raise
