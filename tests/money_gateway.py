"""A small independent queue gateway for the batch user's money (#19 outside check; not the emulator).

Plain aiohttp.web, answering in the documented shapes but not the emulator's way: ids like
``J000001.AB12``, a revoked key refused on *every* route with ``{"error": {"message": ...}}``
(polls too, not only submits), an unknown endpoint as an nginx HTML 404.  A job is
``IN_PROGRESS`` for its first ``polls_to_finish`` polls (status or response), then ``COMPLETED``.
``on_submit`` (if set) is called with the number of jobs created so far after each one.

::

    async with MoneyGateway() as gw:
        gw.revoke_after = 8           # the 9th submit and every later request answer 401
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

NGINX_404 = (
    "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>"
)


class MoneyGateway:
    """The server; ``created`` counts jobs per input prompt, ``refused`` the refused submits."""

    def __init__(self, endpoints: tuple[str, ...] = ("flux_pro_11",), polls_to_finish: int = 2) -> None:
        self.endpoints = endpoints
        self.polls_to_finish = polls_to_finish
        self.revoke_after: int | None = None
        self.on_submit: Callable[[int], None] | None = None
        self.created: Counter[str] = Counter()
        self.refused = 0
        self.cancels = 0
        self._polls: Counter[str] = Counter()
        self._jobs: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _revoked(self) -> bool:
        return self.revoke_after is not None and sum(self.created.values()) >= self.revoke_after

    def _refuse_key(self) -> web.Response:
        return web.json_response({"error": {"message": "Invalid API key (revoked)"}}, status=401)

    async def _submit(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = json.loads(await request.read())
        if request.match_info["ep"] not in self.endpoints:
            self.refused += 1
            return web.Response(status=404, text=NGINX_404, content_type="text/html")
        if self._revoked():
            self.refused += 1
            return self._refuse_key()
        self.created[str(body.get("prompt"))] += 1
        n = sum(self.created.values())
        rid = f"J{n:06d}.AB12"
        self._jobs[rid] = str(body.get("prompt"))
        if self.on_submit is not None:
            self.on_submit(n)
        return web.json_response({"request_id": rid, "queue_position": 0}, status=202)

    def _state(self, rid: str) -> dict[str, Any]:
        done = self._polls[rid] >= self.polls_to_finish
        return {"status": "COMPLETED" if done else "IN_PROGRESS", "request_id": rid}

    async def _status(self, request: web.Request) -> web.Response:
        if self._revoked():
            return self._refuse_key()
        rid = request.match_info["rid"]
        if rid not in self._jobs:
            return web.json_response({"detail": "Request not found"}, status=404)
        self._polls[rid] += 1
        return web.json_response(self._state(rid))

    async def _response(self, request: web.Request) -> web.Response:
        if self._revoked():
            return self._refuse_key()
        rid = request.match_info["rid"]
        if rid not in self._jobs:
            return web.json_response({"detail": "Request not found"}, status=404)
        self._polls[rid] += 1
        state = self._state(rid)
        if state["status"] != "COMPLETED":
            return web.json_response(state, status=202)
        out = {"type": "text", "text": self._jobs[rid]}
        return web.json_response({"request_id": rid, "outputs": [out], "metadata": {}})

    async def _cancel(self, request: web.Request) -> web.Response:
        self.cancels += 1
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    async def __aenter__(self) -> MoneyGateway:
        app = web.Application()
        base = "/model/v1/queue/{ep}"
        app.router.add_post(base, self._submit)
        app.router.add_get(base + "/requests/{rid}/status", self._status)
        app.router.add_get(base + "/requests/{rid}/response", self._response)
        app.router.add_put(base + "/requests/{rid}/cancel", self._cancel)
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
