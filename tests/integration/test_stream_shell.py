"""The one stream loop over a protocol, against scripted emulator bodies: order, end, helpers' state."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.chat_events import ChatFinishEvent

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hello there"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def chunk(index: int = 0, content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    """One chat chunk as an SSE event."""
    body = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


def event(type_: str, **fields: Any) -> bytes:
    """One Responses event as an SSE event."""
    return b"data: " + msgspec.json.encode({"type": type_, **fields}) + b"\n\n"


def lifecycle(type_: str, status: str) -> bytes:
    """A lifecycle event carrying a minimal response object."""
    return event(
        type_, response={"id": "r", "object": "response", "status": status, "model": "m", "output": []}
    )


async def test_items_before_an_error_in_one_read_arrive_first(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """Chunks sent in the same write as an error chunk are all yielded, then StreamEventError."""
    emu.serve_sse("chat", chunk(content="a") + chunk(content="b") + chunk(error={"message": "quota"}))
    got: list[str | None] = []
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(odr.StreamEventError, match="quota"):
        async for c in stream:
            got.append(c.choices[0].delta.content)
    assert got == ["a", "b"]
    assert stream.closed and not stream.completed and isinstance(stream.error, odr.StreamEventError)


async def test_leaving_at_the_terminal_event_counts_as_completed(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """Breaking out right after response.completed leaves a completed stream, not a dropped one."""
    emu.serve_sse(
        "responses",
        lifecycle("response.created", "in_progress")
        + event("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="hi")
        + lifecycle("response.completed", "completed")
        + b"data: ignored after the end\n\n",
    )
    stream = await client.responses.create(model="m", input="x", stream=True)
    async for item in stream:
        if item.type == "response.completed":
            break
    assert stream.completed and stream.closed
    stream.raise_if_failed()  # nothing: the stream ended cleanly


async def test_leaving_before_the_end_drops_the_stream(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Breaking out before the end closes the stream unfinished; iterating again is refused."""
    emu.serve_sse(
        "chat", chunk(content="a") + chunk(content="b") + chunk(finish="stop") + b"data: [DONE]\n\n"
    )
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async for _ in stream:
        break
    assert stream.closed and not stream.completed
    with pytest.raises(RuntimeError, match="closed before its end"):
        stream.raise_if_failed()


async def test_chat_eof_after_every_choice_finished(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without [DONE], a body ending once every choice finished is a complete stream (Writer)."""
    emu.serve_sse(
        "chat", chunk(0, "a") + chunk(1, "b") + chunk(1, None, "stop") + chunk(0, None, "length"), [7]
    )
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        final = await s.get_final_completion()
    assert [(c.message.content, c.finish_reason) for c in final.choices] == [("a", "length"), ("b", "stop")]
    assert s.stream.completed


async def test_finish_event_once_per_choice(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A choice that repeats its finish_reason gives one ChatFinishEvent, from its first finishing chunk."""
    emu.serve_sse(
        "chat", chunk(0, "a") + chunk(0, None, "length") + chunk(0, None, "stop") + b"data: [DONE]\n\n"
    )
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        finishes = [e async for e in s if isinstance(e, ChatFinishEvent)]
    assert [(e.index, e.finish_reason) for e in finishes] == [(0, "length")]


async def test_chat_helper_state_is_properties(client: odr.AsyncOdiRouter) -> None:
    """The chat helper's output_text and tool_calls properties read the accumulated state."""
    async with client.chat.completions.stream(
        model="m",
        messages=MESSAGES,
        tools=TOOLS,
        tool_choice="required",
        extra_headers={"x-emu-fragment-bytes": "5"},
    ) as s:
        assert s.output_text == "" and s.tool_calls == []
        final = await s.get_final_completion()
        calls = s.tool_calls
    assert final.choices[0].message.tool_calls == calls
    assert len(calls) == 1 and calls[0].function.name == "get_weather"


async def test_chat_helper_output_text_follows_the_loop(client: odr.AsyncOdiRouter) -> None:
    """output_text holds exactly the fragments taken so far (items are decoded as they are taken)."""
    async with client.chat.completions.stream(
        model="m", messages=MESSAGES, extra_headers={"x-emu-chunks": "50", "x-emu-chunk-text": "x"}
    ) as s:
        seen = ""
        async for piece in s.text_deltas():
            seen += piece
            assert s.output_text == seen
            if len(seen) == 10:
                break
        final = await s.get_final_completion()
    assert s.output_text == final.choices[0].message.content == "x" * 50


async def test_responses_helper_state_is_properties(client: odr.AsyncOdiRouter) -> None:
    """The Responses helper's output_text and tool_calls are properties; text_deltas() a method."""
    async with client.responses.stream(model="m", input="hello there") as s:
        pieces = [t async for t in s.text_deltas()]
        final = await s.get_final_response()
    assert "".join(pieces) == s.output_text == final.output_text
    assert s.tool_calls == []
