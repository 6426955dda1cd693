"""The connection pool of one client: one ``aiohttp.ClientSession`` + ``TCPConnector``.

Created lazily inside the running loop on the first request and shared by the client's
``with_options`` views.  Once closed it refuses every request with ``ClientClosedError``.
"""

from __future__ import annotations

import warnings
from typing import Any

import aiohttp

from .._config import Limits
from .._exceptions import ClientClosedError

__all__ = ("Pool",)


class Pool:
    """The connection pool shared by a client and its ``with_options`` views."""

    __slots__ = ("closed", "limits", "session", "ssl")

    def __init__(self, limits: Limits, ssl: Any) -> None:
        self.limits = limits
        self.ssl = ssl
        self.session: aiohttp.ClientSession | None = None
        self.closed = False

    def get(self) -> aiohttp.ClientSession:
        """The session, created on first use; ``ClientClosedError`` once the pool is closed."""
        session = self.session
        if session is not None:
            return session
        if self.closed:
            raise ClientClosedError("the client is closed; create a new AsyncOdiRouter")
        limits = self.limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections,
            limit_per_host=limits.max_connections_per_host,
            keepalive_timeout=limits.keepalive_expiry,
            ttl_dns_cache=limits.dns_cache_ttl,
            ssl=self.ssl,
        )
        # No session-level headers: Authorization is added per request, only for our origin.
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            trust_env=False,
        )
        return self.session

    async def aclose(self) -> None:
        """Close the session; later requests raise ``ClientClosedError``."""
        self.closed = True
        session, self.session = self.session, None
        if session is not None:
            await session.close()

    def __del__(self) -> None:
        # Never touch the event loop here: warn only.
        session = getattr(self, "session", None)
        if session is not None and not session.closed:
            warnings.warn(
                "AsyncOdiRouter was not closed; use `async with` or `await client.close()`",
                ResourceWarning,
                stacklevel=1,
            )
