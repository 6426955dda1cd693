"""Tests of the gateway emulator itself, with a plain aiohttp client (no SDK code)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import pytest

from odirouter_async.testing import Emulator, emulator_fixture, file_bytes, pytest_plugin
from odirouter_async.testing._cli import serve_emulator
from odirouter_async.testing._fixture import _marker_options

pytestmark = pytest.mark.anyio

odirouter_emulator = pytest_plugin.odirouter_emulator  # the plugin's fixture (the SDK may not be installed)

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


@pytest.fixture(autouse=True)
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No test may make the emulator (or aiohttp's server) log an error."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A started emulator with fast jobs and videos; echo answers, so texts are exact."""
    async with Emulator(
        job_duration=0.05, job_jitter=0.0, video_duration=0.05, echo=True, permissive=True
    ) as e:
        yield e


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as s:
        yield s


def auth(emu: Emulator, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}", **extra}


def _exists(path: str) -> bool:
    return os.path.exists(path)


def sse_data(body: str) -> list[str]:
    """The data of each SSE event of a body (events separated by blank lines)."""
    out = []
    for block in body.split("\n\n"):
        lines = [line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            out.append("\n".join(lines))
    return out


def sse_types(body: str) -> list[str]:
    return [json.loads(d)["type"] for d in sse_data(body) if d != "[DONE]"]


async def chat(
    http: aiohttp.ClientSession, emu: Emulator, body: dict[str, Any], **headers: str
) -> tuple[int, str]:
    async with http.post(emu.url + CHAT, json=body, headers=auth(emu, **headers)) as r:
        return r.status, await r.text()


async def submit(
    http: aiohttp.ClientSession, emu: Emulator, args: dict[str, Any], endpoint: str = "nano_banana_2"
) -> dict[str, Any]:
    async with http.post(f"{emu.url}/model/v1/queue/{endpoint}", json=args, headers=auth(emu)) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = await r.json()
        return result


async def poll_until_done(
    http: aiohttp.ClientSession, emu: Emulator, status_url: str, headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Poll a status URL (bounded) until COMPLETED; returns the last body and the statuses seen."""
    seen: list[str] = []
    for _ in range(2000):
        async with http.get(status_url, headers=auth(emu) if headers is None else headers) as r:
            body: dict[str, Any] = await r.json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] == "COMPLETED":
            return body, seen
        await asyncio.sleep(0.005)
    raise AssertionError("job never completed")


# -- auth, request ids, routing -------------------------------------------------------------


async def test_missing_auth_is_401_unauthorized(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """No Authorization header: 401 with the gateway's UNAUTHORIZED body and the request id."""
    async with http.get(emu.url + "/v1/models") as r:
        assert r.status == 401
        body = await r.json()
        assert body["error"]["code"] == "UNAUTHORIZED"
        assert body["request_id"] == r.headers["X-Request-Id"]
    record = emu.stats.log[-1]
    assert (record.route, record.status, record.has_auth, record.auth_ok) == ("models", 401, False, False)


async def test_wrong_key_is_401_invalid_api_key(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A wrong key: 401 {"error": "invalid_api_key"}."""
    async with http.get(emu.url + "/v1/models", headers={"Authorization": "Bearer nope"}) as r:
        assert r.status == 401
        assert await r.json() == {"error": "invalid_api_key"}
    assert emu.stats.log[-1].has_auth and not emu.stats.log[-1].auth_ok


async def test_key_scheme_accepted_only_when_enabled(http: aiohttp.ClientSession) -> None:
    """`Authorization: Key <key>` works only with accept_key_scheme=True."""
    for enabled, expected in ((False, 401), (True, 200)):
        async with Emulator(accept_key_scheme=enabled) as emu:
            headers = {"Authorization": f"Key {emu.api_key}"}
            async with http.get(emu.url + "/v1/models", headers=headers) as r:
                assert r.status == expected


async def test_request_id_is_echoed_or_generated(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """The caller's X-Request-Id is echoed; without one a req_... id is generated."""
    async with http.get(emu.url + "/v1/models", headers=auth(emu, **{"X-Request-Id": "mine-1"})) as r:
        assert r.headers["X-Request-Id"] == "mine-1"
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        assert r.headers["X-Request-Id"].startswith("req_")
    assert emu.stats.log[0].request_id == "mine-1"


async def test_unknown_path_is_404_detail(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Unknown paths answer 404 {"detail": "Not Found"}; wrong methods 405, both JSON."""
    async with http.get(emu.url + "/v2/nothing", headers=auth(emu)) as r:
        assert (r.status, await r.json()) == (404, {"detail": "Not Found"})
    async with http.post(emu.url + "/model/v1/queue/x/sync", headers=auth(emu)) as r:
        assert r.status == 404
    async with http.delete(emu.url + "/v1/models", headers=auth(emu)) as r:
        assert r.status == 405
        assert (await r.json())["detail"] == "Method Not Allowed"


async def test_models_lists_llm_and_queue_ids(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """/v1/models is an OpenAI list with LLM ids, queue ids and endpoints set later."""
    emu.set_endpoint("my_custom_model", duration=0.01)
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        body = await r.json()
    ids = [m["id"] for m in body["data"]]
    assert body["object"] == "list"
    assert {"gpt-4.1", "nano_banana_2", "flux_pro_11", "happyhorse_1.0_t2v", "sora-2"} <= set(ids)
    assert "my_custom_model" in ids
    owners = {m["id"]: m["owned_by"] for m in body["data"] if m["object"] == "model"}
    assert len(owners) == len(ids)
    assert (owners["gpt-4.1"], owners["claude-sonnet-4"], owners["my_custom_model"]) == (
        "openai",
        "anthropic",
        "odirouter",
    )


@pytest.mark.parametrize(
    ("path", "status", "key"),
    [
        (CHAT, 400, "error"),
        ("/v1/responses", 400, "error"),
        ("/model/v1/queue/nano_banana_2", 400, "detail"),
        ("/v1/videos", 400, "error"),
    ],
)
async def test_malformed_json_is_400_json(
    emu: Emulator, http: aiohttp.ClientSession, path: str, status: int, key: str
) -> None:
    """A broken JSON body answers 400 with a JSON error, never a 500."""
    headers = auth(emu, **{"Content-Type": "application/json"})
    async with http.post(emu.url + path, data=b'{"model": ', headers=headers) as r:
        assert r.status == status
        assert key in await r.json()


async def test_internal_error_is_500_json(
    emu: Emulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure inside the emulator answers 500 JSON (and is logged), never an HTML traceback."""
    emu.faults.add("models", status=500, body=object())  # not encodable: the emulator itself fails
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        assert (r.status, r.content_type) == (500, "application/json")
        assert (await r.json())["detail"].startswith("Internal emulator error")
    assert any(rec.name == "odirouter_async.testing" for rec in caplog.records)
    caplog.clear()


# -- chat completions --------------------------------------------------------------------


async def test_chat_missing_fields_are_openai_400(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Missing model or messages: 400 with an OpenAI-style error naming the param."""
    status, text = await chat(http, emu, {"messages": MESSAGES})
    assert status == 400
    error = json.loads(text)["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "model")
    assert set(error) == {"message", "type", "param", "code"}
    status, text = await chat(http, emu, {"model": "gpt-4.1"})
    assert (status, json.loads(text)["error"]["param"]) == (400, "messages")


async def test_chat_completion_echoes_and_honours_n(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A non-stream chat answers deterministically, with n choices and usage."""
    status, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES, "n": 2})
    body = json.loads(text)
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4.1"
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "You said: hello there"}
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_chat_tool_call_when_asked(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """With tools and a weather question (or tool_choice required) the answer is a tool call."""
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    _, text = await chat(http, emu, {"model": "gpt-4.1", "messages": messages, "tools": [WEATHER_TOOL]})
    choice = json.loads(text)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])
    body = {"model": "gpt-4.1", "messages": MESSAGES, "tools": [WEATHER_TOOL], "tool_choice": "none"}
    _, text = await chat(http, emu, body)
    assert json.loads(text)["choices"][0]["finish_reason"] == "stop"
    body["tool_choice"] = "required"
    _, text = await chat(http, emu, body)
    assert json.loads(text)["choices"][0]["finish_reason"] == "tool_calls"


async def test_chat_stream_shape(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A chat stream: role chunk, content chunks, finish chunk, usage chunk, [DONE]."""
    body = {
        "model": "gpt-4.1",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with http.post(emu.url + CHAT, json=body, headers=auth(emu)) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers["X-Request-Id"].startswith("req_")
        text = await r.text()
    data = sse_data(text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "You said: hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


async def test_chat_stream_n_choices(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """With n=2 a stream carries interleaved chunks for both choices, each with the whole text."""
    _, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES, "stream": True, "n": 2})
    by_choice: dict[int, str] = {}
    for data in sse_data(text)[:-1]:
        for choice in json.loads(data)["choices"]:
            by_choice[choice["index"]] = by_choice.get(choice["index"], "") + (
                choice["delta"].get("content") or ""
            )
    assert by_choice == {0: "You said: hello there", 1: "You said: hello there"}


async def test_chat_stream_control_headers(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """x-emu-chunks / chunk-text / reasoning / per-write shape the stream."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    headers = {
        "x-emu-chunks": "500",
        "x-emu-chunk-text": "ab",
        "x-emu-reasoning": "3",
        "x-emu-per-write": "50",
    }
    status, text = await chat(http, emu, body, **headers)
    assert status == 200
    chunks = [json.loads(d) for d in sse_data(text) if d != "[DONE]"]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert [d["reasoning_content"] for d in deltas if "reasoning_content" in d] == ["Let ", "me ", "think "]
    assert [d["content"] for d in deltas if d.get("content")] == ["ab"] * 500
    status, text = await chat(http, emu, body, **{"x-emu-chunks": "nope"})
    assert status == 400


async def test_chat_stream_large_tool_arguments(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """x-emu-tool-args-bytes streams one tool call whose fragments join to valid JSON."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True, "tools": [WEATHER_TOOL]}
    headers = {"x-emu-tool-args-bytes": "10000", "x-emu-fragment-bytes": "100"}
    _, text = await chat(http, emu, body, **headers)
    chunks = [json.loads(d) for d in sse_data(text) if d != "[DONE]"]
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["name"] == "get_weather"
    assert all("id" not in tc for tc in calls[1:]) and len(calls) == 101
    arguments = "".join(tc["function"]["arguments"] for tc in calls)
    assert len(arguments) == 10000 and json.loads(arguments)["data"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_chat_stream_of_20000_chunks(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A benchmark-size stream arrives whole."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    headers = {"x-emu-chunks": "20000", "x-emu-per-write": "50"}
    _, text = await chat(http, emu, body, **headers)
    assert text.count("\n\ndata: ") == 20000 + 2  # role + 20000 content + finish + [DONE] events


# -- responses ---------------------------------------------------------------------------


async def test_responses_non_stream(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A Responses call answers a completed response with one output_text part."""
    async with http.post(
        emu.url + "/v1/responses", json={"model": "gpt-4.1", "input": "hi you"}, headers=auth(emu)
    ) as r:
        body = await r.json()
    assert (body["object"], body["status"]) == ("response", "completed")
    message = body["output"][0]
    assert (message["type"], message["role"], message["status"]) == ("message", "assistant", "completed")
    assert message["content"] == [{"type": "output_text", "text": "You said: hi you", "annotations": []}]
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]


async def test_responses_stream_events(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A Responses stream: typed events in order, increasing sequence numbers, no [DONE]."""
    payload = {"model": "gpt-4.1", "input": [{"role": "user", "content": "hi you"}]}
    async with http.post(emu.url + "/v1/responses?stream=true", json=payload, headers=auth(emu)) as r:
        text = await r.text()
    events = [json.loads(d) for d in sse_data(text)]
    types = [e["type"] for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert (
        "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "You said: hi you"
    )
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "You said: hi you"
    assert "event: response.completed\n" in text and "[DONE]" not in text
    async with http.post(
        emu.url + "/v1/responses", json={**payload, "stream": True}, headers=auth(emu, **{"x-emu-done": "1"})
    ) as r:
        assert sse_data(await r.text())[-1] == "[DONE]"


async def test_responses_function_call_stream(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """With tools, the Responses stream carries a function_call item and argument deltas."""
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    payload = {"model": "gpt-4.1", "input": "weather in Oslo?", "tools": [tool], "stream": True}
    async with http.post(emu.url + "/v1/responses", json=payload, headers=auth(emu)) as r:
        events = [json.loads(d) for d in sse_data(await r.text())]
    added = next(e for e in events if e["type"] == "response.output_item.added")
    assert added["item"]["type"] == "function_call" and added["item"]["name"] == "get_weather"
    args = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(args) == json.loads(done["arguments"]) == {"query": "weather in Oslo?"}
    assert events[-1]["response"]["output"][0]["type"] == "function_call"


async def test_responses_reasoning_item_first(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """x-emu-reasoning puts a reasoning item (summary deltas) before the message."""
    payload = {"model": "gpt-4.1", "input": "hi", "stream": True}
    async with http.post(
        emu.url + "/v1/responses", json=payload, headers=auth(emu, **{"x-emu-reasoning": "2"})
    ) as r:
        events = [json.loads(d) for d in sse_data(await r.text())]
    summary = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    assert summary == "Let me "
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]
    assert output[0]["summary"][0]["text"] == summary


# -- faults --------------------------------------------------------------------------------


async def test_status_fault_then_normal(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A status fault answers the next `times` requests, then the route behaves again."""
    fault = emu.faults.add("models", status=429, headers={"Retry-After": "1"}, times=2)
    statuses = []
    for _ in range(3):
        async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
            statuses.append(r.status)
            if r.status == 429:
                assert r.headers["Retry-After"] == "1"
                assert (await r.json())["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert statuses == [429, 429, 200]
    assert fault.hits == 2 and emu.faults.pending() == []
    assert emu.stats.count("models", 429) == 2 and emu.stats.faults_applied == 2


async def test_status_fault_custom_body(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A fault's body is sent as given: dict as JSON, str as text."""
    emu.faults.add("chat", status=503, body={"detail": "overloaded"})
    emu.faults.add("chat", status=502, body="<html>bad gateway</html>", headers={"Content-Type": "text/html"})
    assert await chat(http, emu, {}) == (503, '{"detail":"overloaded"}')
    async with http.post(emu.url + CHAT, json={}, headers=auth(emu)) as r:
        assert (r.status, r.headers["Content-Type"], await r.text()) == (
            502,
            "text/html",
            "<html>bad gateway</html>",
        )


async def test_drop_fault_closes_without_answer(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A drop fault reads the request and closes the connection; the record keeps status 0."""
    emu.faults.add("queue.submit", drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(
            emu.url + "/model/v1/queue/nano_banana_2", json={"prompt": "x"}, headers=auth(emu)
        ):
            pass
    assert emu.stats.log[-1].status == 0
    assert emu.stats.count("queue.submit") == 1 and not emu.jobs
    await submit(http, emu, {"prompt": "x"})
    assert emu.stats.duplicate_submits == 1


async def test_delay_fault_stalls_the_answer(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A delay fault holds the answer back; a client timeout shorter than it fires."""
    emu.faults.add("models", delay=0.2)
    started = anyio.current_time()
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        assert r.status == 200
    assert anyio.current_time() - started >= 0.2
    emu.faults.add("models", delay=5.0)
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            emu.url + "/v1/models", headers=auth(emu), timeout=aiohttp.ClientTimeout(total=0.05)
        ):
            pass


async def test_truncate_fault_ends_stream_early(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """truncate_after ends the body cleanly after N events (no [DONE]); with drop it aborts."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    emu.faults.add("chat", truncate_after=3)
    status, text = await chat(http, emu, body)
    assert status == 200 and len(sse_data(text)) == 3 and "[DONE]" not in text
    emu.faults.add("chat", truncate_after=2, drop=True)
    with pytest.raises(aiohttp.ClientPayloadError):
        await chat(http, emu, body)


async def test_stream_faults_wait_for_a_stream_request(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A non-stream request leaves a stream fault queued for the next stream request."""
    emu.faults.add("chat", truncate_after=1)
    status, _ = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES})
    assert status == 200 and len(emu.faults.pending("chat")) == 1
    _, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
    assert len(sse_data(text)) == 1 and not emu.faults.pending()


async def test_error_event_faults(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """error_event_after sends an in-band error: a chat error chunk, a Responses error event."""
    emu.faults.add("chat", error_event_after=2)
    _, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
    data = sse_data(text)
    assert len(data) == 3 and json.loads(data[-1])["error"]["message"]
    emu.faults.add("responses", error_event_after=1)
    payload = {"model": "gpt-4.1", "input": "x", "stream": True}
    async with http.post(emu.url + "/v1/responses", json=payload, headers=auth(emu)) as r:
        text = await r.text()
    assert sse_types(text) == ["response.created", "error"]
    assert "event: error\n" in text


async def test_malformed_and_content_type_faults(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """malformed_after inserts broken JSON; content_type answers a stream with a JSON body."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    emu.faults.add("chat", malformed_after=1)
    _, text = await chat(http, emu, body)
    data = sse_data(text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[1])
    assert data[-1] == "[DONE]"
    emu.faults.add("chat", content_type="application/json")
    async with http.post(emu.url + CHAT, json=body, headers=auth(emu)) as r:
        assert r.headers["Content-Type"] == "application/json"
        assert (await r.json())["object"] == "chat.completion"


async def test_stall_fault_pauses_mid_stream(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """stall_after sends N events, pauses `delay` seconds, then finishes the stream."""
    emu.faults.add("chat", stall_after=2, delay=0.2)
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    async with http.post(emu.url + CHAT, json=body, headers=auth(emu)) as r:
        first = await r.content.readuntil(b"\n\n")
        started = anyio.current_time()
        rest = await r.read()
    assert first.startswith(b"data: ")
    assert anyio.current_time() - started >= 0.1
    assert rest.endswith(b"data: [DONE]\n\n")


async def test_client_leaving_mid_stream_is_quiet(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A client that stops reading a long stream does not make the emulator log errors."""
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream": True}
    headers = auth(emu, **{"x-emu-chunks": "200000", "x-emu-chunk-text": "x" * 100})
    async with http.post(emu.url + CHAT, json=body, headers=headers) as r:
        assert (await r.content.readuntil(b"\n\n")).startswith(b"data: ")
        r.close()
    async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
        assert r.status == 200


async def test_serve_sse_sends_exact_bytes(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """serve_sse answers the next stream request with exactly the given bytes."""
    raw = b': comment\r\ndata: {"choices":[]}\r\n\r\ndata: [DONE]\r\n\r\n'
    emu.serve_sse("chat", raw, chunk_sizes=[1, 3])
    async with http.post(
        emu.url + CHAT, json={"model": "gpt-4.1", "messages": MESSAGES, "stream": True}, headers=auth(emu)
    ) as r:
        assert await r.read() == raw
    _, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
    assert "You " in text  # the script was used once


async def test_fault_validation(emu: Emulator) -> None:
    """Typos and meaningless faults are rejected when added."""
    with pytest.raises(ValueError, match="unknown route"):
        emu.faults.add("chats", status=500)
    with pytest.raises(ValueError, match="needs"):
        emu.faults.add("chat")
    with pytest.raises(ValueError, match="stream faults"):
        emu.faults.add("models", truncate_after=1)
    with pytest.raises(ValueError, match="delay"):
        emu.faults.add("chat", stall_after=1)


# -- queue ---------------------------------------------------------------------------------


async def test_queue_job_lifecycle(http: aiohttp.ClientSession) -> None:
    """A job goes IN_QUEUE -> IN_PROGRESS -> COMPLETED; the result is 202 until then, 200 after."""
    async with Emulator(job_duration=0.1, job_jitter=0.0, queue_delay=0.05) as emu:
        sub = await submit(http, emu, {"prompt": "a cat", "_emu": {"outputs": 2}})
        rid = sub["request_id"]
        assert rid.startswith("mmsu_") and sub["queue_position"] == 0
        for key in ("status_url", "response_url", "cancel_url"):
            assert sub[key].startswith(f"{emu.url}/model/v1/queue/nano_banana_2/requests/{rid}/")
        async with http.get(sub["response_url"], headers=auth(emu)) as r:
            assert r.status == 202
            assert (await r.json())["status"] in ("IN_QUEUE", "IN_PROGRESS")
        done, seen = await poll_until_done(http, emu, sub["status_url"])
        assert seen[-2:] == ["IN_PROGRESS", "COMPLETED"] and seen[0] in ("IN_QUEUE", "IN_PROGRESS")
        assert done["metrics"]["inference_time"] == pytest.approx(0.1, abs=0.01)
        assert done["logs"] == [] and "error" not in done
        async with http.get(sub["response_url"], headers=auth(emu)) as r:
            result = await r.json()
        assert r.status == 200 and result["request_id"] == rid
        assert result["metadata"] == {"prompt": "a cat"}
        assert [o["file_name"] for o in result["outputs"]] == [f"{rid}_0.png", f"{rid}_1.png"]
        assert result["outputs"][0]["url"].startswith(emu.cdn_url + "/files/")
        job = emu.jobs[rid]
        assert job.created_at < job.started_at < job.finished_at <= (job.first_seen_done_at or 0)
        assert emu.stats.job_requests[rid] == len(emu.stats.records("queue.status")) + 2


async def test_queue_failed_job(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """_emu.fail ends the job COMPLETED with error + error_type; the result answers 400."""
    sub = await submit(http, emu, {"prompt": "x", "_emu": {"duration": 0.01, "fail": "CONTENT_BLOCKED"}})
    done, _ = await poll_until_done(http, emu, sub["status_url"])
    assert (done["error"], done["error_type"]) == ("Task execution failed", "CONTENT_BLOCKED")
    async with http.get(sub["response_url"], headers=auth(emu)) as r:
        assert r.status == 400
        assert (await r.json())["error_type"] == "CONTENT_BLOCKED"


async def test_queue_result_status_control(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """_emu.result_status makes the result route fail with that status."""
    sub = await submit(http, emu, {"prompt": "x", "_emu": {"duration": 0, "result_status": 500}})
    async with http.get(sub["response_url"], headers=auth(emu)) as r:
        assert (r.status, await r.json()) == (500, {"detail": "Runtime execution failed"})


async def test_queue_cancel(http: aiohttp.ClientSession) -> None:
    """Cancel: 202 while pending (job ends CANCELED), 400 once completed, 404 when unknown."""
    async with Emulator(job_duration=60.0, permissive=True) as emu:
        sub = await submit(http, emu, {"prompt": "x"})
        async with http.put(sub["cancel_url"], headers=auth(emu)) as r:
            assert (r.status, await r.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
        async with http.get(sub["status_url"], headers=auth(emu)) as r:
            body = await r.json()
        assert (body["status"], body["error_type"]) == ("COMPLETED", "CANCELED")
        assert emu.jobs[sub["request_id"]].cancelled
        async with http.put(sub["cancel_url"], headers=auth(emu)) as r:
            assert (r.status, await r.json()) == (400, {"status": "ALREADY_COMPLETED"})
        url = f"{emu.url}/model/v1/queue/nano_banana_2/requests/mmsu_nope/cancel"
        async with http.put(url, headers=auth(emu)) as r:
            assert (r.status, await r.json()) == (404, {"status": "NOT_FOUND"})


async def test_queue_submit_errors(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Unknown endpoint 404, non-object body 422, webhook 400; dotted ids are accepted."""
    emu.unknown_endpoints.add("not_exists")
    async with http.post(emu.url + "/model/v1/queue/not_exists", json={}, headers=auth(emu)) as r:
        assert (r.status, await r.json()) == (404, {"detail": "App not found: not_exists"})
    async with http.post(emu.url + "/model/v1/queue/m", json=[1], headers=auth(emu)) as r:
        assert r.status == 422 and "detail" in await r.json()
    async with http.post(
        emu.url + "/model/v1/queue/m", json={"webhook_url": "https://x"}, headers=auth(emu)
    ) as r:
        assert (r.status, await r.json()) == (400, {"detail": "webhook not supported"})
    sub = await submit(http, emu, {"prompt": "x"}, endpoint="happyhorse_1.0_t2v")
    assert "/happyhorse_1.0_t2v/requests/" in sub["status_url"]
    assert emu.jobs[sub["request_id"]].output_type == "video"


async def test_queue_unknown_request_is_404(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Status and result of an unknown id (or another endpoint's id) are 404 Request not found."""
    sub = await submit(http, emu, {"prompt": "x"})
    other = sub["status_url"].replace("/nano_banana_2/", "/flux_pro_11/")
    for url in (f"{emu.url}/model/v1/queue/nano_banana_2/requests/mmsu_x/status", other):
        async with http.get(url, headers=auth(emu)) as r:
            assert (r.status, await r.json()) == (404, {"detail": "Request not found"})


async def test_poll_rate_limit(http: aiohttp.ClientSession) -> None:
    """Above poll_rate_limit status/result polls answer 429 with Retry-After: 1."""
    async with Emulator(poll_rate_limit=5, job_duration=60.0) as emu:
        sub = await submit(http, emu, {"prompt": "x"})
        statuses = []
        for _ in range(8):
            async with http.get(sub["status_url"], headers=auth(emu)) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert r.headers["Retry-After"] == "1"
                    assert (await r.json())["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert statuses == [200] * 5 + [429] * 3
        assert emu.stats.rate_limited == 3 and emu.stats.job_requests[sub["request_id"]] == 8
        emu.poll_rate_limit = None
        async with http.get(sub["status_url"], headers=auth(emu)) as r:
            assert r.status == 200


async def test_foreign_urls_point_at_second_origin(http: aiohttp.ClientSession) -> None:
    """With foreign_urls the job URLs are on the CDN origin, which answers without auth."""
    async with Emulator(foreign_urls=True, job_duration=0.02, job_jitter=0.0) as emu:
        sub = await submit(http, emu, {"prompt": "x"})
        assert sub["status_url"].startswith(emu.cdn_url + "/model/v1/queue/")
        assert emu.cdn_url != emu.url
        await poll_until_done(http, emu, sub["status_url"], headers={})
        async with http.get(sub["response_url"]) as r:
            assert r.status == 200
        async with http.get(sub["response_url"], headers=auth(emu)) as r:
            assert r.status == 200
        foreign = [rec for rec in emu.stats.log if rec.listener == "cdn"]
        assert foreign and [rec.has_auth for rec in foreign][-2:] == [False, True]
        assert emu.stats.auth_sent_to_cdn == 1


async def test_cdn_files_need_no_auth(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Output files are served without auth, with Content-Length, deterministic bytes and HEAD."""
    emu.set_endpoint("nano_banana_2", duration=0.0, output_bytes=5000)
    sub = await submit(http, emu, {"prompt": "x"})
    async with http.get(sub["response_url"], headers=auth(emu)) as r:
        output = (await r.json())["outputs"][0]
    async with http.get(output["url"]) as r:
        data = await r.read()
        assert (r.status, r.headers["Content-Type"], r.headers["Content-Length"]) == (
            200,
            "image/png",
            "5000",
        )
    assert data == file_bytes(output["file_name"], "png", 5000) and data.startswith(b"\x89PNG")
    async with http.head(output["url"]) as r:
        assert (r.status, r.headers["Content-Length"]) == (200, "5000")
    async with http.get(output["url"], headers=auth(emu)) as r:
        assert r.status == 200
    files = emu.stats.records("files")
    assert [f.has_auth for f in files] == [False, False, True]
    assert files[0].job_id == sub["request_id"] and files[0].listener == "cdn"
    async with http.get(emu.cdn_url + "/files/mmsu_nothing_0.png") as r:
        assert r.status == 404


async def test_cdn_file_truncate_fault(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A truncate fault on files sends fewer bytes than the Content-Length, then closes."""
    emu.set_endpoint("nano_banana_2", duration=0.0, output_bytes=100_000)
    sub = await submit(http, emu, {"prompt": "x"})
    async with http.get(sub["response_url"], headers=auth(emu)) as r:
        url = (await r.json())["outputs"][0]["url"]
    emu.faults.add("files", truncate_after=1000)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(url) as r:
            assert r.headers["Content-Length"] == "100000"
            await r.read()


async def test_balance_errors(http: aiohttp.ClientSession) -> None:
    """With no credit: LLM routes 403, queue submits and videos 402; each paid call costs one."""
    async with Emulator(balance=1, job_duration=60.0, permissive=True) as emu:
        await submit(http, emu, {"prompt": "x"})
        assert emu.balance == 0
        status, text = await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES})
        assert (status, json.loads(text)) == (403, {"error": "insufficient balance"})
        async with http.post(
            emu.url + "/model/v1/queue/m", json={}, headers=auth(emu, **{"X-Request-Id": "r1"})
        ) as r:
            body = await r.json()
            assert r.status == 402
            assert body == {
                "error": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient balance"},
                "request_id": "r1",
            }
        async with http.post(emu.url + "/v1/videos", data={"prompt": "x"}, headers=auth(emu)) as r:
            assert r.status == 402
        emu.balance = None
        assert (await chat(http, emu, {"model": "gpt-4.1", "messages": MESSAGES}))[0] == 200


async def test_duplicate_submits_are_counted(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Identical submit bodies and repeated X-Request-Id headers are counted."""
    for rid in ("a", "a", "b"):
        async with http.post(
            emu.url + "/model/v1/queue/nano_banana_2",
            data=b'{"prompt": "same"}',
            headers=auth(emu, **{"X-Request-Id": rid, "Content-Type": "application/json"}),
        ) as r:
            assert r.status == 200
    await submit(http, emu, {"prompt": "same"}, endpoint="flux_pro_11")  # another endpoint: not a duplicate
    assert emu.stats.duplicate_submits == 2
    assert sorted(emu.stats.submits_by_body.values()) == [1, 3]
    assert emu.stats.submits_by_request_id_header == {"a": 2, "b": 1}
    emu.reset_stats()
    assert emu.stats.duplicate_submits == 0 and emu.stats.log == []


async def test_many_concurrent_jobs(http: aiohttp.ClientSession) -> None:
    """A thousand concurrent jobs are submitted, completed and counted, one poll each."""
    async with Emulator(job_duration=0.0, job_jitter=0.0, keep_log=False) as emu:
        subs = await asyncio.gather(*(submit(http, emu, {"prompt": f"p{i}"}) for i in range(1000)))

        async def status(url: str) -> str:
            async with http.get(url, headers=auth(emu)) as r:
                body: dict[str, Any] = await r.json()
                return str(body["status"])

        statuses = await asyncio.gather(*(status(s["status_url"]) for s in subs))
    assert set(statuses) == {"COMPLETED"} and len(emu.jobs) == 1000
    assert set(emu.stats.job_requests.values()) == {1} and emu.stats.log == []
    assert emu.stats.count("queue.submit", 200) == 1000 and emu.stats.duplicate_submits == 0


async def test_job_durations_follow_config(http: aiohttp.ClientSession) -> None:
    """Durations are uniform in [d(1-j), d(1+j)] and reproducible for a seed; set_endpoint overrides."""
    durations = []
    for _ in range(2):
        async with Emulator(seed=7, job_duration=10.0, job_jitter=0.5) as emu:
            emu.set_endpoint("fast", duration=1.0, jitter=0.0, outputs=3)
            for _ in range(5):
                await submit(http, emu, {"prompt": "x"})
            fast = await submit(http, emu, {"prompt": "x"}, endpoint="fast")
            durations.append([j.duration for j in emu.jobs.values() if j.endpoint == "nano_banana_2"])
            assert emu.jobs[fast["request_id"]].duration == 1.0 and emu.jobs[fast["request_id"]].outputs == 3
    assert durations[0] == durations[1]
    assert all(5.0 <= d <= 15.0 for d in durations[0]) and len(set(durations[0])) == 5


# -- videos --------------------------------------------------------------------------------


async def test_video_lifecycle_with_upload(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Multipart create with a file part; the upload is counted and hashed; then content."""
    upload = os.urandom(300_000)
    form = aiohttp.FormData()
    form.add_field("model", "sora-2")
    form.add_field("prompt", "a horse")
    form.add_field("seconds", "4")
    form.add_field("input_reference", upload, filename="first.png", content_type="image/png")
    async with http.post(emu.url + "/v1/videos", data=form, headers=auth(emu)) as r:
        video = await r.json()
    assert r.status == 200
    assert (video["object"], video["progress"], video["seconds"]) == ("video", 0, "4")
    assert video["status"] in ("queued", "in_progress") and video["remixed_from_video_id"] is None
    stored = emu.videos[video["id"]]
    assert stored.input_reference_bytes == len(upload)
    assert stored.input_reference_sha256 == hashlib.sha256(upload).hexdigest()
    assert stored.input_reference_filename == "first.png"
    async with http.get(f"{emu.url}/v1/videos/{video['id']}/content", headers=auth(emu)) as r:
        assert r.status in (200, 404)  # 404 unless the 0.05 s video already completed
    for _ in range(2000):
        async with http.get(f"{emu.url}/v1/videos/{video['id']}", headers=auth(emu)) as r:
            video = await r.json()
        if video["status"] == "completed":
            break
        assert video["status"] in ("queued", "in_progress") and 0 <= video["progress"] < 100
        await asyncio.sleep(0.005)
    assert video["progress"] == 100 and video["completed_at"] is not None
    async with http.get(f"{emu.url}/v1/videos/{video['id']}/content", headers=auth(emu)) as r:
        data = await r.read()
        assert (r.headers["Content-Type"], r.headers["Content-Length"]) == ("video/mp4", "4096")
    assert data[4:8] == b"ftyp"
    async with http.get(
        f"{emu.url}/v1/videos/{video['id']}/content?variant=thumbnail", headers=auth(emu)
    ) as r:
        assert r.headers["Content-Type"] == "image/webp"
        await r.read()


async def test_video_errors_list_remix_delete(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Missing prompt 400; list, remix and delete; a "fail" prompt ends failed."""
    async with http.post(emu.url + "/v1/videos", data={"model": "sora-2"}, headers=auth(emu)) as r:
        assert r.status == 400 and (await r.json())["error"]["param"] == "prompt"
    async with http.post(emu.url + "/v1/videos", json={"prompt": "please fail"}, headers=auth(emu)) as r:
        failing = await r.json()
    async with http.post(emu.url + "/v1/videos", data={"prompt": "ok"}, headers=auth(emu)) as r:
        source = await r.json()
    async with http.post(
        f"{emu.url}/v1/videos/{source['id']}/remix", json={"prompt": "again"}, headers=auth(emu)
    ) as r:
        remix = await r.json()
    assert remix["remixed_from_video_id"] == source["id"]
    async with http.get(emu.url + "/v1/videos?limit=2", headers=auth(emu)) as r:
        listing = await r.json()
    assert listing["object"] == "list" and listing["has_more"] is True
    assert [v["id"] for v in listing["data"]] == [remix["id"], source["id"]]
    async with http.delete(f"{emu.url}/v1/videos/{source['id']}", headers=auth(emu)) as r:
        assert await r.json() == {"id": source["id"], "object": "video.deleted", "deleted": True}
    async with http.get(f"{emu.url}/v1/videos/{source['id']}", headers=auth(emu)) as r:
        assert r.status == 404
    for _ in range(2000):
        async with http.get(f"{emu.url}/v1/videos/{failing['id']}", headers=auth(emu)) as r:
            failing = await r.json()
        if failing["status"] == "failed":
            break
        await asyncio.sleep(0.005)
    assert failing["error"]["code"] == "video_generation_failed"


# -- TLS, fixture --------------------------------------------------------------------------


async def test_tls_with_trustme_ca() -> None:
    """tls=True serves HTTPS on both origins, trusted through the emulator's CA."""
    pytest.importorskip("trustme")
    async with Emulator(tls=True) as emu:
        assert emu.url.startswith("https://") and emu.cdn_url.startswith("https://")
        assert emu.ca_cert_path is not None and _exists(emu.ca_cert_path)
        ca_path = emu.ca_cert_path
        connector = aiohttp.TCPConnector(ssl=emu.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(emu.url + "/v1/models", headers=auth(emu)) as r:
                assert r.status == 200
            async with http.get(emu.cdn_url + "/files/none_0.png") as r:
                assert r.status == 404
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(emu.url + "/v1/models")
    assert not _exists(ca_path)


async def test_plugin_fixture_yields_started_emulator(
    odirouter_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """The pytest plugin's fixture gives a started emulator."""
    async with http.get(odirouter_emulator.url + "/v1/models", headers=auth(odirouter_emulator)) as r:
        assert r.status == 200


custom_emulator = emulator_fixture(api_key="custom-key", balance=0)


async def test_emulator_fixture_helper_passes_options(custom_emulator: Emulator) -> None:
    """emulator_fixture(**options) builds a fixture of a configured emulator."""
    assert custom_emulator.api_key == "custom-key" and custom_emulator.balance == 0


def test_plugin_registers_marker_and_reads_it() -> None:
    """The plugin registers its marker; marker kwargs become Emulator options."""

    class Config:
        lines: list[tuple[str, str]] = []

        def addinivalue_line(self, name: str, line: str) -> None:
            self.lines.append((name, line))

    class Marker:
        args = ()
        kwargs = {"job_duration": 0.1}

    class Node:
        def get_closest_marker(self, name: str) -> Marker | None:
            return Marker() if name == "odirouter_emulator" else None

    class Request:
        node = Node()

    config = Config()
    pytest_plugin.pytest_configure(config)
    assert config.lines[0][0] == "markers" and config.lines[0][1].startswith("odirouter_emulator(")
    assert _marker_options(Request()) == {"job_duration": 0.1}


async def test_cli_serves_until_stopped() -> None:
    """serve_emulator prints the URL and key and returns once its stop event is set."""
    out, stop = io.StringIO(), asyncio.Event()
    stop.set()
    await serve_emulator("127.0.0.1", 0, "cli-key", out=out, stop=stop, job_duration=0.1)
    text = out.getvalue()
    assert "listening on http://127.0.0.1:" in text and "ODIROUTER_API_KEY=cli-key" in text


async def test_url_before_start_is_an_error() -> None:
    """Using an emulator before starting it raises a clear error."""
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.url
