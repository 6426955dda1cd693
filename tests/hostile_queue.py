"""A small hostile queue gateway (plain aiohttp.web, not the project's emulator).

It answers in ways the emulator never does, to prove the SDK does not depend on the emulator's
choices.  Each route answers from a *script*: a list of ``Answer``s consumed one per request, the
last one repeated forever.  ``HostileQueue.hits[route]`` counts requests, ``auth`` records the
``Authorization`` header of each (route, header) pair, ``paths`` the raw paths polled.

::

    async with HostileQueue(submit=[ok_submit("odd:id.é")], response=[html(200)], status=[...]) as gw:
        client = AsyncOdiRouter(api_key="k", base_url=gw.url)
"""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgspec
from aiohttp import web

ENDPOINT = "hostile_model"


@dataclass(frozen=True)
class Answer:
    """One scripted HTTP answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def js(status: int, obj: Any, **headers: str) -> Answer:
    """A JSON answer."""
    return Answer(status, msgspec.json.encode(obj), headers=tuple(headers.items()))


def html(status: int) -> Answer:
    """An HTML page (a proxy's error page, or a login wall answering 200)."""
    return Answer(status, b"<html><head><title>Oops</title></head><body>gateway</body></html>", "text/html")


def deep(status: int, depth: int = 5000) -> Answer:
    """JSON nested ``depth`` deep (beyond any decoder's recursion limit)."""
    return Answer(status, b'{"status": ' + b"[" * depth + b"]" * depth + b"}")


def ok_submit(request_id: object, **urls: str) -> Answer:
    """A 200 submit answer with this id (the SDK builds the URLs unless given)."""
    return js(200, {"request_id": request_id, **urls}, **{"X-Request-Id": "req-hostile-submit"})


def status(word: str, **fields: Any) -> Answer:
    """A 200 status body."""
    return js(200, {"status": word, **fields})


RESULT = {
    "request_id": "r",
    "outputs": [{"type": "image", "url": "https://cdn.invalid/x.png"}],
    "metadata": {},
}


class HostileQueue:
    """The server: scripts per route, counters, and the raw request paths."""

    def __init__(
        self,
        *,
        submit: list[Answer] | None = None,
        status: list[Answer] | None = None,
        response: list[Answer] | None = None,
        cancel: list[Answer] | None = None,
    ) -> None:
        self.scripts = {
            "submit": list(submit or [ok_submit("hostile_1")]),
            "status": list(status or [js(200, {"status": "COMPLETED"})]),
            "response": list(response or [js(200, RESULT)]),
            "cancel": list(cancel or [js(202, {"status": "CANCELLATION_REQUESTED"})]),
        }
        self.hits: Counter[str] = Counter()
        self.paths: list[str] = []
        self.auth: list[tuple[str, str | None]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _answer(self, route: str, request: web.Request) -> web.Response:
        self.hits[route] += 1
        self.paths.append(request.raw_path)
        self.auth.append((route, request.headers.get("Authorization")))
        script = self.scripts[route]
        answer = script.pop(0) if len(script) > 1 else script[0]
        resp = web.Response(body=answer.body, status=answer.status, headers=dict(answer.headers))
        resp.headers["Content-Type"] = answer.content_type
        return resp

    def _handler(self, route: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            if route == "submit":
                await request.read()
            return self._answer(route, request)

        return handle

    async def __aenter__(self) -> HostileQueue:
        app = web.Application()
        base = "/model/v1/queue/{endpoint}"
        app.router.add_post(base, self._handler("submit"))
        app.router.add_get(base + "/requests/{rid}/status", self._handler("status"))
        app.router.add_get(base + "/requests/{rid}/response", self._handler("response"))
        app.router.add_put(base + "/requests/{rid}/cancel", self._handler("cancel"))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        sock = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
