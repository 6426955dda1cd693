"""``ResponseAccumulator``: Responses stream events in, text, tool calls and the final
``Response`` out (pure).

O(1) amortised work per event: deltas are appended to lists, joined once when read.

- ``output_text``: every ``response.output_text.delta``, all items, in stream order;
- ``refusal``: ``response.refusal.delta`` deltas; ``reasoning``: ``response.reasoning_text.delta``
  and ``response.reasoning_summary_text.delta`` deltas (``None`` when there were none);
- ``tool_calls``: ``function_call`` and ``custom_tool_call`` items announced by
  ``response.output_item.added``, with ``arguments`` concatenated from the
  ``function_call_arguments.delta`` / ``custom_tool_call_input.delta`` events matched by
  ``item_id``.  A delta for an item never announced starts a call of its own (nothing is
  dropped); when no delta arrived, the arguments of the ``*.done`` event or of the finished
  item are used;
- the terminal event (``response.completed``, ``response.incomplete`` or ``response.failed``)
  gives ``final()``, with ``.raw`` holding the response object exactly as sent;
- ``errors``: the JSON of ``error`` events and the ``response.error`` of ``response.failed``.
  Whether they raise is the protocol's decision (``responses_protocol``; ``failed`` is a
  normal final state here).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..types._base import attach_raw
from ..types.response_events import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseQueuedEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseRefusalDeltaEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    UnknownEvent,
)
from ..types.responses import Response, ResponseCustomToolCall, ResponseFunctionToolCall, ResponseOutputItem

__all__ = ("ResponseAccumulator", "ResponseToolCall")

_ARG_DELTAS = (ResponseFunctionCallArgumentsDeltaEvent, ResponseCustomToolCallInputDeltaEvent)
_REASONING_DELTAS = (ResponseReasoningSummaryTextDeltaEvent, ResponseReasoningTextDeltaEvent)


class _RawResponse(msgspec.Struct):
    response: msgspec.Raw


_raw_response_decoder = msgspec.json.Decoder(_RawResponse)


class ResponseToolCall(msgspec.Struct, kw_only=True):
    """A tool call assembled from the stream (``type``: ``function_call``/``custom_tool_call``)."""

    item_id: str
    output_index: int
    type: str
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""


class _Call:
    __slots__ = ("call_id", "done_args", "item_id", "name", "output_index", "parts", "type")

    def __init__(self, item_id: str, output_index: int, type_: str) -> None:
        self.item_id = item_id
        self.output_index = output_index
        self.type = type_
        self.call_id: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []
        self.done_args: str | None = None


def _item_args(item: ResponseFunctionToolCall | ResponseCustomToolCall) -> str:
    if isinstance(item, ResponseCustomToolCall):
        return item.input
    return item.arguments


class ResponseAccumulator:
    """Feed it every decoded event with ``add``; read the views at the end."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[str, _Call] = {}
        #: The latest ``response`` snapshot of a lifecycle event (created/queued/in_progress/terminal).
        self.snapshot: Response | None = None
        self._terminal: ResponseCompletedEvent | ResponseFailedEvent | ResponseIncompleteEvent | None = None
        #: Error payloads (dicts), in order.
        self.errors: list[Any] = []
        #: Events added, and how many of them had a type this SDK does not know.
        self.events = 0
        self.unknown_events = 0
        #: The highest ``sequence_number`` seen (for resuming with ``starting_after``).
        self.last_sequence_number: int | None = None

    def add(self, event: ResponseStreamEvent | UnknownEvent) -> None:
        """Fold one event in (O(1) amortised)."""
        self.events += 1
        seq = event.sequence_number
        if seq is not None and (self.last_sequence_number is None or seq > self.last_sequence_number):
            self.last_sequence_number = seq
        if isinstance(event, ResponseTextDeltaEvent):
            self._text.append(event.delta)
        elif isinstance(event, _ARG_DELTAS):
            self._call(event.item_id, event.output_index, event).parts.append(event.delta)
        elif isinstance(event, _REASONING_DELTAS):
            self._reasoning.append(event.delta)
        elif isinstance(event, ResponseRefusalDeltaEvent):
            self._refusal.append(event.delta)
        elif isinstance(event, (ResponseOutputItemAddedEvent, ResponseOutputItemDoneEvent)):
            self._item(event.item, event.output_index, done=isinstance(event, ResponseOutputItemDoneEvent))
        elif isinstance(event, ResponseFunctionCallArgumentsDoneEvent):
            self._call(event.item_id, event.output_index, event).done_args = event.arguments
        elif isinstance(event, ResponseCustomToolCallInputDoneEvent):
            self._call(event.item_id, event.output_index, event).done_args = event.input
        elif isinstance(event, (ResponseCompletedEvent, ResponseIncompleteEvent, ResponseFailedEvent)):
            self._terminal = event
            self.snapshot = event.response
            if isinstance(event, ResponseFailedEvent) and event.response.error is not None:
                raw = _with_raw(event).raw
                err = raw.get("error") if isinstance(raw, dict) else None
                self.errors.append(err if err is not None else msgspec.to_builtins(event.response.error))
        elif isinstance(event, (ResponseCreatedEvent, ResponseInProgressEvent, ResponseQueuedEvent)):
            self.snapshot = event.response
        elif isinstance(event, ResponseErrorEvent):
            self.errors.append(event.raw)
        elif isinstance(event, UnknownEvent):
            self.unknown_events += 1

    def _call(
        self,
        item_id: str,
        output_index: int,
        event: ResponseStreamEvent,
    ) -> _Call:
        call = self._calls.get(item_id)
        if call is None:
            kind = "custom_tool_call" if "custom_tool_call" in event.type else "function_call"
            call = self._calls[item_id] = _Call(item_id, output_index, kind)
        return call

    def _item(self, item: ResponseOutputItem, output_index: int, *, done: bool) -> None:
        if not isinstance(item, (ResponseFunctionToolCall, ResponseCustomToolCall)):
            return
        key = item.id or f"#{output_index}"
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call(key, output_index, item.type)
        call.call_id = call.call_id or item.call_id
        call.name = call.name or item.name
        if done and call.done_args is None:
            call.done_args = _item_args(item)

    # ------------------------------------------------------------------------------------------
    # Views (each joins once; read them at the end, not per event)

    @property
    def output_text(self) -> str:
        """Every output text delta so far, concatenated."""
        return "".join(self._text)

    @property
    def refusal(self) -> str | None:
        """The refusal text, or ``None`` when there was none."""
        return "".join(self._refusal) or None

    @property
    def reasoning(self) -> str | None:
        """Reasoning (raw text and summaries) in stream order, or ``None``."""
        return "".join(self._reasoning) or None

    @property
    def tool_calls(self) -> list[ResponseToolCall]:
        """The function and custom tool calls, in the order they started."""
        return [
            ResponseToolCall(
                item_id=c.item_id,
                output_index=c.output_index,
                type=c.type,
                call_id=c.call_id,
                name=c.name,
                arguments="".join(c.parts) if c.parts else (c.done_args or ""),
            )
            for c in self._calls.values()
        ]

    @property
    def status(self) -> str | None:
        """The status of the terminal response, or ``None`` before one arrived."""
        return self._terminal.response.status if self._terminal is not None else None

    @property
    def done(self) -> bool:
        """Whether a terminal event (completed, incomplete or failed) arrived."""
        return self._terminal is not None

    def final(self, x_request_id: str | None = None) -> Response | None:
        """The terminal event's ``Response`` (``.raw`` exactly as sent), or ``None`` if none came."""
        terminal = self._terminal
        if terminal is None:
            return None
        response = _with_raw(terminal)
        if x_request_id is not None:
            response.__dict__["_x_request_id"] = x_request_id
        return response


def _with_raw(event: ResponseCompletedEvent | ResponseFailedEvent | ResponseIncompleteEvent) -> Response:
    """The event's response, with the response object's own bytes attached (once)."""
    response = event.response
    if "_raw_bytes" not in response.__dict__:
        raw_bytes = event.raw_bytes
        raw = bytes(_raw_response_decoder.decode(raw_bytes).response) if raw_bytes else None
        attach_raw(response, raw, event.x_request_id)
    return response
