"""``AsyncOdiRouter`` itself: retry budget, ``with_options`` views, ``close()``, a closed client on
every route, ``async for`` over list calls, plain-dict conversion, headers on status errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web
from hostile_http import WebServer, serve

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.002)
MESSAGES = [{"role": "user", "content": "hi"}]


async def _models(request: web.Request, server: WebServer) -> web.StreamResponse:
    return web.json_response({"object": "list", "data": [{"id": "m1"}]})


async def test_max_retries_overrides_the_policy(emu: Emulator) -> None:
    """max_retries=5 beside a retry_policy applies: five retries are sent, as documented."""
    async with odr.AsyncOdiRouter(
        api_key=emu.api_key, base_url=emu.url, max_retries=5, retry_policy=FAST
    ) as client:
        assert client.max_retries == 5
        emu.faults.add("models", status=500, times=None)
        with pytest.raises(odr.InternalServerError):
            await client.models.list()
    assert emu.stats.count("models") == 6


async def test_policy_budget_kept_without_max_retries(emu: Emulator) -> None:
    """A retry_policy alone keeps its own budget (not the default 2)."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, retry_policy=FAST) as client:
        assert client.max_retries == 1
        emu.faults.add("models", status=500, times=None)
        with pytest.raises(odr.InternalServerError):
            await client.models.list()
    assert emu.stats.count("models") == 2


async def test_with_options_merges_default_headers() -> None:
    """A view's default_headers are merged over the client's: a custom User-Agent stays."""
    async with (
        serve(_models) as server,
        odr.AsyncOdiRouter(
            api_key="sk-test",
            base_url=server.url,
            default_headers={"User-Agent": "my-app/1.0", "X-Tenant": "a"},
        ) as client,
    ):
        view = client.with_options(default_headers={"x-tenant": "b", "X-Extra": "1"}, max_retries=0)
        await view.models.list()
        await client.models.list()
    seen_view, seen_client = server.requests
    assert seen_view.headers["User-Agent"] == "my-app/1.0"
    assert seen_view.headers.getall("X-Tenant") == ["b"] and seen_view.headers["X-Extra"] == "1"
    assert seen_view.headers["Authorization"] == "Bearer sk-test"
    assert seen_client.headers["X-Tenant"] == "a" and "X-Extra" not in seen_client.headers
    assert view.max_retries == 0 and client.max_retries == 2


async def test_with_options_view_is_a_real_client(emu: Emulator) -> None:
    """A view is built by the constructor: same class, same settings, shares the pool and closes nothing."""

    class MyClient(odr.AsyncOdiRouter):
        pass

    client = MyClient(api_key=emu.api_key, base_url=emu.url, timeout=7, strict_origins=True)
    view = client.with_options(max_retries=4)
    assert type(view) is MyClient and view.base_url == client.base_url
    assert view.timeout == client.timeout and view.max_retries == 4
    assert emu.api_key not in repr(view)
    await view.models.list()
    await view.close()
    assert not client.is_closed
    await client.models.list()
    first, second = emu.stats.records("models")
    assert first.connection == second.connection  # one pool: the connection was reused
    with pytest.raises(odr.InsecureURLError):  # strict_origins carried over
        await view.requester.request("GET", emu.cdn_url + "/files/x_0.png")
    await client.close()
    assert client.is_closed and view.is_closed


async def test_close_is_aclose(emu: Emulator) -> None:
    """await client.close() closes the client like aclose()."""
    client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    await client.models.list()
    await client.close()
    assert client.is_closed
    await client.close()  # twice is fine


