"""The one error hierarchy of odirouter_async: the classes, nothing else.

Pure: no aiohttp, no anyio, no import from the package.  ``http/response.py`` is the one place
that turns aiohttp exceptions into these classes; ``http/error_body.py`` reads an error body
(every shape) and picks the class for a status (``make_status_error``).

::

    OdiRouterError
    ├── APIConnectionError            network failure (.x_request_id)
    │   └── APITimeoutError           connect / idle-read / total deadline exceeded
    ├── APIStatusError                .status_code .x_request_id .body .headers .code .error_type
    │   ├── BadRequestError 400
    │   ├── AuthenticationError 401
    │   ├── PermissionDeniedError 403
    │   ├── InsufficientBalanceError  402, or 403 whose body speaks of balance/credit
    │   ├── NotFoundError 404
    │   ├── ConflictError 409
    │   ├── UnprocessableEntityError 422
    │   ├── RateLimitError 429 (.retry_after)
    │   └── InternalServerError >= 500
    ├── ResponseValidationError       the body was not what the protocol promises
    ├── StreamError                   error event mid-stream, stream cut before its end, bad SSE
    │   ├── StreamEventError          the server sent an error (event or object) inside the stream (.error)
    │   ├── StreamInterrupted         the stream ended before [DONE] / its terminal event
    │   └── SSEProtocolError          the body is not SSE, or an event is too large
    ├── JobError                      .request_id (the job) .endpoint .x_request_id (the failing call)
    │   ├── JobFailed                 COMPLETED with an error (.error, .error_type)
    │   ├── JobCancelled
    │   ├── JobTimeout
    │   └── UncertainSubmit           a journaled submit may have reached the gateway; not resent silently
    ├── ClientClosedError             the client was closed (in-flight calls and streams end with it)
    ├── BatchHalted                   a map stopped submitting: an answer that fails every input (.reason)
    ├── ClientLoopError               the client was used from another event loop than its first
    ├── JournalError                  a batch journal cannot be used (another endpoint's, in use, corrupt)
    └── InsecureURLError              a URL the SDK refuses to use (plain http, foreign origin when strict)

Every message is built from the server's words, never from request headers, so the API key
cannot leak into an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchHalted",
    "ClientClosedError",
    "ClientLoopError",
    "ConflictError",
    "ContentParseError",
    "InsecureURLError",
    "InsufficientBalanceError",
    "InternalServerError",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "JournalError",
    "LengthFinishReasonError",
    "NotFoundError",
    "OdiRouterError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "SSEProtocolError",
    "StreamError",
    "StreamEventError",
    "StreamInterrupted",
    "UncertainSubmit",
    "UnprocessableEntityError",
)


class OdiRouterError(Exception):
    """Base class of every error the SDK raises on purpose."""

    def __init__(self, message: str, *, x_request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.x_request_id = x_request_id

    def __str__(self) -> str:
        if self.x_request_id:
            return f"{self.message} (x_request_id={self.x_request_id})"
        return self.message


class APIConnectionError(OdiRouterError):
    """The request could not be completed on the network (refused, reset, DNS, TLS, cut body)."""

    def __init__(
        self, message: str = "Connection error.", *, x_request_id: str | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, x_request_id=x_request_id)
        #: False only when the request provably never left the client (connect failure).
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """A connect, idle-read or total deadline of the ``Timeout`` ran out."""

    def __init__(
        self, message: str = "Request timed out.", *, x_request_id: str | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, x_request_id=x_request_id, sent=sent)


class APIStatusError(OdiRouterError):
    """The gateway answered with a non-success HTTP status.

    Attributes:
        status_code: the HTTP status.
        x_request_id: the call's ``X-Request-Id`` (the gateway's echo, the body's ``request_id``, or ours).
        body: the decoded JSON body (any shape), or the body text when it was not JSON.
        headers: the response headers (a plain dict, lower-case names).
        code: the error code from the body, when it has one (``quota_exceeded``, ``UNAUTHORIZED``...).
        error_type: the error type from the body, when it has one (``rate_limit_error``...).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        x_request_id: str | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, x_request_id=x_request_id)
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.code = code
        self.error_type = error_type
        #: the request that got this answer: its method and URL (without the query), when known
        self.method: str | None = None
        self.url: str | None = None
        #: the next step, shown after the message: the URL of a 404, where a refused key came from
        self.hint: str | None = None

    def add_context(self, method: str, url: str, *, own: bool, key_source: str | None = None) -> None:
        """Name the request (method, URL without its query: no presigned signature) and, for a
        404/405 or a 401 on our origin, the next step.  Never the key: only where it came from."""
        self.method = method
        self.url = url.split("?", 1)[0].split("#", 1)[0]
        if self.status_code in (404, 405):
            self.hint = f"{method} {self.url}" + ("; check base_url / ODIROUTER_BASE_URL" if own else "")
        elif self.status_code == 401 and own and key_source:
            self.hint = f"the API key from {key_source} was refused"
        elif self.status_code == 407:
            self.hint = PROXY_AUTH_HINT

    def __str__(self) -> str:
        text = f"Error code: {self.status_code} - {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if self.x_request_id:
            text += f" (x_request_id={self.x_request_id})"
        return text


