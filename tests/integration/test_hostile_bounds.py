"""Bounds against hostile servers: SSE line overhead, gzip bombs, error bodies in pieces or as SSE."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from hostile_http import (
    RawServer,
    WebServer,
    endless_sse,
    gzip_bomb,
    http_response,
    serve,
    sse_response,
    writes,
)

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy

pytestmark = pytest.mark.anyio

MiB = 1 << 20
NO_RETRY = RetryPolicy(max_retries=0)


async def peak_while(work: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """Run ``work``; its outcome (value or exception) and the tracemalloc peak in bytes."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = await work()
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def client_for(url: str, **limits: int) -> odr.AsyncOdiRouter:
    """A client on a hostile server, without retries."""
    return odr.AsyncOdiRouter(
        api_key="sk-test", base_url=url, retry_policy=NO_RETRY, limits=odr.Limits(**limits)
    )


# -- SSE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"data: xy\n", b"data:\n", b": keep-alive\n"])
async def test_sse_line_overhead_counts_toward_the_event_bound(line: bytes) -> None:
    """One endless event of tiny lines: SSEProtocolError after ~max_event_bytes raw bytes, memory bounded."""

    async def handler(request: web.Request, state: WebServer) -> web.StreamResponse:
        return await endless_sse(request, state, line, limit=64 * MiB)

    async with serve(handler) as server, client_for(server.url, max_event_bytes=2 * MiB) as client:

        async def consume() -> None:
            stream = await client.chat.completions.create(model="m", messages=[], stream=True)
            async for _ in stream:
                pass

        outcome, peak = await peak_while(consume)
    assert isinstance(outcome, odr.SSEProtocolError), outcome
    assert "2097152" in str(outcome)
    # Payload-only counting let `data: xy` lines reach ~15x the bound in Python objects.
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert server.sent < 32 * MiB  # the client stopped reading long before the server's limit


async def test_sse_unterminated_line_is_bounded() -> None:
    """A single line that never ends raises SSEProtocolError once it passes the bound."""

    async def handler(request: web.Request, state: WebServer) -> web.StreamResponse:
        return await endless_sse(request, state, b"x" * 64, limit=64 * MiB)

    async with serve(handler) as server, client_for(server.url, max_event_bytes=MiB) as client:
        with pytest.raises(odr.SSEProtocolError):
            async for _ in await client.responses.create(model="m", input="x", stream=True):
                pass


async def test_large_events_within_the_bound_pass() -> None:
    """A 3 MiB single-line event passes under the default bound."""
    payload = b'{"choices":[{"index":0,"delta":{"content":"' + b"a" * (3 * MiB) + b'"}}]}'

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return await sse_response(request, [b"data: " + payload + b"\n\n", b"data: [DONE]\n\n"])

    async with serve(handler) as server, client_for(server.url) as client:
        chunks = [c async for c in await client.chat.completions.create(model="m", messages=[], stream=True)]
    assert len(chunks) == 1 and chunks[0].choices[0].delta.content == "a" * (3 * MiB)


# -- JSON bodies ---------------------------------------------------------------------------------


async def test_gzip_bomb_is_capped_while_reading() -> None:
    """A small gzip body inflating to 64 MiB stops at Limits.max_body_bytes, with bounded memory."""
    bomb = gzip_bomb(64 * MiB)
    assert len(bomb) < MiB

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        headers = {"Content-Encoding": "gzip", "X-Request-Id": "req_bomb"}
        return web.Response(body=bomb, content_type="application/json", headers=headers)

    async with serve(handler) as server, client_for(server.url, max_body_bytes=MiB) as client:
        outcome, peak = await peak_while(client.models.list)
    assert isinstance(outcome, odr.ResponseValidationError), outcome
    assert "max_body_bytes" in outcome.message
    assert outcome.status_code == 200 and outcome.x_request_id == "req_bomb"
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"