def _routes(client: odr.AsyncOdiRouter, tmp: Path) -> dict[str, Any]:
    """One call per route family, each not yet awaited."""
    job = client.queue.job("nano_banana_2", "req-1")

    async def chat_helper() -> None:
        async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
            await s.get_final_completion()

    async def responses_helper() -> None:
        async with client.responses.stream(model="m", input="hi") as s:
            await s.get_final_response()

    return {
        "models.list": lambda: client.models.list(),
        "chat.create": lambda: client.chat.completions.create(model="m", messages=MESSAGES),
        "chat.create(stream)": lambda: client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        ),
        "chat.stream": chat_helper,
        "responses.create": lambda: client.responses.create(model="m", input="hi"),
        "responses.stream": responses_helper,
        "queue.submit": lambda: client.queue.submit("nano_banana_2", {"prompt": "x"}),
        "queue.run": lambda: client.queue.run("nano_banana_2", {"prompt": "x"}),
        "job.status": job.status,
        "job.result": job.result,
        "job.cancel": job.cancel,
        "videos.create": lambda: client.videos.create(model="sora-2", prompt="x"),
        "videos.retrieve": lambda: client.videos.retrieve("video_1"),
        "videos.download_content": lambda: client.videos.download_content("video_1", tmp / "v.mp4"),
        "requester": lambda: client.requester.request("GET", "/v1/models"),
    }


async def test_closed_client_raises_client_closed_everywhere(emu: Emulator, tmp_path: Path) -> None:
    """After close(), every route (and every view) raises ClientClosedError, never a bare RuntimeError."""
    client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    await client.models.list()
    view = client.with_options(timeout=5)
    await client.close()
    failures: dict[str, str] = {}
    for who in (client, view):
        for name, call in _routes(who, tmp_path).items():
            try:
                await call()
            except odr.ClientClosedError as exc:
                assert "closed" in str(exc)
            except BaseException as exc:  # collected and reported below
                failures[name] = repr(exc)
            else:
                failures[name] = "no error"
    assert failures == {}
    assert emu.stats.count("models") == 1


async def test_client_closed_never_used(emu: Emulator) -> None:
    """A client closed before its first request refuses it with ClientClosedError too."""
    client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    await client.aclose()
    with pytest.raises(odr.ClientClosedError):
        await client.models.list()
    assert emu.stats.total == 0


async def test_models_list_is_async_iterable(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """`async for m in client.models.list()` yields the models; awaiting it still gives the ModelList."""
    ids = [m.id async for m in client.models.list()]
    page = await client.models.list()
    assert ids and ids == [m.id for m in page.data]
    assert all(isinstance(m, odr.Model) for m in page.data)
    assert emu.stats.count("models") == 2  # one request per await / iteration, none when merely called
    client.models.list()
    assert emu.stats.count("models") == 2


async def test_results_convert_to_plain_dicts(client: odr.AsyncOdiRouter) -> None:
    """to_dict() / odr.to_dict() give plain Python values for any result, nested ones included."""
    completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    data = completion.to_dict()
    assert isinstance(data, dict) and data["choices"][0]["message"]["content"] == "You said: hi"
    assert odr.to_dict(completion) == data
    page = await client.models.list()
    plain = odr.to_dict(page.data)
    assert isinstance(plain, list) and plain[0] == page.data[0].to_dict()
    assert plain[0]["id"] == page.data[0].id and type(plain[0]) is dict


async def test_status_error_carries_headers(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """APIStatusError.headers holds the response headers (lower-case names), e.g. Retry-After."""
    emu.faults.add("models", status=429, headers={"Retry-After": "120", "X-Custom": "v"}, times=None)
    with pytest.raises(odr.RateLimitError) as info:
        await client.models.list(max_retries=0)
    assert info.value.headers["retry-after"] == "120" and info.value.headers["x-custom"] == "v"
    assert info.value.headers["x-request-id"] == info.value.x_request_id
    assert info.value.retry_after == 120


async def test_close_during_a_request_is_client_closed() -> None:
    """A call waiting for its answer when the client closes raises ClientClosedError, not a network error."""
    arrived, release = anyio.Event(), anyio.Event()

    async def stall(request: web.Request, server: WebServer) -> web.StreamResponse:
        arrived.set()
        await release.wait()
        return web.json_response({"object": "list", "data": []})

    async with serve(stall) as server:
        client = odr.AsyncOdiRouter(api_key="sk-test", base_url=server.url, max_retries=0)
        outcome: list[BaseException] = []

        async def call() -> None:
            try:
                await client.models.list()
            except odr.OdiRouterError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await arrived.wait()
            await client.close()
        release.set()
    (err,) = outcome
    assert type(err) is odr.ClientClosedError and err.x_request_id
