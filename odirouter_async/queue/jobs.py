"""``Job``: the handle of one queue job (status, result, updates, cancel, download), and the
queue's URL rules (I/O shell).

A job is waited for through the client's scheduler: ``job_target(job)`` registers it as data (a
``poll.PollTarget`` whose interpreter, ``queue.job_state.JobPoll``, reads every answer and keeps
the job's state); ``wait_job`` waits within the one deadline rule (``waiting.WaitLimit``,
``waiting.wait_within``).  Each poll is one ``GET response_url`` (202 + a status while pending,
the result once done); with ``on_update=`` / ``updates()`` the status URL is polled with
``?logs=1`` first.

A job is cancelled remotely only when the caller cancels or a deadline runs out and the caller
asked for it (``cancel_on_exit``, ``cancel_on_timeout``), never because of an answer.

URLs: the ones the gateway returned are used as given; a URL on another origin is fetched without
the key (``Transport`` decides), or refused with ``strict_origins=True``.  Re-attached jobs get the
documented paths under ``base_url``.  An endpoint id is used exactly as given (dots and all); only
an empty id, ``.``/``..`` and ``/`` are refused, other unsafe characters are percent-encoded.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import anyio

from .._config import NOT_GIVEN, NotGiven, PollingOptions, RequestOptions, TimeoutLike
from .._exceptions import JobCancelled, JobError, JobFailed, RateLimitError, ResponseValidationError
from ..http.download import download_result
from ..http.status_rules import CANCEL_ANSWERS
from ..http.transport import logger
from ..http.urls import segment_problem
from ..types.queue import JobResult, QueueStatus, StatusUpdate
from .job_state import (
    DEFAULT_MAX_POLL_ERRORS,
    Ask,
    CancelOutcome,
    JobPoll,
    JobState,
    Unknown,
    Unusable,
    classify_cancel,
    classify_status,
    decide_status,
)
from .scheduler import (
    PollTarget,
    UpdateCallback,
    WaitLimit,
    follow,
    get_scheduler,
    report_rate_limit,
    wait_within,
)

if TYPE_CHECKING:
    from ..http.requester import ClientHandle

__all__ = (
    "CANCEL_GRACE",
    "QUEUE_PATH",
    "Job",
    "endpoint_segment",
    "job_target",
    "job_urls",
    "submit_protected",
    "wait_job",
)

QUEUE_PATH: Final = "/model/v1/queue"
#: How long a remote cancel sent on the way out (timeout, cancellation) may take, seconds.
CANCEL_GRACE: Final = 5.0
#: How long a submit caught by a cancellation may still take to return its id, seconds.
SUBMIT_GRACE: Final = 5.0

_SAFE: Final = "-._~!$&'()*+,;=:@"


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    problem = segment_problem(value)
    if problem == "empty":
        raise ValueError(f"{what} must not be empty")
    if problem is not None:
        raise ValueError(f"{what} {value!r} is not a single path segment ('/' and '.'/'..' are refused)")
    return quote(value, safe=_SAFE)


@functools.lru_cache(maxsize=256)
def _endpoint_segment(endpoint: str) -> str:
    return _segment(endpoint, "endpoint")


def endpoint_segment(endpoint: str) -> str:
    """The model id as a URL path segment: as given (dots kept), unsafe characters percent-encoded.

    Checked once per model id (an application uses a few): a refused one raises every time.
    """
    if type(endpoint) is not str:  # also keeps unhashable values away from the cache
        return _segment(endpoint, "endpoint")
    return _endpoint_segment(endpoint)


def job_urls(base_url: str, endpoint: str, request_id: str) -> tuple[str, str, str]:
    """The documented (status, response, cancel) URLs of a job under ``base_url``."""
    rid = _segment(request_id, "request_id")
    base = f"{base_url}{QUEUE_PATH}/{endpoint_segment(endpoint)}/requests/{rid}"
    return f"{base}/status", f"{base}/response", f"{base}/cancel"


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
        "_interp",
        "_key",
        "_mono",
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
        polling = client._shared.polling
        limit = polling.max_poll_errors if isinstance(polling, PollingOptions) else DEFAULT_MAX_POLL_ERRORS
        self._interp = JobPoll(request_id, endpoint, max_errors=limit)

    def __repr__(self) -> str:
        return f"Job(endpoint={self.endpoint!r}, request_id={self.request_id!r}, state={self.state.value!r})"

    # -- what the client knows --------------------------------------------------------------

    @property
    def state(self) -> JobState:
        """What the client last saw: submitted, queued, running, unknown, succeeded, failed, cancelled."""
        return self._interp.sm.state

    @property
    def done(self) -> bool:
        """True once the client has seen the job finish (successfully or not)."""
        return self._interp.sm.terminal

    @property
    def polls(self) -> int:
        """Poll requests this handle has sent (the result fetch included)."""
        return self._interp.requests

    @property
    def age(self) -> float | None:
        """Seconds since the submit (``None`` for a re-attached job of unknown age)."""
        return None if self._mono is None else max(0.0, time.monotonic() - self._mono)

    # -- calls ------------------------------------------------------------------------------

    async def status(
        self,
        *,
        logs: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> QueueStatus:
        """``GET status_url``: the job's ``QueueStatus`` (status, error, error_type, metrics).

        A status value the SDK does not know is returned as is (and logged once per job).
        ``logs=True`` asks for the runner's log lines (``?logs=1``; fal's ``with_logs=True``):
        ``QueueStatus.logs``, empty otherwise.
        """
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        query = {"logs": "1"} if logs else None
        resp = await self._client.requester.request("GET", self.status_url, query=query, options=opts)
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
            self._interp.log_unknown(decision.status)
        self._interp.sm.feed(decision)
        return body

    async def result(
        self,
        *,
        wait_timeout: float | None = None,
        cancel_on_timeout: bool = False,
        cancel_on_exit: bool = False,
        on_update: UpdateCallback | None = None,
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
            on_update: called with a ``StatusUpdate`` whenever the job's status, queue position
                or logs changed (the status URL is polled with ``?logs=1``); may be a coroutine
                function.  If it raises, the wait raises that (the job is left alone).

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
        limit = WaitLimit("Job", self.request_id, self.endpoint, wait_timeout, cancel_on_timeout)
        return await wait_job(self, limit, cancel_on_exit=cancel_on_exit, on_update=on_update)

    async def updates(self, *, wait_timeout: float | None = None) -> AsyncIterator[StatusUpdate]:
        """The job's ``StatusUpdate``s as they happen (fal-style), ending when the job ends.

        The last update says ``COMPLETED``; how it ended (result, ``JobFailed``...) is then
        ``await job.result()``, the kept outcome (no request).  ``JobTimeout`` when
        ``wait_timeout`` runs out; other errors (``NotFoundError``, a closed client) are raised
        here.  Closing it early (``contextlib.aclosing``) stops the polling.
        """
        limit = WaitLimit("Job", self.request_id, self.endpoint, wait_timeout)
        if self._interp.final is not None:
            return
        sched, target = get_scheduler(self._client), job_target(self, logs=True)
        try:
            async with aclosing(follow(sched, target, deadline=limit.deadline())) as updates:
                async for update in updates:
                    yield update
        except (JobFailed, JobCancelled) as exc:
            self._interp.settle(exc)
        except TimeoutError:
            raise limit.expired() from None

    async def download(
        self, dir: str | os.PathLike[str], *, concurrency: int = 8, overwrite: bool = False
    ) -> list[Path]:
        """Wait for the result (``result()``) and save every output under ``dir``.

        The same as ``client.queue.download(await job.result(), dir)``: files streamed to a
        temporary file and renamed into place, sizes checked, no key sent to foreign hosts.  An
        existing file is a ``FileExistsError`` unless ``overwrite=True``.
        """
        result = await self.result()
        return await download_result(
            self._client.requester, result, dir, concurrency=concurrency, overwrite=overwrite
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
                "PUT", self.cancel_url, options=opts, ok_statuses=CANCEL_ANSWERS
            )
        except RateLimitError as exc:
            report_rate_limit(self._client, exc.retry_after)
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


def job_target(job: Job, *, logs: bool = False) -> PollTarget:
    """The job as the scheduler holds it (``logs``: poll the status URL with ``?logs=1`` first)."""
    interp = job._interp
    interp.logs = interp.logs or logs
    urls = {Ask.PRIMARY: job.response_url, Ask.STATUS: job.status_url}
    client = job._client
    return PollTarget(job._key, job.endpoint, client.requester, urls, interp, age=job.age, logs=interp.logs)


async def wait_job(
    job: Job,
    limit: WaitLimit,
    *,
    elapsed: float = 0.0,
    cancel_on_exit: bool,
    on_update: UpdateCallback | None = None,
) -> JobResult:
    """``Job.result`` and ``queue.run``: the job's wait within ``limit`` (``wait_within``), the
    outcome kept on the job (settled), a cancel on the way out with ``cancel_on_exit``."""
    final = job._interp.final
    if isinstance(final, JobResult):
        return final
    if isinstance(final, JobError):
        raise final

    async def cancel() -> str | None:
        if job.done:
            return None
        outcome = await job.cancel_quietly()
        return outcome.value if outcome is not None else "failed"

    target = job_target(job, logs=on_update is not None)
    try:
        value: JobResult = await wait_within(
            get_scheduler(job._client), target, limit, elapsed=elapsed, on_update=on_update, cancel=cancel
        )
    except (JobFailed, JobCancelled) as exc:  # another handle of this job may have polled it
        job._interp.settle(exc)
        raise
    except anyio.get_cancelled_exc_class():
        if cancel_on_exit and not job.done:
            await job.cancel_quietly()
        raise
    job._interp.settle(value)
    return value


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
