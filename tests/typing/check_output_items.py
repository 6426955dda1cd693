"""Type check: Response output items narrow on ``item.type``; parse results carry ``T``."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import json
from typing import Any

import msgspec
from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async.types import (
    ParsedChatCompletion,
    ParsedChatCompletionMessage,
    ResponseCodeInterpreterToolCall,
    ResponseCustomToolCall,
    ResponseFunctionToolCall,
    ResponseFunctionWebSearch,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
)


class Weather(msgspec.Struct):
    """What the model fills in."""

    city: str
    celsius: float


def handle(item: odr.ResponseOutputItem) -> str:
    """What a tool loop does: narrow on ``type``, then use the fields the wire always has."""
    if item.type == "function_call":
        assert_type(item, ResponseFunctionToolCall)
        args: dict[str, Any] = json.loads(item.arguments)  # ``arguments: str``, no ``or "{}"``
        return item.call_id + item.name + str(args)
    if item.type == "custom_tool_call":
        assert_type(item, ResponseCustomToolCall)
        return item.input
    if item.type == "message":
        assert_type(item, ResponseOutputMessage)
        return "".join(text_of(part) for part in item.content)
    if item.type == "reasoning":
        assert_type(item, ResponseReasoningItem)
        return str(item.summary)
    if item.type == "web_search_call":
        assert_type(item, ResponseFunctionWebSearch)
        return str(item.action)
    if item.type == "code_interpreter_call":
        assert_type(item, ResponseCodeInterpreterToolCall)
        return item.code or ""
    if item.type == "unknown":
        assert_type(item, odr.UnknownOutputItem)
        raw: dict[str, Any] = item.raw
        return item.item_type + str(raw)
    return item.type


def text_of(part: ResponseOutputText | ResponseOutputRefusal | Any) -> str:
    """Content parts narrow the same way."""
    if isinstance(part, ResponseOutputText):
        return part.text
    if isinstance(part, ResponseOutputRefusal):
        return part.refusal
    return ""


def content_part(item: ResponseOutputMessage) -> str:
    """``part.type == "output_text"`` narrows the part union."""
    part = item.content[0]
    if part.type == "output_text":
        assert_type(part, ResponseOutputText)
        return part.text
    if part.type == "refusal":
        assert_type(part, ResponseOutputRefusal)
        return part.refusal
    return part.part_type


def not_narrowed(item: odr.ResponseOutputItem) -> None:
    """Without narrowing, ``arguments`` is not an attribute of every item: an error."""
    print(item.arguments)  # type: ignore[union-attr]


def calls(response: odr.Response) -> list[str]:
    """A comprehension's condition narrows its element too."""
    return [c.arguments for c in response.output if c.type == "function_call"]


async def parse(client: odr.AsyncOdiRouter) -> None:
    """parse() results carry the requested type."""
    completion = await client.chat.completions.parse(model="m", messages=[], response_format=Weather)
    assert_type(completion, ParsedChatCompletion[Weather])
    message = completion.choices[0].message
    assert_type(message, ParsedChatCompletionMessage[Weather])
    assert_type(message.parsed, Weather | None)
    if message.parsed is not None:
        print(message.parsed.celsius + 1)
    loose = await client.chat.completions.parse(model="m", messages=[], response_format={"type": "object"})
    print(loose.choices[0].message.parsed)
    response = await client.responses.parse(model="m", input="x", text_format=Weather)
    assert_type(response, odr.ParsedResponse[Weather])
    assert_type(response.output_parsed, Weather | None)
    tool = odr.function_tool(Weather, name="weather")
    await client.responses.parse(model="m", input="x", tools=[tool])


async def streams(client: odr.AsyncOdiRouter) -> None:
    """stream(response_format=T) parses the final object; without a type it is the plain helper."""
    async with client.chat.completions.stream(model="m", messages=[], response_format=Weather) as s:
        final = await s.get_final_completion()
        assert_type(final.choices[0].message.parsed, Weather | None)
    async with client.chat.completions.stream(model="m", messages=[]) as plain:
        assert_type(plain, odr.ChatCompletionStream)
    async with client.responses.stream(model="m", input="x", text_format=Weather) as r:
        done = await r.get_final_response()
        assert_type(done.output_parsed, Weather | None)
    async with client.responses.stream(model="m", input="x") as rs:
        assert_type(rs, odr.ResponseStream)


def errors(exc: Exception) -> str | None:
    """The parse errors keep the text."""
    if isinstance(exc, odr.ContentParseError):
        return exc.content
    return None
