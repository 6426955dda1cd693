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
  connection slot, measured from aiohttp's connection-queued trace signals.
"""

from __future__ import annotations

import asyncio
import base64
import ssl as _ssl
import sys
import urllib.request
import warnings
from types import SimpleNamespace, TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import aiohttp

from .._config import Limits, Timeout, check_proxy_url
from .._core.urls import is_loopback
from .._exceptions import APITimeoutError, ClientClosedError, OdiRouterError

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
    aiohttp queues the request (``on_connection_queued_start``, in the requesting task): then a
    timer is set for the deadline, and cancelled when a slot is free (``..._queued_end``).  When
    it fires it cancels the waiting task, as ``asyncio.timeout`` does, and ``__exit__`` turns that
    cancellation into ``APITimeoutError`` (``sent=False``); a cancellation from elsewhere wins.
    A request that never waits costs this object and two calls.
    """

    __slots__ = ("_deadline", "_handle", "_task", "fired", "rid", "seconds")

    def __init__(self, timeout: aiohttp.ClientTimeout, rid: str | None) -> None:
        self.seconds: float | None = getattr(timeout, "pool", None)
        self.rid = rid
        self.fired = False
        self._deadline: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None

    def __enter__(self) -> PoolWait:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
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


class Pool:
    """The connection pool shared by a client and its ``with_options`` views."""

    __slots__ = ("closed", "limits", "proxies", "proxy", "session", "ssl", "trust_env")

    def __init__(self, limits: Limits, ssl: Any, *, proxy: str | None = None, trust_env: bool = True) -> None:
        self.limits = limits
        self.ssl = ssl
        self.proxy = check_proxy_url(proxy, "proxy") if proxy is not None else None
        self.trust_env = trust_env
        #: per-URL proxy choice, fixed when the session is created (``route``)
        self.proxies: ProxyRoutes | None = None
        self.session: aiohttp.ClientSession | None = None
        self.closed = False

    def route(self, url: str) -> tuple[str | None, dict[str, str] | None]:
        """``(proxy, proxy_headers)`` for a request to ``url`` (``(None, None)``: direct)."""
        proxies = self.proxies
        return _NO_ROUTE if proxies is None else proxies.route(url)

    def get(self) -> aiohttp.ClientSession:
        """The session, created on first use; ``ClientClosedError`` once the pool is closed."""
        session = self.session
        if session is not None:
            return session
        if self.closed:
            raise ClientClosedError("the client is closed; create a new AsyncOdiRouter")
        self.proxies = ProxyRoutes.build(self.proxy, self.trust_env)
        limits = self.limits
        connector = aiohttp.TCPConnector(
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
            trace_configs=[_pool_trace()],
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
