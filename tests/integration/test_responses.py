"""``client.responses``: create (whole and streamed), the stream helper, retrieve."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.response_events import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseTextDeltaEvent,
    UnknownEvent,
)
from odirouter_async.types.responses import Response

pytestmark = pytest.mark.anyio

TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]


def sse(*events: dict[str, Any], done: bool = False) -> bytes:
    """A Responses SSE body: ``event:`` + ``data:`` per event."""
    out = b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + msgspec.json.encode(e) + b"\n\n" for e in events
    )
    return out + (b"data: [DONE]\n\n" if done else b"")


def response(status: str, **extra: Any) -> dict[str, Any]:
    """A minimal response object."""
    return {"id": "resp_1", "object": "response", "status": status, "model": "m", "output": [], **extra}


async def test_create_returns_response(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A whole response is typed, with output_text, usage and the request id."""
    result = await client.responses.create(model="gpt-4.1", input="hello there", instructions="be brief")
    assert isinstance(result, Response)
    assert result.status == "completed" and result.output_text == "You said: hello there"
    assert result.usage is not None and result.usage.output_tokens == 4
    assert result.x_request_id == emu.stats.records("responses")[-1].request_id


async def test_create_with_input_items_and_tools(client: odr.AsyncOdiRouter) -> None:
    """Input items with content parts and function tools pass through; a call comes back."""
    items = [{"role": "user", "content": [{"type": "input_text", "text": "weather in Paris?"}]}]
    result = await client.responses.create(model="m", input=items, tools=TOOLS)
    (call,) = [item for item in result.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments or "") == {"query": "weather in Paris?"}


async def test_stream_events_are_typed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """create(stream=True) yields typed events, ending with response.completed."""
    stream = await client.responses.create(model="m", input="hello there", stream=True)
    async with stream:
        events = [e async for e in stream]
    assert isinstance(events[0], ResponseCreatedEvent)
    assert isinstance(events[-1], ResponseCompletedEvent)
    text = "".join(e.delta for e in events if isinstance(e, ResponseTextDeltaEvent))
    assert text == events[-1].response.output_text == "You said: hello there"
    assert stream.x_request_id == emu.stats.records("responses")[-1].request_id
    assert stream.completed


async def test_stream_helper_text_and_final(client: odr.AsyncOdiRouter) -> None:
    """responses.stream: text_deltas(), then the final response with reasoning and usage."""
    async with client.responses.stream(
        model="o4-mini", input="hello there", extra_headers={"x-emu-reasoning": "3", "x-emu-done": "1"}
    ) as s:
        pieces = [t async for t in s.text_deltas()]
        final = await s.get_final_response()
    assert pieces == ["You ", "said: ", "hello ", "there"]
    assert final.status == "completed" and final.output_text == "You said: hello there"
    assert s.accumulator.reasoning == "Let me think "
    assert final.x_request_id == s.x_request_id


async def test_stream_helper_tool_call(client: odr.AsyncOdiRouter) -> None:
    """A streamed function call is assembled from its argument deltas."""
    async with client.responses.stream(
        model="m",
        input="hi",
        tools=TOOLS,
        tool_choice="required",
        extra_headers={"x-emu-fragment-bytes": "4"},
    ) as s:
        deltas = [e async for e in s if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
        final = await s.get_final_response()
    assert len(deltas) > 2
    (call,) = s.tool_calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"query": "hi"}
    assert final.output[0].arguments == call.arguments


