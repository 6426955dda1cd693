"""``client.chat.completions.create`` (whole answers): typed results, pass-through, errors, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.chat import ChatCompletion

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


async def test_create_returns_typed_completion(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A whole completion is a typed ChatCompletion with usage and the request id."""
    completion = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    assert isinstance(completion, ChatCompletion)
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "You said: hello there"
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-4.1"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    rid = emu.stats.records("chat")[-1].request_id
    assert completion.x_request_id == rid


async def test_callers_request_id_is_sent(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """x_request_id= names the call on the wire and on the result."""
    completion = await client.chat.completions.create(model="m", messages=MESSAGES, x_request_id="trace-7")
    assert emu.stats.records("chat")[-1].request_id == "trace-7"
    assert completion.x_request_id == "trace-7"


async def test_multimodal_messages_and_fields_pass_through(client: odr.AsyncOdiRouter) -> None:
    """Content parts, n, temperature and other OpenAI fields reach the gateway unchanged."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "this"},
            ],
        },
    ]
    completion = await client.chat.completions.create(
        model="gpt-4o",
        messages=messages,
        n=3,
        temperature=0.2,
        response_format={"type": "text"},
        seed=1,
        some_gateway_extension={"a": 1},
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert completion.choices[2].message.content == "You said: describe this"


async def test_messages_may_be_any_iterable(client: odr.AsyncOdiRouter) -> None:
    """A generator of messages is accepted (turned into a list once)."""
    completion = await client.chat.completions.create(model="m", messages=(m for m in MESSAGES))
    assert completion.choices[0].message.content == "You said: hello there"


async def test_tool_call_completion(client: odr.AsyncOdiRouter) -> None:
    """tools + tool_choice give a typed tool call with JSON arguments."""
    completion = await client.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, tools=[WEATHER], tool_choice="required"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.function.arguments or "") == {"query": "hello there"}


async def test_extra_headers_and_body_reach_the_gateway(client: odr.AsyncOdiRouter) -> None:
    """extra_headers (emulator controls) and extra_body (merged last) change the answer."""
    completion = await client.chat.completions.create(
        model="m",
        messages=MESSAGES,
        n=1,
        extra_headers={"x-emu-chunks": "3", "x-emu-chunk-text": "ab"},
        extra_body={"n": 2},
    )
    assert len(completion.choices) == 2
    assert completion.choices[1].message.content == "ababab"


async def test_reasoning_content_is_typed(client: odr.AsyncOdiRouter) -> None:
    """A gateway's reasoning_content is a typed field of the message."""
    completion = await client.chat.completions.create(
        model="deepseek-chat", messages=MESSAGES, extra_headers={"x-emu-reasoning": "2"}
    )
    assert completion.choices[0].message.reasoning_content == "Let me "


# -- errors -----------------------------------------------------------------------------------


async def test_wrong_key_is_authentication_error(emu: Emulator) -> None:
    """401 from a wrong key is AuthenticationError with the request id."""
    async with odr.AsyncOdiRouter(api_key="nope", base_url=emu.url) as c:
        with pytest.raises(odr.AuthenticationError) as info:
            await c.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 401
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id


async def test_no_balance_is_insufficient_balance() -> None:
    """403 'insufficient balance' is InsufficientBalanceError, for whole and streamed calls."""
    async with (
        Emulator(balance=0, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c,
    ):
        with pytest.raises(odr.InsufficientBalanceError) as info:
            await c.chat.completions.create(model="m", messages=MESSAGES)
        assert info.value.status_code == 403
        with pytest.raises(odr.InsufficientBalanceError):
            await c.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert emu.stats.count("chat") == 2  # a refusal is not retried


async def test_bad_request_is_typed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An invalid field is BadRequestError with the gateway's param and message, not retried."""
    with pytest.raises(odr.BadRequestError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES, n=0)
    assert "'n'" in info.value.message
    assert info.value.error_type == "invalid_request_error"
    assert isinstance(info.value.body, dict) and info.value.body["error"]["param"] == "n"
    assert emu.stats.count("chat") == 1


async def test_429_retried_with_the_same_request_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A 429 is retried (the work was refused) and every attempt carries the same X-Request-Id."""
    emu.faults.add("chat", status=429, headers={"Retry-After": "0"}, times=2)
    completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    records = emu.stats.records("chat")
    assert [r.status for r in records] == [429, 429, 200]
    assert len({r.request_id for r in records}) == 1
    assert completion.x_request_id == records[0].request_id


async def test_paid_post_retried_on_503_not_on_500(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """503 means the gateway refused the work (retried); 500 may have run it (not retried)."""
    emu.faults.add("chat", status=503, times=1)
    await client.chat.completions.create(model="m", messages=MESSAGES)
    assert [r.status for r in emu.stats.records("chat")] == [503, 200]
    emu.reset_stats()
    emu.faults.add("chat", status=500, times=1)
    with pytest.raises(odr.InternalServerError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id
    assert emu.stats.count("chat") == 1


async def test_not_retried_after_read_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A generation that timed out reading is never sent twice (it may be running, and paid)."""
    emu.faults.add("chat", delay=2, times=1)
    with pytest.raises(odr.APITimeoutError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES, timeout=odr.Timeout(read=0.3))
    assert emu.stats.count("chat") == 1
    assert info.value.x_request_id == emu.stats.records("chat")[0].request_id


async def test_not_retried_after_connection_cut(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A connection cut after the request was sent is APIConnectionError, with one attempt only."""
    emu.faults.add("chat", drop=True, times=1)
    with pytest.raises(odr.APIConnectionError):
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert emu.stats.count("chat") == 1


async def test_max_retries_per_call(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """max_retries=0 on the call: one attempt even for a 429."""
    emu.faults.add("chat", status=429, headers={"Retry-After": "0"}, times=1)
    with pytest.raises(odr.RateLimitError):
        await client.chat.completions.create(model="m", messages=MESSAGES, max_retries=0)
    assert emu.stats.count("chat") == 1


async def test_unexpected_body_is_validation_error(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A 200 whose body is not a chat.completion raises ResponseValidationError with the body."""
    emu.faults.add("chat", status=200, body={"choices": "not a list"}, times=1)
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert "not a list" in str(info.value.body)
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id


def test_chat_namespace() -> None:
    """client.chat.completions exists without a running loop or a request."""
    c = odr.AsyncOdiRouter(api_key="k", base_url="http://127.0.0.1:9")
    assert c.chat.completions is not None
    assert callable(c.chat.completions.create) and callable(c.chat.completions.stream)


async def test_provider_list_content_through_the_client(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A Mistral-style stream with content as a list of parts is read, not aborted."""
    from pathlib import Path

    body = (Path(__file__).resolve().parents[1] / "data" / "chat_list_content.sse").read_bytes()
    emu.serve_sse("chat", body, chunk_sizes=[7] * (len(body) // 7 + 1))
    async with client.chat.completions.stream(
        model="magistral", messages=[{"role": "user", "content": "x"}]
    ) as s:
        final = await s.get_final_completion()
    assert final.choices[0].message.content == "Hello world"
    assert final.choices[0].message.reasoning_content == "hmm "


async def test_non_stream_list_content_through_the_client(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A non-stream completion whose content is a list of parts decodes, with .raw as sent."""
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": [{"type": "text", "text": "hi"}]}}
        ],
    }
    emu.faults.add("chat", status=200, body=body)
    completion = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].message.content == "hi"
    assert completion.raw["choices"][0]["message"]["content"] == [{"type": "text", "text": "hi"}]
