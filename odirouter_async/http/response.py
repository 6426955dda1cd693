"""The response side of the one request path: reading bodies and translating aiohttp's errors.

Used only by ``http/transport.py`` (and through it by every resource).  It owns:

* ``HTTPResponse`` (a body read whole) and ``StreamResponse`` (a body read as it arrives);
* bounded reads (``read_capped``): a successful body up to ``Limits.max_body_bytes``, counted
  after decompression so a small gzip bomb cannot fill memory; an error body whole (several
  writes) up to ``ERROR_BODY_CAP``;
* decoding: ``HTTPResponse.parse``/``json`` turn every decoder failure (bad JSON, wrong shape,
  nesting too deep for msgspec's ``RecursionError``) into ``ResponseValidationError`` with the
  status, request id and body;
* ``translate``: the one mapping from aiohttp/asyncio exceptions to the SDK's errors.  aiohttp's
  exceptions carry the request (``request_info.headers``: the API key), so they are never
  chained: the SDK error gets a ``NetworkErrorDetail`` (aiohttp's type and words only) as
  ``__cause__`` and must be raised outside the ``except`` block, so ``__context__`` stays empty.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import aiohttp
import anyio
import msgspec
from multidict import CIMultiDictProxy

from .._exceptions import (
    PROXY_AUTH_HINT,
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    InsecureURLError,
    OdiRouterError,
    ResponseValidationError,
)
from ..types._base import TopLevel, attach_raw
from .retry import Failure

__all__ = (
    "ERROR_BODY_CAP",
    "ERROR_BODY_IDLE",
    "ERROR_BODY_TOTAL",
    "EXCERPT",
    "READ_ERRORS",
    "HTTPResponse",
    "NetworkErrorDetail",
    "StreamResponse",
    "read_capped",
    "translate",
    "url_path",
)

_T = TypeVar("_T")
#: Error bodies are read whole up to this many bytes (the rest is dropped with the connection).
ERROR_BODY_CAP: Final = 1 << 20
#: Once an error body started, a silence this long (seconds) ends it: what arrived is used.
ERROR_BODY_IDLE: Final = 2.0
#: An error body is read for at most this long in all (seconds), and never longer than
#: ``Timeout.read``: a body trickling a byte at a time must not hold the error back.
ERROR_BODY_TOTAL: Final = 10.0
#: How much of an undecodable body a ResponseValidationError keeps in ``.body``.
_BODY_EXCERPT: Final = 1 << 20
_DECODE_ERRORS: Final = (msgspec.DecodeError, RecursionError)
#: what reading a body may raise: aiohttp's errors, a timeout, aiohttp's "Connection closed."
READ_ERRORS: Final = (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError)
EXCERPT: Final = 2000


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
        """Decode the body with a prebuilt msgspec decoder; the raw JSON stays reachable.

        Any decoder failure is a ``ResponseValidationError`` (status, request id, body).
        """
        try:
            obj = decoder.decode(self.content)
        except _DECODE_ERRORS as exc:
            raise self._invalid("unexpected response body", exc) from None
        if isinstance(obj, TopLevel):
            attach_raw(obj, self.content, self.request_id)
        return obj

    def json(self) -> Any:
        """The body as plain Python objects."""
        try:
            return msgspec.json.decode(self.content)
        except _DECODE_ERRORS as exc:
            raise self._invalid("response body is not JSON", exc) from None

    def _invalid(self, what: str, exc: Exception) -> ResponseValidationError:
        why = "JSON nested too deeply to decode" if isinstance(exc, RecursionError) else str(exc)
        return ResponseValidationError(
            f"{what} from {url_path(self.url)}: {why}",
            x_request_id=self.request_id,
            body=self.content[:_BODY_EXCERPT].decode("utf-8", "replace"),
            status_code=self.status,
        )


class StreamResponse:
    """An open response whose body is read incrementally; close it with :meth:`aclose`."""

    __slots__ = (
        "_idle",
        "_pool",
        "_quiet_since",
        "_resp",
        "_seen",
        "_timer",
        "consumed",
        "genai",
        "headers",
        "idle_timeout",
        "request_id",
        "status",
        "url",
    )

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        request_id: str | None,
        url: str,
        pool: Any = None,
        idle_timeout: float | None = None,
    ) -> None:
        self._resp = resp
        #: the LLM span (``http.genai.GenAISpan``) the stream ends, when tracing records
        self.genai: Any = None
        self.status = resp.status
        self.headers = resp.headers
        self.request_id = request_id
        self.url = url
        self._pool = pool  # the client's Pool: once it is closed, a failed read is ClientClosedError
        #: the call's ``Timeout.read``: the longest silence between two reads of the body
        self.idle_timeout = idle_timeout
        #: body bytes handed out by ``readany`` (a reader that watches idleness adds them)
        self.consumed = 0
        self._timer: asyncio.TimerHandle | None = None

    def watch_idle(self) -> None:
        """Enforce ``idle_timeout`` here, checked lazily, instead of by aiohttp on every read.

        aiohttp's ``sock_read`` cancels and re-arms a timer on every network read (a long or a
        token-by-token stream pays one per chunk); here one timer looks at the body now and then
        (every eighth of the timeout while bytes flow) and ends the read with the same timeout
        error once no byte arrived for ``idle_timeout`` seconds, late by at most an eighth of it,
        never early.  Bytes that arrived but wait unread (a reader slower than the network) are
        no silence, as aiohttp pauses its timer then.  The caller adds what it reads to
        ``consumed``.  aiohttp switches its own timer off the same way for websockets; it is set
        again for the connection's next request.
        """
        idle = self.idle_timeout
        conn = self._resp.connection
        if not idle or conn is None or conn.protocol is None or self._timer is not None:
            return  # no timeout, or the body is already in
        conn.protocol.read_timeout = None  # its timer armed at the headers ends at the next read
        loop = asyncio.get_running_loop()
        self._seen = self._resp.content.total_bytes
        self._quiet_since = loop.time()
        self._idle = idle
        self._timer = loop.call_at(self._quiet_since + idle / 8, self._check_idle)

    def _check_idle(self) -> None:
        self._timer = None
        content = self._resp.content
        if content.is_eof() or content.exception() is not None:
            return  # the body ended (or failed): nothing left to watch
        loop = asyncio.get_running_loop()
        now = loop.time()
        total = content.total_bytes
        if total != self._seen or self.consumed < total:  # bytes arrived, or wait to be read
            self._seen = total
            self._quiet_since = now
        elif now - self._quiet_since >= self._idle:
            content.set_exception(aiohttp.ServerTimeoutError("Timeout on reading data from socket"))
            return
        self._timer = loop.call_at(
            min(now + self._idle / 8, self._quiet_since + self._idle), self._check_idle
        )

    def _stop_watching(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def __repr__(self) -> str:
        return f"<StreamResponse {self.status} {url_path(self.url)} x_request_id={self.request_id!r}>"

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        return self._resp.content_type.lower()

    @property
    def readany(self) -> Callable[[], Awaitable[bytes]]:
        """The body's next bytes as they arrive (``b""`` at its end), aiohttp's own read: a caller
        that reads in a loop catches ``READ_ERRORS`` and raises ``read_error(exc)`` (outside its
        ``except`` block).  An idle gap longer than ``Timeout.read`` is such an error."""
        return self._resp.content.readany

    def read_error(self, exc: BaseException) -> OdiRouterError:
        """The SDK's error for a failed body read (``ClientClosedError`` once the client is
        closed, else ``translate``'s); a ``RuntimeError`` not caused by a close is raised again."""
        if self._pool is not None and self._pool.closed:  # aiohttp's "Connection closed."
            return ClientClosedError(
                "the client was closed while this response was being read",
                x_request_id=self.request_id,
                sent=True,
            )
        if isinstance(exc, RuntimeError):
            raise exc
        return translate(exc, self.request_id)[0]

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive.  An idle gap longer than ``Timeout.read`` raises APITimeoutError."""
        content = self._resp.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except READ_ERRORS as exc:
            err = self.read_error(exc)
        raise err  # outside the except block: no __context__ holding the request

    async def read(self, limit: int = ERROR_BODY_CAP) -> bytes:
        """The body, or its first ``limit`` bytes, for error reports: several reads if need be,
        best effort (what arrived before a network failure)."""
        body, _ = await read_capped(self._resp, limit, self.request_id, partial_ok=True)
        return body

    def release_if_read(self) -> bool:
        """Give the connection back to the pool now if the body was read to its end."""
        resp = self._resp
        if resp.content.at_eof():
            self._stop_watching()
            resp.release()
            return True
        return False

    async def drain(self, seconds: float = 0.1, limit: int = 1 << 16) -> None:
        """Read what is left (bounded) so the connection can go back to the pool, then release."""
        self._stop_watching()
        resp = self._resp
        with anyio.move_on_after(seconds):
            try:
                while not resp.content.at_eof():
                    if not await resp.content.read(limit):
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError, ClientClosedError, RuntimeError):
                resp.close()
                return
        if resp.content.at_eof():
            resp.release()
        else:
            resp.close()

    def close(self) -> None:
        """Drop the connection now (safe under cancellation: no await)."""
        self._stop_watching()
        self._resp.close()

    async def aclose(self) -> None:
        """Close the response and free its connection."""
        self.close()


class NetworkErrorDetail(Exception):
    """What aiohttp reported, as the ``__cause__`` of the SDK's error: its type and its words.

    aiohttp's own exception is not chained because it carries the request
    (``request_info.headers`` holds ``Authorization``); this copy holds no request data.
    """


def _detail(exc: BaseException) -> NetworkErrorDetail:
    name = f"{type(exc).__module__.split('.')[0]}.{type(exc).__qualname__}"
    if isinstance(exc, aiohttp.ClientResponseError):  # str() would show request_info's URL
        text = f"{exc.status}, message={exc.message!r}"
    else:
        try:
            text = str(exc)
        except Exception:  # a broken __str__ must not hide the real error
            text = ""
    return NetworkErrorDetail(f"{name}: {text}" if text else name)


def translate(exc: BaseException, request_id: str | None) -> tuple[OdiRouterError, Failure]:
    """The one mapping from aiohttp/asyncio exceptions to the SDK's errors.

    The result's ``__cause__`` is a ``NetworkErrorDetail``; raise it outside the ``except``
    block that caught ``exc`` so ``__context__`` stays empty.
    """
    err, failure = _map(exc, request_id)
    err.__cause__ = _detail(exc)
    err.__suppress_context__ = True
    return err, failure


def _map(exc: BaseException, request_id: str | None) -> tuple[OdiRouterError, Failure]:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return (
            APITimeoutError("Timed out connecting.", x_request_id=request_id, sent=False),
            Failure.CONNECT,
        )
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return APITimeoutError(
            "Timed out reading the response.", x_request_id=request_id
        ), Failure.READ_TIMEOUT
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return (
            APIConnectionError(
                f"TLS certificate error: {exc.certificate_error}", x_request_id=request_id, sent=False
            ),
            Failure.CONNECT,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return (
            APIConnectionError(
                f"Cannot connect to {exc.host}:{exc.port}: {exc.strerror or exc}",
                x_request_id=request_id,
                sent=False,
            ),
            Failure.CONNECT,
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError("Server disconnected.", x_request_id=request_id), Failure.DISCONNECTED
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(
            "The response body was cut short.", x_request_id=request_id
        ), Failure.DISCONNECTED
    if isinstance(exc, aiohttp.TooManyRedirects):
        hops = exc.history
        last = f", the last from {str(hops[-1].url).split('?', 1)[0]}" if hops else ""
        return (
            APIConnectionError(
                f"Too many redirects ({len(hops)} followed{last}): the server redirects in a loop",
                x_request_id=request_id,
            ),
            Failure.DISCONNECTED,
        )
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy refused the CONNECT
        why = f"; {PROXY_AUTH_HINT}" if exc.status == 407 else ""
        return (
            APIConnectionError(
                f"The proxy refused the connection: {exc.status} {exc.message}{why}",
                x_request_id=request_id,
                sent=False,
            ),
            Failure.CONNECT,
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return (
            APIConnectionError(f"Invalid HTTP response: {exc.message}", x_request_id=request_id),
            Failure.DISCONNECTED,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return InsecureURLError(f"invalid URL: {exc}", x_request_id=request_id), Failure.CONNECT
    return APIConnectionError(
        f"Connection error: {type(exc).__name__}: {exc}", x_request_id=request_id
    ), Failure.DISCONNECTED


async def read_capped(
    resp: aiohttp.ClientResponse,
    cap: int,
    request_id: str | None,
    *,
    partial_ok: bool = False,
    total: float | None = None,
) -> tuple[bytes, bool]:
    """Read the (decompressed) body in chunks until EOF or ``cap`` bytes: ``(body, complete)``.

    A body longer than ``cap`` stops the reading and drops the connection (``complete`` False);
    what is returned then is its first ``cap`` bytes with ``partial_ok``, else a short excerpt.
    A transport failure raises the translated error, or with ``partial_ok`` returns what arrived:
    an error body is read best-effort, and once its first bytes are in, a silence longer than
    ``ERROR_BODY_IDLE`` ends it (a body that never ends must not hold the error back), and the
    whole read takes at most ``total`` seconds (the call's ``Timeout.read``), never more than
    ``ERROR_BODY_TOTAL``: a body trickling a byte at a time ends there too.
    """
    content = resp.content
    chunks: list[bytes] = []
    size = 0
    err: OdiRouterError | None = None
    deadline = math.inf
    clock = asyncio.get_running_loop().time  # the loop's clock, as the timers that end the reads
    if partial_ok:
        deadline = clock() + min(total or ERROR_BODY_TOTAL, ERROR_BODY_TOTAL)
    try:
        while True:
            if partial_ok:
                left = deadline - clock()
                with anyio.move_on_after(min(ERROR_BODY_IDLE, left) if chunks else left) as scope:
                    chunk = await content.readany()
                if scope.cancelled_caught:
                    resp.close()
                    return b"".join(chunks), False
            else:
                chunk = await content.readany()
            if not chunk:
                break
            size += len(chunk)
            if size <= cap and not chunks and content.at_eof():
                return chunk, True  # the whole body in one piece (most JSON answers)
            if size > cap:
                resp.close()  # the rest is never read: the connection cannot be reused
                if not partial_ok:  # a refused body: an excerpt is all the error shows
                    return (chunks[0] if chunks else chunk)[:EXCERPT], False
                chunks.append(chunk[: cap - size + len(chunk)])
                return b"".join(chunks), False
            chunks.append(chunk)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        err = translate(exc, request_id)[0]
    if err is not None:
        resp.close()
        if not partial_ok:
            raise err
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return body, err is None


def url_path(url: str) -> str:
    """The path of an absolute URL, without its query (for messages and logs)."""
    i = url.find("/", url.find("//") + 2)
    path = url[i:] if i >= 0 else "/"
    return path.split("?", 1)[0]
