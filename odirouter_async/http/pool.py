"""The connection pool of one client: one ``aiohttp.ClientSession`` + ``TCPConnector``.

Created lazily inside the running loop on the first request and shared by the client's
``with_options`` views.  Once closed it refuses every request with ``ClientClosedError``.

What the session is built with, read when it is created (not at import):

* **TLS**: ``ssl=True`` becomes ``ssl.create_default_context()`` made now, so ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` set after import are honoured (aiohttp's own default context is built when
  aiohttp is imported).
* **No cookies**: a ``DummyCookieJar``.  A cookie set by the gateway is never sent anywhere, so
  it cannot travel to an output-file host (cookies are not scoped by port) and back.
* **Proxies** (``ProxyRoutes``): ``proxy=`` sends every request through that proxy; else, with
  ``trust_env=True`` (the default, as httpx and requests), ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
  ``ALL_PROXY`` / ``NO_PROXY`` (upper or lower case) choose per URL; loopback hosts always go
  direct (as Go's ``ProxyFromEnvironment``).  Proxy credentials in the URL become a
  ``Proxy-Authorization`` header for the proxy only.
* **Pool wait** (``PoolWait``): ``Timeout.pool`` bounds only the time a request waits for a free
  connection slot, measured where aiohttp's connector queues the request for one (``_Connector``;
  a trace config on aiohttp versions without that method).

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
import base64
import ssl as _ssl
import sys
import urllib.request
import warnings
import weakref
from collections.abc import AsyncGenerator
from types import SimpleNamespace, TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import aiohttp

from .._config import Limits, Timeout, check_proxy_url
from .._exceptions import APITimeoutError, ClientClosedError, ClientLoopError, OdiRouterError
from .urls import is_loopback

__all__ = ("Pool", "PoolTimeout", "PoolWait", "ProxyRoutes", "client_timeout")

_NO_ROUTE: Final[tuple[None, None]] = (None, None)
#: ``NO_PROXY`` matching as requests and urllib do it (not in typeshed's stubs)
_bypass: Final[Any] = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009


class ProxyRoutes:
    """Which proxy (and ``Proxy-Authorization``) each URL goes through; ``None``: direct."""

    __slots__ = ("_cache", "_env", "_fixed")

    def __repr__(self) -> str:
        return "ProxyRoutes(...)"  # holds proxy credentials

    def __init__(self, proxy: str | None, env: dict[str, str] | None) -> None:
        self._fixed = _split_auth(proxy) if proxy is not None else None
        self._env = env
        self._cache: dict[tuple[str, str], tuple[str | None, dict[str, str] | None]] = {}

    @classmethod
    def build(cls, proxy: str | None, trust_env: bool) -> ProxyRoutes | None:
        """The routes for a client (``None``: everything direct, the fast path)."""
        if proxy is not None:
            return cls(check_proxy_url(proxy, "proxy"), None)
        if not trust_env:
            return None
        env = urllib.request.getproxies_environment()
        if not any(k in env for k in ("http", "https", "all")):
            return None
        for name in ("http", "https", "all"):
            if name in env:
                env[name] = check_proxy_url(env[name], f"{name.upper()}_PROXY")
        return cls(None, env)

    def route(self, url: str) -> tuple[str | None, dict[str, str] | None]:
        """``(proxy URL without credentials, proxy headers)`` for ``url``, or ``(None, None)``."""
        if self._fixed is not None:
            return self._fixed
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._cache.get(key)
        if found is None:
            found = self._from_env(parts.scheme.lower(), parts.hostname or "", parts.port)
            if len(self._cache) < 256:
                self._cache[key] = found
        return found

    def _from_env(self, scheme: str, host: str, port: int | None) -> tuple[str | None, dict[str, str] | None]:
        env = self._env or {}
        if not host or is_loopback(host):
            return _NO_ROUTE
        netloc = f"{host}:{port}" if port else host
        if "no" in env and _bypass(netloc, env):
            return _NO_ROUTE
        proxy = env.get(scheme) or env.get("all")
        return _split_auth(proxy) if proxy else _NO_ROUTE


def _split_auth(proxy: str) -> tuple[str, dict[str, str] | None]:
    """The proxy URL without its user:password, and the ``Proxy-Authorization`` they make."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return proxy, None
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    bare = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    try:
        raw = pair.encode("latin-1")  # as aiohttp and requests encode Basic credentials
    except UnicodeEncodeError:
        raw = pair.encode()
    # aiohttp turns an ``Authorization`` among the proxy headers into ``Proxy-Authorization``: on
    # the request itself for a plain-http target, on the CONNECT for an https one (never the target)
    return bare, _ProxyHeaders(Authorization="Basic " + base64.b64encode(raw).decode("ascii"))


