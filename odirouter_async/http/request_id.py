"""Which ``X-Request-Id`` an HTTP exchange is known by: the one rule.  Pure, no I/O.

The gateway's echo (the answer's ``X-Request-Id`` header) wins; then, for an error, the
``request_id`` its body names; then the id this client sent (``http/transport.py`` decides that
one: the caller's ``x_request_id=``, else an ``X-Request-Id`` in their headers, else a new one).
Responses, streams, errors, tracing spans and ``with_raw_response`` all report this id.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ("answer_request_id",)


def answer_request_id(headers: Mapping[str, str], sent: str | None, body_id: str | None = None) -> str | None:
    """The exchange's id: the echoed header, else ``body_id`` (an error body's), else ``sent``.

    ``headers``: case-insensitive (aiohttp's) or with lower-case keys.
    """
    return headers.get("x-request-id") or body_id or sent
