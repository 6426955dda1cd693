"""Structured outputs: ``chat.completions.parse``, ``responses.parse``, their streams and
``function_tool``, against the emulator and a small server that answers what a test needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from aiohttp import web
from hostile_http import WebServer, serve

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.responses import ResponseFunctionToolCall, UnknownContentPart

pytestmark = pytest.mark.anyio


class Address(msgspec.Struct):
    """A postal address."""

    city: str
    street: str | None = None


class Weather(msgspec.Struct):
    """A weather report."""

    city: str
    celsius: float
    conditions: list[str]
    address: Address | None = None
    unit: str = "C"


class GetWeather(msgspec.Struct):
    """Look up the weather of a city."""

    city: str


def chat_body(content: str | None, *, refusal: str | None = None, finish: str = "stop", **msg: Any) -> bytes:
    """A chat.completion with one choice."""
    message = {"role": "assistant", "content": content, "refusal": refusal, **msg}
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return msgspec.json.encode({"id": "c1", "object": "chat.completion", "model": "m", "choices": [choice]})


def responses_body(*output: dict[str, Any], **extra: Any) -> bytes:
    """A response object with ``output``."""
    body = {"id": "resp_1", "object": "response", "status": "completed", "model": "m", "output": list(output)}
    return msgspec.json.encode({**body, **extra})


def message(*content: dict[str, Any]) -> dict[str, Any]:
    """A message output item."""
    return {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": list(content),
    }


@asynccontextmanager
async def answering(body: bytes) -> AsyncIterator[tuple[WebServer, odr.AsyncOdiRouter]]:
    """A server that answers every request with ``body``, and a client for it."""

    async def handler(request: web.Request, server: WebServer) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json", headers={"x-request-id": "req_s"})

    async with (
        serve(handler) as server,
        odr.AsyncOdiRouter(api_key="k", base_url=server.url, max_retries=0) as c,
    ):
        yield server, c


def sent(server: WebServer) -> Any:
    """The JSON body of the last request the server saw."""
    return json.loads(server.requests[-1].body)


# ----------------------------------------------------------------------------------------------
# Chat


async def test_chat_parse_decodes_into_the_struct(client: odr.AsyncOdiRouter) -> None:
    """The emulator writes JSON that fits the strict schema; parsed is a Weather about the prompt's city."""
    completion = await client.chat.completions.parse(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "What is the weather in Lisbon?"}],
        response_format=Weather,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Weather)
    assert parsed.city == "Lisbon"
    assert parsed == msgspec.json.decode(completion.choices[0].message.content or "", type=Weather)
    assert completion.x_request_id


async def test_chat_parse_is_deterministic_by_seed() -> None:
    """The same seed and prompt give the same structured answer; another seed another one."""
    results = []
    for seed in (1, 1, 2):
        async with Emulator(seed=seed) as emu, odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
            completion = await c.chat.completions.parse(
                model="gpt-4.1",
                messages=[{"role": "user", "content": "weather please"}],
                response_format=Weather,
            )
            results.append(completion.choices[0].message.parsed)
    assert results[0] == results[1] != results[2]


async def test_chat_request_carries_the_strict_schema() -> None:
    """The body has response_format json_schema with name, strict and a schema strict mode accepts."""
    async with answering(chat_body('{"city": "Oslo", "street": null}')) as (server, c):
        completion = await c.chat.completions.parse(
            model="m", messages=[{"role": "user", "content": "x"}], response_format=Address, temperature=0
        )
    fmt = sent(server)["response_format"]
    assert fmt["type"] == "json_schema"
    spec = fmt["json_schema"]
    assert spec["name"] == "Address" and spec["strict"] is True
    assert spec["schema"]["required"] == ["city", "street"]
    assert spec["schema"]["additionalProperties"] is False
    assert sent(server)["temperature"] == 0
    assert completion.choices[0].message.parsed == Address(city="Oslo")
    assert completion.x_request_id == "req_s"


async def test_chat_refusal_leaves_parsed_none() -> None:
    """A refusal is kept in ``refusal``; ``parsed`` stays None and nothing raises."""
    async with answering(chat_body(None, refusal="I can't help with that.")) as (_, c):
        completion = await c.chat.completions.parse(model="m", messages=[], response_format=Address)
    msg = completion.choices[0].message
    assert msg.parsed is None and msg.refusal == "I can't help with that."


