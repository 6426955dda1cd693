"""The one request path: the aiohttp session, headers, and the retry loop.

Every resource sends through :class:`Transport`.  It owns:

* the connection pool (``_Pool``: one ``aiohttp.ClientSession`` + ``TCPConnector`` per client,
  created lazily inside the running loop, shared by ``with_options`` views);
* headers: ``Authorization`` only for the configured origin, ``X-Request-Id`` (the caller's or a
  generated one, the same on every retry), ``User-Agent``.  ``default_headers`` and
  ``extra_headers`` follow one rule for other origins: no ``Authorization``, nothing carrying
  the key (``_is_secret``);
* the retry loop, whose decisions come from the pure ``RetryPolicy`` (``_retry.py``);
* one debug log line per HTTP attempt (method, path, status, request id, attempt, elapsed).

Reading bodies (bounded) and translating aiohttp's exceptions live in ``_http.py``; errors
translated there are raised here outside the ``except`` block, so no ``__context__`` holds
aiohttp's exception (its ``request_info`` carries the request headers).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import platform
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Final

import aiohttp
import anyio
import msgspec

from .._config import NOT_GIVEN, Limits, NotGiven, RequestOptions, Timeout, resolve_timeout
from .._core.retry import RetryPolicy, parse_retry_after
from .._core.urls import _DEFAULT_PORTS, Origin, join_url, origin_of
from .._exceptions import InsecureURLError, OdiRouterError, ResponseValidationError, make_status_error
from .response import (
    ERROR_BODY_CAP,
    EXCERPT,
    HTTPResponse,
    StreamResponse,
    read_capped,
    translate,
    url_path as _path,
)

__all__ = ("HTTPResponse", "StreamResponse", "Transport", "logger")

logger: Final = logging.getLogger("odirouter_async")

_encode = msgspec.json.Encoder().encode
_VERSION = "0.1.0"
USER_AGENT: Final = (
    f"odirouter-async/{_VERSION} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


_NO_OPTIONS: Final = RequestOptions()


def new_request_id() -> str:
    """A fresh ``X-Request-Id`` value."""
    return "req_" + os.urandom(12).hex()


@functools.lru_cache(maxsize=64)  # Timeout is frozen: one ClientTimeout per distinct value
def _client_timeout(t: Timeout) -> aiohttp.ClientTimeout:
    acquire = None if t.connect is None and t.pool is None else (t.connect or 0) + (t.pool or 0) or None
    return aiohttp.ClientTimeout(total=t.total, connect=acquire, sock_connect=t.connect, sock_read=t.read)


class _Pool:
    """The connection pool shared by a client and its ``with_options`` views."""

    def __init__(self, limits: Limits, ssl: Any) -> None:
        self.limits = limits
        self.ssl = ssl
        self.session: aiohttp.ClientSession | None = None
        self.closed = False

    def get(self) -> aiohttp.ClientSession:
        session = self.session
        if session is not None:
            return session
        if self.closed:
            raise RuntimeError("the client is closed; create a new AsyncOdiRouter")
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
        self.closed = True
        session, self.session = self.session, None
        if session is not None:
            await session.close()

    def __del__(self) -> None:
        # Never touch the event loop here: warn only.
        if self.session is not None and not self.session.closed:
            warnings.warn(
                "AsyncOdiRouter was not closed; use `async with` or `await client.aclose()`",
                ResourceWarning,
                stacklevel=1,
            )


class Transport:
    """Sends requests for one client view (base URL, key, defaults) over a shared pool."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: Timeout,
        retry: RetryPolicy,
        pool: _Pool,
        default_headers: Mapping[str, str] | None = None,
        strict_origins: bool = False,
    ) -> None:
        self.base_url = base_url
        self.origin: Origin = origin_of(base_url)
        host = f"[{self.origin.host}]" if ":" in self.origin.host else self.origin.host
        prefix = f"{self.origin.scheme}://{host}"
        # A URL that starts with one of these (authority ended by "/") is ours without parsing it.
        self._own_prefixes: tuple[str, ...] = (f"{prefix}:{self.origin.port}/",)
        if _DEFAULT_PORTS.get(self.origin.scheme) == self.origin.port:
            self._own_prefixes += (f"{prefix}/",)
        self._timeouts: dict[tuple[type, object, Timeout | None], aiohttp.ClientTimeout] = {}
        self.__api_key = api_key
        self.timeout = timeout
        self.retry = retry
        self.pool = pool
        self.strict_origins = strict_origins
        self._default_headers = dict(default_headers or {})
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        base.update(self._default_headers)
        # Our origin: the caller's headers, but one Authorization, ours.  Other origins: no
        # Authorization and nothing that carries the key (the same rule as for extra_headers).
        self._auth_headers: dict[str, str] = {k: v for k, v in base.items() if k.lower() != "authorization"}
        self._auth_headers["Authorization"] = f"Bearer {api_key}"
        self._plain_headers: dict[str, str] = {k: v for k, v in base.items() if not self._is_secret(k, v)}
        # Whether default headers carry an X-Request-Id of their own (rare): then look for it.
        self._custom_rid = any(k.lower() == "x-request-id" for k in base)
        self._client_timeout = _client_timeout(timeout)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key='***')"

    def derive(self, **changes: Any) -> Transport:
        """A view over the same pool with other defaults."""
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": self.__api_key,
            "timeout": self.timeout,
            "retry": self.retry,
            "pool": self.pool,
            "default_headers": self._default_headers,
            "strict_origins": self.strict_origins,
        }
        kwargs.update(changes)
        return Transport(**kwargs)

    # -- helpers --------------------------------------------------------------------------

    def _is_secret(self, name: str, value: str) -> bool:
        """Whether a header must not leave the configured origin: Authorization, or the key."""
        if name.lower() in ("authorization", "proxy-authorization"):
            return True
        key = self.__api_key
        value = str(value).strip()
        return value == key or value.endswith(" " + key) or (len(key) >= 8 and key in value)

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) goes to the configured origin."""
        if not url.startswith(("http://", "https://")):
            return True
        if url.startswith(self._own_prefixes):
            return True
        return origin_of(url) == self.origin

    def _prepare(
        self, url: str, options: RequestOptions, auth: bool, extra: Mapping[str, str] | None
    ) -> tuple[str, dict[str, str], str, bool]:
        # A relative path is ours by construction: no URL parsing on the hot path.
        own = self.is_own_origin(url)
        full = join_url(self.base_url, url)
        if not own and self.strict_origins and auth:
            raise InsecureURLError(f"refusing to follow a URL on another origin: {origin_of(full).host}")
        headers = dict(self._auth_headers if (auth and own) else self._plain_headers)
        if extra:
            headers.update(extra)
        if options.extra_headers:
            for k, v in options.extra_headers.items():
                if not own and self._is_secret(k, v):
                    continue
                headers[k] = v
        if extra or options.extra_headers or self._custom_rid:
            rid = options.x_request_id or _header(headers, "x-request-id") or new_request_id()
            for k in [k for k in headers if k.lower() == "x-request-id" and k != "X-Request-Id"]:
                del headers[k]
        else:
            rid = options.x_request_id or new_request_id()
        headers["X-Request-Id"] = rid
        return full, headers, rid, own

    def _timeout_for(self, options: RequestOptions, override: Timeout | None) -> aiohttp.ClientTimeout:
        value = options.timeout
        if isinstance(value, NotGiven):
            return self._client_timeout if override is None else _client_timeout(override)
        key = (type(value), value, override or self.timeout)  # the type too: True == 1, True is refused
        cached = self._timeouts.get(key)
        if cached is None:
            cached = _client_timeout(resolve_timeout(value, override or self.timeout))
            if len(self._timeouts) < 64:
                self._timeouts[key] = cached
        return cached

    @staticmethod
    def encode_json(body: object) -> bytes:
        """msgspec-encode a request body; a caller's unencodable value is a clear TypeError."""
        try:
            return _encode(body)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"request body is not JSON-encodable: {exc}") from None

    # -- the request loop -----------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json: object,
        content: bytes | None,
        data: Any,
        query: Mapping[str, Any] | None,
        options: RequestOptions,
        paid: bool,
        ok_statuses: frozenset[int],
        timeout: Timeout | None,
        auth: bool,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> tuple[aiohttp.ClientResponse, str, str, float]:
        full, hdrs, rid, own = self._prepare(url, options, auth, headers)
        body: Any = data
        if json is not NOT_GIVEN:
            if options.extra_body and isinstance(json, dict):
                json = options.merge_body(json)
            body = self.encode_json(json)
            hdrs["Content-Type"] = "application/json"
        elif content is not None:
            body = content
        # A zero-argument callable ``data`` is a body factory, called once per attempt: a streamed
        # body (a file upload) is then sent whole again on a retry.  (FormData is callable too.)
        make_body = body if callable(body) and not isinstance(body, aiohttp.FormData) else None
        params: Any = None
        if query or options.extra_query:
            params = {**(query or {}), **(options.extra_query or {})}
        client_timeout = self._timeout_for(options, timeout)
        policy = self.retry
        max_retries = policy.max_retries if isinstance(options.max_retries, NotGiven) else options.max_retries
        if max_retries != policy.max_retries:
            policy = RetryPolicy(
                max_retries=max_retries,
                initial_delay=policy.initial_delay,
                max_delay=policy.max_delay,
                max_retry_after=policy.max_retry_after,
                jitter=policy.jitter,
            )
        delays: Iterator[float] | None = None  # built on the first retry only
        session = self.pool.get()
        attempt = 0
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            attempt += 1
            started = time.monotonic()
            err: OdiRouterError | None = None
            try:
                resp = await session.request(
                    method,
                    full,
                    data=body if make_body is None else make_body(),
                    params=params,
                    headers=hdrs,
                    timeout=client_timeout,
                    allow_redirects=not own,
                )
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                err, failure = translate(exc, rid)
            # Handled outside the except block, so no error raised here has a __context__.
            if err is not None:
                elapsed = time.monotonic() - started
                if debug:
                    logger.debug(
                        "HTTP %s %s -> %s request_id=%s attempt=%d elapsed=%.3fs",
                        method,
                        _path(full),
                        type(err).__name__,
                        rid,
                        attempt,
                        elapsed,
                    )
                if not policy.should_retry(paid=paid, failure=failure):
                    raise err
                delays = delays or policy.delays()
                delay = policy.next_delay(attempt - 1, delays, server_hint=None)
                if delay is None:
                    raise err
                _log_retry(method, full, rid, attempt, delay, type(err).__name__)
                await anyio.sleep(delay)
                continue
            status = resp.status
            elapsed = time.monotonic() - started
            if debug:
                logger.debug(
                    "HTTP %s %s -> %d request_id=%s attempt=%d elapsed=%.3fs",
                    method,
                    _path(full),
                    status,
                    rid,
                    attempt,
                    elapsed,
                )
            if status < 300 or status in ok_statuses:
                return resp, rid, full, elapsed
            # An error status: read the body whole (bounded, several writes), decide.
            try:
                raw, _ = await read_capped(resp, ERROR_BODY_CAP, rid, partial_ok=True)
            finally:
                resp.release()
            hint = parse_retry_after(resp.headers, time.time())
            retry = policy.should_retry(paid=paid, status=status, headers=resp.headers)
            if retry:
                delays = delays or policy.delays()
            delay = policy.next_delay(attempt - 1, delays, server_hint=hint) if delays and retry else None
            if delay is None:
                raise make_status_error(
                    status,
                    _lower(resp.headers),
                    raw,
                    x_request_id=resp.headers.get("x-request-id") or rid,
                    retry_after=hint,
                )
            _log_retry(method, full, rid, attempt, delay, str(status))
            await anyio.sleep(delay)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: object = NOT_GIVEN,
        content: bytes | None = None,
        data: Any = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions = _NO_OPTIONS,
        paid: bool = False,
        ok_statuses: frozenset[int] = frozenset(),
        timeout: Timeout | None = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResponse:
        """Send a request and read the whole body.  Non-2xx (and not ok) statuses raise typed errors.

        ``data`` may be a zero-argument callable: a body factory, called once per attempt.
        """
        resp, rid, full, elapsed = await self._send(
            method,
            url,
            json=json,
            content=content,
            data=data,
            query=query,
            options=options,
            paid=paid,
            ok_statuses=ok_statuses,
            timeout=timeout,
            auth=auth,
            headers=headers,
            stream=False,
        )
        rid = resp.headers.get("x-request-id") or rid
        try:
            body, complete = await read_capped(resp, self.pool.limits.max_body_bytes, rid)
        finally:
            resp.release()  # closes the connection when the body was not read to its end
        if not complete:
            raise ResponseValidationError(
                f"response body from {_path(full)} exceeds Limits.max_body_bytes "
                f"({self.pool.limits.max_body_bytes} bytes, counted after decompression)",
                x_request_id=rid,
                body=body[:EXCERPT].decode("utf-8", "replace"),
                status_code=resp.status,
            )
        return HTTPResponse(resp.status, resp.headers, body, rid, full, elapsed)

    async def open_stream(
        self,
        method: str,
        url: str,
        *,
        json: object = NOT_GIVEN,
        data: Any = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions = _NO_OPTIONS,
        paid: bool = False,
        timeout: Timeout | None = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> StreamResponse:
        """Send a request and return once the headers arrived; the caller must close the result.

        Retries happen only before the first body byte is read.
        """
        resp, rid, full, _ = await self._send(
            method,
            url,
            json=json,
            content=None,
            data=data,
            query=query,
            options=options,
            paid=paid,
            ok_statuses=ok_statuses,
            timeout=timeout,
            auth=auth,
            headers=headers,
            stream=True,
        )
        return StreamResponse(resp, resp.headers.get("x-request-id") or rid, full)


def _log_retry(method: str, url: str, rid: str, attempt: int, delay: float, why: str) -> None:
    logger.info(
        "retrying %s %s after %s in %.3fs request_id=%s attempt=%d",
        method,
        _path(url),
        why,
        delay,
        rid,
        attempt,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