#: the next step after a proxy's 407 (a status, or a refused CONNECT)
PROXY_AUTH_HINT = (
    "the proxy wants credentials: put them in its URL, proxy='http://user:pass@host:port' or "
    "HTTPS_PROXY / HTTP_PROXY / ALL_PROXY"
)


class BadRequestError(APIStatusError):
    """HTTP 400: the request was malformed or its parameters were rejected."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the key may not use this model or route."""


class InsufficientBalanceError(APIStatusError):
    """HTTP 402, or a 403 whose body speaks of balance or credit: top up the account."""


class NotFoundError(APIStatusError):
    """HTTP 404: unknown route, model, job or video."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the parameters were well-formed but not acceptable."""


class RateLimitError(APIStatusError):
    """HTTP 429.  ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """HTTP 5xx."""


class ResponseValidationError(OdiRouterError):
    """The gateway's body did not have the shape the protocol promises (``.body`` holds it)."""

    def __init__(
        self,
        message: str,
        *,
        x_request_id: str | None = None,
        body: object = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, x_request_id=x_request_id)
        self.body = body
        self.status_code = status_code


class ContentParseError(ResponseValidationError):
    """``parse``: the model's content (or a tool call's arguments) did not decode into the
    requested type.  ``.content`` keeps the text as written; ``.finish_reason`` says why the
    generation stopped (``"length"``, ``"content_filter"``, ``"stop"``...) when known."""

    def __init__(
        self,
        message: str,
        *,
        content: str,
        finish_reason: str | None = None,
        x_request_id: str | None = None,
    ) -> None:
        super().__init__(message, x_request_id=x_request_id, body=content)
        self.content = content
        self.finish_reason = finish_reason


class LengthFinishReasonError(ContentParseError):
    """``parse``: the generation hit the token limit before the JSON was complete."""


class StreamError(OdiRouterError):
    """A streamed response went wrong after it started."""

    def __init__(self, message: str, *, x_request_id: str | None = None, body: object = None) -> None:
        super().__init__(message, x_request_id=x_request_id)
        self.body = body


class StreamEventError(StreamError):
    """The server reported an error inside the stream; ``.error`` is its payload."""

    def __init__(
        self,
        message: str,
        *,
        error: object = None,
        x_request_id: str | None = None,
        code: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, x_request_id=x_request_id, body=error)
        self.error = error
        self.code = code
        self.error_type = error_type


class StreamInterrupted(StreamError):
    """The stream ended (or the connection broke) before its ``[DONE]`` or terminal event.

    For a background Responses stream, raised once its resume budget is spent: ``response_id``
    and ``sequence_number`` (the last event received) say where a manual
    ``responses.retrieve(response_id, stream=True, starting_after=sequence_number)`` goes on.
    """

    response_id: str | None = None
    sequence_number: int | None = None


class SSEProtocolError(StreamError):
    """The body is not a Server-Sent-Events stream, or one event exceeds the size bound."""


