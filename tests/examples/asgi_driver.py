"""A tiny ASGI driver for the web example's tests: lifespan startup/shutdown and HTTP requests,
straight into the app (no server, no extra dependency).  A disconnect is signalled once the whole
response was sent (a patient browser), or after ``leave_after`` body messages (one that leaves)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


@dataclass
class Answer:
    """An HTTP response as the app sent it: status, headers, and each body message separately."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(self.chunks)


class Driver:
    """Calls one ASGI app; ``state`` is what its lifespan yielded."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def request(
        self, method: str, path: str, query: str = "", body: bytes = b"", *, leave_after: int | None = None
    ) -> Answer:
        """One request, read to its end (or until ``leave_after`` body messages arrived)."""
        answer, finished = Answer(), asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": dict(self.state),
        }
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    answer.chunks.append(message["body"])
                if not message.get("more_body", False) or len(answer.chunks) == leave_after:
                    finished.set()

        await self.app(scope, receive, send)
        return answer


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[Driver]:
    """Run the app's lifespan startup, yield a ``Driver``, then run its shutdown."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    state: dict[str, Any] = {}
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield Driver(app, state)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await outbox.get()
        await task
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
