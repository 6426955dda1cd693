"""``client.responses.stream(...)``: the Responses stream helper.

``ResponseStreamManager`` is what ``stream(...)`` returns: an async context manager that sends
the request on entry and closes the stream on exit.  It yields a ``ResponseStream``:

* ``async for event in s``: the typed events themselves (a ``ResponseStreamEvent`` member per
  documented ``type``; a type this SDK does not know arrives as ``UnknownEvent``, whose ``type``
  is ``"unknown"``, with ``event_type`` and its raw JSON object), exactly as
  ``responses.create(stream=True)`` yields them.  ``event.type`` is a ``Literal`` per class, so
  ``if event.type == "response.output_text.delta": event.delta`` type-checks (mypy, pyright);
* methods, for what arrives: ``text_deltas()`` (just the ``response.output_text.delta``
  fragments), ``until_done()`` and ``get_final_response()`` (read to the terminal event and
  return its ``Response``);
* properties, for what the stream has so far (joined when read: not per event):
  ``output_text``, ``tool_calls``; ``accumulator`` is the ``ResponseAccumulator`` the stream's
  ``ResponsesStreamProtocol`` feeds with every event before anything else sees it.

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

from collections.abc import AsyncIterator

from ..types.response_events import ResponseTextDeltaEvent
from ..types.responses import Response
from .helper import StreamHelper, StreamManager
from .responses_protocol import ResponseStreamItem
from .responses_state import ResponseAccumulator, ResponseToolCall
from .stream import AsyncStream

__all__ = ("ResponseStream", "ResponseStreamManager")


class ResponseStream(StreamHelper[ResponseStreamItem, ResponseAccumulator]):
    """An open Responses stream and its accumulated state (from ``responses.stream(...)``).

    Attributes:
        stream: the underlying ``AsyncStream`` of events.
        accumulator: the ``ResponseAccumulator`` fed with every event that arrived.
    """

    def __aiter__(self) -> AsyncIterator[ResponseStreamItem]:
        """The typed events, from where the last loop over this stream stopped."""
        return self._items

    async def text_deltas(self) -> AsyncIterator[str]:
        """The output text fragments, as they arrive."""
        async for event in self._items:
            if type(event) is ResponseTextDeltaEvent:
                yield event.delta

    async def get_final_response(self) -> Response:
        """Read to the end; the ``Response`` of the terminal event (completed, incomplete or failed).

        ``x_request_id`` is set from the HTTP exchange.
        """
        await self.until_done()
        response = self._accumulator.final(self.x_request_id)
        if response is None:  # the protocol raises StreamInterrupted before this can happen
            raise RuntimeError("the stream ended without a terminal event")
        return response

    @property
    def output_text(self) -> str:
        """The output text received so far, joined when read (cheap enough per read, not per event)."""
        return self._accumulator.output_text

    @property
    def tool_calls(self) -> list[ResponseToolCall]:
        """The function and custom tool calls assembled so far, built when read."""
        return self._accumulator.tool_calls


class ResponseStreamManager(StreamManager[ResponseStreamItem, ResponseStream]):
    """``async with client.responses.stream(...) as s``: the request is sent on entry."""

    def _wrap(self, stream: AsyncStream[ResponseStreamItem]) -> ResponseStream:
        return ResponseStream(stream)
