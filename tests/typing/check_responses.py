"""Type check: Responses, whole and streamed; ``event.type == ...`` narrows the event union."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async.types import (
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseStreamItem,
    ResponseTextDeltaEvent,
)


def handle(event: ResponseStreamItem) -> str:
    """What a user's event handler does: narrowing on ``type``, including ``UnknownEvent``."""
    if event.type == "response.output_text.delta":
        assert_type(event, ResponseTextDeltaEvent)
        return event.delta
    if event.type == "response.function_call_arguments.done":
        assert_type(event, ResponseFunctionCallArgumentsDoneEvent)
        return event.arguments
    if event.type == "response.completed":
        assert_type(event, ResponseCompletedEvent)
        return event.response.output_text
    if event.type == "error":
        return f"{event.code}: {event.message}"
    if event.type == "unknown":
        assert_type(event, odr.UnknownEvent)
        raw: dict[str, Any] = event.raw
        return event.event_type + str(raw)
    seq: int | None = event.sequence_number  # every event has one (maybe None)
    return str(seq)


def not_narrowed(event: ResponseStreamItem) -> None:
    """Without narrowing, ``delta`` is not an attribute of every event: an error."""
    print(event.delta)  # type: ignore[union-attr]


def by_pattern(event: ResponseStreamItem) -> str:
    """``match`` on the classes works too."""
    match event:
        case ResponseTextDeltaEvent(delta=delta):
            return delta
        case odr.UnknownEvent(event_type=t):
            return t
        case _:
            return event.type


async def responses(client: odr.AsyncOdiRouter) -> None:
    """``create``, ``create(stream=True)`` and ``.stream()``."""
    response = await client.responses.create(model="gpt-4.1", input="Hi")
    assert_type(response, odr.Response)
    text: str = response.output_text
    print(text, response.status, response.usage)

    stream = await client.responses.create(model="gpt-4.1", input="Hi", stream=True)
    async with stream:
        async for event in stream:
            assert_type(event, ResponseStreamItem)
            if event.type == "response.output_text.delta":
                print(event.delta, event.item_id, event.content_index)

    async with client.responses.stream(model="gpt-4.1", input="Hi") as s:
        async for event in s:
            if event.type == "response.output_text.delta":
                print(event.delta, end="")
            elif event.type == "response.reasoning_summary_text.delta":
                print(event.delta, event.summary_index)
            elif event.type == "response.completed" or event.type == "response.failed":
                print(event.response.status, event.response.error)
        async for piece in s.text_deltas():
            assert_type(piece, str)
        final = await s.get_final_response()
        assert_type(final, odr.Response)
        print(s.output_text, [c.name for c in s.tool_calls])
