"""The one request path: headers per origin, the retry loop, one aiohttp request per attempt.

Every resource sends through :class:`Transport` (reached as ``client.requester``, see
``http/requester.py``).  Layered like httpx's client, each layer short:

* ``request`` / ``open_stream``: build a ``_Request`` once (``_build``: the origin rule, headers,
  body, query, timeout, retry budget), send it, and read or hand over the body;
* ``_send``: one tracing span around the whole call, only when OpenTelemetry records
  (``http/tracing.py``; ``_traced`` decides without a call into it unless the application
  loaded the OpenTelemetry API);
* ``_send_handling_retries``: the retry loop; its decisions come from the pure ``RetryPolicy``
  (``http/retry.py``); an error status is read (bounded) and becomes the typed error;
* ``_send_single_request``: one aiohttp request, its exceptions translated
  (``http/response.py``), one debug log line.

Headers (``Authorization`` only for our origin, ``X-Request-Id``, ``User-Agent``) come from
``OriginHeaders`` (below), the only holder of the key.  It lives here because choosing a
request's headers *is* the origin rule of this path, decided once per client view: the prepared
header sets are built when the view is made, so a request copies one plain dict (aiohttp copies
a plain dict faster than a subclass) and adds its ``X-Request-Id``.  Redirects are followed by
aiohttp only for other origins (no key there); on our origin a redirect is an answer
(``http/download.py`` follows it by hand).

Per request nothing else is called that the call does not need: no tracing without a recording
provider, no ``http/capture.py`` outside ``with_raw_response`` (one ``ContextVar`` read), no URL
parsing for a path or a URL on our origin.

Errors translated from aiohttp are raised outside the ``except`` block, so no ``__context__``
holds aiohttp's exception (its ``request_info`` carries the request headers).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

import aiohttp
import anyio
import msgspec

from .._config import (
    NOT_GIVEN,
    VERSION,
    Limits,
    NotGiven,
    RedactedHeaders,
    RequestOptions,
    Secret,
    Timeout,
    resolve_timeout,
)
from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    ClientClosedError,
    InsecureURLError,
    OdiRouterError,
    ResponseValidationError,
)
from . import capture, genai, tracing
from .error_body import make_status_error
from .pool import Pool, PoolWait, client_timeout
from .request_id import answer_request_id
from .response import (
    ERROR_BODY_CAP,
    EXCERPT,
    HTTPResponse,
    StreamResponse,
    read_capped,
    translate,
    url_path as _path,
)
from .retry import Failure, RetryPolicy, parse_retry_after
from .urls import _DEFAULT_PORTS, Origin, join_url, origin_of

__all__ = (
    "ACCEPT_SSE",
    "USER_AGENT",
    "HTTPResponse",
    "OriginHeaders",
    "Pool",
    "StreamResponse",
    "Transport",
    "logger",
    "merge_headers",
    "new_request_id",
)

logger: Final = logging.getLogger("odirouter_async")

_encode = msgspec.json.Encoder().encode
_NO_OPTIONS: Final = RequestOptions()
_NO_STATUSES: Final[frozenset[int]] = frozenset()
#: ``Accept`` of a stream request: a constant (read-only) header set, so each view merges it once
ACCEPT_SSE: Final[Mapping[str, str]] = MappingProxyType({"Accept": "text/event-stream"})
_OTEL_API: Final = "opentelemetry.trace"
_MODULES: Final = sys.modules


def _traced() -> bool:
    """Whether this call is traced: OpenTelemetry installed, its API loaded by the application (or
    a provider named in the environment), and a recording provider set (``tracing.active``).

    Read per call, so a provider set after the client was made counts; the tests before
    ``tracing.active()`` are reads, so a client that does not trace never calls into
    ``http/tracing.py``, even when the API was imported.
    """
    if not tracing.ENABLED:
        return False
    if tracing.PROVIDER_FROM_ENV:
        return tracing.active()
    # The API keeps the provider the application set in a module global: while it is None, no
    # provider was set and ``tracing.active()`` would say so; an application that imported the API
    # without setting one (a library did) pays a read, not a call.
    api = _MODULES.get(_OTEL_API)
    return api is not None and getattr(api, "_TRACER_PROVIDER", None) is not None and tracing.active()


# -- headers: the origin rule ---------------------------------------------------------------

USER_AGENT: Final = (
    f"odirouter-async/{VERSION} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)
# A random prefix per process and a counter: unique ids without a system call per request.
_RID_PREFIX: Final = "req_" + os.urandom(8).hex()
_rid_counter = itertools.count(1)


def new_request_id() -> str:
    """A fresh ``X-Request-Id`` value (unique within the process, random across processes)."""
    return f"{_RID_PREFIX}{next(_rid_counter):08x}"


def merge_headers(into: dict[str, str], more: Mapping[str, str]) -> None:
    """``into.update(more)`` with names compared case-insensitively (the later spelling wins)."""
    for name, value in more.items():
        lower = name.lower()
        for old in [k for k in into if k != name and k.lower() == lower]:
            del into[old]
        into[name] = value


def _has_rid(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "x-request-id" for k in headers)


class OriginHeaders:
    """The headers of one client view, per origin; the only holder of the key in the transport.

    ``Authorization`` only to the configured origin; elsewhere nothing that carries the key
    (``default_headers`` and ``extra_headers`` follow that one rule); ``X-Request-Id`` always
    (the caller's, else a generated one); ``User-Agent`` unless the caller set their own.  The
    header sets (ours, others', and each with a constant extra set such as ``ACCEPT_SSE``) are
    prepared once per view; a request copies one.  Their credentials are ``Secret`` values, so
    even a plain dict of them never shows one in a repr.
    """

    __slots__ = (
        "__key",
        "_auth",
        "_custom_rid",
        "_own_prefixes",
        "_plain",
        "_prepared",
        "base_url",
        "defaults",
        "origin",
    )

    def __init__(self, base_url: str, api_key: str, default_headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.__key = Secret(api_key)  # a str whose repr is '***'
        #: the caller's default headers, as given (a view merges its own over them); credentials
        #: (by name, or the key under any name) are ``Secret`` values, never in a repr
        self.defaults: dict[str, str] = RedactedHeaders(default_headers, self.is_secret)
        self.origin: Origin = origin_of(base_url)
        host = f"[{self.origin.host}]" if ":" in self.origin.host else self.origin.host
        prefix = f"{self.origin.scheme}://{host}"
        # A URL that starts with one of these (authority ended by "/") is ours without parsing it.
        self._own_prefixes: tuple[str, ...] = (f"{prefix}:{self.origin.port}/",)
        if _DEFAULT_PORTS.get(self.origin.scheme) == self.origin.port:
            self._own_prefixes += (f"{prefix}/",)
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        merge_headers(base, self.defaults)
        # Our origin: the caller's headers, but one Authorization, ours.  Other origins: no
        # Authorization and nothing that carries the key.
        self._auth = {k: v for k, v in base.items() if k.lower() != "authorization"}
        self._auth["Authorization"] = Secret(f"Bearer {api_key}")
        self._plain = {k: v for k, v in base.items() if not self.is_secret(k, v)}
        # Whether default headers carry an X-Request-Id of their own (rare): then look for it.
        self._custom_rid = _has_rid(base)
        #: (ours?, id of a constant extra set) -> (that set, the merged headers, custom id?)
        self._prepared: dict[tuple[bool, int], tuple[Mapping[str, str], dict[str, str], bool]] = {}

    def __repr__(self) -> str:
        return f"OriginHeaders(base_url={self.base_url!r}, api_key='***')"

    def is_secret(self, name: str, value: str) -> bool:
        """Whether a header must not leave the configured origin: Authorization, or the key."""
        if name.lower() in ("authorization", "proxy-authorization"):
            return True
        key = self.__key
        value = str(value).strip()
        return value == key or value.endswith(" " + key) or (len(key) >= 8 and key in value)

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) goes to the configured origin."""
        if not url.startswith(("http://", "https://")):
            return True  # a relative path is ours by construction: no URL parsing on the hot path
        if url.startswith(self._own_prefixes):
            return True
        return origin_of(url) == self.origin

    def _with(self, ours: bool, extra: Mapping[str, str]) -> tuple[Mapping[str, str], dict[str, str], bool]:
        """The prepared set with a constant ``extra`` merged over it (built once per view)."""
        key = (ours, id(extra))
        found = self._prepared.get(key)
        if found is None or found[0] is not extra:
            merged = dict(self._auth if ours else self._plain)
            merged.update(extra)
            found = (extra, merged, _has_rid(merged))
            if len(self._prepared) < 16:
                self._prepared[key] = found  # holds ``extra``: its id is not reused meanwhile
        return found

    def build(
        self, own: bool, auth: bool, extra: Mapping[str, str] | None, options: RequestOptions
    ) -> tuple[dict[str, str], str]:
        """The headers of one call (a fresh plain dict) and its ``X-Request-Id``."""
        ours = auth and own
        if extra is None:
            prepared, custom = self._auth if ours else self._plain, self._custom_rid
        elif type(extra) is MappingProxyType:
            _, prepared, custom = self._with(ours, extra)
        else:
            prepared, custom = None, True
        if prepared is not None and options.extra_headers is None:  # nothing per call: one copy
            headers = prepared.copy()
            if not custom:
                rid = options.x_request_id or new_request_id()
                headers["X-Request-Id"] = rid
                return headers, rid
        else:
            headers = dict(self._auth if ours else self._plain)
            if extra:
                headers.update(extra)
            if options.extra_headers:  # credentials there are Secret values already (RequestOptions.of)
                headers.update(
                    {k: v for k, v in options.extra_headers.items() if own or not self.is_secret(k, v)}
                )
        rid = options.x_request_id or _header(headers, "x-request-id") or new_request_id()
        for k in [k for k in headers if k.lower() == "x-request-id" and k != "X-Request-Id"]:
            del headers[k]
        headers["X-Request-Id"] = rid
        return headers, rid


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


@functools.lru_cache(maxsize=64)  # Timeout is frozen: one ClientTimeout per distinct value
def _client_timeout(t: Timeout) -> aiohttp.ClientTimeout:
    return client_timeout(t)  # pool.py: ``pool`` bounds the wait for a slot only (PoolWait)


@dataclass(slots=True)
class _Request:
    """One call, prepared once and sent once per attempt."""

    method: str
    url: str
    own: bool
    headers: dict[str, str]
    rid: str
    policy: RetryPolicy
    timeout: aiohttp.ClientTimeout
    paid: bool
    ok_statuses: frozenset[int]
    body: Any = None
    #: a zero-argument callable body is a factory, called once per attempt: a streamed body (a
    #: file upload) is then sent whole again on a retry
    make_body: Callable[[], Any] | None = None
    params: Any = None

    def __repr__(self) -> str:  # never the headers (Authorization) nor the body
        return f"_Request({self.method} {_path(self.url)} request_id={self.rid!r} own={self.own})"


class Transport:
    """Sends requests for one client view (base URL, key, defaults) over a shared pool."""

    def __init__(
        self,
        *,
        headers: OriginHeaders,
        timeout: Timeout,
        retry: RetryPolicy,
        pool: Pool,
        strict_origins: bool = False,
    ) -> None:
        self.headers = headers
        self.base_url = headers.base_url
        self.timeout = timeout
        self.retry = retry
        self.pool = pool
        #: the pool's ``Limits`` (body and event bounds; fixed for the pool's life)
        self.limits: Limits = pool.limits
        self.strict_origins = strict_origins
        #: where the key came from, named by a 401's message ("api_key" or an environment variable)
        self.key_source: str | None = None
        self.is_own_origin = headers.is_own_origin
        self._own_prefixes = headers._own_prefixes
        self._client_timeout = _client_timeout(timeout)
        self._timeouts: dict[tuple[type, object], aiohttp.ClientTimeout] = {}
        self._policies: dict[int, RetryPolicy] = {}

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key='***')"

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def encode_json(body: object) -> bytes:
        """msgspec-encode a request body; a caller's unencodable value is a clear TypeError."""
        try:
            return _encode(body)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"request body is not JSON-encodable: {exc}") from None

    def _timeout_for(self, options: RequestOptions) -> aiohttp.ClientTimeout:
        value = options.timeout
        if isinstance(value, NotGiven):
            return self._client_timeout
        key = (type(value), value)  # the type too: True == 1, and True is refused
        cached = self._timeouts.get(key)
        if cached is None:
            cached = _client_timeout(resolve_timeout(value, self.timeout))
            if len(self._timeouts) < 64:
                self._timeouts[key] = cached
        return cached

    def _policy_for(self, options: RequestOptions) -> RetryPolicy:
        wanted = options.max_retries
        if isinstance(wanted, NotGiven) or wanted == self.retry.max_retries:
            return self.retry
        policy = self._policies.get(wanted)  # e.g. every poll's max_retries=0: built once
        if policy is None:
            policy = replace(self.retry, max_retries=wanted)
            if len(self._policies) < 16:
                self._policies[wanted] = policy
        return policy

    # -- building a call (the origin rule) -------------------------------------------------

    def _build(
        self,
        method: str,
        url: str,
        json: object,
        content: bytes | None,
        data: Any,
        query: Mapping[str, Any] | None,
        options: RequestOptions,
        auth: bool,
        extra: Mapping[str, str] | None,
        paid: bool,
        ok_statuses: frozenset[int],
        /,
    ) -> _Request:
        """One call, prepared once: the origin rule (headers, key), body, query, timeout, budget.

        Positional only, in the order of ``request``'s parameters (``extra``: its ``headers``).
        """
        if url[:1] == "/":  # a path: ours by construction (most calls)
            own, full = True, self.base_url + url
        elif url.startswith(self._own_prefixes):  # a URL the gateway returned, on our origin
            own, full = True, url
        else:
            own, full = self.is_own_origin(url), join_url(self.base_url, url)
        if not own and self.strict_origins and auth:
            raise InsecureURLError(f"refusing to follow a URL on another origin: {origin_of(full).host}")
        headers, rid = self.headers.build(own, auth, extra, options)
        req = _Request(
            method,
            full,
            own,
            headers,
            rid,
            self._policy_for(options),
            self._timeout_for(options),
            paid,
            ok_statuses,
        )
        if json is not NOT_GIVEN:
            if options.extra_body and isinstance(json, dict):
                json = options.merge_body(json)
            req.body = self.encode_json(json)
            req.headers["Content-Type"] = "application/json"
        elif content is not None:
            req.body = content
        elif callable(data) and not isinstance(data, aiohttp.FormData):  # FormData is callable too
            req.make_body = data
        else:
            req.body = data
        if query or options.extra_query:
            req.params = {**(query or {}), **(options.extra_query or {})}
        return req

    # -- the layers ------------------------------------------------------------------------

    async def _send(self, req: _Request) -> tuple[aiohttp.ClientResponse, float]:
        """The call inside one tracing span (``http/tracing.py``): only when ``_traced()``."""
        with tracing.http_span(req.method, req.url, req.rid, own=req.own) as span:
            try:
                resp, elapsed = await self._send_handling_retries(req)
            except APIStatusError as exc:
                span.status(exc.status_code, exc.x_request_id)
                raise
            span.status(resp.status, answer_request_id(resp.headers, req.rid))
            return resp, elapsed

    async def _send_handling_retries(self, req: _Request) -> tuple[aiohttp.ClientResponse, float]:
        """Attempts until a success (or an ``ok_statuses`` answer), or the policy gives up."""
        policy = req.policy
        delays: Iterator[float] | None = None  # built on the first retry only
        attempt = 0
        while True:
            attempt += 1
            resp, err, failure, elapsed = await self._send_single_request(req, attempt)
            hint: float | None = None
            if resp is not None:
                if resp.status < 300 or resp.status in req.ok_statuses:
                    return resp, elapsed
                why = str(resp.status)
                err, hint, retry = await self._status_error(req, resp)
                resp = None  # aiohttp's response holds the request headers: not in this frame
            else:
                why = type(err).__name__
                retry = policy.should_retry(paid=req.paid, failure=failure)
            assert err is not None
            if retry:
                delays = delays or policy.delays()
            delay = policy.next_delay(attempt - 1, delays, server_hint=hint) if retry and delays else None
            if delay is None:
                raise err
            logger.info(
                "retrying %s %s after %s in %.3fs request_id=%s attempt=%d",
                *(req.method, _path(req.url), why, delay, req.rid, attempt),
            )
            await anyio.sleep(delay)

    async def _status_error(
        self, req: _Request, resp: aiohttp.ClientResponse
    ) -> tuple[OdiRouterError, float | None, bool]:
        """An error status: its body read whole (bounded), the typed error, the retry hint."""
        try:
            read = req.timeout.sock_read  # the whole error body within one Timeout.read (a trickle)
            raw, _ = await read_capped(resp, ERROR_BODY_CAP, req.rid, partial_ok=True, total=read)
        finally:
            resp.release()
        headers = resp.headers
        hint = parse_retry_after(headers, time.time())
        retry = req.policy.should_retry(paid=req.paid, status=resp.status, headers=headers)
        err = make_status_error(
            resp.status,
            {k.lower(): v for k, v in headers.items()},
            raw,
            x_request_id=req.rid,
            retry_after=hint,
        )
        err.add_context(req.method, req.url, own=req.own, key_source=self.key_source)
        return err, hint, retry

    async def _send_single_request(
        self, req: _Request, attempt: int
    ) -> tuple[aiohttp.ClientResponse | None, OdiRouterError | None, Failure | None, float]:
        """One attempt: ``(response, None, None, elapsed)`` or ``(None, error, failure, elapsed)``."""
        session = self.pool.get()
        started = time.monotonic()
        err: OdiRouterError | None = None
        failure: Failure | None = None
        resp: aiohttp.ClientResponse | None = None
        proxy, proxy_headers = self.pool.route(req.url)
        try:
            with PoolWait(req.timeout, req.rid) as wait:  # Timeout.pool: APITimeoutError, not retried
                resp = await session.request(
                    req.method,
                    req.url,
                    data=req.body if req.make_body is None else req.make_body(),
                    params=req.params,
                    headers=req.headers,
                    timeout=req.timeout,
                    allow_redirects=not req.own,
                    proxy=proxy,
                    proxy_headers=proxy_headers,
                    trace_request_ctx=wait,
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            err, failure = translate(exc, req.rid)
        except RuntimeError:  # aiohttp's "Session is closed"
            if not session.closed:
                raise
        except asyncio.CancelledError:  # aiohttp cancels the waiters for a slot when the pool closes
            if not self.pool.closed or _cancelling():
                raise
            raise ClientClosedError(
                "the client was closed while this request waited for a free connection; it was not sent",
                x_request_id=req.rid,
                sent=False,
            ) from None
        if resp is None and (err is None or self.pool.closed):  # the session was closed under us
            err = ClientClosedError(
                "the client was closed during the request", x_request_id=req.rid, sent=True
            )
        elif resp is not None:
            self.pool.track(resp, req.rid)
        elapsed = time.monotonic() - started
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "HTTP %s %s -> %s request_id=%s attempt=%d elapsed=%.3fs",
                *(req.method, _path(req.url), resp.status if resp is not None else type(err).__name__),
                *(req.rid, attempt, elapsed),
            )
        if isinstance(err, ClientClosedError):
            raise err
        return resp, err, failure, elapsed

    # -- the two entry points --------------------------------------------------------------

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
        ok_statuses: frozenset[int] = _NO_STATUSES,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResponse:
        """Send a request and read the whole body.  Non-2xx (and not ok) statuses raise typed errors.

        ``data`` may be a zero-argument callable: a body factory, called once per attempt.
        """
        req = self._build(method, url, json, content, data, query, options, auth, headers, paid, ok_statuses)
        if not _traced():
            resp, elapsed = await self._send_handling_retries(req)
            return await self._read_whole(req, resp, elapsed)
        llm = genai.llm_span(method, req.url, json) if paid else None
        if llm is None:
            resp, elapsed = await self._send(req)
            return await self._read_whole(req, resp, elapsed)
        with llm.current():  # the LLM span (GenAI conventions), parent of the HTTP span; errors end it
            resp, elapsed = await self._send(req)
            answer = await self._read_whole(req, resp, elapsed)
        llm.record_body(answer.content)
        return answer

    async def _read_whole(self, req: _Request, resp: aiohttp.ClientResponse, elapsed: float) -> HTTPResponse:
        """The answer's whole body (bounded by ``Limits.max_body_bytes``), the connection released."""
        rid = answer_request_id(resp.headers, req.rid)
        status, resp_headers = resp.status, resp.headers
        limit = self.pool.limits.max_body_bytes
        try:
            body, complete = await read_capped(resp, limit, rid)
        except (APIConnectionError, RuntimeError):  # RuntimeError: aiohttp's "Connection closed."
            if not self.pool.closed:
                raise
            body, complete = b"", False
        finally:
            resp.release()  # closes the connection when the body was not read to its end
            del resp  # aiohttp's response holds the request headers: not in this frame
        if self.pool.closed and not complete:
            raise ClientClosedError(
                "the client was closed while this response was being read", x_request_id=rid, sent=True
            )
        if not complete:
            raise ResponseValidationError(
                f"response body from {_path(req.url)} exceeds Limits.max_body_bytes "
                f"({limit} bytes, counted after decompression)",
                x_request_id=rid,
                body=body[:EXCERPT].decode("utf-8", "replace"),
                status_code=status,
            )
        sink = capture.SINK.get()  # with_raw_response's sink, else None: no call
        if sink is not None:
            sink.note(status, resp_headers, rid, req.url)
        return HTTPResponse(status, resp_headers, body, rid, req.url, elapsed)

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
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = _NO_STATUSES,
    ) -> StreamResponse:
        """Send a request and return once the headers arrived; the caller must close the result.

        Retries happen only before the first body byte is read.
        """
        req = self._build(method, url, json, None, data, query, options, auth, headers, paid, ok_statuses)
        llm = None
        if not _traced():
            resp, _ = await self._send_handling_retries(req)
        elif paid and (llm := genai.llm_span(method, req.url, json)) is not None:
            with llm.current():  # ended with the stream (AsyncStream), or here on an error
                resp, _ = await self._send(req)
        else:
            resp, _ = await self._send(req)
        rid = answer_request_id(resp.headers, req.rid)
        sink = capture.SINK.get()  # with_raw_response's sink, else None: no call
        if sink is not None:
            sink.note(resp.status, resp.headers, rid, req.url)
        stream = StreamResponse(resp, rid, req.url, self.pool, req.timeout.sock_read)
        stream.genai = llm
        return stream


def _cancelling() -> bool:
    """Whether the current task is being cancelled (a caller's cancellation, not the pool's close).

    Python 3.10 cannot tell: there a close of the pool wins.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False
