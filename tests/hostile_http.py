"""Small hostile HTTP servers on 127.0.0.1 for the robustness tests (and the memory benchmark).

``RawServer``: ``asyncio.start_server`` that reads one request per connection (recorded in
``.requests``) and answers with whatever bytes its script writes: malformed status lines and
headers, bodies cut short, bodies split over several writes.

``serve(handler)``: an ``aiohttp.web`` server whose one catch-all handler answers every request
(odd bodies: gzip bombs, endless SSE events, deeply nested JSON); it records requests too.

Both hand out ``.url`` (``http://127.0.0.1:<port>``), usable as a client's ``base_url``.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict

__all__ = (
    "RawServer",
    "Seen",
    "WebServer",
    "deep_json",
    "endless_sse",
    "gzip_bomb",
    "http_response",
    "serve",
    "sse_response",
)


@dataclass
class Seen:
    """One request as the server saw it (header names case-insensitive, all values kept)."""

    method: str
    path: str
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: bytes = b""


Script = Callable[[Seen, asyncio.StreamWriter], Awaitable[None]]


def http_response(
    status: int = 200,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    reason: str = "X",
    content_type: str = "application/json",
) -> bytes:
    """A well-formed HTTP/1.1 response (head and body) as bytes; cut or split it as needed."""
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def writes(*pieces: bytes, gap: float = 0.0) -> Script:
    """A script writing ``pieces`` in order, ``gap`` seconds apart (separate TCP writes), then closing."""

    async def script(_: Seen, writer: asyncio.StreamWriter) -> None:
        for i, piece in enumerate(pieces):
            if i and gap:
                await asyncio.sleep(gap)  # the fault itself: a body that arrives in two parts
            writer.write(piece)
            await writer.drain()

    return script


class RawServer:
    """A TCP server speaking raw bytes: one request read per connection, then ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Seen] = []
        self._server: asyncio.AbstractServer | None = None
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, *rest = head.decode("latin-1").split("\r\n")
            method, path, _ = line.split(" ", 2)
            seen = Seen(method, path)
            for h in rest:
                if h:
                    k, _, v = h.partition(":")
                    seen.headers.add(k.strip(), v.strip())
            length = int(seen.headers.get("Content-Length", "0"))
            seen.body = await reader.readexactly(length) if length else b""
            self.requests.append(seen)
            await self.script(seen, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class WebServer:
    """What ``serve`` yields: the URL and the requests seen."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Seen] = []
        self.sent = 0  # body bytes a streaming handler managed to write


Handler = Callable[[web.Request, WebServer], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[WebServer]:
    """An aiohttp.web server on 127.0.0.1 whose every route is ``handler(request, server)``."""
    state = WebServer()

    async def any_route(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.requests.append(Seen(request.method, request.path_qs, CIMultiDict(request.headers), body))
        return await handler(request, state)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_route)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


# -- bodies ------------------------------------------------------------------------------------


def deep_json(depth: int = 5000, *, key: str = "a") -> bytes:
    """A JSON object nested ``depth`` levels deep (msgspec raises RecursionError past ~1000)."""
    return f'{{"{key}":'.encode() * depth + b"1" + b"}" * depth


def gzip_bomb(decompressed: int) -> bytes:
    """A gzip body that inflates to a JSON object of about ``decompressed`` bytes (~1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    parts = [comp.compress(b'{"object":"list","data":[],"pad":"')]
    block = b"0" * (1 << 20)
    for _ in range(max(1, decompressed >> 20)):
        parts.append(comp.compress(block))
    parts.append(comp.compress(b'"}'))
    parts.append(comp.flush())
    out = b"".join(parts)
    return out


async def sse_response(
    request: web.Request,
    events: Sequence[bytes],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Answer with raw SSE bytes, one write per item."""
    resp = web.StreamResponse(status=status, headers={"Content-Type": "text/event-stream", **(headers or {})})
    await resp.prepare(request)
    for event in events:
        await resp.write(event)
    await resp.write_eof()
    return resp


async def endless_sse(
    request: web.Request, state: WebServer, line: bytes = b"data: xy\n", limit: int = 1 << 30
) -> web.StreamResponse:
    """One SSE event made of ``line`` repeated until the client hangs up (or ``limit`` bytes)."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    block = line * ((1 << 16) // len(line))
    try:
        while state.sent < limit:
            await resp.write(block)
            state.sent += len(block)
    except (ConnectionError, RuntimeError):  # the client closed the stream: expected
        pass
    return resp
