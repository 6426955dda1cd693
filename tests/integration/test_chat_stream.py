"""``client.chat.completions.stream(...)``: typed events, text deltas, the accumulated completion."""

from __future__ import annotations

import json

import pytest

import odirouter_async as odr
from odirouter_async.llm.chat_stream import (
    ChatChunkEvent,
    ChatCompletionStreamEvent,
    ChatContentDeltaEvent,
    ChatFinishEvent,
    ChatReasoningDeltaEvent,
    ChatRefusalDeltaEvent,
    ChatToolCallDeltaEvent,
)
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hello there"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


async def test_text_deltas_and_final_completion(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """text_deltas() yields the content pieces; the final completion has text, usage and the id."""
    async with client.chat.completions.stream(
        model="gpt-4.1", messages=MESSAGES, stream_options={"include_usage": True}
    ) as s:
        pieces = [t async for t in s.text_deltas()]
        final = await s.get_final_completion()
    assert pieces == ["You ", "said: ", "hello ", "there"]
    assert final.choices[0].message.content == "You said: hello there"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens == 4
    assert final.model == "gpt-4.1" and final.id.startswith("chatcmpl-")
    assert final.x_request_id == s.x_request_id == emu.stats.records("chat")[-1].request_id


async def test_typed_events(client: odr.AsyncOdiRouter) -> None:
    """Each chunk gives a ChunkEvent, then content/reasoning deltas and one finish event per choice."""
    events: list[ChatCompletionStreamEvent] = []
    async with client.chat.completions.stream(
        model="m", messages=MESSAGES, n=2, extra_headers={"x-emu-reasoning": "2"}
    ) as s:
        events = [e async for e in s]
    kinds = [e.type for e in events]
    assert kinds.count("finish") == 2
    content = [e for e in events if isinstance(e, ChatContentDeltaEvent) and e.index == 1]
    assert "".join(e.delta for e in content) == "You said: hello there"
    reasoning = [e.delta for e in events if isinstance(e, ChatReasoningDeltaEvent) and e.index == 0]
    assert reasoning == ["Let ", "me "]
    finish = [e for e in events if isinstance(e, ChatFinishEvent)]
    assert {(e.index, e.finish_reason) for e in finish} == {(0, "stop"), (1, "stop")}
    chunks = [e for e in events if isinstance(e, ChatChunkEvent)]
    assert isinstance(events[0], ChatChunkEvent) and len(chunks) == s.accumulator.chunks
    final = s.current_completion_snapshot
    assert [c.message.content for c in final.choices] == ["You said: hello there"] * 2
    assert final.choices[0].message.reasoning_content == "Let me "


async def test_tool_call_events_and_accumulation(client: odr.AsyncOdiRouter) -> None:
    """Tool-call fragments arrive as events; the final message has the call with whole arguments."""
    async with client.chat.completions.stream(
        model="m",
        messages=MESSAGES,
        tools=TOOLS,
        tool_choice="required",
        extra_headers={"x-emu-fragment-bytes": "5"},
    ) as s:
        deltas = [e async for e in s if isinstance(e, ChatToolCallDeltaEvent)]
        final = await s.get_final_completion()
    assert deltas[0].fragment.id and deltas[0].fragment.function is not None
    assert deltas[0].fragment.function.name == "get_weather"
    arguments = "".join(e.arguments_delta for e in deltas)
    assert json.loads(arguments) == {"query": "hello there"}
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == (
        deltas[0].fragment.id,
        "get_weather",
        arguments,
    )


async def test_megabyte_tool_arguments(client: odr.AsyncOdiRouter) -> None:
    """A 1 MB tool-call argument streamed in small fragments is assembled exactly."""
    async with client.chat.completions.stream(
        model="m",
        messages=MESSAGES,
        tools=TOOLS,
        extra_headers={"x-emu-tool-args-bytes": "1000000", "x-emu-per-write": "64"},
    ) as s:
        final = await s.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    arguments = calls[0].function.arguments or ""
    assert len(arguments) == 1_000_000 and json.loads(arguments)["data"].startswith("abc")
    assert s.accumulator.chunks > 15_000


async def test_refusal_events(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """delta.refusal fragments become refusal events and the message's refusal."""
    chunk = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"refusal":%s},"finish_reason":%s}]}\n\n'
    )
    emu.serve_sse(
        "chat", chunk % (b'"I cannot "', b"null") + chunk % (b'"help."', b'"stop"') + b"data: [DONE]\n\n"
    )
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        refusals = [e.delta async for e in s if isinstance(e, ChatRefusalDeltaEvent)]
        final = await s.get_final_completion()
    assert refusals == ["I cannot ", "help."]
    assert final.choices[0].message.refusal == "I cannot help."


