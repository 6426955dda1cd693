"""The emulator behaves like the gateway: model catalogue, validation, generated answers, pacing."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator, pytest_plugin
from odirouter_async.testing._catalogue import LLM_MODELS, QUEUE_ENDPOINTS, VIDEO_MODELS
from odirouter_async.testing._cli import build_parser

pytestmark = pytest.mark.anyio

odirouter_emulator = pytest_plugin.odirouter_emulator

CHAT = "/v1/chat/completions"
PROMPT = "In two sentences: why does async help with many API calls?"
MESSAGES = [{"role": "user", "content": PROMPT}]
FORECAST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "hourly": {"type": "boolean"},
        "window": {
            "type": "object",
            "properties": {"start": {"type": "string", "format": "date"}, "hours": {"type": "number"}},
            "required": ["start", "hours"],
        },
        "alerts": {"type": "array", "items": {"type": "string", "enum": ["rain", "wind"]}, "minItems": 1},
    },
    "required": ["location", "unit", "days", "window", "alerts"],
}
FORECAST = {"type": "function", "function": {"name": "get_forecast", "parameters": FORECAST_SCHEMA}}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """An emulator with its default (realistic) settings."""
    async with Emulator() as e:
        yield e


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as s:
        yield s


def auth(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}"}


async def post(
    http: aiohttp.ClientSession, emu: Emulator, path: str, body: Any, **headers: str
) -> tuple[int, Any]:
    async with http.post(emu.url + path, json=body, headers={**auth(emu), **headers}) as r:
        text = await r.text()
        return r.status, json.loads(text) if r.content_type == "application/json" else text


def check_schema(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """A small JSON-schema validator for the keywords the tests use."""
    if "enum" in schema:
        assert value in schema["enum"], where
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        assert set(schema.get("required", [])) <= set(value), where
        assert set(value) <= set(schema.get("properties", {})), where
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                check_schema(value[key], sub, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list) and len(value) >= schema.get("minItems", 0), where
        for i, item in enumerate(value):
            check_schema(item, schema.get("items", {}), f"{where}[{i}]")
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), where
        assert schema.get("minimum", value) <= value <= schema.get("maximum", value), where
    elif kind == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind == "string":
        assert isinstance(value, str) and len(value) >= schema.get("minLength", 0), where
        if schema.get("format") == "date":
            time.strptime(value, "%Y-%m-%d")


# -- catalogue ------------------------------------------------------------------------------------


async def test_models_lists_the_catalogue_with_owners(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """/v1/models lists every catalogue LLM, queue endpoint and video model with its owner."""
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        data = (await r.json())["data"]
    owners = {m["id"]: m["owned_by"] for m in data}
    assert len(owners) == len(data)
    expected = {**dict(LLM_MODELS), **{i: o for i, _, o in QUEUE_ENDPOINTS}, **dict(VIDEO_MODELS)}
    assert owners == expected
    assert {"gpt-4.1", "o4-mini", "claude-sonnet-4", "gemini-2.5-pro", "deepseek-chat"} <= set(owners)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {"model": "gpt-5-typo", "messages": MESSAGES}),
        (CHAT, {"model": "gpt-5-typo", "messages": MESSAGES, "stream": True}),
        ("/v1/responses", {"model": "gpt-5-typo", "input": "hi"}),
        ("/v1/responses", {"model": "nano_banana_2", "input": "hi", "stream": True}),
    ],
)
async def test_unknown_model_is_404_model_not_found(
    emu: Emulator, http: aiohttp.ClientSession, path: str, body: dict[str, Any]
) -> None:
    """A model outside the catalogue (or a queue endpoint) answers 404 with an OpenAI error body."""
    status, answer = await post(http, emu, path, body)
    assert status == 404
    error = answer["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "model",
        "model_not_found",
    )
    assert f"`{body['model']}`" in error["message"]


async def test_unknown_model_is_a_typed_not_found_error(emu: Emulator) -> None:
    """Through the SDK, a mistyped model is a NotFoundError naming the model, and costs nothing."""
    emu.balance = 5
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        with pytest.raises(odr.NotFoundError) as info:
            await client.chat.completions.create(model="gpt4.1", messages=MESSAGES)
        assert "gpt4.1" in str(info.value)
        with pytest.raises(odr.NotFoundError):
            await client.responses.create(model="gpt4.1", input="hi")
    assert emu.balance == 5


async def test_permissive_and_extra_models(http: aiohttp.ClientSession) -> None:
    """permissive=True accepts any id; models=[...] adds ids that are accepted and listed."""
    async with Emulator(permissive=True) as emu:
        assert (await post(http, emu, CHAT, {"model": "anything/at-all", "messages": MESSAGES}))[0] == 200
    async with Emulator(models=["my-finetune"]) as emu:
        status, body = await post(http, emu, CHAT, {"model": "my-finetune", "messages": MESSAGES})
        assert status == 200 and body["model"] == "my-finetune"
        assert (await post(http, emu, CHAT, {"model": "other", "messages": MESSAGES}))[0] == 404
        async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
            assert {"id": "my-finetune", "owned_by": "odirouter"}.items() <= next(
                m for m in (await r.json())["data"] if m["id"] == "my-finetune"
            ).items()


@pytest.mark.odirouter_emulator(permissive=True)
async def test_plugin_marker_opts_into_permissive(
    odirouter_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """The pytest marker passes permissive=True to the plugin's fixture."""
    status, _ = await post(http, odirouter_emulator, CHAT, {"model": "m", "messages": MESSAGES})
    assert status == 200


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": "gpt-4.1"}, "messages"),
        ({"model": "gpt-4.1", "messages": []}, "messages"),
        ({"model": "gpt-4.1", "messages": {"role": "user"}}, "messages"),
        ({"model": "gpt-4.1", "messages": ["hello"]}, "messages[0]"),
        ({"model": "gpt-4.1", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"model": "gpt-4.1", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "gpt-4.1", "messages": [*MESSAGES, {"role": "user"}]}, "messages[1].content"),
        ({"model": "gpt-4.1", "messages": [{"role": "user", "content": 7}]}, "messages[0].content"),
    ],
)
async def test_invalid_chat_requests_are_400(
    emu: Emulator, http: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Chat bodies the gateway rejects answer 400 with an OpenAI error naming the parameter."""
    status, answer = await post(http, emu, CHAT, body)
    assert status == 400
    assert (answer["error"]["type"], answer["error"]["param"]) == ("invalid_request_error", param)


async def test_valid_conversation_shapes_are_accepted(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """System, parts lists, an assistant tool call with null content and a tool result pass validation."""
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    assert (await post(http, emu, CHAT, {"model": "gpt-4.1", "messages": messages}))[0] == 200


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "gpt-4.1"}, "input"),
        ({"model": "gpt-4.1", "input": []}, "input"),
        ({"model": "gpt-4.1", "input": 3}, "input"),
        ({"model": "gpt-4.1", "input": ["hi"]}, "input[0]"),
    ],
)
async def test_invalid_responses_requests_are_400(
    emu: Emulator, http: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Responses bodies without a model or a usable input answer 400 naming the parameter."""
    status, answer = await post(http, emu, "/v1/responses", body)
    assert status == 400 and answer["error"]["param"] == param


# -- generated answers --------------------------------------------------------------------------


async def test_answers_are_generated_deterministic_and_streamed_whole(http: aiohttp.ClientSession) -> None:
    """Answers are sentences (not echoes), the same for the same seed and prompt, and streams add up."""
    texts = []
    for seed in (0, 0, 1):
        async with (
            Emulator(seed=seed) as emu,
            odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
        ):
            whole = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
            async with client.chat.completions.stream(model="gpt-4.1", messages=MESSAGES) as s:
                pieces = [t async for t in s.text_deltas()]
            texts.append(whole.choices[0].message.content)
            assert "".join(pieces) == texts[-1] and len(pieces) > 10
    first, again, other_seed = texts
    assert first == again != other_seed
    assert first is not None and "You said" not in first and PROMPT not in first
    assert first.count(".") == 2  # "In two sentences" is honoured
    assert first.endswith(".") and first[0].isupper()


async def test_answers_differ_by_prompt_and_responses_agree(emu: Emulator) -> None:
    """Different prompts get different answers; Responses gives the same text as chat."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        a = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
        b = await client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "Explain vector databases"}]
        )
        r = await client.responses.create(model="gpt-4.1", input=PROMPT)
    assert a.choices[0].message.content != b.choices[0].message.content
    assert r.output_text == a.choices[0].message.content


async def test_control_headers_still_shape_generated_answers(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """x-emu-chunks cycles the generated words; x-emu-chunk-text replaces them."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    _, text = await post(http, emu, CHAT, body, **{"x-emu-chunks": "50"})
    contents = [
        json.loads(line[6:])["choices"][0]["delta"].get("content")
        for line in text.split("\n\n")
        if line.startswith("data: {")
    ]
    words = [c for c in contents if c]
    assert len(words) == 50 and "You " not in words
    _, text = await post(http, emu, CHAT, body, **{"x-emu-chunks": "3", "x-emu-chunk-text": "ab"})
    assert text.count('"content":"ab"') == 3


# -- tool arguments -----------------------------------------------------------------------------


async def test_chat_tool_arguments_follow_the_schema(emu: Emulator) -> None:
    """Tool-call arguments are JSON that validates against the tool's schema, the same every time."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        args = []
        for _ in range(2):
            completion = await client.chat.completions.create(
                model="gpt-4.1",
                messages=[{"role": "user", "content": "forecast for Oslo"}],
                tools=[FORECAST],
                tool_choice="required",
            )
            calls = completion.choices[0].message.tool_calls
            assert calls is not None and calls[0].function.name == "get_forecast"
            args.append(json.loads(calls[0].function.arguments or ""))
    check_schema(args[0], FORECAST_SCHEMA)
    assert args[0] == args[1]


async def test_responses_function_call_arguments_follow_the_schema(emu: Emulator) -> None:
    """A streamed Responses function call carries schema-shaped arguments."""
    tool = {"type": "function", "name": "get_forecast", "parameters": FORECAST_SCHEMA}
    async with (
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
        client.responses.stream(
            model="o4-mini", input="forecast please", tools=[tool], tool_choice="required"
        ) as s,
    ):
        final = await s.get_final_response()
    call = next(item for item in final.raw["output"] if item["type"] == "function_call")
    check_schema(json.loads(call["arguments"]), FORECAST_SCHEMA)


# -- pacing -------------------------------------------------------------------------------------


async def test_streams_are_paced_at_tokens_per_second() -> None:
    """With tokens_per_second=100 a 30-chunk stream takes at least ~0.3 s, chunk after chunk."""
    async with (
        Emulator(tokens_per_second=100) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        arrivals = []
        async with client.chat.completions.stream(
            model="gpt-4.1", messages=MESSAGES, extra_headers={"x-emu-chunks": "30"}
        ) as s:
            async for _ in s.text_deltas():
                arrivals.append(anyio.current_time())
        assert len(arrivals) == 30
        assert arrivals[-1] - arrivals[0] >= 29 / 100 * 0.9
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert sum(g > 0.005 for g in gaps) >= 10  # spread out, not one burst
        started = anyio.current_time()
        await client.chat.completions.create(
            model="gpt-4.1", messages=MESSAGES, extra_headers={"x-emu-chunks": "30"}
        )
        assert anyio.current_time() - started >= 30 / 100 * 0.9  # a whole answer takes its generation time


def test_cli_paces_by_default_and_can_turn_it_off() -> None:
    """``odirouter emulator`` streams at 60 tokens/s unless told otherwise; --permissive exists."""
    parser = build_parser()
    assert parser.parse_args([]).tokens_per_second == 60
    args = parser.parse_args(["--tokens-per-second", "0", "--permissive"])
    assert args.tokens_per_second == 0 and args.permissive is True


def test_bad_llm_options_are_rejected() -> None:
    """A negative tokens_per_second or models given as one string is a ValueError at construction."""
    with pytest.raises(ValueError, match="tokens_per_second"):
        Emulator(tokens_per_second=-1)
    with pytest.raises(ValueError, match="list of model ids"):
        Emulator(models="my-model")