class _ProxyHeaders(dict[str, str]):
    """The proxy's credentials as headers; the repr hides them (frames rendered with locals)."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"


class PoolTimeout(aiohttp.ClientTimeout):
    """aiohttp's ``ClientTimeout`` plus ``pool``: the longest wait for a free slot (``PoolWait``)."""

    __slots__ = ("pool",)

    def __init__(self, *, pool: float | None = None, **fields: Any) -> None:
        super().__init__(**fields)
        object.__setattr__(self, "pool", pool)  # frozen: set once, here


def client_timeout(t: Timeout) -> PoolTimeout:
    """aiohttp's timeouts for a ``Timeout``.

    ``read`` is ``sock_read`` (each read), ``connect`` is ``sock_connect`` (making a new
    connection, TLS included), ``total`` the whole exchange; ``pool`` is enforced by ``PoolWait``
    on the queued time only.  aiohttp's ``connect`` (pool wait, DNS and connect together) is set
    to their sum as an outer bound only.
    """
    acquire = None if t.connect is None or t.pool is None else t.connect + t.pool
    return PoolTimeout(pool=t.pool, total=t.total, connect=acquire, sock_connect=t.connect, sock_read=t.read)


class PoolWait:
    """``with PoolWait(timeout, rid) as wait: await session.request(..., trace_request_ctx=wait)``.

    Bounds only the wait for a free connection slot (``Timeout.pool``).  Nothing is armed unless
    aiohttp queues the request (``_Connector``, in the requesting task): then a
    timer is set for the deadline, and cancelled when a slot is free (``..._queued_end``).  When
    it fires it cancels the waiting task, as ``asyncio.timeout`` does, and ``__exit__`` turns that
    cancellation into ``APITimeoutError`` (``sent=False``); a cancellation from elsewhere wins.
    A request that never waits costs this object and two calls.
    """

    __slots__ = ("_deadline", "_handle", "_prev", "_task", "fired", "rid", "seconds")

    def __init__(self, timeout: aiohttp.ClientTimeout, rid: str | None) -> None:
        self.seconds: float | None = getattr(timeout, "pool", None)
        self.rid = rid
        self.fired = False
        self._deadline: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None

    def __enter__(self) -> PoolWait:
        # Read by the connector's slot wait, in this task.  A dict keyed by the task, not a
        # ContextVar: a ContextVar.set allocates a Token and a new context mapping per request,
        # GC-tracked objects alive for the whole send (BENCHMARKS.md, "object churn").
        task = asyncio.current_task()  # not kept on self: task -> frame -> self would be a cycle
        self._prev = _WAITING.get(task)
        _WAITING[task] = self
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        task = asyncio.current_task()
        if self._prev is None:
            _WAITING.pop(task, None)
        else:
            _WAITING[task] = self._prev
            self._prev = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self.fired:
            return False
        if sys.version_info >= (3, 11) and self._task is not None and self._task.uncancel() > 0:
            return False  # cancelled from elsewhere too: that cancellation goes on
        if kind is not None and issubclass(kind, asyncio.CancelledError):
            raise APITimeoutError(
                f"Timed out waiting {self.seconds:g}s for a free connection from the pool "
                "(Timeout.pool; every connection of Limits.max_connections in use): "
                "the request was not sent.",
                x_request_id=self.rid,
                sent=False,
            ) from None
        return False

    def queued(self) -> None:
        """The request waits for a slot: arm the timer (one deadline per request)."""
        if self.seconds is None or self._handle is not None:
            return
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self.seconds
            self._task = asyncio.current_task()
        self._handle = loop.call_at(self._deadline, self._fire)

    def slot_free(self) -> None:
        """A slot is free: no deadline while the connection is made."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self._task is not None and not self._task.done():
            self.fired = True
            self._task.cancel()


async def _on_queued_start(_session: Any, ctx: SimpleNamespace, _params: Any) -> None:
    wait = getattr(ctx, "trace_request_ctx", None)
    if isinstance(wait, PoolWait):
        wait.queued()


async def _on_queued_end(_session: Any, ctx: SimpleNamespace, _params: Any) -> None:
    wait = getattr(ctx, "trace_request_ctx", None)
    if isinstance(wait, PoolWait):
        wait.slot_free()


def _pool_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(_on_queued_start)
    trace.on_connection_queued_end.append(_on_queued_end)
    return trace


#: task -> the ``PoolWait`` of the request that task is sending (set by ``PoolWait.__enter__``)
_WAITING: Final[dict[asyncio.Task[Any] | None, PoolWait]] = {}

#: aiohttp >= 3.10 waits for a slot in one connector method, called in the requesting task:
#: hooking it costs nothing per request; a trace config (the fallback) makes aiohttp build trace
#: objects and send every trace signal of every request (~40 us of client CPU per call here).
_HOOKABLE: Final = hasattr(aiohttp.TCPConnector, "_wait_for_available_connection")


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, telling the sending request's ``PoolWait`` when it queues for a slot."""

    async def _wait_for_available_connection(self, key: Any, traces: Any) -> None:
        wait = _WAITING.get(asyncio.current_task())
        if wait is None:
            return await super()._wait_for_available_connection(key, traces)
        wait.queued()
        try:
            return await super()._wait_for_available_connection(key, traces)
        finally:
            wait.slot_free()


