"""The one error hierarchy of odirouter_async, and the mapping from an HTTP error body to it.

Pure: no aiohttp, no anyio.  The transport (``_transport.py``) is the one place that turns
aiohttp exceptions and non-2xx responses into these classes; everything else raises them.

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
    ├── ClientClosedError             the client was closed while a job was being waited for
    ├── JournalError                  a batch journal cannot be used (another endpoint's, in use, corrupt)
    └── InsecureURLError              a URL the SDK refuses to use (plain http, foreign origin when strict)

Every message is built from the server's words, never from request headers, so the API key
cannot leak into an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InsecureURLError",
    "InsufficientBalanceError",
    "InternalServerError",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "JournalError",
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
    "make_status_error",
    "parse_error_body",
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

    def __str__(self) -> str:
        text = f"Error code: {self.status_code} - {self.message}"
        if self.x_request_id:
            text += f" (x_request_id={self.x_request_id})"
        return text


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
    """The stream ended (or the connection broke) before its ``[DONE]`` or terminal event."""


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
    """The client was closed while a job was being waited for; the job itself may still run."""


class JournalError(OdiRouterError):
    """The journal cannot be used: another endpoint's, a newer schema, in use, not a journal, I/O."""


class InsecureURLError(OdiRouterError, ValueError):
    """A URL the SDK refuses: plain ``http://`` to a non-loopback host, or a foreign origin when strict."""


# ----------------------------------------------------------------------------------------------
# Error bodies
# ----------------------------------------------------------------------------------------------

_BALANCE_RE = re.compile(r"balance|credit|insufficient[ _]funds|quota[ _]exhausted|top[ -]?up", re.I)
_TAG_RE = re.compile(r"<[^>]+>")


class ErrorInfo(msgspec.Struct, frozen=True):
    """What an error body says, whatever its shape."""

    message: str
    code: str | None = None
    error_type: str | None = None
    request_id: str | None = None
    body: object = None


def _short(value: object, limit: int = 500) -> str:
    """``str(value)`` cut to ``limit`` characters; a structure too deep to print is named so."""
    try:
        return str(value)[:limit]
    except RecursionError:
        return "(a JSON value nested too deeply to show)"


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _short(value)


_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")


def _sse_payload(raw: bytes, content_type: str | None) -> bytes | None:
    """The first ``data`` payload of an error body framed as Server-Sent Events, if it is one.

    LiteLLM's proxy answers a failed stream with ``data: {"error": {...}}`` (HTTP 500, as
    ``text/event-stream`` or even ``application/json``).
    """
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(_SSE_STARTS) and "event-stream" not in (content_type or "").lower():
        return None
    from ._core.sse import SSEDecoder  # _sse imports this module

    decoder = SSEDecoder(len(raw) + 2)
    for event in decoder.feed(raw) + decoder.end(dispatch_partial=True):
        data = event.data.strip()
        if data and data != b"[DONE]":
            return data
    return None


def parse_error_body(raw: bytes, content_type: str | None = None) -> ErrorInfo:
    """Read any error body the gateway (or a proxy in front of it) sends.

    Shapes: ``{"error": "..."}``, ``{"error": {"message", "type", "code"}}``,
    ``{"error": {"code", "message"}, "request_id"}``, ``{"detail": "..."}``,
    FastAPI's ``{"detail": [{"msg": ...}]}``, ``{"message": "..."}``, any of those framed as SSE
    (``data: {...}``: the first data payload is the body), HTML, plain text or nothing.  A body
    that cannot be decoded (not JSON, nested too deeply) is kept as text.  Never raises.
    """
    return _parse_error_body(raw, content_type, framed=True)


def _parse_error_body(raw: bytes, content_type: str | None, *, framed: bool) -> ErrorInfo:
    if not raw.strip():
        return ErrorInfo(message="(empty body)", body=None)
    try:
        body: object = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        payload = _sse_payload(raw, content_type) if framed else None
        if payload is not None:
            return _parse_error_body(payload, None, framed=False)
        text = raw.decode("utf-8", "replace")
        if isinstance(exc, RecursionError):
            shown = "error body nested too deeply to decode: " + " ".join(text[:200].split())
        elif "html" in (content_type or "").lower() or text.lstrip().startswith("<"):
            title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
            shown = title.group(1) if title else _TAG_RE.sub(" ", text)
            shown = " ".join(shown.split())
        else:
            shown = " ".join(text.split())
        return ErrorInfo(message=shown[:500] or "(empty body)", body=text)
    if not isinstance(body, dict):
        return ErrorInfo(message=_short(body), body=body)
    request_id = _text(body.get("request_id"))
    err = body.get("error")
    if isinstance(err, dict):
        message = _text(err.get("message")) or _text(err.get("detail")) or _text(err.get("code"))
        return ErrorInfo(
            message=message or _short(err),
            code=_text(err.get("code")),
            error_type=_text(err.get("type")),
            request_id=request_id or _text(err.get("request_id")),
            body=body,
        )
    if isinstance(err, str) and err:
        return ErrorInfo(message=err, code=_text(body.get("code")) or err, request_id=request_id, body=body)
    detail = body.get("detail")
    if isinstance(detail, str):
        return ErrorInfo(message=detail, request_id=request_id, body=body)
    if isinstance(detail, list) and detail:
        parts = [_text(d.get("msg")) if isinstance(d, dict) else _text(d) for d in detail]
        return ErrorInfo(message="; ".join(p for p in parts if p), request_id=request_id, body=body)
    message = _text(body.get("message"))
    if message:
        return ErrorInfo(message=message, code=_text(body.get("code")), request_id=request_id, body=body)
    return ErrorInfo(message=_short(body), request_id=request_id, body=body)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def make_status_error(
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    x_request_id: str | None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the typed error for a non-success response (the one mapping from status to class)."""
    info = parse_error_body(raw, headers.get("content-type"))
    rid = headers.get("x-request-id") or info.request_id or x_request_id
    cls = InternalServerError if status >= 500 else _BY_STATUS.get(status, APIStatusError)
    if status == 403 and (_BALANCE_RE.search(info.message) or _BALANCE_RE.search(info.code or "")):
        cls = InsufficientBalanceError
    kwargs: dict[str, Any] = {
        "status_code": status,
        "x_request_id": rid,
        "body": info.body,
        "headers": headers,
        "code": info.code,
        "error_type": info.error_type,
    }
    if cls is RateLimitError:
        return RateLimitError(info.message, retry_after=retry_after, **kwargs)
    return cls(info.message, **kwargs)
