"""``AsyncStream[T]``: an open SSE response as an async iterator of typed items (I/O shell).

Per network read: ``SSEDecoder.feed``, one decode call per event, ``yield``; one async
generator between aiohttp's reader and the caller.  What it decides:

* **content type**: a non-``text/event-stream`` answer raises ``SSEProtocolError`` with a
  bounded excerpt of the body (``open_sse``; openai-python silently yields nothing), or
  ``StreamEventError`` when that body is an error object (plain or SSE-framed);
* **the end**: chat ends at ``[DONE]``, or at EOF once every choice seen has a finish_reason
  (Writer sends no ``[DONE]``); Responses end at their terminal event (completed, incomplete
  or failed; the rest of the body is discarded).  EOF before that, EOF inside an event or a
  connection cut -> ``StreamInterrupted`` (``__cause__``: the transport error); a silence
  longer than ``Timeout.read`` -> ``APITimeoutError``;
* **in-band errors**: a chat error chunk / ``event: error`` and a Responses ``error`` event
  raise ``StreamEventError`` (the ``sink`` sees an error chunk first, so its usage is kept);
  broken JSON (or JSON too deep to decode) raises ``ResponseValidationError`` (from
  ``_stream_decode``; ``status_code`` set here); an event over ``Limits.max_event_bytes`` raw
  bytes raises ``SSEProtocolError`` (``_sse``);
* **release**: after the end the rest of the body is drained for at most ``DRAIN_SECONDS``
  (shielded) so the connection returns to the pool (openai-python #3440); otherwise the
  response is closed synchronously, which no cancellation can interrupt.  ``async for`` gets an
  iterator the stream does not reference: leaving the loop (``break``, an exception, a
  cancellation) drops it, and it closes the response at once, without ``async with``.

A stream is consumed once: iterating it after its end yields nothing; after an early close it
raises ``RuntimeError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Final, Generic, Literal, TypeVar

import anyio
import msgspec
from multidict import CIMultiDictProxy

from .._config import RequestOptions
from .._core.error_body import parse_error_body
from .._core.sse import DEFAULT_MAX_EVENT_BYTES, SSEDecoder, SSEEvent
from .._core.stream_decode import (
    DONE,
    chat_chunk_error,
    decode_chat_chunk,
    decode_responses_event,
    responses_event_error,
)
from .._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ResponseValidationError,
    SSEProtocolError,
    StreamEventError,
    StreamInterrupted,
)
from .._http.requester import Requester
from .._http.response import StreamResponse
from ..types.chat import ChatCompletionChunk
from ..types.response_events import (
    ResponseCompletedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseStreamEvent,
    UnknownEvent,
)

__all__ = ("AsyncStream", "ResponseStreamItem", "open_sse", "open_sse_stream")

_T = TypeVar("_T")
ResponseStreamItem = ResponseStreamEvent | UnknownEvent

#: How long the rest of a finished body is read so its connection can be reused.
DRAIN_SECONDS: Final = 0.1
_EXCERPT: Final = 2000
_ACCEPT_SSE: Final = {"Accept": "text/event-stream"}
_json_decode: Final = msgspec.json.Decoder().decode
_TERMINAL: Final = (ResponseCompletedEvent, ResponseIncompleteEvent, ResponseFailedEvent)

# Stream states.
_NEW, _ITERATING, _DONE, _CLOSED = 0, 1, 2, 3


async def open_sse_stream(
    transport: Requester,
    path: str,
    body: dict[str, Any],
    options: RequestOptions,
    kind: Literal["chat", "responses"],
    sink: Callable[[Any], None] | None = None,
) -> AsyncStream[Any]:
    """POST a stream request (paid: retried only before any work started) and wrap the answer."""
    response = await transport.open_stream(
        "POST", path, json=body, options=options, paid=True, headers=_ACCEPT_SSE
    )
    await open_sse(response)
    return AsyncStream(response, kind, sink=sink, max_event_bytes=transport.limits.max_event_bytes)


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


class AsyncStream(Generic[_T]):
    """A streamed response: ``async for item in stream`` and ``async with stream``.

    Chat streams yield ``ChatCompletionChunk``; Responses streams yield a ``ResponseStreamEvent``
    member or ``UnknownEvent``.  Get one from ``create(..., stream=True)``.

    Attributes:
        response: the open HTTP response (``status``, ``headers``, ``request_id``).
        error: the exception that ended the stream early, once one did.
    """

    __slots__ = ("_decoder", "_iter", "_kind", "_loop", "_owner", "_sink", "_state", "error", "response")

    def __init__(
        self,
        response: StreamResponse,
        kind: Literal["chat", "responses"],
        *,
        sink: Callable[[Any], None] | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        """Wrap an open ``text/event-stream`` response (see ``open_sse``).

        Args:
            response: from ``Transport.open_stream``.
            kind: ``"chat"`` (chunks, ``[DONE]``) or ``"responses"`` (typed events).
            sink: called with every item before it is yielded, and with a chat error chunk
                before ``StreamEventError`` is raised (the stream helpers' accumulators).
            max_event_bytes: the SSE event size bound in raw bytes (``SSEProtocolError`` above
                it); ``open_sse_stream`` passes the client's ``Limits.max_event_bytes``.
        """
        self.response = response
        self._kind = kind
        self._sink = sink
        self._decoder = SSEDecoder(max_event_bytes)
        self._state = _NEW
        self._iter: AsyncGenerator[_T, None] | None = None
        self.error: Exception | None = None
        self._loop = asyncio.get_running_loop()
        self._owner: object = None  # the token of the generator that is iterating

    # -- what callers read ------------------------------------------------------------------

    @property
    def x_request_id(self) -> str | None:
        """The ``X-Request-Id`` of the exchange (the gateway's echo, else the one we sent)."""
        return self.response.request_id

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers."""
        return self.response.headers

    response_headers = headers

    @property
    def status_code(self) -> int:
        """The HTTP status (2xx: errors were raised when the stream was opened)."""
        return self.response.status

    @property
    def last_event_id(self) -> str | None:
        """The last SSE ``id:`` seen, for servers that support resuming."""
        return self._decoder.last_event_id

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
        return f"<AsyncStream {self._kind} {state} x_request_id={self.x_request_id!r}>"

    # -- iteration ----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[_T]:
        """An iterator over the items; dropping it (``break``) closes the response at once."""
        if self._iter is not None:
            return self._iter
        token = object()
        return _Iterator(self, self._generator(token), token)

    def __anext__(self) -> Awaitable[_T]:
        """The next item (a stream driven by ``__anext__`` must be closed by the caller)."""
        if self._iter is None:
            self._iter = self._generator(None)
        return self._iter.__anext__()

    def _generator(self, token: object) -> AsyncGenerator[_T, None]:
        gen: AsyncGenerator[Any, None] = self._chat(token) if self._kind == "chat" else self._responses(token)
        return gen

    def _abandon(self) -> None:
        """Close an unfinished stream now (no await, so nothing can interrupt it)."""
        if self._state < _DONE:
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

    async def _chat(self, token: object) -> AsyncGenerator[ChatCompletionChunk, None]:
        if not self._begin(token):
            return
        rid = self.response.request_id
        feed = self._decoder.feed
        sink = self._sink
        decode = decode_chat_chunk
        open_choices: set[int] = set()  # indexes seen in a chunk without a finish_reason
        finished: set[int] = set()  # indexes that had a finish_reason
        chunks = self.response.iter_chunks()
        next_chunk = chunks.__anext__
        done = eof = False
        try:
            while not eof:
                try:
                    events = feed(await next_chunk())
                except StopAsyncIteration:
                    events, eof = self._tail(), True
                except APIConnectionError as exc:
                    self._cut(exc, "chat")
                    return
                for ev in events:
                    item = decode(ev, rid)
                    if item is None:
                        continue
                    if item is DONE:
                        done = eof = True
                        break
                    for choice in item.choices:
                        if choice.finish_reason is None:
                            open_choices.add(choice.index)
                        else:
                            finished.add(choice.index)
                    if sink is not None:
                        sink(item)
                    if item.error:
                        raise chat_chunk_error(item, rid)
                    yield item
                    if self._state == _CLOSED:
                        return
            if not done and not (finished and open_choices <= finished):
                raise StreamInterrupted(
                    "The chat stream ended before [DONE] and before every choice finished.", x_request_id=rid
                )
            self._state = _DONE
        except Exception as exc:
            self._failed(exc)
            raise
        finally:
            await self._finish(chunks)

    async def _responses(self, token: object) -> AsyncGenerator[ResponseStreamItem, None]:
        if not self._begin(token):
            return
        rid = self.response.request_id
        feed = self._decoder.feed
        sink = self._sink
        decode = decode_responses_event
        chunks = self.response.iter_chunks()
        next_chunk = chunks.__anext__
        eof = False
        try:
            while not eof:
                try:
                    events = feed(await next_chunk())
                except StopAsyncIteration:
                    events, eof = self._tail(), True
                except APIConnectionError as exc:
                    self._cut(exc, "Responses")
                    return
                for ev in events:
                    item = decode(ev, rid)
                    if item is None:
                        continue
                    if item is DONE:
                        eof = True
                        break
                    if sink is not None:
                        sink(item)
                    if isinstance(item, _TERMINAL):
                        self._state = _DONE  # drained, not closed, from here on
                        yield item
                        return
                    if isinstance(item, ResponseErrorEvent):
                        raise responses_event_error(item, rid)
                    yield item
                    if self._state == _CLOSED:
                        return
            raise StreamInterrupted(
                "The Responses stream ended before its terminal event "
                "(response.completed, response.incomplete or response.failed).",
                x_request_id=rid,
            )
        except Exception as exc:
            self._failed(exc)
            raise
        finally:
            await self._finish(chunks)

    def _failed(self, exc: Exception) -> None:
        """Record the error that ends the stream; a bad event also gets the HTTP status."""
        self.error = exc
        if isinstance(exc, ResponseValidationError) and exc.status_code is None:
            exc.status_code = self.response.status

    def _cut(self, exc: APIConnectionError, what: str) -> None:
        """The transport failed mid-body: an idle timeout stays itself, a cut is StreamInterrupted."""
        if self._state == _CLOSED:  # closed by the caller from another task: just stop
            return
        if isinstance(exc, APITimeoutError):
            raise exc
        raise StreamInterrupted(
            f"The {what} stream was cut before its end: {exc.message}", x_request_id=self.response.request_id
        ) from exc

    def _tail(self) -> list[SSEEvent]:
        """At EOF: an event missing only its blank line is kept; one cut inside raises."""
        decoder = self._decoder
        pending = decoder.pending
        events = decoder.end(dispatch_partial=True)
        for ev in events:
            if ev.data.startswith(b"[DONE]"):
                continue
            try:
                _json_decode(ev.data)
            except RecursionError:
                pass  # complete but too deep: the event decoder reports it (ResponseValidationError)
            except msgspec.DecodeError:
                raise StreamInterrupted(
                    "The stream ended inside an event.",
                    x_request_id=self.response.request_id,
                    body=pending[:_EXCERPT].decode("utf-8", "replace"),
                ) from None
        return events

    async def _finish(self, chunks: AsyncIterator[bytes]) -> None:
        """Release the connection: drain after a clean end, close otherwise (never interrupted)."""
        if isinstance(chunks, AsyncGenerator):
            # Suspended at a yield or finished: closing it reaches no checkpoint.
            await chunks.aclose()
        resp = self.response
        if self._state == _DONE:
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
        if it is not None:
            try:
                await it.aclose()
            except RuntimeError:  # being iterated by another task: it sees the close and stops
                pass

    close = aclose

    async def __aenter__(self) -> AsyncStream[_T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


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
