"""``AsyncStream[T]``: an open SSE response as an async iterator of typed items (I/O shell).

One generic loop over a sans-IO ``StreamProtocol`` (``llm.stream_protocol``): per network
read, ``protocol.feed(data)`` returns the typed items that read completed, and they are yielded.
Every rule of the stream's content lives in the protocol (chat: ``llm.chat_protocol``,
Responses: ``llm.responses_protocol``): the end (``[DONE]``, the terminal event, "every
choice finished"), in-band errors, bad JSON, the event size bound (``Limits.max_event_bytes``),
a body cut inside an event.  What this shell decides:

* **content type**: a non-``text/event-stream`` answer raises ``SSEProtocolError`` with a
  bounded excerpt of the body (``open_sse``; openai-python silently yields nothing), or
  ``StreamEventError`` when that body is an error object (plain or SSE-framed);
* **the transport**: a connection cut mid-body -> ``StreamInterrupted`` (``__cause__``: the
  transport error); a silence longer than ``Timeout.read`` -> ``APITimeoutError``; a bad event's
  ``ResponseValidationError`` gets the HTTP status;
* **release**: after the end the rest of the body is drained for at most ``DRAIN_SECONDS``
  (shielded) so the connection returns to the pool (openai-python #3440); otherwise the
  response is closed synchronously, which no cancellation can interrupt.  ``async for`` gets an
  iterator the stream does not reference: leaving the loop (``break``, an exception, a
  cancellation) drops it, and it closes the response at once, without ``async with``.

Memory is bounded by one network read and one event (the protocol keeps no items).  A stream
is consumed once: iterating it after its end yields nothing; after an early close it raises
``RuntimeError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

import anyio
from multidict import CIMultiDictProxy

from .._closing import AsyncClosing
from .._config import RequestOptions
from .._exceptions import (
    APIConnectionError,
    APITimeoutError,
    OdiRouterError,
    ResponseValidationError,
    SSEProtocolError,
    StreamEventError,
)
from ..http.error_body import parse_error_body
from ..http.response import READ_ERRORS, StreamResponse
from ..http.transport import ACCEPT_SSE, Transport
from .stream_protocol import StreamProtocol

if TYPE_CHECKING:  # re-exported on first use (``__getattr__``): a chat stream never loads Responses
    from .responses_protocol import ResponseStreamItem

__all__ = (
    "AsyncStream",
    "ExchangeInfo",
    "ProtocolFactory",
    "ResponseStreamItem",
    "open_sse",
    "open_sse_stream",
)

_T = TypeVar("_T")

#: How long the rest of a finished body is read so its connection can be reused.
DRAIN_SECONDS: Final = 0.1
_EXCERPT: Final = 2000
_ACCEPT_SSE: Final = ACCEPT_SSE  # a constant header set: merged once per client view

# Stream states.
_NEW, _ITERATING, _DONE, _CLOSED = 0, 1, 2, 3


class ProtocolFactory(Protocol[_T]):
    """A protocol class (``ChatStreamProtocol``, ``ResponsesStreamProtocol``) or its stand-in."""

    def __call__(
        self, *, x_request_id: str | None, max_event_bytes: int, accumulate: bool
    ) -> StreamProtocol[_T]: ...


async def open_sse_stream(
    transport: Transport,
    path: str,
    body: dict[str, Any],
    options: RequestOptions,
    protocol: ProtocolFactory[_T],
    *,
    accumulate: bool = False,
) -> AsyncStream[_T]:
    """POST a stream request (paid: retried only before any work started) and wrap the answer.

    ``protocol`` is built with the answer's ``X-Request-Id``, the client's
    ``Limits.max_event_bytes`` and ``accumulate`` (the ``.stream()`` helpers read its state).
    """
    response = await transport.open_stream(
        "POST", path, json=body, options=options, paid=True, headers=_ACCEPT_SSE
    )
    await open_sse(response)
    proto = protocol(
        x_request_id=response.request_id,
        max_event_bytes=transport.limits.max_event_bytes,
        accumulate=accumulate,
    )
    return AsyncStream(response, proto)


async def open_sse(response: StreamResponse) -> None:
    """Check that an opened stream request answered SSE; else close it and raise.

    A 2xx body that is an error object (``{"error": {...}}``, plain or SSE-framed, as proxies
    answer a failed stream) raises ``StreamEventError`` with its message and code; anything else
    ``SSEProtocolError`` with an excerpt.
    """
    ctype = response.content_type
    if ctype == "text/event-stream":
        return
    try:
        await _refuse(response, ctype)
    except BaseException as exc:
        if response.genai is not None:  # the LLM span of a stream that never started
            response.genai.end(exc)
        raise


async def _refuse(response: StreamResponse, ctype: str) -> None:
    """Raise the error for a stream request answered with something else than SSE."""
    try:
        raw = await response.read(_EXCERPT * 4)
    finally:
        response.close()
    info = parse_error_body(raw, ctype)
    if isinstance(info.body, dict) and info.body.get("error"):
        raise StreamEventError(
            info.message,
            error=info.body["error"],
            x_request_id=response.request_id,
            code=info.code,
            error_type=info.error_type,
        )
    text = raw.decode("utf-8", "replace")
    shown = text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."
    raise SSEProtocolError(
        f"expected a text/event-stream answer to a stream request, got {ctype or 'no content type'!r}: "
        f"{shown!r}",
        x_request_id=response.request_id,
        body=shown,
    )


class ExchangeInfo:
    """What a stream (or a helper around one) tells of its HTTP exchange; reads ``self.response``."""

    __slots__ = ()
    response: StreamResponse

    @property
    def x_request_id(self) -> str | None:
        """The ``X-Request-Id`` of the exchange (the gateway's echo, else the one we sent)."""
        return self.response.request_id

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers."""
        return self.response.headers


class AsyncStream(ExchangeInfo, AsyncClosing, Generic[_T]):
    """A streamed response: ``async for item in stream`` and ``async with stream``.

    Chat streams yield ``ChatCompletionChunk``; Responses streams yield a ``ResponseStreamEvent``
    member or ``UnknownEvent``.  Get one from ``create(..., stream=True)``.

    Attributes:
        response: the open HTTP response (``status``, ``headers``, ``request_id``).
        protocol: the sans-IO protocol that turns the body into items (and keeps their state).
        error: the exception that ended the stream early, once one did.
    """

    __slots__ = ("_genai", "_iter", "_loop", "_owner", "_state", "error", "protocol", "response")

    def __init__(self, response: StreamResponse, protocol: StreamProtocol[_T]) -> None:
        """Wrap an open ``text/event-stream`` response (see ``open_sse``).

        Args:
            response: from ``Transport.open_stream``.
            protocol: a fresh ``ChatStreamProtocol`` or ``ResponsesStreamProtocol``.
        """
        self.response = response
        self.protocol = protocol
        self._state = _NEW
        self._iter: AsyncGenerator[_T, None] | None = None
        self.error: Exception | None = None
        self._loop = asyncio.get_running_loop()
        self._owner: object = None  # the token of the generator that is iterating
        self._genai = response.genai  # the LLM span when tracing records (http/genai.py), else None

    # -- what callers read ------------------------------------------------------------------

    response_headers = ExchangeInfo.headers

    @property
    def status_code(self) -> int:
        """The HTTP status (2xx: errors were raised when the stream was opened)."""
        return self.response.status

    @property
    def last_event_id(self) -> str | None:
        """The last SSE ``id:`` seen, for servers that support resuming."""
        return self.protocol.last_event_id

    @property
    def closed(self) -> bool:
        """Whether the stream reached its end or was closed."""
        return self._state >= _DONE

    @property
    def completed(self) -> bool:
        """Whether the stream reached its end (``[DONE]``, or its terminal event)."""
        return self._state == _DONE

    def raise_if_failed(self) -> None:
        """Raise the error that ended the stream, or ``RuntimeError`` if it was closed before its end."""
        if self.error is not None:
            raise self.error
        if self._state == _CLOSED:
            raise RuntimeError("the stream was closed before its end")

    def __repr__(self) -> str:
        state = ("new", "iterating", "done", "closed")[self._state]
        return f"<AsyncStream {self.protocol.name} {state} x_request_id={self.x_request_id!r}>"

    # -- iteration ----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[_T]:
        """An iterator over the items; dropping it (``break``) closes the response at once."""
        if self._iter is not None:
            return self._iter
        token = object()
        items = self._items(token)
        if self._genai is not None:  # tracing records: each item observed (never otherwise)
            items = self._genai.wrap(items)
        return _Iterator(self, items, token)

    def __anext__(self) -> Awaitable[_T]:
        """The next item (a stream driven by ``__anext__`` must be closed by the caller)."""
        if self._iter is None:
            items = self._items(None)
            self._iter = items if self._genai is None else self._genai.wrap(items)
        return self._iter.__anext__()

    def _abandon(self) -> None:
        """Close an unfinished stream now (no await, so nothing can interrupt it).

        Left just after its last item (the protocol saw the end), it counts as done: the
        connection is drained for reuse rather than dropped.
        """
        if self._state < _DONE:
            if self.protocol.done and self.error is None:
                self._state = _DONE
                return
            self._state = _CLOSED
            self.response.close()

    def _begin(self, token: object) -> bool:
        """Enter iteration; ``False`` when the stream already ended (nothing more to yield)."""
        state = self._state
        if state == _NEW:
            self._state = _ITERATING
            self._owner = token
            return True
        if state == _DONE:
            return False
        if state == _ITERATING:
            raise RuntimeError("this stream is already being iterated")
        raise RuntimeError("this stream was closed before its end; it cannot be iterated again")

    async def _items(self, token: object) -> AsyncGenerator[_T, None]:
        """The one loop: network reads into the protocol, its items out, one at a time."""
        if not self._begin(token):
            return
        proto = self.protocol
        take = proto.iter_feed
        response = self.response
        readany = response.readany  # aiohttp's read, no generator of ours per chunk
        response.watch_idle()  # Timeout.read checked lazily, not re-armed on every chunk
        try:
            while not proto.ended:
                failed: OdiRouterError | None = None
                try:
                    data = await readany()
                    response.consumed += len(data)
                except READ_ERRORS as exc:
                    failed = response.read_error(exc)
                    data = b""
                if failed is not None:  # raised outside the except block: no aiohttp __context__
                    if not isinstance(failed, APIConnectionError):
                        raise failed  # the client was closed
                    if self._state == _CLOSED:  # closed by the caller from another task: just stop
                        return
                    if isinstance(failed, APITimeoutError):
                        raise failed
                    raise proto.cut(failed.message) from failed
                items: Iterable[_T] = take(data) if data else proto.eof()
                for item in items:
                    yield item
                    if self._state == _CLOSED:
                        return
            proto.raise_error()
            self._state = _DONE
        except Exception as exc:
            self._failed(exc)
            raise
        finally:
            await self._finish()

    def _failed(self, exc: Exception) -> None:
        """Record the error that ends the stream; a bad event also gets the HTTP status."""
        self.error = exc
        if isinstance(exc, ResponseValidationError) and exc.status_code is None:
            exc.status_code = self.response.status

    async def _finish(self) -> None:
        """Release the connection: drain after a clean end, close otherwise (never interrupted)."""
        resp = self.response
        if self._state == _ITERATING and self.protocol.done and self.error is None:
            self._state = _DONE  # left after its last item: see _abandon
        if self._state == _DONE:
            if not resp.release_if_read():  # most bodies end with their last event: no wait
                with anyio.CancelScope(shield=True):
                    await resp.drain(DRAIN_SECONDS)
        else:
            resp.close()
            self._state = _CLOSED

    # -- closing ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the stream now (an unfinished body is dropped; a finished one is released)."""
        it, self._iter = self._iter, None
        self._abandon()
        if self._genai is not None:
            self._genai.end()
        if it is not None:
            try:
                await it.aclose()
            except RuntimeError:  # being iterated by another task: it sees the close and stops
                pass

    close = aclose


class _Iterator(AsyncIterator[_T]):
    """What ``async for`` gets: the generator, and a synchronous close when it is dropped in the
    loop's thread (asyncio's async-generator finalizer would need two loop iterations)."""

    __slots__ = ("_gen", "_stream", "_token")

    def __init__(self, stream: AsyncStream[_T], gen: AsyncGenerator[_T, None], token: object) -> None:
        self._stream = stream
        self._gen = gen
        self._token = token  # shared with the generator only: no reference cycle

    def __anext__(self) -> Awaitable[_T]:
        return self._gen.__anext__()

    async def aclose(self) -> None:
        """Close the generator (and with it the response)."""
        await self._gen.aclose()

    def __del__(self) -> None:
        stream = self._stream
        if stream._state >= _DONE or stream._owner is not self._token:
            return  # finished, or the stream is another iterator's
        try:
            if stream._loop is asyncio.get_running_loop():
                stream._abandon()
        except Exception:  # no running loop here (or interpreter teardown): the finalizer closes it
            pass


def __getattr__(name: str) -> Any:
    """``ResponseStreamItem`` (the Responses stream's item type) imported on first use."""
    if name == "ResponseStreamItem":
        from .responses_protocol import ResponseStreamItem

        return ResponseStreamItem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
