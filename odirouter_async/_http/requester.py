"""What the floors above the transport may ask of it, stated as Protocols.

Resources, streams and the queue floor depend on these, never on the concrete client
(``_client.py``) nor on ``Transport``'s internals, so no import reaches back up:

* ``Requester``: the one request path (``Transport`` implements it): ``request`` (body read
  whole), ``open_stream`` (body read as it arrives), the base URL, the origin rule, the retry
  policy and the pool's limits.
* ``ClientHandle``: what a resource or the queue floor holds: the client's ``requester`` and
  ``_shared`` (the state a client shares with its ``with_options`` views: ``pool``, ``polling``
  and the ``scheduler`` slot, filled by the queue floor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .._config import Limits, RequestOptions
from .._core.retry import RetryPolicy
from .response import HTTPResponse, StreamResponse

__all__ = ("ClientHandle", "Requester")


class Requester(Protocol):
    """The one request path, as the floors above see it (``Transport`` implements it)."""

    @property
    def base_url(self) -> str:
        """The gateway's base URL (no trailing slash)."""
        ...

    @property
    def retry(self) -> RetryPolicy:
        """The view's retry policy (its ``max_retries`` is the default budget)."""
        ...

    @property
    def limits(self) -> Limits:
        """The pool's bounds on bodies and events."""
        ...

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` goes to the configured origin (only then does it carry the key)."""
        ...

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: object = ...,
        content: bytes | None = None,
        data: Any = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions = ...,
        paid: bool = False,
        ok_statuses: frozenset[int] = ...,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResponse:
        """Send a request and read the whole body; non-2xx (and not ok) statuses raise typed errors."""
        ...

    async def open_stream(
        self,
        method: str,
        url: str,
        *,
        json: object = ...,
        data: Any = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions = ...,
        paid: bool = False,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = ...,
    ) -> StreamResponse:
        """Send a request and return once the headers arrived; the caller closes the result."""
        ...


class ClientHandle(Protocol):
    """What resources and the queue floor hold instead of the concrete ``AsyncOdiRouter``."""

    @property
    def requester(self) -> Requester:
        """The client view's request path."""
        ...

    @property
    def _shared(self) -> Any:
        """State shared with the client's views: ``pool``, ``polling``, the ``scheduler`` slot."""
        ...
