"""``aclose()`` ends every in-flight request and stream of the client with ``ClientClosedError``.

One test per point at which a reader can be when the client closes (servers in
``tests/stall_http.py`` stop there): waiting for the headers, between two SSE events, in the
middle of a plain body, of an upload, of a download.  ``aclose`` returns without waiting for
them and nothing is left waiting on a future (the reader ends typed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from stall_http import Stage, StallServer

import odirouter_async as odr
from odirouter_async.types.queue import JobOutput, JobResult

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(server: StallServer) -> odr.AsyncOdiRouter:
    """A client on the stalling server; no retries (a close must not be retried anyway)."""
    return odr.AsyncOdiRouter(api_key="sk-shutdown-secret", base_url=server.url, max_retries=0)


Call = Callable[[odr.AsyncOdiRouter], Awaitable[Any]]


async def closed_mid_call(stage: Stage, call: Call) -> BaseException:
    """Start ``call``, close the client once the server stalls, and return what the call raised."""
    async with StallServer(stage) as server:
        client = client_for(server)
        task = asyncio.ensure_future(call(client))
        reached = asyncio.ensure_future(server.reached.wait())
        await asyncio.wait({task, reached}, return_when=asyncio.FIRST_COMPLETED)
        assert not task.done(), task.exception()
        await client.aclose()
        with pytest.raises(BaseException) as info:
            await task
        reached.cancel()
        return info.value


async def test_close_while_waiting_for_headers() -> None:
    """A call waiting for the status line ends with ClientClosedError when the client closes."""
    exc = await closed_mid_call("headers", lambda c: c.models.list())
    assert isinstance(exc, odr.ClientClosedError), repr(exc)


async def test_close_mid_body_of_a_plain_call() -> None:
    """A plain create() whose body is arriving ends with ClientClosedError, not a hang."""
    exc = await closed_mid_call("body", lambda c: c.models.list())
    assert isinstance(exc, odr.ClientClosedError), repr(exc)


async def test_close_between_sse_events() -> None:
    """A chat stream waiting for its next event ends with ClientClosedError."""
    got: list[object] = []

    async def call(client: odr.AsyncOdiRouter) -> None:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        async for chunk in stream:
            got.append(chunk)

    exc = await closed_mid_call("sse", call)
    assert isinstance(exc, odr.ClientClosedError), repr(exc)


async def test_close_while_the_caller_holds_a_stream() -> None:
    """A stream not being read when the client closes raises ClientClosedError at its next read."""
    async with StallServer("sse") as server:
        client = client_for(server)
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        it = stream.__aiter__()
        first = await it.__anext__()
        assert first.choices[0].delta.content == "hi"
        await client.aclose()
        with pytest.raises(odr.ClientClosedError):
            await it.__anext__()
        await stream.aclose()


async def test_close_mid_upload() -> None:
    """A multipart upload (videos.create) blocked on a slow reader ends with ClientClosedError."""
    big = b"\0" * (32 << 20)  # more than the socket buffers hold: the write blocks
    exc = await closed_mid_call(
        "upload", lambda c: c.videos.create(prompt="p", input_reference=("f.png", big, "image/png"))
    )
    assert isinstance(exc, odr.ClientClosedError), repr(exc)


async def test_close_mid_video_download(tmp_path: Path) -> None:
    """videos.download_content cut by the close ends with ClientClosedError and leaves no file."""
    exc = await closed_mid_call("download", lambda c: c.videos.download_content("v1", tmp_path / "v.mp4"))
    assert isinstance(exc, odr.ClientClosedError), repr(exc)
    assert list(tmp_path.iterdir()) == []


async def test_close_mid_result_download(tmp_path: Path) -> None:
    """client.queue.download cut by the close ends with ClientClosedError and leaves no file."""

    async def call(client: odr.AsyncOdiRouter) -> object:
        result = JobResult(outputs=[JobOutput(url=f"{client.base_url}/files/out.mp4")])
        return await client.queue.download(result, tmp_path)

    exc = await closed_mid_call("download", call)
    assert isinstance(exc, odr.ClientClosedError), repr(exc)
    assert list(tmp_path.iterdir()) == []


async def test_calls_after_close_raise_client_closed() -> None:
    """Every call started after aclose() raises ClientClosedError, without a request."""
    async with StallServer("headers") as server:
        client = client_for(server)
        await client.aclose()
        with pytest.raises(odr.ClientClosedError):
            await client.models.list()
        with pytest.raises(odr.ClientClosedError):
            await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert server.paths == []


async def test_close_is_idempotent_and_reusable_views_close_too() -> None:
    """A second aclose() is a no-op and a with_options view of a closed client raises ClientClosedError."""
    async with StallServer("body") as server:
        client = client_for(server)
        view = client.with_options(timeout=5)
        task = asyncio.ensure_future(view.models.list())
        await server.reached.wait()
        await client.aclose()
        await client.aclose()
        with pytest.raises(odr.ClientClosedError):
            await task
        with pytest.raises(odr.ClientClosedError):
            await view.models.list()
