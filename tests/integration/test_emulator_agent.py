"""The emulator hosts agent tests: tool loops end, arguments come from the prompt, JSON-schema
output formats get schema-valid JSON (chat and Responses, whole and streamed)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

WEATHER_PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
RESPONSES_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMS}]
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMS}}]


def weather(arguments: str) -> str:
    """Our side of the tool."""
    args = json.loads(arguments)
    return json.dumps({"city": args["city"], "temperature": 21, "unit": args["unit"]})


@pytest.fixture
async def agent_client() -> Any:
    """A client on a non-echo emulator (the generated answers, as an agent test sees them)."""
    async with Emulator(seed=7) as emu, odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        yield client


async def test_responses_tool_loop_ends_with_an_answer_that_uses_the_output(
    agent_client: odr.AsyncOdiRouter,
) -> None:
    """Turn 1 calls get_weather for the prompt's city; turn 2, after the output, answers with it."""
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the weather in Lisbon in celsius?"}
    ]
    first = await agent_client.responses.create(model="gpt-4.1", input=conversation, tools=RESPONSES_TOOLS)
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert json.loads(call.arguments) == {"city": "Lisbon", "unit": "celsius"}
    conversation += [
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": weather(call.arguments)},
    ]
    second = await agent_client.responses.create(model="gpt-4.1", input=conversation, tools=RESPONSES_TOOLS)
    assert [item.type for item in second.output] == ["message"]
    assert (
        "get_weather" in second.output_text and "Lisbon" in second.output_text and "21" in second.output_text
    )


async def test_responses_previous_response_id_loop_ends_too(agent_client: odr.AsyncOdiRouter) -> None:
    """With previous_response_id the next input is only the function_call_output: text comes back."""
    first = await agent_client.responses.create(
        model="gpt-4.1", input="weather in Kyoto?", tools=RESPONSES_TOOLS
    )
    (call,) = [item for item in first.output if item.type == "function_call"]
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    second = await agent_client.responses.create(
        model="gpt-4.1", input=[output], previous_response_id=first.id, tools=RESPONSES_TOOLS
    )
    assert "sunny" in second.output_text
    assert all(item.type != "function_call" for item in second.output)


async def test_chat_tool_loop_ends_with_an_answer_that_uses_the_output(
    agent_client: odr.AsyncOdiRouter,
) -> None:
    """Chat: after the ``tool`` message the assistant answers with text quoting it."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather in Paris?"}]
    first = await agent_client.chat.completions.create(model="gpt-4.1", messages=messages, tools=CHAT_TOOLS)
    msg = first.choices[0].message
    (call,) = msg.tool_calls or []
    args = json.loads(call.function.arguments or "")
    assert args["city"] == "Paris"
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]},
        {"role": "tool", "tool_call_id": call.id, "content": weather(call.function.arguments or "")},
    ]
    second = await agent_client.chat.completions.create(model="gpt-4.1", messages=messages, tools=CHAT_TOOLS)
    answer = second.choices[0]
    assert answer.finish_reason == "stop" and not answer.message.tool_calls
    assert "Paris" in (answer.message.content or "") and "21" in (answer.message.content or "")


async def test_a_name_in_the_prompt_fills_a_name_field(agent_client: odr.AsyncOdiRouter) -> None:
    """A person-like string property takes the capitalised name the prompt says."""
    params = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["name", "limit"],
    }
    tools = [{"type": "function", "name": "find_papers", "parameters": params}]
    response = await agent_client.responses.create(
        model="gpt-4.1", input="Find papers by Barbara Liskov", tools=tools, tool_choice="required"
    )
    (call,) = [item for item in response.output if item.type == "function_call"]
    args = json.loads(call.arguments)
    assert args["name"] == "Barbara Liskov" and 1 <= args["limit"] <= 5


SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2030},
        "tags": {"type": "array", "items": {"type": "string"}},
        "rating": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "kind": {"type": "string", "enum": ["book", "film"]},
    },
    "required": ["title", "year", "tags", "rating", "kind"],
    "additionalProperties": False,
}


class Item(msgspec.Struct, forbid_unknown_fields=True):
    """``SCHEMA`` as a Struct: decoding into it validates the JSON."""

    title: str
    year: int
    tags: list[str]
    rating: float | None
    kind: str


def check(text: str) -> Item:
    """The text is JSON fitting SCHEMA."""
    item = msgspec.json.decode(text, type=Item)
    assert 1900 <= item.year <= 2030 and item.kind in ("book", "film")
    return item


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_json_schema_format_gets_valid_json(
    agent_client: odr.AsyncOdiRouter, stream: bool
) -> None:
    """A chat json_schema response_format is answered with JSON that fits it (streamed too)."""
    fmt = {"type": "json_schema", "json_schema": {"name": "item", "schema": SCHEMA, "strict": True}}
    messages = [{"role": "user", "content": "Recommend a film"}]
    if stream:
        async with agent_client.chat.completions.stream(
            model="gpt-4.1", messages=messages, response_format=fmt
        ) as s:
            text = (await s.get_final_completion()).choices[0].message.content or ""
    else:
        completion = await agent_client.chat.completions.create(
            model="gpt-4.1", messages=messages, response_format=fmt
        )
        text = completion.choices[0].message.content or ""
    assert check(text).kind == "film"  # the enum member the prompt names


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_text_format_gets_valid_json(agent_client: odr.AsyncOdiRouter, stream: bool) -> None:
    """A Responses text.format json_schema is answered with JSON that fits it (streamed too)."""
    text_param = {"format": {"type": "json_schema", "name": "item", "schema": SCHEMA, "strict": True}}
    if stream:
        async with agent_client.responses.stream(model="gpt-4.1", input="a book", text=text_param) as s:
            deltas = "".join([t async for t in s.text_deltas()])
            final = await s.get_final_response()
        assert deltas == final.output_text
        text = final.output_text
    else:
        text = (
            await agent_client.responses.create(model="gpt-4.1", input="a book", text=text_param)
        ).output_text
    assert check(text).kind == "book"


async def test_structured_answers_are_deterministic_by_seed() -> None:
    """The same seed, model and prompt give the same JSON; another seed gives another."""
    fmt = {"type": "json_schema", "json_schema": {"name": "item", "schema": SCHEMA}}
    texts = []
    for seed in (3, 3, 4):
        async with Emulator(seed=seed) as emu, odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
            completion = await c.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "anything"}], response_format=fmt
            )
            texts.append(completion.choices[0].message.content)
    assert texts[0] == texts[1] != texts[2]