class JobError(OdiRouterError):
    """A queue job did not produce a result.

    Attributes:
        request_id: the job's queue id.
        x_request_id: the ``X-Request-Id`` of the HTTP call that ended the wait, when one did.
        endpoint: the model id the job ran on.
        error / error_type: what the gateway said, when it said something.
        status: the raw status body (a dict) that ended the job, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        endpoint: str | None = None,
        error: object = None,
        error_type: str | None = None,
        status: object = None,
        x_request_id: str | None = None,
    ) -> None:
        super().__init__(message, x_request_id=x_request_id)
        self.request_id = request_id
        self.endpoint = endpoint

        self.error = error
        self.error_type = error_type
        self.status = status

    def __str__(self) -> str:
        text = self.message
        if self.request_id and self.request_id not in text:
            text += f" (request_id={self.request_id})"
        if self.x_request_id:
            text += f" (x_request_id={self.x_request_id})"
        return text


class JobFailed(JobError):
    """The job is ``COMPLETED`` with an ``error`` (``.error``, ``.error_type``)."""


class JobCancelled(JobError):
    """The job was cancelled (``error_type == "CANCELED"``), by us or by someone else."""


class JobTimeout(JobError):
    """The caller's deadline for the job ran out before it finished."""


class UncertainSubmit(JobError):
    """An earlier run sent (or was about to send) this submit but never recorded the job's id.

    The gateway documents no idempotency, so submitting again may pay twice.  Look the job up in
    the gateway's dashboard, or pass ``resubmit_uncertain=True`` (CLI: ``--resubmit-uncertain``).
    """


class ClientClosedError(OdiRouterError):
    """The client was closed: every call on it (or its views) raises this, and so does every
    request, body read, upload, download and stream that was in flight when ``aclose()`` ran; a
    queue job being waited for when it closed may still run on the gateway.

    Not an ``APIConnectionError``: the network did not fail and a retry on this client cannot
    succeed, so code that retries connection errors must not retry this.

    ``sent`` is False when the request was refused before it left the client (nothing reached the
    gateway), True when the client closed while the request was on its way.
    """

    def __init__(self, message: str, *, x_request_id: str | None = None, sent: bool = False) -> None:
        super().__init__(message, x_request_id=x_request_id)
        self.sent = sent


class BatchHalted(OdiRouterError):
    """A ``queue.map`` stopped submitting because an answer will fail every further input.

    No credit (402, or 403 about balance), a bad or revoked key (401, 403), an unknown endpoint
    (404 on submit).  Jobs already running were waited for and their outcomes delivered before
    this is raised; inputs not submitted stay pending (a journal resumes them after a top-up, a
    new key or a fixed endpoint).

    Attributes:
        reason: the gateway's error that stopped the batch (an ``APIStatusError``).
        done: outcomes delivered by this map (succeeded or failed).
        running: jobs that were running when the batch stopped (waited for, then delivered).
        pending: inputs not submitted: those refused by the stopping answer or held back, plus the
            ones never read when ``inputs`` has a length (a generator's unread rest is not counted).
    """

    def __init__(self, reason: BaseException, *, done: int, running: int, pending: int) -> None:
        status = getattr(reason, "status_code", None)
        what = f"HTTP {status}: " if status is not None else ""
        message = (
            f"batch stopped: {what}{getattr(reason, 'message', None) or reason}; "
            f"{done} outcomes delivered, {running} running jobs waited for, {pending} inputs not submitted"
        )
        super().__init__(message, x_request_id=getattr(reason, "x_request_id", None))
        self.reason = reason
        self.done = done
        self.running = running
        self.pending = pending


class ClientLoopError(OdiRouterError, RuntimeError):
    """The client was used from another event loop than the one it first ran in.

    A client's connections belong to one loop.  Create the client inside the coroutine that
    uses it (one client per ``asyncio.run()``, per Celery task, per thread); see
    docs/recipes.md, "Async code called from sync code".
    """


class JournalError(OdiRouterError):
    """The journal cannot be used: another endpoint's, a newer schema, in use, not a journal, I/O."""


class InsecureURLError(OdiRouterError, ValueError):
    """A URL the SDK refuses: plain ``http://`` to a non-loopback host, or a foreign origin when strict."""