async def test_unknown_event_type_arrives_raw(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An event type the SDK does not know is an UnknownEvent with its JSON, not a wrong class."""
    emu.serve_sse(
        "responses",
        sse(
            {"type": "response.created", "sequence_number": 0, "response": response("in_progress")},
            {"type": "response.future_thing.delta", "sequence_number": 1, "payload": {"x": 1}},
            {"type": "response.completed", "sequence_number": 2, "response": response("completed")},
        ),
    )
    async with client.responses.stream(model="m", input="x") as s:
        events = [e async for e in s]
    unknown = events[1]
    assert isinstance(unknown, UnknownEvent)
    assert unknown.event_type == "response.future_thing.delta" and unknown.raw["payload"] == {"x": 1}
    assert s.accumulator.unknown_events == 1


async def test_failed_response_is_returned(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """response.failed ends the stream normally: get_final_response() returns it with its error."""
    error = {"code": "server_error", "message": "The model crashed"}
    emu.serve_sse(
        "responses",
        sse(
            {"type": "response.created", "sequence_number": 0, "response": response("in_progress")},
            {"type": "response.failed", "sequence_number": 1, "response": response("failed", error=error)},
        ),
    )
    async with client.responses.stream(model="m", input="x") as s:
        final = await s.get_final_response()
    assert final.status == "failed"
    assert final.error is not None and final.error.message == "The model crashed"
    assert s.accumulator.errors == [error]


async def test_incomplete_response_is_returned(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """response.incomplete ends the stream normally, with its reason."""
    incomplete = response("incomplete", incomplete_details={"reason": "max_output_tokens"})
    emu.serve_sse("responses", sse({"type": "response.incomplete", "response": incomplete}, done=True))
    async with client.responses.stream(model="m", input="x") as s:
        final = await s.get_final_response()
    assert final.status == "incomplete"
    assert final.incomplete_details is not None and final.incomplete_details.reason == "max_output_tokens"


async def test_error_event_raises(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An `error` event raises StreamEventError with its code and message, after the events before it."""
    emu.faults.add("responses", error_event_after=5)
    async with client.responses.stream(model="m", input="hello there") as s:
        got = 0
        with pytest.raises(odr.StreamEventError) as info:
            async for _ in s:
                got += 1
        with pytest.raises(odr.StreamEventError):
            await s.get_final_response()
    assert got == 5
    assert info.value.code == "server_error" and info.value.message == "Emulated upstream error"
    assert info.value.x_request_id == emu.stats.records("responses")[-1].request_id
    assert s.output_text == "You "


async def test_truncated_stream_is_interrupted(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """EOF before the terminal event raises StreamInterrupted (a [DONE] alone does not end it)."""
    emu.faults.add("responses", truncate_after=4)
    with pytest.raises(odr.StreamInterrupted, match="terminal event"):
        async for _ in await client.responses.create(model="m", input="x", stream=True):
            pass
    emu.serve_sse(
        "responses", sse({"type": "response.in_progress", "response": response("in_progress")}, done=True)
    )
    with pytest.raises(odr.StreamInterrupted):
        async for _ in await client.responses.create(model="m", input="x", stream=True):
            pass


async def test_connection_cut_is_interrupted(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A connection dropped mid-stream: StreamInterrupted caused by APIConnectionError."""
    emu.faults.add("responses", truncate_after=3, drop=True)
    with pytest.raises(odr.StreamInterrupted) as info:
        async with client.responses.stream(model="m", input="x") as s:
            await s.until_done()
    assert isinstance(info.value.__cause__, odr.APIConnectionError)


async def test_malformed_event(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Broken JSON in an event raises ResponseValidationError."""
    emu.faults.add("responses", malformed_after=3)
    with pytest.raises(odr.ResponseValidationError):
        async for _ in await client.responses.create(model="m", input="x", stream=True):
            pass


async def test_non_sse_answer(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A JSON answer to a stream request raises SSEProtocolError with an excerpt."""
    emu.faults.add("responses", content_type="application/json")
    with pytest.raises(odr.SSEProtocolError) as info:
        async with client.responses.stream(model="m", input="x"):
            pass
    assert '"object":"response"' in str(info.value.body)


async def test_idle_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A silence longer than Timeout.read mid-stream raises APITimeoutError."""
    emu.faults.add("responses", stall_after=3, delay=5)
    with pytest.raises(odr.APITimeoutError):
        async with client.responses.stream(model="m", input="x", timeout=odr.Timeout(read=0.2)) as s:
            await s.until_done()
    assert emu.stats.count("responses") == 1


async def test_extra_query_and_body(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """extra_query reaches the URL (?stream=true streams) and extra_body is merged last."""
    stream = await client.responses.create(
        model="m", input="x", stream=True, extra_body={"stream": False}, extra_query={"stream": "true"}
    )
    events = [e async for e in stream]
    assert isinstance(events[-1], ResponseCompletedEvent)


async def test_errors_are_typed(emu: Emulator) -> None:
    """401, 403 balance and 400 map to their classes; a 429 is retried with the same request id."""
    async with odr.AsyncOdiRouter(api_key="bad", base_url=emu.url) as c:
        with pytest.raises(odr.AuthenticationError):
            await c.responses.create(model="m", input="x")
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
        with pytest.raises(odr.BadRequestError):
            await c.responses.create(model="m", input=[])
        emu.faults.add("responses", status=429, headers={"Retry-After": "0"}, times=1)
        result = await c.responses.create(model="m", input="x")
        records = emu.stats.records("responses")[-2:]
        assert [r.status for r in records] == [429, 200]
        assert records[0].request_id == records[1].request_id == result.x_request_id
        emu.balance = 0
        with pytest.raises(odr.InsufficientBalanceError):
            await c.responses.create(model="m", input="x", stream=True)


async def test_retrieve(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """retrieve() GETs /v1/responses/{id}; the emulator has no stored responses: NotFoundError."""
    with pytest.raises(odr.NotFoundError) as info:
        await client.responses.retrieve("resp_123")
    assert info.value.x_request_id == emu.stats.log[-1].request_id
    assert emu.stats.log[-1].path == "/v1/responses/resp_123"
    with pytest.raises(ValueError):
        await client.responses.retrieve("")
