"""Which HTTP exchange answered a call, for ``client.with_raw_response`` (one ``ContextVar``).

``with_raw_response`` runs a resource method inside ``capturing()``; the transport reads ``SINK``
once per successful exchange (a finished body or an opened stream) and, inside ``capturing()``,
calls its ``note(status, headers, x_request_id, url)``: the last one is what the ``RawResponse``
shows.  Outside ``capturing()`` the transport's cost is one ``ContextVar.get`` per request (no
call into this module, none per stream chunk).  Only the status,
the response headers, the request id and the URL path are kept: never the request (its headers
hold the key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from multidict import CIMultiDictProxy

__all__ = ("SINK", "Exchange", "capturing")


class Exchange:
    """What a successful exchange said: ``status``, ``headers``, ``x_request_id``, ``url``.

    A task started during the call (a scheduler) may note its own exchanges later; once the call
    returned the sink is ``closed`` and ignores them.
    """

    __slots__ = ("closed", "headers", "status", "url", "x_request_id")

    def __init__(self) -> None:
        self.status = 0
        self.headers: CIMultiDictProxy[str] | None = None
        self.x_request_id: str | None = None
        self.url = ""
        self.closed = False

    def note(self, status: int, headers: CIMultiDictProxy[str], x_request_id: str | None, url: str) -> None:
        """A successful exchange of the call (ignored once the call returned)."""
        if self.closed:
            return
        self.status = status
        self.headers = headers
        self.x_request_id = x_request_id
        self.url = url


#: the sink of the ``capturing()`` block the current context runs in, else ``None``
SINK: Final[ContextVar[Exchange | None]] = ContextVar("odirouter_raw_exchange", default=None)


@contextmanager
def capturing() -> Iterator[Exchange]:
    """Record the exchanges made in this context (the last one wins) until the block ends."""
    sink = Exchange()
    token = SINK.set(sink)
    try:
        yield sink
    finally:
        sink.closed = True
        SINK.reset(token)
