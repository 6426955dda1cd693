"""Small servers on 127.0.0.1 for the timeout, proxy and cookie tests.

``SlowServer``: ``asyncio.start_server`` that reads one request head per connection (recorded in
``.requests``) and runs a script with the reader and writer: silent, trickling, holding a body
open.  Handler tasks end when the client hangs up; any left are cancelled on exit.

``full_backlog()``: a listening socket whose accept queue is full and never drained, so a new
connection's SYN is dropped and ``connect`` never completes (a server that "accepts late").

``RecordingProxy``: a plain-HTTP forward proxy that records every request (absolute-form target,
headers) and forwards it to 127.0.0.1 at the target's port, whatever host was asked for (so
``http://gateway.test:<port>`` reaches a local server); ``CONNECT`` is recorded and refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from multidict import CIMultiDict

__all__ = (
    "ProxySeen",
    "RecordingProxy",
    "SlowServer",
    "full_backlog",
    "hold_body",
    "silent",
    "trickle",
)


@dataclass
class ProxySeen:
    """One request as a server or proxy saw it (header names case-insensitive)."""

    method: str
    target: str
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_head(reader: asyncio.StreamReader) -> ProxySeen:
    head = await reader.readuntil(b"\r\n\r\n")
    line, *rest = head.decode("latin-1").split("\r\n")
    method, target, _ = line.split(" ", 2)
    seen = ProxySeen(method, target)
    for h in rest:
        if h:
            k, _, v = h.partition(":")
            seen.headers.add(k.strip(), v.strip())
    length = int(seen.headers.get("Content-Length", "0"))
    if length:
        await reader.readexactly(length)
    return seen


class SlowServer:
    """A TCP server: one request head read per connection, then ``script(reader, writer)``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[ProxySeen] = []
        self.url = ""
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> SlowServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            self.requests.append(await _read_head(reader))
            await self.script(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()


async def silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
    """Never answer; return when the client hangs up."""
    await reader.read()


def trickle(status: int, every: float, head_only_length: int = 1 << 20) -> Script:
    """Headers promising a long body, then one byte every ``every`` seconds until the client leaves."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {head_only_length}\r\n\r\n".encode()
        )
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(every)  # the fault itself: a body that trickles

    return script


def hold_body() -> Script:
    """Headers and half a body, then hold the connection until the client hangs up."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
        await writer.drain()
        await reader.read()

    return script


@contextlib.contextmanager
def full_backlog() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a listener that never accepts and whose queue is full."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    addr = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):  # the accept queue holds backlog + 1; later SYNs are dropped
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(addr)
            fillers.append(s)
        yield f"http://127.0.0.1:{addr[1]}"
    finally:
        for s in fillers:
            s.close()
        listener.close()


class RecordingProxy:
    """A plain-HTTP forward proxy recording every request and forwarding it to ``upstream``."""

    def __init__(self) -> None:
        self.requests: list[ProxySeen] = []
        self.url = ""
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:  # one request per connection: the answer says Connection: close
            head = await reader.readuntil(b"\r\n\r\n")
            line, *rest = head.decode("latin-1").split("\r\n")
            method, target, version = line.split(" ", 2)
            seen = ProxySeen(method, target)
            for h in rest:
                if h:
                    k, _, v = h.partition(":")
                    seen.headers.add(k.strip(), v.strip())
            self.requests.append(seen)
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            length = int(seen.headers.get("Content-Length", "0"))
            body = await reader.readexactly(length) if length else b""
            await self._forward(seen, version, body, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _forward(
        self, seen: ProxySeen, version: str, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        # absolute-form, as a client talking to a proxy sends it: any host, served on 127.0.0.1
        parts = urlsplit(seen.target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", parts.port or 80)
        try:
            lines = [f"{seen.method} {path} {version}"]
            for k, v in seen.headers.items():
                if k.lower() not in ("proxy-authorization", "proxy-connection", "connection"):
                    lines.append(f"{k}: {v}")
            lines.append("Connection: close")
            up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            answer = await up_reader.read()  # Connection: close: the whole answer, then EOF
        finally:
            up_writer.close()
        head, _, rest = answer.partition(b"\r\n\r\n")
        kept = [h for h in head.split(b"\r\n") if not h.lower().startswith((b"connection:", b"keep-alive:"))]
        writer.write(b"\r\n".join(kept) + b"\r\nConnection: close\r\n\r\n" + rest)
        await writer.drain()
