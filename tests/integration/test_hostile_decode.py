"""Bodies no decoder can take (nested 5000 deep, wrong types): typed errors on every route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from aiohttp import web
from hostile_http import WebServer, deep_json, serve, sse_response

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy

pytestmark = pytest.mark.anyio

RID = "req_server_side"
DEEP = deep_json(5000)
NO_RETRY = RetryPolicy(max_retries=0)


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body, status=status, content_type="application/json", headers={"X-Request-Id": RID}
    )


@pytest.fixture
async def deep_server() -> AsyncIterator[WebServer]:
    """Every route answers 200 with JSON nested 5000 levels deep; streams get it as one event."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        body = await request.read()
        if b'"stream":true' in body:
            return await sse_response(request, [b"data: " + DEEP + b"\n\n"], headers={"X-Request-Id": RID})
        return _json(DEEP)

    async with serve(handler) as server:
        yield server


@pytest.fixture
async def client(deep_server: WebServer) -> AsyncIterator[odr.AsyncOdiRouter]:
    """A client on the hostile server."""
    async with odr.AsyncOdiRouter(api_key="sk-test", base_url=deep_server.url, retry_policy=NO_RETRY) as c:
        yield c


def _assert_typed(err: odr.ResponseValidationError) -> None:
    assert err.status_code == 200
    assert err.x_request_id == RID
    assert isinstance(err.body, str) and err.body.startswith('{"a":{"a":')
    assert "nested too deeply" in err.message


async def test_models_list_deep_json(client: odr.AsyncOdiRouter) -> None:
    """GET /v1/models answered with 5000-deep JSON: ResponseValidationError, not RecursionError."""
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.models.list()
    _assert_typed(info.value)


async def test_chat_create_deep_json(client: odr.AsyncOdiRouter) -> None:
    """A chat completion body nested 5000 deep (the quirk repair included) is a typed error."""
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 200 and info.value.x_request_id == RID


async def test_responses_create_deep_json(client: odr.AsyncOdiRouter) -> None:
    """A Responses body nested 5000 deep is a typed error."""
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.responses.create(model="m", input="x")
    _assert_typed(info.value)


async def test_queue_submit_deep_json(client: odr.AsyncOdiRouter) -> None:
    """A queue submit answer nested 5000 deep is a typed error."""
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.queue.submit("nano_banana_2", {"prompt": "x"})
    _assert_typed(info.value)


async def test_chat_stream_deep_event(client: odr.AsyncOdiRouter) -> None:
    """A chat stream event nested 5000 deep ends the stream with a typed error carrying the status."""
    stream = await client.chat.completions.create(model="m", messages=[], stream=True)
    with pytest.raises(odr.ResponseValidationError) as info:
        async for _ in stream:
            pass
    assert info.value.status_code == 200 and info.value.x_request_id == RID
    assert info.value.body == DEEP.decode()


async def test_responses_stream_deep_event(client: odr.AsyncOdiRouter) -> None:
    """A Responses stream event nested 5000 deep ends the stream with a typed error."""
    stream = await client.responses.create(model="m", input="x", stream=True)
    with pytest.raises(odr.ResponseValidationError) as info:
        async for _ in stream:
            pass
    _assert_typed(info.value)


async def test_chat_stream_helper_deep_event(client: odr.AsyncOdiRouter) -> None:
    """The .stream() helper surfaces the same typed error."""
    with pytest.raises(odr.ResponseValidationError):
        async with client.chat.completions.stream(model="m", messages=[]) as stream:
            async for _ in stream:
                pass


@pytest.mark.parametrize("status", [400, 429, 500])
async def test_deep_error_body_keeps_the_status_error(status: int) -> None:
    """An error body nested 5000 deep still gives the status's typed error, with the raw body."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return _json(DEEP, status)

    async with (
        serve(handler) as server,
        odr.AsyncOdiRouter(api_key="sk-test", base_url=server.url, retry_policy=NO_RETRY) as c,
    ):
        with pytest.raises(odr.APIStatusError) as info:
            await c.models.list()
    err = info.value
    assert err.status_code == status and err.x_request_id == RID
    assert err.body == DEEP.decode()
    assert "nested too deeply" in err.message


async def test_deep_error_body_on_a_stream_request() -> None:
    """A stream request answered 500 with 5000-deep JSON raises InternalServerError."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return _json(DEEP, 500)

    async with (
        serve(handler) as server,
        odr.AsyncOdiRouter(api_key="sk-test", base_url=server.url, retry_policy=NO_RETRY) as c,
    ):
        with pytest.raises(odr.InternalServerError):
            await c.chat.completions.create(model="m", messages=[], stream=True)


async def test_wrong_types_are_validation_errors() -> None:
    """Fields of the wrong type (a number for the model list) give ResponseValidationError."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        return _json(msgspec.json.encode({"object": "list", "data": 5}))

    async with (
        serve(handler) as server,
        odr.AsyncOdiRouter(api_key="sk-test", base_url=server.url, retry_policy=NO_RETRY) as c,
    ):
        with pytest.raises(odr.ResponseValidationError) as info:
            await c.models.list()
    assert info.value.status_code == 200 and info.value.x_request_id == RID
    assert info.value.body == '{"object":"list","data":5}'
