"""The one request path: the aiohttp session, the retry loop, and aiohttp-exception translation.

Every resource sends through :class:`Transport`.  It owns:

* the connection pool (``_Pool``: one ``aiohttp.ClientSession`` + ``TCPConnector`` per client,
  created lazily inside the running loop, shared by ``with_options`` views);
* headers: ``Authorization`` only for the configured origin, ``X-Request-Id`` (the caller's or a
  generated one, the same on every retry), ``User-Agent``;
* the retry loop, whose decisions come from the pure ``RetryPolicy`` (``_retry.py``);
* the translation of aiohttp exceptions into the SDK's errors (``_translate`` is the only place);
* one debug log line per HTTP attempt (method, path, status, request id, attempt, elapsed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Final, TypeVar

import aiohttp
import anyio
import msgspec
from multidict import CIMultiDictProxy

from ._config import NOT_GIVEN, Limits, NotGiven, RequestOptions, Timeout, resolve_timeout
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    InsecureURLError,
    OdiRouterError,
    ResponseValidationError,
    make_status_error,
)
from ._retry import Failure, RetryPolicy, parse_retry_after
from ._urls import Origin, join_url, origin_of
from .types._base import TopLevel, attach_raw

__all__ = ("HTTPResponse", "StreamResponse", "Transport", "logger")

logger: Final = logging.getLogger("odirouter_async")

_T = TypeVar("_T")
_encode = msgspec.json.Encoder().encode
_VERSION = "0.1.0"
USER_AGENT: Final = (
    f"odirouter-async/{_VERSION} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


_NO_OPTIONS: Final = RequestOptions()


def new_request_id() -> str:
    """A fresh ``X-Request-Id`` value."""
    return "req_" + os.urandom(12).hex()


class HTTPResponse:
    """A finished (fully read) response."""

    __slots__ = ("content", "elapsed", "headers", "request_id", "status", "url")

    def __init__(
        self,
        status: int,
        headers: CIMultiDictProxy[str],
        content: bytes,
        request_id: str | None,
        url: str,
        elapsed: float,
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.request_id = request_id
        self.url = url
        self.elapsed = elapsed

    def parse(self, decoder: msgspec.json.Decoder[_T]) -> _T:
        """Decode the body with a prebuilt msgspec decoder; the raw JSON stays reachable."""
        try:
            obj = decoder.decode(self.content)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ResponseValidationError(
                f"unexpected response body from {self.url.split('?')[0]}: {exc}",
                request_id=self.request_id,
                body=self.content[:2000].decode("utf-8", "replace"),
                status_code=self.status,
            ) from None
        if isinstance(obj, TopLevel):
            attach_raw(obj, self.content, self.request_id)
        return obj

    def json(self) -> Any:
        """The body as plain Python objects."""
        try:
            return msgspec.json.decode(self.content)
        except msgspec.DecodeError as exc:
            raise ResponseValidationError(
                f"response body is not JSON: {exc}",
                request_id=self.request_id,
                body=self.content[:2000].decode("utf-8", "replace"),
                status_code=self.status,
            ) from None


class StreamResponse:
    """An open response whose body is read incrementally; close it with :meth:`aclose`."""

    __slots__ = ("_resp", "headers", "request_id", "status", "url")

    def __init__(self, resp: aiohttp.ClientResponse, request_id: str | None, url: str) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self.request_id = request_id
        self.url = url

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        return self._resp.content_type.lower()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive.  An idle gap longer than ``Timeout.read`` raises APITimeoutError."""
        content = self._resp.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _translate(exc, self.request_id)[0] from None

    async def read(self, limit: int = 1 << 20) -> bytes:
        """Up to ``limit`` bytes of the body (for error reports)."""
        try:
            return await self._resp.content.read(limit)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _translate(exc, self.request_id)[0] from None

    async def drain(self, seconds: float = 0.1, limit: int = 1 << 16) -> None:
        """Read what is left (bounded) so the connection can go back to the pool, then release."""
        resp = self._resp
        with anyio.move_on_after(seconds):
            try:
                while not resp.content.at_eof():
                    if not await resp.content.read(limit):
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                resp.close()
                return
        if resp.content.at_eof():
            resp.release()
        else:
            resp.close()

    def close(self) -> None:
        """Drop the connection now (safe under cancellation: no await)."""
        self._resp.close()

    async def aclose(self) -> None:
        """Close the response and free its connection."""
        self._resp.close()