async def test_plain_body_over_the_cap_is_refused() -> None:
    """An uncompressed body over the cap raises the same typed error."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(body=b'{"data":"' + b"x" * (2 * MiB) + b'"}', content_type="application/json")

    async with serve(handler) as server, client_for(server.url, max_body_bytes=MiB) as client:
        with pytest.raises(odr.ResponseValidationError, match="max_body_bytes"):
            await client.models.list()
        # The connection was dropped, not reused with an unread body: the next call works.
        with pytest.raises(odr.ResponseValidationError, match="max_body_bytes"):
            await client.models.list()


async def test_body_under_the_default_cap_is_read() -> None:
    """A 4 MiB gzip-inflated body is read whole under the default 64 MiB cap."""
    bomb = gzip_bomb(4 * MiB)

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(body=bomb, content_type="application/json", headers={"Content-Encoding": "gzip"})

    async with serve(handler) as server, client_for(server.url) as client:
        models = await client.models.list()
    assert len(models.raw["pad"]) == 4 * MiB


# -- error bodies --------------------------------------------------------------------------------


async def test_error_body_in_two_writes_is_read_whole() -> None:
    """An error body whose second half arrives in a later write keeps its message and code."""
    body = b'{"error": {"message": "model overloaded", "type": "server_error", "code": "overloaded_42"}}'
    raw = http_response(400, body, headers={"X-Request-Id": "req_split"})
    cut = len(raw) - len(body) + 20
    async with RawServer(writes(raw[:cut], raw[cut:], gap=0.2)) as server, client_for(server.url) as client:
        with pytest.raises(odr.BadRequestError) as info:
            await client.models.list()
    err = info.value
    assert err.message == "model overloaded"
    assert err.code == "overloaded_42" and err.error_type == "server_error"
    assert err.x_request_id == "req_split"


async def test_huge_error_body_is_capped() -> None:
    """A 3 MiB error body is read up to 1 MiB and still raises the status error."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(status=503, body=b"x" * (3 * MiB), content_type="text/plain")

    async with serve(handler) as server, client_for(server.url) as client:
        with pytest.raises(odr.InternalServerError) as info:
            await client.models.list()
    assert isinstance(info.value.body, str) and len(info.value.body) == MiB


SSE_ERROR = (
    b'data: {"error": {"message": "litellm.RateLimitError: slow down", "type": "rate", "code": "429"}}\n\n'
)


@pytest.mark.parametrize("ctype", ["text/event-stream", "application/json"])
@pytest.mark.parametrize("route", ["chat-stream", "responses-stream", "models"])
async def test_sse_framed_error_body(ctype: str, route: str) -> None:
    """A 500 whose body is SSE-framed (LiteLLM) surfaces the inner message and code, not the framing."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(status=500, body=SSE_ERROR, headers={"Content-Type": ctype})

    async with serve(handler) as server, client_for(server.url) as client:
        with pytest.raises(odr.InternalServerError) as info:
            if route == "chat-stream":
                await client.chat.completions.create(model="m", messages=[], stream=True)
            elif route == "responses-stream":
                await client.responses.create(model="m", input="x", stream=True)
            else:
                await client.models.list()
    err = info.value
    assert err.message == "litellm.RateLimitError: slow down"
    assert err.code == "429" and err.error_type == "rate"
    assert isinstance(err.body, dict) and err.body["error"]["code"] == "429"


@pytest.mark.parametrize(
    "body",
    [SSE_ERROR, SSE_ERROR.removeprefix(b"data: ")],
    ids=["sse-framed", "plain"],
)
async def test_error_object_answering_a_stream_with_200(body: bytes) -> None:
    """A 200 application/json error object (plain or SSE-framed) to a stream request is StreamEventError."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json", headers={"X-Request-Id": "req_200"})

    async with serve(handler) as server, client_for(server.url) as client:
        with pytest.raises(odr.StreamEventError) as info:
            await client.responses.create(model="m", input="x", stream=True)
    err = info.value
    assert err.message == "litellm.RateLimitError: slow down"
    assert (err.code, err.error_type, err.x_request_id) == ("429", "rate", "req_200")


async def test_error_body_that_never_ends_does_not_hold_the_error() -> None:
    """A 502 whose chunked body starts but never ends raises promptly with what arrived."""
    head = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    part = b'{"error": {"message": "upstream'
    stall = asyncio.Event()  # never set: the server keeps the connection open without a byte more

    async def script(_: object, writer: asyncio.StreamWriter) -> None:
        writer.write(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        await writer.drain()
        await stall.wait()

    async with RawServer(script) as server, client_for(server.url) as client:
        with pytest.raises(odr.InternalServerError) as info:
            await client.models.list(timeout=600)
        stall.set()
    assert info.value.status_code == 502 and info.value.body == part.decode()