@pytest.mark.parametrize(
    ("content", "finish", "error"),
    [
        ('{"city": 5}', "stop", odr.ContentParseError),
        ("not json at all", "stop", odr.ContentParseError),
        ('{"city": "Os', "length", odr.LengthFinishReasonError),
    ],
)
async def test_chat_content_that_does_not_decode_raises_with_the_text(
    content: str, finish: str, error: type[odr.ContentParseError]
) -> None:
    """Bad JSON or a wrong shape raises a typed error that keeps the raw text and request id."""
    async with answering(chat_body(content, finish=finish)) as (_, c):
        with pytest.raises(error) as info:
            await c.chat.completions.parse(model="m", messages=[], response_format=Address)
    assert info.value.content == content
    assert info.value.x_request_id == "req_s"
    assert isinstance(info.value, odr.OdiRouterError)


async def test_chat_parse_with_a_dict_schema() -> None:
    """A JSON-schema dict is made strict and the content decoded into plain JSON values."""
    schema = {"title": "Pair", "type": "object", "properties": {"a": {"type": "integer"}}}
    async with answering(chat_body('{"a": 3}')) as (server, c):
        completion = await c.chat.completions.parse(model="m", messages=[], response_format=schema)
    spec = sent(server)["response_format"]["json_schema"]
    assert spec["name"] == "Pair" and spec["schema"]["properties"]["a"] == {"type": ["integer", "null"]}
    assert completion.choices[0].message.parsed == {"a": 3}


async def test_chat_parse_with_json_object_mode() -> None:
    """``{"type": "json_object"}`` is sent as given and the content decoded as JSON."""
    async with answering(chat_body('{"any": [1, 2]}')) as (server, c):
        completion = await c.chat.completions.parse(
            model="m", messages=[], response_format={"type": "json_object"}
        )
    assert sent(server)["response_format"] == {"type": "json_object"}
    assert completion.choices[0].message.parsed == {"any": [1, 2]}


async def test_unsupported_schema_is_refused_before_sending() -> None:
    """A Struct strict mode cannot express raises StrictSchemaError and no request is sent."""
    Free = msgspec.defstruct("Free", [("extra", dict[str, int])])
    async with answering(chat_body("{}")) as (server, c):
        with pytest.raises(odr.StrictSchemaError):
            await c.chat.completions.parse(model="m", messages=[], response_format=Free)
    assert server.requests == []


async def test_chat_function_tool_calls_get_parsed_arguments(client: odr.AsyncOdiRouter) -> None:
    """A function_tool(Struct) is sent strict and its calls' arguments come back decoded."""
    tool = odr.function_tool(GetWeather, name="get_weather")
    completion = await client.chat.completions.parse(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[tool],
    )
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert call.function.parsed_arguments == GetWeather(city="Paris")


async def test_chat_stream_with_a_response_format(client: odr.AsyncOdiRouter) -> None:
    """stream(response_format=T): deltas as usual, the final completion parsed once at the end."""
    async with client.chat.completions.stream(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "weather in Kyoto"}],
        response_format=Weather,
    ) as s:
        text = "".join([t async for t in s.text_deltas()])
        final = await s.get_final_completion()
    parsed = final.choices[0].message.parsed
    assert isinstance(parsed, Weather) and parsed.city == "Kyoto"
    assert msgspec.json.decode(text, type=Weather) == parsed


