"""``ResponsesStreamProtocol``: Responses API SSE bytes in, typed events out (sans-IO).

Every rule of a Responses stream's end lives here, once (the framing and error plumbing are
``stream_protocol.StreamProtocol``'s):

* the terminal event (``response.completed``, ``response.incomplete`` or ``response.failed``) is
  the last item and ends the stream (``done``); the rest of the body is ignored.  A
  ``response.failed`` is a final state, not an exception;
* an ``error`` event raises ``StreamEventError`` (after the accumulator saw it); ``data: [DONE]``
  or EOF before the terminal event raises ``StreamInterrupted``;
* events are ``ResponseStreamEvent`` members (a tagged union on ``type``), and a type this SDK
  does not know arrives as ``UnknownEvent`` (``stream_decode``).

With ``accumulate=True``, ``accumulator`` (a ``ResponseAccumulator``) is fed every event;
``responses.create(stream=True)`` streams without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, TypeAlias

import msgspec

import odirouter_async.llm.stream_decode as stream_decode

from .._exceptions import StreamInterrupted
from ..http.sse import SSEEvent
from ..types.response_events import (
    ResponseCompletedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseStreamEvent,
    UnknownEvent,
)
from .responses_state import ResponseAccumulator
from .stream_decode import DONE, Done, decode_responses_event, responses_event_error
from .stream_protocol import _EVENT_ERRORS, StreamProtocol

__all__ = ("ResponseStreamItem", "ResponsesStreamProtocol")

#: What a Responses stream yields: a documented event, or ``UnknownEvent``.
ResponseStreamItem: TypeAlias = ResponseStreamEvent | UnknownEvent
_TERMINAL: Final = (ResponseCompletedEvent, ResponseIncompleteEvent, ResponseFailedEvent)


class ResponsesStreamProtocol(StreamProtocol[ResponseStreamItem]):
    """Responses events and their end rules (see the module docstring).

    Attributes:
        accumulator: the ``ResponseAccumulator`` fed every event, or ``None``.
    """

    name = "Responses"

    __slots__ = ()
    accumulator: ResponseAccumulator | None
    accumulator_type = ResponseAccumulator

    # The twin of ChatStreamProtocol._take, kept inline on purpose: see the note there.
    def _take(self, events: list[SSEEvent]) -> Iterator[ResponseStreamItem]:
        rid = self.x_request_id
        add = self._add
        decode = decode_responses_event
        strict = stream_decode.strict_event_decode  # rebound once the decoder is built
        try:
            for ev in events:
                item: ResponseStreamItem | Done | None
                data = ev.data
                try:  # the common case inlined: one call less per event
                    item = strict(data)
                except (msgspec.DecodeError, RecursionError):
                    item = decode(ev, rid)
                else:
                    d = item.__dict__
                    d["_raw_bytes"] = data
                    d["_x_request_id"] = rid
                if item is None:
                    continue
                if item is DONE:
                    raise self._missing_end()
                if add is not None:
                    add(item)
                if isinstance(item, _TERMINAL):
                    self.done = self.ended = True  # before the last item is handed out
                    yield item
                    return
                if isinstance(item, ResponseErrorEvent):
                    raise responses_event_error(item, rid)
                yield item
        except _EVENT_ERRORS as exc:
            self._end(exc)
            raise

    def _missing_end(self) -> StreamInterrupted:
        return StreamInterrupted(
            "The Responses stream ended before its terminal event "
            "(response.completed, response.incomplete or response.failed).",
            x_request_id=self.x_request_id,
        )