def _translate(exc: BaseException, request_id: str | None) -> tuple[OdiRouterError, Failure]:
    """The one mapping from aiohttp/asyncio exceptions to the SDK's errors."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError("Timed out connecting.", request_id=request_id, sent=False), Failure.CONNECT
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return APITimeoutError("Timed out reading the response.", request_id=request_id), Failure.READ_TIMEOUT
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return (
            APIConnectionError(
                f"TLS certificate error: {exc.certificate_error}", request_id=request_id, sent=False
            ),
            Failure.CONNECT,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return (
            APIConnectionError(
                f"Cannot connect to {exc.host}:{exc.port}: {exc.strerror or exc}",
                request_id=request_id,
                sent=False,
            ),
            Failure.CONNECT,
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError("Server disconnected.", request_id=request_id), Failure.DISCONNECTED
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(
            "The response body was cut short.", request_id=request_id
        ), Failure.DISCONNECTED
    if isinstance(exc, aiohttp.ClientResponseError):
        return (
            APIConnectionError(f"Invalid HTTP response: {exc.message}", request_id=request_id),
            Failure.DISCONNECTED,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return InsecureURLError(f"invalid URL: {exc}", request_id=request_id), Failure.CONNECT
    return APIConnectionError(
        f"Connection error: {type(exc).__name__}: {exc}", request_id=request_id
    ), Failure.DISCONNECTED


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
        self.__api_key = api_key
        self.timeout = timeout
        self.retry = retry
        self.pool = pool
        self.strict_origins = strict_origins
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        base.update(default_headers or {})
        self._plain_headers: dict[str, str] = base
        # Whether default headers carry an X-Request-Id of their own (rare): then look for it.
        self._custom_rid = any(k.lower() == "x-request-id" for k in base)
        self._auth_headers: dict[str, str] = {**base, "Authorization": f"Bearer {api_key}"}
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
            "default_headers": {
                k: v for k, v in self._plain_headers.items() if k not in ("User-Agent", "Accept")
            },
            "strict_origins": self.strict_origins,
        }
        kwargs.update(changes)
        return Transport(**kwargs)

    # -- helpers --------------------------------------------------------------------------

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) goes to the configured origin."""
        if not url.startswith(("http://", "https://")):
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
                if k.lower() == "authorization" and not own:
                    continue
                headers[k] = v
        if extra or options.extra_headers or self._custom_rid:
            rid = options.request_id or _header(headers, "x-request-id") or new_request_id()
            for k in [k for k in headers if k.lower() == "x-request-id" and k != "X-Request-Id"]:
                del headers[k]
        else:
            rid = options.request_id or new_request_id()
        headers["X-Request-Id"] = rid
        return full, headers, rid, own

    def _timeout_for(self, options: RequestOptions, override: Timeout | None) -> aiohttp.ClientTimeout:
        if isinstance(options.timeout, NotGiven):
            return self._client_timeout if override is None else _client_timeout(override)
        return _client_timeout(resolve_timeout(options.timeout, override or self.timeout))

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
                err, failure = _translate(exc, rid)
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
                    raise err from exc
                delays = delays or policy.delays()
                delay = policy.next_delay(attempt - 1, delays, server_hint=None)
                if delay is None:
                    raise err from exc
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
            # An error status: read the body (bounded), decide.
            try:
                raw = await resp.content.read(1 << 20)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                raw = b""
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
                    request_id=resp.headers.get("x-request-id") or rid,
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
        try:
            body = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            resp.close()
            raise _translate(exc, rid)[0] from None
        finally:
            resp.release()
        return HTTPResponse(
            resp.status, resp.headers, body, resp.headers.get("x-request-id") or rid, full, elapsed
        )

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


def _path(url: str) -> str:
    i = url.find("/", url.find("//") + 2)
    path = url[i:] if i >= 0 else "/"
    return path.split("?", 1)[0]
