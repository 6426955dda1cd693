"""examples/web_app.py: one client shared through the Starlette lifespan, JSON and streaming routes."""

from __future__ import annotations

import json

import anyio
import pytest
from asgi_driver import lifespan
from endless_chat import endless_chat
from examples_support import load_example

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def test_one_client_for_every_request(env: Emulator) -> None:
    """Twenty concurrent /chat requests are answered through the single client the lifespan made."""
    web = load_example("web_app")
    answers: list[dict[str, str]] = []
    async with lifespan(web.app) as app:
        client = app.state["client"]
        assert isinstance(client, odr.AsyncOdiRouter)

        async def one(i: int) -> None:
            got = await app.request("POST", "/chat", body=json.dumps({"prompt": f"question {i}"}).encode())
            assert got.status == 200, got.body
            answers.append(json.loads(got.body))

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
    assert len(answers) == 20 and all(a["answer"] for a in answers)
    seen = {r.request_id for r in env.stats.records("chat")}
    assert {a["x_request_id"] for a in answers} == seen and len(seen) == 20
    assert client.is_closed  # shut down with the app


async def test_streaming_route_sends_text_as_it_arrives() -> None:
    """GET /stream sends the answer in many body messages (one per fragment), not one at the end."""
    web = load_example("web_app")
    async with Emulator(tokens_per_second=500) as emu:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ODIROUTER_BASE_URL", emu.url)
            mp.setenv("ODIROUTER_API_KEY", emu.api_key)
            async with lifespan(web.app) as app:
                got = await app.request("GET", "/stream", query="prompt=explain+event+loops")
                whole = await app.request("POST", "/chat", body=b'{"prompt": "explain event loops"}')
    assert got.status == 200 and got.headers["content-type"].startswith("text/plain")
    assert len(got.chunks) > 5
    assert got.body.decode() == json.loads(whole.body)["answer"]  # the same (deterministic) answer


async def test_a_browser_that_leaves_closes_the_upstream_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser leaves after 5 fragments: the app closes its stream to a gateway that never stops."""
    web = load_example("web_app")
    async with endless_chat() as endless:
        monkeypatch.setenv("ODIROUTER_BASE_URL", endless.server.url)
        monkeypatch.setenv("ODIROUTER_API_KEY", "k")
        async with lifespan(web.app) as app:
            got = await app.request("GET", "/stream", query="prompt=go+on", leave_after=5)
            await endless.hung_up.wait()  # set by the server when its next write fails
    words = got.body.decode().split()
    assert got.status == 200 and len(words) >= 5 and set(words) == {"word"}
    assert endless.chunks < 1000


async def test_bad_requests_and_gateway_errors(env: Emulator) -> None:
    """A bad body is a 400 from the app; a gateway 5xx is a 502 carrying the gateway's request id."""
    web = load_example("web_app")
    env.faults.add("chat", status=500, times=10)
    async with lifespan(web.app) as app:
        bad = await app.request("POST", "/chat", body=b'{"text": 1}')
        assert bad.status == 400
        assert (await app.request("GET", "/stream")).status == 400
        failed = await app.request("POST", "/chat", body=b'{"prompt": "hi"}')
    assert failed.status == 502
    error = json.loads(failed.body)
    assert error["error"] == "InternalServerError"
    assert error["x_request_id"] == env.stats.records("chat")[-1].request_id
