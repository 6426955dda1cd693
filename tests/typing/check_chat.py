"""Type check: chat completions, whole and streamed, and the .stream() helper's events."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async.types import ChatCompletionStreamEvent, ChatMessage


async def chat(client: odr.AsyncOdiRouter) -> None:
    """``create`` returns a ``ChatCompletion``; ``stream=True`` an ``AsyncStream`` of chunks."""
    messages: list[ChatMessage] = [{"role": "user", "content": "Hello"}]
    completion = await client.chat.completions.create(model="gpt-4.1", messages=messages, x_request_id="t-1")
    assert_type(completion, odr.ChatCompletion)
    content: str | None = completion.choices[0].message.content
    traced: str | None = completion.x_request_id
    print(content, completion.usage, traced)

    stream = await client.chat.completions.create(model="gpt-4.1", messages=messages, stream=True)
    assert_type(stream, odr.AsyncStream[odr.ChatCompletionChunk])
    stream_id: str | None = stream.x_request_id
    print(stream_id)
    async with stream:
        async for chunk in stream:
            for choice in chunk.choices:
                piece: str | None = choice.delta.content
                print(piece, choice.finish_reason)


async def chat_stream_helper(client: odr.AsyncOdiRouter) -> None:
    """``.stream()`` events narrow on ``event.type``; ``text_deltas`` and the final completion."""
    async with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as s:
        async for event in s:
            assert_type(event, ChatCompletionStreamEvent)
            if event.type == "content.delta":
                assert_type(event, odr.ChatContentDeltaEvent)
                text: str = event.delta
                print(text, event.index)
            elif event.type == "tool_call.delta":
                args: str = event.arguments_delta
                print(args, event.fragment.index)
            elif event.type == "finish":
                reason: str = event.finish_reason
                print(reason)
            elif event.type == "chunk":
                assert_type(event.chunk, odr.ChatCompletionChunk)
            else:
                assert_type(event, odr.ChatRefusalDeltaEvent | odr.ChatReasoningDeltaEvent)
            print(event.delta)  # type: ignore[union-attr]  # not every event has a delta
        async for piece in s.text_deltas():
            assert_type(piece, str)
        final = await s.get_final_completion()
        assert_type(final, odr.ChatCompletion)
        assert_type(s.output_text, str)  # state: properties, like ResponseStream's
        print([c.function.name for c in s.tool_calls], s.current_completion_snapshot.id)
