"""``client.queue``: image, video and audio models through the gateway's job queue.

``submit`` -> ``Job`` (``status``, ``result``, ``updates``, ``cancel``, ``download``); ``run`` =
submit + result, cancelling the remote job when the caller gives up; ``job`` re-attaches by id;
``map`` runs many inputs with bounded concurrency and yields outcomes as jobs finish;
``download`` saves a result's files; ``stats`` reads the client's poll scheduler.  Every wait
goes through that one scheduler (``queue/scheduler.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._config import DEFAULT_CONCURRENCY, NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from .._exceptions import RateLimitError, ResponseValidationError
from ..batch.journal import Journal
from ..batch.journal_base import StoreHooks, reattach_job
from ..batch.journal_store import journal_hooks_for
from ..batch.map import JobMap, MapHooks, MapProgress, MapSpec
from ..http.download import download_result
from ..http.urls import segment_problem
from ..types.queue import QUEUE_SUBMIT_DECODER, JobResult, QueueSubmitResponse
from .jobs import QUEUE_PATH, Job, endpoint_segment, job_urls, submit_protected, wait_job
from .scheduler import (
    SchedulerStats,
    UpdateCallback,
    WaitLimit,
    check_wait_timeout,
    get_scheduler,
    report_rate_limit,
)

if TYPE_CHECKING:
    from ..http.requester import ClientHandle
    from ..http.transport import HTTPResponse

__all__ = ("Queue",)

_WEBHOOK_KEYS = ("webhook_url", "fal_webhook")
_NO_OPTIONS: Final = RequestOptions()
#: The longest request id accepted from a submit answer (characters).
MAX_REQUEST_ID = 1024


def _bad_id(request_id: str) -> str | None:
    """Why a request id from the gateway cannot name a job in a URL path (``None``: it can)."""
    problem = segment_problem(request_id)
    if problem == "empty":
        return "an empty request id"
    if problem is not None:
        return f"request id {request_id[:80]!r} is not a single path segment"
    if len(request_id) > MAX_REQUEST_ID:
        return f"a request id of {len(request_id)} characters (at most {MAX_REQUEST_ID})"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in request_id):
        return f"request id {request_id[:80]!r} has control characters"
    return None


def _parse_submit(resp: HTTPResponse) -> QueueSubmitResponse:
    """The submit answer, its id checked at the boundary: a typed error, never ValueError.

    A 2xx whose body is not the documented object, or whose ``request_id`` is empty, ``.``,
    ``..``, has ``/`` or control characters or is absurdly long, raises
    ``ResponseValidationError`` (status, ``X-Request-Id`` and the raw body kept): the job may
    exist, so callers treat it as uncertain.  Odd but usable ids (unicode, ``:``, long) are fine;
    they are percent-encoded in the URLs built from them.
    """
    sent: QueueSubmitResponse | None = None
    try:
        sent = resp.parse(QUEUE_SUBMIT_DECODER)
    except RecursionError:
        why = "JSON nested too deep"
    else:
        why = _bad_id(sent.request_id) or ""
    if sent is None or why:
        raise ResponseValidationError(
            f"the queue submit answer is unusable: {why}; the job may exist",
            x_request_id=resp.request_id,
            body=resp.content[:2000].decode("utf-8", "replace"),
            status_code=resp.status,
        )
    return sent


def _check_arguments(arguments: object) -> dict[str, Any]:
    if not isinstance(arguments, Mapping):
        raise TypeError(
            f"arguments must be a mapping of the model's parameters, not {type(arguments).__name__}"
        )
    body = arguments if isinstance(arguments, dict) else dict(arguments)
    for key in _WEBHOOK_KEYS:
        if key in body:
            raise ValueError(f"the gateway does not support webhooks ({key!r}); wait with job.result()")
    return body


class Queue:
    """Queue jobs: ``submit``, ``run``, ``job``, ``map`` and ``download``."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client

    async def submit(
        self,
        endpoint: str,
        arguments: Mapping[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> Job:
        """``POST /model/v1/queue/{endpoint}``: start a job and return its ``Job`` handle.

        Args:
            endpoint: the model id, exactly as documented (e.g. ``"happyhorse_1.0_t2v"``).
            arguments: the model's parameters (the JSON body as is; no ``input`` wrapper).
            extra_headers: headers added to this request.
            extra_query: query parameters added to the URL.
            timeout: this call's ``Timeout`` or read seconds.
            max_retries: this call's retry budget.
            x_request_id: the ``X-Request-Id`` to send (a stable key for journaling the submit).

        The submit starts paid work, so it is retried only when the gateway cannot have started
        it.  ``webhook_url`` / ``fal_webhook`` are refused here (``ValueError``): the gateway does
        not support webhooks.  An empty endpoint, or one with ``/``, is a ``ValueError``.
        """
        segment = endpoint_segment(endpoint)
        body = _check_arguments(arguments)
        if extra_query:
            _check_arguments(extra_query)
        opts = _NO_OPTIONS  # nothing per call (``queue.run``'s usual submit): nothing to build
        given = timeout is not NOT_GIVEN or max_retries is not NOT_GIVEN
        if given or extra_headers or extra_query or x_request_id:
            opts = RequestOptions.of(
                extra_headers=extra_headers,
                extra_query=extra_query,
                timeout=timeout,
                max_retries=max_retries,
                x_request_id=x_request_id,
            )
        transport = self._client.requester
        try:
            resp = await transport.request(
                "POST", f"{QUEUE_PATH}/{segment}", json=body, options=opts, paid=True
            )
        except RateLimitError as exc:
            report_rate_limit(self._client, exc.retry_after)
            raise
        sent = _parse_submit(resp)
        half = resp.elapsed / 2  # the gateway created the job mid-exchange
        status_url, response_url, cancel_url = sent.status_url, sent.response_url, sent.cancel_url
        if not (status_url and response_url and cancel_url):  # the documented paths fill the gaps
            documented = job_urls(transport.base_url, endpoint, sent.request_id)
            status_url = status_url or documented[0]
            response_url = response_url or documented[1]
            cancel_url = cancel_url or documented[2]
        return Job(
            self._client,
            endpoint,
            sent.request_id,
            status_url=status_url,
            response_url=response_url,
            cancel_url=cancel_url,
            submitted_at=time.time() - half,
            submitted_mono=time.monotonic() - half,
        )

    def job(self, endpoint: str, request_id: str, *, submitted_at: float | None = None) -> Job:
        """Re-attach to a job submitted earlier (by this process or another one).

        The URLs are the documented paths under ``base_url``.  ``submitted_at`` (wall-clock
        ``time.time()`` of the submit), when known, lets the scheduler poll it as well as a fresh
        job; without it the job is polled at once, then on a sparse backoff.
        """
        return reattach_job(self._client, endpoint, request_id, submitted_at)

    async def run(
        self,
        endpoint: str,
        arguments: Mapping[str, Any],
        *,
        wait_timeout: float | None = None,
        cancel_on_timeout: bool = False,
        cancel_on_exit: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        x_request_id: str | None = None,
        on_update: UpdateCallback | None = None,
    ) -> JobResult:
        """Submit a job and wait for its result.

        Args:
            wait_timeout: seconds for the whole call (submit + wait), from its start; ``None``,
                the default, waits as long as the job lives.  The submit itself is bounded by
                the HTTP timeouts only; when the deadline has passed by the time the job exists,
                ``JobTimeout`` is raised at once.
            cancel_on_timeout: when ``wait_timeout`` runs out, cancel the remote job (default:
                leave it running; ``JobTimeout.request_id`` re-attaches with ``queue.job``).
            cancel_on_exit: when the awaiting task is cancelled, cancel the remote job, so it
                stops (and, if the provider honours it, stops billing).  A cancellation that
                arrives during the submit still waits for the job id (a few seconds at most) to
                cancel it.
            x_request_id: the submit's ``X-Request-Id``.
            on_update: called with each ``StatusUpdate`` while waiting (``Job.result``).

        Raises:
            JobFailed: the job completed with an error.
            JobCancelled: the job was cancelled.
            JobTimeout: ``wait_timeout`` passed (the submit's own errors are raised as they are).
        """
        check_wait_timeout(wait_timeout)  # before the paid submit
        start = time.monotonic()
        submit = self.submit(
            endpoint,
            arguments,
            extra_headers=extra_headers,
            extra_query=extra_query,
            x_request_id=x_request_id,
        )
        job = await (submit_protected(submit) if cancel_on_exit else submit)
        limit = WaitLimit("Job", job.request_id, job.endpoint, wait_timeout, cancel_on_timeout)
        return await wait_job(
            job, limit, elapsed=time.monotonic() - start, cancel_on_exit=cancel_on_exit, on_update=on_update
        )

    def map(
        self,
        endpoint: str,
        inputs: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        cancel_on_exit: bool | None = None,
        progress: Callable[[MapProgress], Awaitable[None] | None] | None = None,
        wait_timeout: float | None = None,
        cancel_on_timeout: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        hooks: MapHooks | None = None,
        journal: Journal | str | os.PathLike[str] | None = None,
        resubmit_uncertain: bool = False,
        job_retries: int = 0,
    ) -> JobMap:
        """Run one job per input, ``concurrency`` at a time, and yield outcomes as jobs finish.

        ::

            async with client.queue.map("nano_banana_2", prompts, concurrency=256) as results:
                async for done in results:
                    done.index, done.input, done.request_id, done.result, done.error

        See ``JobMap`` for the guarantees (window, read-ahead, failures, leaving early).
        ``wait_timeout`` is per job, from its submit (``JobTimeout`` in ``done.error``); ``None``,
        the default, waits as long as the job lives.  A job past its ``wait_timeout`` is left
        running unless ``cancel_on_timeout=True`` (``cancel_on_exit`` is only about leaving the
        map early).

        ``journal`` (a path, or an open ``Journal``) makes the map resumable: run it again with
        the same inputs in the same order and the same journal, and jobs submitted earlier are
        re-attached, finished ones replayed from the journal, and only inputs never submitted
        are submitted (each with its journal key as ``X-Request-Id``).  An input whose submit was
        in flight when the earlier process died is *uncertain*: its outcome is an
        ``UncertainSubmit`` error unless ``resubmit_uncertain=True`` (which may pay twice).
        Details: ``odirouter_async.batch.journal_hooks``.

        ``journal="postgresql://..."`` (the ``postgres`` extra) makes this process one worker of
        a batch shared through that database: the inputs are loaded once, each worker claims
        inputs, and the map yields only the outcomes this worker finished (``index``: the input's
        position in ``inputs``); a dead worker's inputs are taken over (``batch.pg_hooks``).

        ``cancel_on_exit`` (leaving the map early: ``break``, an exception, Ctrl-C): not given, it
        is False with a journal -- running jobs are left running and the resume re-attaches
        them, nothing is paid twice -- and True without one (nobody could find them again).
        ``True`` with a journal cancels them and records them *cancelled by us*: the resume
        submits them again (paid again, knowingly).

        A submit answered with an error that fails every further input (no credit: 402 or 403
        about balance; a bad or revoked key: 401 / 403; an unknown endpoint: 404) stops new
        submits at once: the running jobs are still waited for and delivered, the other inputs
        stay pending (never recorded as failed), then the map raises ``BatchHalted``.  A failed
        submit's outcome says what it proves in ``done.submit`` (``"not_created"``: nothing was
        paid, a journal's resume submits it again; ``"uncertain"``); a journal's replayed
        outcome has ``done.replayed``.

        ``job_retries=N`` submits a job again (at most N times) when it failed for a transient
        reason (``error_type`` ``INFERENCE_TIMEOUT`` / ``INTERNAL_SERVER_ERROR``, or its result
        stayed unusable after the bounded poll retries); never for input errors
        (``CONTENT_BLOCKED``, ``REQUEST_INVALID``...).  Each new attempt is paid; a journal
        records it before sending.
        """
        if isinstance(job_retries, bool) or not isinstance(job_retries, int) or job_retries < 0:
            raise ValueError("job_retries must be an integer >= 0")
        # -- journal (JournalHooks) ---------------------------------------------------------
        if journal is not None:
            if hooks is not None:
                raise ValueError("pass either hooks or journal, not both")
            hooks, inputs = journal_hooks_for(
                journal, inputs, client=self._client, resubmit_uncertain=resubmit_uncertain
            )
        elif resubmit_uncertain:
            raise ValueError("resubmit_uncertain needs a journal")
        if cancel_on_exit is None:  # not given: leave a journaled map's jobs for the resume
            cancel_on_exit = not isinstance(hooks, StoreHooks)
        return JobMap(
            MapSpec(
                self._client,
                self.submit,
                endpoint,
                inputs,
                concurrency,
                cancel_on_exit,
                progress,
                wait_timeout,
                cancel_on_timeout,
                extra_headers,
                hooks,
                job_retries,
            )
        )

    async def download(
        self,
        result: JobResult,
        dir: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        overwrite: bool = False,
    ) -> list[Path]:
        """Save every output of ``result`` under ``dir``; the paths, in output order.

        Files are streamed (bounded memory), written to a temporary file and renamed into place,
        checked against ``file_size`` / Content-Length, and fetched without the API key from any
        host but the gateway's.  ``data:`` URLs are decoded; text outputs are written as ``.txt``.
        An existing file is a ``FileExistsError`` unless ``overwrite=True`` (the rule
        ``videos.download_content`` follows too).  Details: ``odirouter_async.http.download``.
        """
        return await download_result(
            self._client.requester, result, dir, concurrency=concurrency, overwrite=overwrite
        )

    def stats(self) -> SchedulerStats:
        """The client's poll scheduler: jobs waiting, polls in flight and sent, errors, 429s, rate."""
        return get_scheduler(self._client).stats()
