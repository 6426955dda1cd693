"""Error bodies: what any non-2xx body says, and the typed error for a status.

Pure: bytes in, an ``ErrorInfo`` or an ``APIStatusError`` subclass out.  ``parse_error_body``
reads every shape the gateway (or a proxy in front of it) sends, SSE-framed ones too;
``make_status_error`` is the one mapping from a status to its class (``_exceptions.py``).
Messages are built from the server's words, never from request headers, so the API key cannot
leak into an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from .request_id import answer_request_id
from .sse import SSEDecoder

__all__ = ("ErrorInfo", "make_status_error", "parse_error_body")

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
    rid = answer_request_id(headers, x_request_id, info.request_id)
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