async def test_chat_stream_without_a_format_is_the_plain_helper(client: odr.AsyncOdiRouter) -> None:
    """Without a type the stream helper is the plain one (nothing added to the per-chunk path)."""
    manager = client.chat.completions.stream(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert type(manager) is odr.ChatCompletionStreamManager
    async with manager as s:
        final = await s.get_final_completion()
    assert final.choices[0].message.content


# ----------------------------------------------------------------------------------------------
# Responses


async def test_responses_parse_decodes_output_parsed(client: odr.AsyncOdiRouter) -> None:
    """text_format=T: output_parsed is a T; output_text is the JSON it came from."""
    response = await client.responses.parse(
        model="gpt-4.1", input="The weather in Lima?", text_format=Weather
    )
    assert isinstance(response.output_parsed, Weather)
    assert response.output_parsed.city == "Lima"
    assert msgspec.json.decode(response.output_text, type=Weather) == response.output_parsed


async def test_responses_request_carries_text_format() -> None:
    """The body has text.format {type json_schema, name, schema, strict}, merged with a given text."""
    async with answering(
        responses_body(message({"type": "output_text", "text": '{"city": "Rome", "street": "Via"}'}))
    ) as (
        server,
        c,
    ):
        response = await c.responses.parse(
            model="m", input="x", text_format=Address, text={"verbosity": "low"}
        )
    text = sent(server)["text"]
    assert text["verbosity"] == "low"
    fmt = text["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "Address", True)
    assert fmt["schema"]["additionalProperties"] is False
    assert response.output_parsed == Address(city="Rome", street="Via")


async def test_responses_refusal_leaves_output_parsed_none() -> None:
    """A refusal part: output_parsed None, the refusal readable on the message."""
    body = responses_body(message({"type": "refusal", "refusal": "No."}))
    async with answering(body) as (_, c):
        response = await c.responses.parse(model="m", input="x", text_format=Address)
    assert response.output_parsed is None
    item = response.output[0]
    assert item.type == "message" and item.content[0].type == "refusal" and item.content[0].refusal == "No."


async def test_responses_truncated_json_raises_length_error() -> None:
    """max_output_tokens cut the JSON: LengthFinishReasonError with the partial text."""
    body = responses_body(
        message({"type": "output_text", "text": '{"city": "Ro'}),
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )
    async with answering(body) as (_, c):
        with pytest.raises(odr.LengthFinishReasonError) as info:
            await c.responses.parse(model="m", input="x", text_format=Address)
    assert info.value.content == '{"city": "Ro'


async def test_responses_function_tool_in_responses_shape(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """function_tool is sent flat (name at the top) and the call's parsed_arguments decoded."""
    tool = odr.function_tool(GetWeather, name="get_weather")
    response = await client.responses.parse(model="gpt-4.1", input="Weather in Oslo?", tools=[tool])
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1 and isinstance(calls[0], ResponseFunctionToolCall)
    assert calls[0].parsed_arguments == GetWeather(city="Oslo")
    async with answering(responses_body()) as (server, c):
        await c.responses.create(model="m", input="x", tools=[tool])
    (flat,) = sent(server)["tools"]
    assert flat["name"] == "get_weather" and flat["strict"] is True and "function" not in flat


async def test_responses_stream_with_text_format(client: odr.AsyncOdiRouter) -> None:
    """stream(text_format=T): the final response's output_parsed is a T."""
    async with client.responses.stream(model="gpt-4.1", input="weather in Toronto", text_format=Weather) as s:
        text = "".join([t async for t in s.text_deltas()])
        final = await s.get_final_response()
    assert isinstance(final.output_parsed, Weather) and final.output_parsed.city == "Toronto"
    assert msgspec.json.decode(text, type=Weather) == final.output_parsed


async def test_unknown_output_item_is_kept_raw() -> None:
    """An output item type the SDK does not know decodes as UnknownOutputItem, never as another type."""
    odd = {"type": "hologram_call", "id": "h1", "beam": {"x": 1}}
    broken = {"type": "function_call", "id": "fc", "name": "f", "arguments": "{}"}  # no call_id: not a call
    part = {"type": "output_hologram", "data": "x"}
    body = responses_body(odd, broken, message(part, {"type": "output_text", "text": "hi"}))
    async with answering(body) as (_, c):
        response = await c.responses.create(model="m", input="x")
    first, second, third = response.output
    assert isinstance(first, odr.UnknownOutputItem) and first.item_type == "hologram_call"
    assert first.raw == odd and first.type == "unknown"
    assert isinstance(second, odr.UnknownOutputItem) and second.item_type == "function_call"
    assert third.type == "message" and response.output_text == "hi"
    unknown_part = third.content[0]
    assert isinstance(unknown_part, UnknownContentPart) and unknown_part.part_type == "output_hologram"
    assert unknown_part.raw == part


async def test_unknown_item_in_a_stream_is_kept_raw(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream whose output_item events and final response carry an unknown item type still completes."""
    odd = {"type": "hologram_call", "id": "h1", "beam": 1}
    done = {"id": "resp_1", "object": "response", "status": "completed", "model": "m", "output": [odd]}
    events = [
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {**done, "status": "in_progress", "output": []},
        },
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": odd},
        {"type": "response.output_item.done", "sequence_number": 2, "output_index": 0, "item": odd},
        {"type": "response.completed", "sequence_number": 3, "response": done},
    ]
    body = b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + msgspec.json.encode(e) + b"\n\n" for e in events
    )
    emu.serve_sse("responses", body)
    async with client.responses.stream(model="m", input="x") as s:
        seen = [e async for e in s]
        final = await s.get_final_response()
    added = seen[1]
    assert added.type == "response.output_item.added"
    assert isinstance(added.item, odr.UnknownOutputItem) and added.item.item_type == "hologram_call"
    (item,) = final.output
    assert isinstance(item, odr.UnknownOutputItem) and item.raw == odd
    assert s.tool_calls == []
