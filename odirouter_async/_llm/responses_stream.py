"""``client.responses.stream(...)``: the Responses stream helper.

``ResponseStreamManager`` is what ``stream(...)`` returns: an async context manager that sends
the request on entry and closes the stream on exit.  It yields a ``ResponseStream``:

* ``async for event in s``: the typed events themselves (a ``ResponseStreamEvent`` member per
  documented ``type``; a type this SDK does not know arrives as ``UnknownEvent``, whose ``type``
  is ``"unknown"``, with ``event_type`` and its raw JSON object), exactly as
  ``responses.create(stream=True)`` yields them.  ``event.type`` is a ``Literal`` per class, so
  ``if event.type == "response.output_text.delta": event.delta`` type-checks (mypy, pyright);
* ``text_deltas()``: just the ``response.output_text.delta`` fragments;
* ``until_done()`` / ``get_final_response()``: read to the terminal event and return its
  ``Response``.  Each event is fed to a ``ResponseAccumulator`` before anything else sees it.

Failure, decided: a ``response.failed`` event is a *final state*, not an exception.
``get_final_response()`` returns that ``Response`` (``status == "failed"``, ``.error`` set), as
openai-python 3.57 does, and so does ``response.incomplete`` (``status == "incomplete"``).  An
``error`` *event* means the stream itself broke: it raises ``StreamEventError`` with the payload.
A stream cut before its terminal event raises ``StreamInterrupted``.  Such an error is raised
again by ``until_done()`` / ``get_final_response()``; what arrived before it stays readable
(``output_text``, ``accumulator``).

The helper holds one iterator over the underlying ``AsyncStream``, so leaving a loop early and
then calling ``get_final_response()`` goes on where the loop stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

from multidict import CIMultiDictProxy

from .._core.responses_state import ResponseAccumulator, ResponseToolCall
from ..types.response_events import ResponseTextDeltaEvent
from ..types.responses import Response
from .stream import AsyncStream, ResponseStreamItem

__all__ = ("ResponseStream", "ResponseStreamManager")


class ResponseStream:
    """An open Responses stream with an accumulator (from ``responses.stream(...)``).

    Attributes:
        accumulator: the ``ResponseAccumulator`` fed with every event so far.
        stream: the underlying ``AsyncStream`` of events.
    """

    def __init__(self, stream: AsyncStream[ResponseStreamItem], accumulator: ResponseAccumulator) -> None:
        """Wrap a stream whose ``sink`` is ``accumulator.add`` (the manager builds both).

        Args:
            stream: the open stream.
            accumulator: the accumulator the stream feeds.
        """
        self.stream = stream
        self.accumulator = accumulator
        self._events = stream.__aiter__()  # held here: leaving one loop does not close the stream

    @property
    def x_request_id(self) -> str | None:
        """The ``X-Request-Id`` of the exchange."""
        return self.stream.x_request_id

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers."""
        return self.stream.headers

    def __aiter__(self) -> AsyncIterator[ResponseStreamItem]:
        """The typed events, from where the last loop over this stream stopped."""
        return self._events

    async def text_deltas(self) -> AsyncIterator[str]:
        """The output text fragments, as they arrive."""
        async for event in self._events:
            if type(event) is ResponseTextDeltaEvent:
                yield event.delta

    async def until_done(self) -> None:
        """Read the stream to its terminal event (raises what ended it early, if anything did)."""
        async for _ in self._events:
            pass
        self.stream.raise_if_failed()

    async def get_final_response(self) -> Response:
        """Read to the end; the ``Response`` of the terminal event (completed, incomplete or failed).

        ``x_request_id`` is set from the HTTP exchange.
        """
        await self.until_done()
        response = self.accumulator.final(self.x_request_id)
        if response is None:  # the stream layer raises before this can happen
            raise RuntimeError("the stream ended without a terminal event")
        return response

    @property
    def output_text(self) -> str:
        """The output text received so far (joined now: call it when needed, not per event)."""
        return self.accumulator.output_text

    @property
    def tool_calls(self) -> list[ResponseToolCall]:
        """The function and custom tool calls assembled so far."""
        return self.accumulator.tool_calls

    async def close(self) -> None:
        """Close the stream (idempotent)."""
        await self.stream.aclose()
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except RuntimeError:  # being iterated by another task, which sees the close
                pass


class ResponseStreamManager:
    """``async with client.responses.stream(...) as s``: the request is sent on entry."""

    def __init__(
        self, open_stream: Callable[[Callable[[Any], None]], Awaitable[AsyncStream[ResponseStreamItem]]]
    ) -> None:
        """Hold the request until ``async with``.

        Args:
            open_stream: ``open_stream(sink)`` sends the request and returns the stream that
                feeds ``sink``.
        """
        self._open = open_stream
        self._stream: ResponseStream | None = None

    async def __aenter__(self) -> ResponseStream:
        if self._stream is not None:
            raise RuntimeError("this stream manager was already entered; call stream(...) again")
        accumulator = ResponseAccumulator()
        self._stream = ResponseStream(await self._open(accumulator.add), accumulator)
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
