"""A raw asyncio HTTP server that stops at a chosen point of an exchange, for the shutdown tests.

``StallServer(stage)`` reads one request head per connection, then, by ``stage``:

* ``"headers"``: reads the body and never answers (the client waits for the status line);
* ``"body"``: sends the head of a JSON answer and part of its body, then nothing;
* ``"sse"``: sends the head of a chunked ``text/event-stream`` answer and one chat chunk, then
  nothing (the client waits between two events);
* ``"upload"``: never reads the request body (the client's upload blocks on a full socket);
* ``"download"``: sends the head of a 10 MB binary answer and 64 KiB of it, then nothing.

``reached`` is set once the stall began (for ``"upload"``: once the head was read, the body
still on its way), so a test closes the client at that point without sleeping.  Leaving the
``async with`` releases every stalled connection and closes it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal

__all__ = ("SSE_EVENT", "Stage", "StallServer")

Stage = Literal["headers", "body", "sse", "upload", "download"]

SSE_EVENT = (
    "data: "
    + json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
        }
    )
    + "\n\n"
).encode()


class StallServer:
    """One stage of an HTTP exchange at which every connection stops (see the module doc)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.reached = asyncio.Event()
        self.url = ""
        self.paths: list[str] = []
        self._release = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> StallServer:
        # A small receive buffer so an upload of a few MB fills the socket at once.
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 16)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.paths.append(head.split(b" ", 2)[1].decode())
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if self.stage != "upload" and length:
                await reader.readexactly(length)
            writer.write(self._answer())
            await writer.drain()
            self.reached.set()
            await self._release.wait()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self) -> bytes:
        if self.stage == "body":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            return head + b'{"object":'
        if self.stage == "sse":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            return head + b"%x\r\n%s\r\n" % (len(SSE_EVENT), SSE_EVENT)
        if self.stage == "download":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 10000000\r\n\r\n"
            return head + b"\0" * (1 << 16)
        return b""
