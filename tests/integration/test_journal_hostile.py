"""The journal against a small hostile queue server (aiohttp.web on 127.0.0.1).

- A submit answered 2xx with an unusable request id (``""``, ``"a/b"``, ``".."``): a job exists
  that nobody can find.  The journal must keep the input *uncertain* (an intent), never
  ``failed``: ``retry_failed`` must not pay for it again, only ``resubmit_uncertain`` may.
- A result body whose outputs the strict decoder cannot read: the journal stores the raw body and
  a replay decodes it exactly as the live path did (nothing lost in a re-encoding).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

import odirouter_async as odr
from odirouter_async.batch.journal import Journal
from odirouter_async.batch.journal_hooks import JournalHooks

pytestmark = pytest.mark.anyio

EP = "nano_banana_2"
KEY = "test-key"
#: outputs the documented shape does not allow (a number as url, an unknown extra field)
ODD_RESULT = b'{"outputs": [{"url": 5, "extra": {"x": [1, 2]}}], "seed": 7, "note": "kept"}'


@dataclass
class Hostile:
    """What the server answers and what it received."""

    submit_id: str = "r1"
    submits: int = 0
    seen_ids: list[str] = field(default_factory=list)


@pytest.fixture
async def hostile(unused_tcp_port: int) -> AsyncIterator[tuple[str, Hostile]]:
    """A queue server: submit answers ``{"request_id": state.submit_id}``; jobs complete at once."""
    state = Hostile()

    async def submit(request: web.Request) -> web.Response:
        state.submits += 1
        state.seen_ids.append(request.headers.get("X-Request-Id", ""))
        return web.json_response({"request_id": state.submit_id})

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"status": "COMPLETED", "request_id": request.match_info["rid"]})

    async def response(request: web.Request) -> web.Response:
        return web.Response(body=ODD_RESULT, content_type="application/json")

    app = web.Application()
    app.router.add_post("/model/v1/queue/{ep}", submit)
    app.router.add_get("/model/v1/queue/{ep}/requests/{rid}/status", status)
    app.router.add_get("/model/v1/queue/{ep}/requests/{rid}/response", response)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{unused_tcp_port}", state
    finally:
        await runner.cleanup()


@pytest.fixture
def unused_tcp_port() -> int:
    """A free port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def run(url: str, path: Path, **kw: Any) -> list[odr.MapOutcome]:
    async with odr.AsyncOdiRouter(api_key=KEY, base_url=url, max_retries=0) as client:
        hooks = JournalHooks(path, client=client, **kw)
        async with client.queue.map(EP, [{"prompt": "x"}], hooks=hooks) as results:
            return [o async for o in results]


async def states(path: Path) -> list[str]:
    async with await Journal.open(path, endpoint=EP) as journal:
        return [e.state for e in (await journal.load()).values()]


@pytest.mark.parametrize("bad_id", ["", "a/b", ".."])
async def test_unusable_request_id_leaves_the_input_uncertain(
    hostile: tuple[str, Hostile], tmp_path: Path, bad_id: str
) -> None:
    """2xx with an unusable request id: journaled as an uncertain intent; retry_failed cannot pay again."""
    url, state = hostile
    state.submit_id = bad_id
    path = tmp_path / "j.sqlite"
    first = await run(url, path)
    assert isinstance(first[0].error, odr.ResponseValidationError)
    assert await states(path) == ["intent"]
    again = await run(url, path, retry_failed=True)
    assert isinstance(again[0].error, odr.UncertainSubmit)
    assert state.submits == 1
    await run(url, path, resubmit_uncertain=True)  # only on explicit request, with the same id
    assert state.submits == 2 and state.seen_ids[0] == state.seen_ids[1]


async def test_replayed_result_is_decoded_like_the_live_one(
    hostile: tuple[str, Hostile], tmp_path: Path
) -> None:
    """A result the strict decoder cannot read is stored raw; the replay has the same raw body and outputs."""
    url, _ = hostile
    path = tmp_path / "j.sqlite"
    live = (await run(url, path))[0].result
    assert live is not None
    async with await Journal.open(path, endpoint=EP) as journal:
        (entry,) = (await journal.load()).values()
    assert entry.state == "done" and entry.outcome == ODD_RESULT
    replayed = (await run(url, path))[0].result
    assert replayed is not None and replayed is not live
    assert replayed.raw == live.raw == msgspec.json.decode(ODD_RESULT)
    assert replayed.raw_bytes == ODD_RESULT
    assert replayed.outputs == live.outputs
