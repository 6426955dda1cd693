"""A chat server that never stops talking, for proving that a stream is closed at the TCP level.

``endless_chat()`` yields a ``hostile_http.WebServer`` whose every request is answered with chat
completion chunks (one word each, a millisecond apart) until the client hangs up; ``.hung_up`` is
set when a write fails because the peer closed the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from hostile_http import WebServer, serve

CHUNK = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"gpt-4.1-mini",'
    b'"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}\n\n'
)


@dataclass
class Endless:
    """The server, the event set when its client hung up, and how many chunks it wrote."""

    server: WebServer
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    chunks: int = 0


@asynccontextmanager
async def endless_chat() -> AsyncIterator[Endless]:
    """Serve endless chat chunks on 127.0.0.1 until each client hangs up."""
    holder: list[Endless] = []

    async def handler(request: web.Request, server: WebServer) -> web.StreamResponse:
        state = holder[0]
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            while True:
                await resp.write(CHUNK)
                state.chunks += 1
                await asyncio.sleep(0.001)  # the server's pace, not a wait in the test
        except (ConnectionError, RuntimeError):  # the client closed the connection
            state.hung_up.set()
        return resp

    async with serve(handler) as server:
        holder.append(Endless(server))
        yield holder[0]
