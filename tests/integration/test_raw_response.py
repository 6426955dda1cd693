"""``client.with_raw_response``: the typed result with the status and headers the server sent."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from hostile_http import WebServer, serve

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-test",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


async def _gateway(request: web.Request, server: WebServer) -> web.StreamResponse:
    headers = {
        "x-ratelimit-remaining-requests": "57",
        "X-RateLimit-Reset-Tokens": "6m0s",
        "X-Request-Id": "req-gw-1",
        "X-Gateway-Trace": "a",
    }
    resp = web.json_response(COMPLETION, headers=headers)
    resp.headers.add("X-Gateway-Trace", "b")  # a repeated header: both values kept
    return resp


async def test_headers_are_those_the_server_sent() -> None:
    """A successful chat call exposes the server's own headers, case-insensitively, and its status."""
    async with (
        serve(_gateway) as server,
        odr.AsyncOdiRouter(api_key="sk-raw-secret", base_url=server.url) as c,
    ):
        raw = await c.with_raw_response.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.status_code == 200
    assert raw.headers["x-ratelimit-remaining-requests"] == "57"
    assert raw.headers["X-RATELIMIT-REMAINING-REQUESTS"] == "57"
    assert raw.headers["x-ratelimit-reset-tokens"] == "6m0s"
    assert raw.headers.getall("x-gateway-trace") == ["a", "b"]
    assert raw.x_request_id == "req-gw-1"
    completion = raw.parse()
    assert isinstance(completion, odr.ChatCompletion)
    assert completion.choices[0].message.content == "hi"
    assert completion.x_request_id == "req-gw-1"


async def test_the_key_is_nowhere_in_the_raw_response() -> None:
    """Neither the repr nor any attribute of a RawResponse holds the key (no request is kept)."""
    async with (
        serve(_gateway) as server,
        odr.AsyncOdiRouter(api_key="sk-raw-secret", base_url=server.url) as c,
    ):
        raw = await c.with_raw_response.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )
    seen = [repr(raw), str(dict(raw.headers)), raw.url, str(raw.x_request_id)]
    assert not any("sk-raw-secret" in s for s in seen)
    assert not hasattr(raw, "http_request") and not hasattr(raw, "request")


async def test_stream_parse_gives_the_stream(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """With stream=True, parse() is the open stream; the headers are those of its answer."""
    raw = await client.with_raw_response.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "hello there"}], stream=True
    )
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("text/event-stream")
    stream = raw.parse()
    assert isinstance(stream, odr.AsyncStream)
    async with stream:
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text
    assert raw.x_request_id == stream.x_request_id == emu.stats.records("chat")[-1].request_id


async def test_responses_models_queue_videos(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Every wrapped resource call gives its usual typed result through parse()."""
    created = await client.with_raw_response.responses.create(model="gpt-4.1", input="hi", background=True)
    response = created.parse()
    assert isinstance(response, odr.Response) and response.status == "queued"
    got = (await client.with_raw_response.responses.retrieve(response.id)).parse()
    assert got.id == response.id
    cancelled = await client.with_raw_response.responses.cancel(response.id)
    assert cancelled.status_code == 200 and cancelled.parse().status == "cancelled"
    models = await client.with_raw_response.models.list()
    assert isinstance(models.parse(), odr.ModelList)
    assert models.x_request_id == emu.stats.records("models")[-1].request_id
    job = (await client.with_raw_response.queue.submit("nano_banana_2", {"prompt": "x"})).parse()
    assert isinstance(job, odr.Job) and job.request_id
    video = await client.with_raw_response.videos.create(model="sora-2", prompt="a cat")
    assert isinstance(video.parse(), odr.Video)
    again = await client.with_raw_response.videos.retrieve(video.parse().id)
    assert again.parse().id == video.parse().id


async def test_error_status_raises_as_without_the_prefix(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A failing call raises the same typed error, with its status and headers."""
    emu.faults.add("models", status=404, headers={"x-why": "gone"})
    with pytest.raises(odr.NotFoundError) as info:
        await client.with_raw_response.models.list()
    assert info.value.status_code == 404


async def test_concurrent_raw_calls_keep_their_own_headers() -> None:
    """Two raw calls at once each get the headers of their own exchange."""
    import anyio

    async def numbered(request: web.Request, server: WebServer) -> web.StreamResponse:
        body: Any = await request.json()
        n = body["messages"][0]["content"]
        return web.json_response(COMPLETION, headers={"x-call": n})

    results: dict[str, str] = {}
    async with serve(numbered) as server, odr.AsyncOdiRouter(api_key="sk-x", base_url=server.url) as c:

        async def one(n: str) -> None:
            raw = await c.with_raw_response.chat.completions.create(
                model="m", messages=[{"role": "user", "content": n}]
            )
            results[n] = raw.headers["x-call"]

        async with anyio.create_task_group() as tg:
            for n in ("1", "2", "3"):
                tg.start_soon(one, n)
    assert results == {"1": "1", "2": "2", "3": "3"}


async def test_emulator_headers_fault_reaches_a_successful_call(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """A headers-only emulator fault adds rate-limit headers to a normal answer, streamed or not."""
    emu.faults.add("responses", headers={"x-ratelimit-remaining-requests": "9"}, times=2)
    raw = await client.with_raw_response.responses.create(model="gpt-4.1", input="hi")
    assert raw.headers["X-RateLimit-Remaining-Requests"] == "9"
    assert raw.parse().status == "completed"
    streamed = await client.with_raw_response.responses.create(model="gpt-4.1", input="hi", stream=True)
    assert streamed.headers["x-ratelimit-remaining-requests"] == "9"
    async with streamed.parse() as events:
        assert [e async for e in events][-1].type == "response.completed"
    plain = await client.with_raw_response.responses.create(model="gpt-4.1", input="hi")
    assert "x-ratelimit-remaining-requests" not in plain.headers