_CLOSED_MID_READ = "the client was closed while this response was being read"


class Pool:
    """The connection pool shared by a client and its ``with_options`` views."""

    __slots__ = (
        "_guard",
        "_live",
        "_loop",
        "closed",
        "limits",
        "proxies",
        "proxy",
        "session",
        "ssl",
        "trust_env",
    )

    def __init__(self, limits: Limits, ssl: Any, *, proxy: str | None = None, trust_env: bool = True) -> None:
        self.limits = limits
        self.ssl = ssl
        self.proxy = check_proxy_url(proxy, "proxy") if proxy is not None else None
        self.trust_env = trust_env
        #: per-URL proxy choice, fixed when the session is created (``route``)
        self.proxies: ProxyRoutes | None = None
        self.session: aiohttp.ClientSession | None = None
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None  # closes the session at loop end
        #: responses whose body may still be read, with their request id: ended by ``aclose``
        self._live: weakref.WeakKeyDictionary[aiohttp.ClientResponse, str | None]
        self._live = weakref.WeakKeyDictionary()

    def route(self, url: str) -> tuple[str | None, dict[str, str] | None]:
        """``(proxy, proxy_headers)`` for a request to ``url`` (``(None, None)``: direct)."""
        proxies = self.proxies
        return _NO_ROUTE if proxies is None else proxies.route(url)

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
        self.proxies = ProxyRoutes.build(self.proxy, self.trust_env)
        limits = self.limits
        connector = (_Connector if _HOOKABLE else aiohttp.TCPConnector)(
            limit=limits.max_connections,
            limit_per_host=limits.max_connections_per_host,
            keepalive_timeout=limits.keepalive_expiry,
            ttl_dns_cache=limits.dns_cache_ttl,
            ssl=_ssl_context(self.ssl),
        )
        # No session-level headers: Authorization is added per request, only for our origin.
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            trust_env=False,  # proxies are chosen here (``route``); no ~/.netrc credentials
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=None if _HOOKABLE else [_pool_trace()],
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


def _ssl_context(value: Any) -> Any:
    """``True`` (verify with the system's CAs) becomes a context made now, so ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` set after import count; a context or ``False`` is used as given."""
    if value is True:
        try:
            return _ssl.create_default_context()
        except (OSError, _ssl.SSLError) as exc:  # SSL_CERT_FILE naming a missing or bad file
            raise OdiRouterError(
                f"cannot load the CA certificates (SSL_CERT_FILE, SSL_CERT_DIR?): {exc}"
            ) from None
    return value


def _end(resp: aiohttp.ClientResponse, request_id: str | None) -> None:
    """End the body read of ``resp`` (a waiting reader wakes up) with ``ClientClosedError``."""
    if resp.content.exception() is None:
        resp.content.set_exception(ClientClosedError(_CLOSED_MID_READ, x_request_id=request_id, sent=True))


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
