"""Which HTTP exchange answered a call, for ``client.with_raw_response`` (one ``ContextVar``).

``with_raw_response`` runs a resource method inside ``capturing()``; the transport calls
``note(status, headers, x_request_id, url)`` once per successful exchange (a finished body or an
opened stream), and the last one is what the ``RawResponse`` shows.  Outside ``capturing()`` the
transport's cost is one ``ContextVar.get`` per request (none per stream chunk).  Only the status,
the response headers, the request id and the URL path are kept: never the request (its headers
hold the key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from multidict import CIMultiDictProxy

__all__ = ("Exchange", "capturing", "note")


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


_SINK: Final[ContextVar[Exchange | None]] = ContextVar("odirouter_raw_exchange", default=None)


@contextmanager
def capturing() -> Iterator[Exchange]:
    """Record the exchanges made in this context (the last one wins) until the block ends."""
    sink = Exchange()
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        sink.closed = True
        _SINK.reset(token)


def note(status: int, headers: CIMultiDictProxy[str], x_request_id: str | None, url: str) -> None:
    """Called by the transport after each successful exchange; a no-op outside ``capturing()``."""
    sink = _SINK.get()
    if sink is None or sink.closed:
        return
    sink.status = status
    sink.headers = headers
    sink.x_request_id = x_request_id
    sink.url = url
