"""The connection pool of one client: one ``aiohttp.ClientSession`` + ``TCPConnector``.

Created lazily inside the running loop on the first request and shared by the client's
``with_options`` views.  Once closed it refuses every request with ``ClientClosedError``.

The pool belongs to the event loop it was opened in: used from another loop it raises
``ClientLoopError`` (a session and its sockets cannot move between loops).  A session still open
when its loop shuts down (the end of an ``asyncio.run``) is closed inside that loop by an async
generator the loop finalizes (``_guard``); a loop closed without that has its session marked
closed when the pool next sees it, so nothing warns about either later.

Shutdown is prompt: ``aclose`` ends the body reads of every live response with
``ClientClosedError`` and aborts the connections still in use (an upload blocked on a full
socket), so no reader is left waiting.
"""

from __future__ import annotations

import asyncio
import warnings
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp

from .._config import Limits
from .._exceptions import ClientClosedError, ClientLoopError

__all__ = ("Pool",)

_CLOSED_MID_READ = "the client was closed while this response was being read"


class Pool:
    """The connection pool shared by a client and its ``with_options`` views."""

    __slots__ = ("_guard", "_live", "_loop", "closed", "limits", "session", "ssl")

    def __init__(self, limits: Limits, ssl: Any) -> None:
        self.limits = limits
        self.ssl = ssl
        self.session: aiohttp.ClientSession | None = None
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None  # closes the session at loop end
        #: responses whose body may still be read, with their request id: ended by ``aclose``
        self._live: weakref.WeakKeyDictionary[aiohttp.ClientResponse, str | None]
        self._live = weakref.WeakKeyDictionary()

    def get(self) -> aiohttp.ClientSession:
        """The session, created on first use; ``ClientClosedError`` once the pool is closed,
        ``ClientLoopError`` in another event loop than the one it was opened in."""
        session = self.session
        if session is not None:
            if asyncio.get_running_loop() is not self._loop:
                self._other_loop()
            return session
        if self.closed:
            raise ClientClosedError("the client is closed; create a new AsyncOdiRouter")
        self.check_loop()
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
        self._guard = _guard(self.session)
        return self.session

    def check_loop(self) -> None:
        """Bind the pool to the running loop on first use; ``ClientLoopError`` in another one
        (outside any loop, e.g. a synchronous ``stats()``, there is nothing to check)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            self._other_loop()

    def _other_loop(self) -> None:
        old = self._loop
        assert old is not None
        closed = old.is_closed()
        if closed and self.session is not None:
            _forget(self.session)  # its loop is gone: nothing to await, nothing to warn about
            self.session = None
            self._end_guard()
        state = "is now closed" if closed else "is still running (in another thread?)"
        raise ClientLoopError(
            f"this AsyncOdiRouter was first used in another event loop, which {state}; a client "
            "belongs to the loop it first ran in. Create the client inside the coroutine that "
            "uses it (one client per asyncio.run(), per Celery task, per thread), and close it "
            "there with `async with`. See docs/recipes.md, 'Async code called from sync code'."
        )

    def _end_guard(self) -> None:
        """Finish the loop-end guard without a loop (its session is closed: nothing to await)."""
        guard, self._guard = self._guard, None
        if guard is not None:
            try:
                guard.aclose().send(None)
            except StopIteration:
                pass

    def track(self, resp: aiohttp.ClientResponse, request_id: str | None) -> None:
        """Remember a response whose body will be read, so that ``aclose`` can end the read."""
        if self.closed:
            _end(resp, request_id)
        else:
            self._live[resp] = request_id

    async def aclose(self) -> None:
        """Close the session; in-flight reads and later requests raise ``ClientClosedError``."""
        self.closed = True
        session, self.session = self.session, None
        live, self._live = list(self._live.items()), weakref.WeakKeyDictionary()
        for resp, rid in live:
            _end(resp, rid)
        if session is None:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            if self._loop.is_closed():
                _forget(session)  # its loop is gone: nothing to await
                self._end_guard()
                return
            self.session = session
            self._other_loop()
        # Connections in use are aborted, not closed: a close waits for unsent bytes (an upload
        # to a server that stopped reading) and would keep the request waiting on its socket.
        for proto in list(getattr(session.connector, "_acquired", ())):
            abort = getattr(proto, "abort", None)
            if abort is not None:
                abort()
        await session.close()
        guard, self._guard = self._guard, None
        if guard is not None:
            await guard.aclose()

    def __del__(self) -> None:
        # Never touch the event loop here: warn only.
        session = getattr(self, "session", None)
        if session is not None and not session.closed:
            warnings.warn(
                "AsyncOdiRouter was not closed; use `async with` or `await client.close()`",
                ResourceWarning,
                stacklevel=1,
            )


def _end(resp: aiohttp.ClientResponse, request_id: str | None) -> None:
    """End the body read of ``resp`` (a waiting reader wakes up) with ``ClientClosedError``."""
    if resp.content.exception() is None:
        resp.content.set_exception(ClientClosedError(_CLOSED_MID_READ, x_request_id=request_id))


def _guard(session: aiohttp.ClientSession) -> AsyncGenerator[None, None] | None:
    """An async generator, started here, that closes ``session`` when its loop shuts down.

    ``asyncio.run()`` (and every ``asyncio.Runner``, pytest's included) closes the async
    generators of its loop before closing it (``loop.shutdown_asyncgens``): a client left open
    at the end of ``asyncio.run()`` gets its connections closed inside that loop, so nothing
    warns about them later.  The generator is started synchronously (its first step reaches the
    ``yield`` without suspending), which registers it with the running loop.
    """
    gen = _close_at_loop_end(session)
    try:
        gen.__anext__().send(None)
    except StopIteration:  # reached the yield: the generator is registered and suspended
        return gen
    except Exception:  # the loop refused it (already shutting down): no guard, nothing else changes
        return None
    return None  # not reached: the first step always stops at the yield


async def _close_at_loop_end(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


def _forget(session: aiohttp.ClientSession) -> None:
    """Mark a session of a closed loop closed without running that loop.

    ``connector.close()`` closes nothing on a closed loop and answers an already finished
    awaitable; it is run to its end here, synchronously.  The sockets are left to the garbage
    collector, as the closed loop left them.
    """
    connector = session.connector
    if connector is None or connector.closed:
        return
    waiter = connector.close()  # on a closed loop: marks it closed, nothing to wait for
    try:
        waiter.__await__().send(None)
    except StopIteration:
        pass
    session.detach()