async def test_break_then_continue(client: odr.AsyncOdiRouter) -> None:
    """Leaving a text_deltas() loop early and asking for the final completion reads on from there."""
    async with client.chat.completions.stream(
        model="m", messages=MESSAGES, extra_headers={"x-emu-chunks": "100", "x-emu-chunk-text": "x"}
    ) as s:
        async for piece in s.text_deltas():
            assert piece == "x"
            break
        assert s.accumulator.text() == "x"
        final = await s.get_final_completion()
    assert final.choices[0].message.content == "x" * 100


async def test_error_chunk_keeps_usage(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An error chunk is accumulated before StreamEventError is raised, so its usage is kept."""
    body = (
        b'data: {"id":"g","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}\n\n'
        b'data: {"id":"g","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
        b'"error":{"code":400,"message":"Token limit reached"},'
        b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n'
        b"data: [DONE]\n\n"
    )
    emu.serve_sse("chat", body)
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        with pytest.raises(odr.StreamEventError) as info:
            await s.get_final_completion()
        with pytest.raises(odr.StreamEventError):
            await s.until_done()  # the error stays the outcome of the stream
        snapshot = s.current_completion_snapshot
    assert info.value.error == {"code": 400, "message": "Token limit reached"}
    assert info.value.message == "Token limit reached"
    assert snapshot.choices[0].message.content == "partial"
    assert snapshot.usage is not None and snapshot.usage.total_tokens == 4


async def test_interrupted_stream_keeps_partial_text(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream cut before its end raises StreamInterrupted; what arrived stays on the accumulator."""
    emu.faults.add("chat", truncate_after=3)
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        with pytest.raises(odr.StreamInterrupted):
            await s.get_final_completion()
    assert s.accumulator.text() == "You said: "
    assert s.stream.closed and not s.stream.completed


async def test_request_errors_raise_on_entry(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """The request is sent when the block is entered; a status error raises there."""
    manager = client.chat.completions.stream(model="m", messages=[])
    assert emu.stats.count("chat") == 0
    with pytest.raises(odr.BadRequestError):
        async with manager:
            pass
    assert emu.stats.count("chat") == 1


async def test_manager_enters_once(client: odr.AsyncOdiRouter) -> None:
    """A stream manager is single-use."""
    manager = client.chat.completions.stream(model="m", messages=MESSAGES)
    async with manager as s:
        await s.until_done()
    with pytest.raises(RuntimeError, match="already entered"):
        async with manager:
            pass


async def test_stream_helper_passes_options(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """x_request_id, extra_headers and extra_body apply to the helper's request too."""
    async with client.chat.completions.stream(
        model="m",
        messages=MESSAGES,
        x_request_id="helper-1",
        extra_headers={"x-emu-chunks": "2", "x-emu-chunk-text": "ok"},
        extra_body={"n": 2},
    ) as s:
        final = await s.get_final_completion()
    assert emu.stats.records("chat")[-1].request_id == "helper-1" == final.x_request_id
    assert [c.message.content for c in final.choices] == ["okok", "okok"]
