"""The two aiohttp applications and the gate every request passes through.

The *main* listener serves the API (every route needs ``Authorization: Bearer <key>``, or
``Key <key>`` with ``accept_key_scheme``); the *CDN* listener, another port and so another
origin, serves output files and, with ``foreign_urls``, the job status/result/cancel routes,
with no auth (a client must not send its key there; ``RequestRecord.has_auth`` shows if it did).

For each request the gate: names the route, takes or makes the ``X-Request-Id`` (echoed on every
answer), appends a ``RequestRecord``, counts job requests and queue submits, checks the key,
applies an answer fault (delay, drop, status), applies the poll-rate limit to status/result
routes, then calls the handler.  Unknown paths answer 404 ``{"detail": "Not Found"}``; an error
inside the emulator answers 500 ``{"detail": ...}``, never an HTML traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from ._common import (
    JSON,
    Handler,
    Shared,
    bind_record,
    current_record,
    encode,
    json_response,
    new_request_id,
)
from ._faults import Fault
from ._sse_out import close_connection
from ._stats import RequestRecord

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

__all__ = ("Gate", "Services", "build_cdn_app", "build_main_app")

logger = logging.getLogger("odirouter_async.testing")

JOB_ROUTES = frozenset({"queue.status", "queue.response", "queue.cancel"})
POLL_ROUTES = frozenset({"queue.status", "queue.response"})
MAX_BODY = 64 << 20
_RATE_LIMITED = {"code": "RATE_LIMIT_EXCEEDED", "message": "Rate limit exceeded, please try again later"}
_UNAUTHORIZED = {"code": "UNAUTHORIZED", "message": "Authorization Bearer or Key token is required"}


@dataclass
class Services:
    """The route handlers, by route name (the names faults and stats use)."""

    handlers: dict[str, Handler]


def _fault_response(fault: Fault, request_id: str) -> web.Response:
    status = fault.status or 500
    body = fault.body
    if body is None:
        if status == 429:
            body = {"error": _RATE_LIMITED, "request_id": request_id}
        else:
            error = {"code": "EMULATED_FAULT", "message": f"Emulated HTTP {status}"}
            body = {"error": error, "request_id": request_id}
    if isinstance(body, bytes):
        raw, ctype = body, JSON
    elif isinstance(body, str):
        raw, ctype = body.encode(), "text/plain; charset=utf-8"
    else:
        raw, ctype = encode(body), JSON
    resp = web.Response(body=raw, status=status, headers=fault.headers)
    if "Content-Type" not in (fault.headers or {}):
        resp.headers["Content-Type"] = ctype
    return resp


class Gate:
    """Auth, request ids, stats, answer faults and the poll-rate limit, as aiohttp middleware."""

    def __init__(self, shared: Shared, api_key: str, accept_key_scheme: bool) -> None:
        self.shared = shared
        self.api_key = api_key
        self.accept_key_scheme = accept_key_scheme

    def _token(self, header: str) -> str | None:
        scheme, _, token = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" or (scheme == "key" and self.accept_key_scheme):
            return token.strip() or None
        return None

    def _auth_ok(self, header: str | None) -> bool:
        if header is None:
            return False
        token = self._token(header)
        return token is not None and hmac.compare_digest(token.encode(), self.api_key.encode())

    def middleware(self, listener: str) -> Middleware:
        """The middleware of one listener (``"main"`` requires the key, ``"cdn"`` does not)."""
        shared = self.shared
        stats = shared.stats

        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            route = request.match_info.route.name or "unknown"
            if route == "emu.stats":  # the emulator's own introspection: no auth, not counted
                return await handler(request)
            request_id = request.headers.get("X-Request-Id") or new_request_id()
            auth = request.headers.get("Authorization")
            auth_ok = self._auth_ok(auth)
            record = RequestRecord(
                request.method, request.path, route, 0, request_id, auth is not None, auth_ok, shared.clock()
            )
            record.listener = listener
            transport = request.transport
            peer = transport.get_extra_info("peername") if transport is not None else None
            if isinstance(peer, tuple) and len(peer) >= 2:
                record.connection = peer[1]
            bind_record(record)
            stats.arrived(record)
            if route in JOB_ROUTES:
                record.job_id = request.match_info["request_id"]
                stats.job_requests[record.job_id] += 1
            try:
                resp = await self._pass(request, handler, route, listener, auth, auth_ok, request_id)
            except ConnectionError:  # the client went away mid-answer: nothing more to say
                return web.Response()
            except web.HTTPException as exc:
                headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
                resp = json_response({"detail": exc.reason}, exc.status, headers)
            except Exception as exc:
                logger.exception("emulator error on %s %s", request.method, request.path)
                resp = json_response({"detail": f"Internal emulator error: {type(exc).__name__}"}, 500)
            if resp is None:  # a drop fault: no answer at all
                close_connection(request)
                return web.Response()
            stats.answered(record, resp.status)
            return resp

        return gate

    async def _pass(
        self,
        request: web.Request,
        handler: Handler,
        route: str,
        listener: str,
        auth: str | None,
        auth_ok: bool,
        request_id: str,
    ) -> web.StreamResponse | None:
        shared = self.shared
        _FAULT_HEADERS.set(None)  # requests on one connection may share a task: reset per request
        if listener == "main" and not auth_ok and route != "unknown":
            if auth is None or self._token(auth) is None:
                return json_response({"error": _UNAUTHORIZED, "request_id": request_id}, 401)
            return json_response({"error": "invalid_api_key"}, 401)
        if route == "queue.submit":
            body = await request.read()
            shared.stats.submit_arrived(
                request.match_info["endpoint"], body, request.headers.get("X-Request-Id")
            )
        fault = shared.take_fault(route, stream=False)
        if fault is not None:
            if fault.headers and fault.status is None:  # headers alone: added to the normal answer
                _FAULT_HEADERS.set(fault.headers)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                await request.read()
                return None
            if fault.status is not None:
                return _fault_response(fault, request_id)
        if route in POLL_ROUTES and not shared.limiter.allow(shared.clock()):
            shared.stats.rate_limited += 1
            limited = {"error": _RATE_LIMITED, "request_id": request_id}
            return json_response(limited, 429, {"Retry-After": "1"})
        return await handler(request)


#: headers a headers-only fault adds to the answer of the request being handled (per request task)
_FAULT_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar("emu_fault_headers", default=None)


async def _echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    record = current_record()
    if record is not None:
        response.headers["X-Request-Id"] = record.request_id
    extra = _FAULT_HEADERS.get()
    if extra:  # a headers-only fault (``emu.faults.add(route, headers=...)``)
        response.headers.update(extra)


_ROUTES: dict[str, tuple[str, str]] = {
    "models": ("GET", "/v1/models"),
    "chat": ("POST", "/v1/chat/completions"),
    "responses": ("POST", "/v1/responses"),
    "responses.retrieve": ("GET", "/v1/responses/{response_id}"),
    "responses.cancel": ("POST", "/v1/responses/{response_id}/cancel"),
    "queue.submit": ("POST", "/model/v1/queue/{endpoint}"),
    "queue.status": ("GET", "/model/v1/queue/{endpoint}/requests/{request_id}/status"),
    "queue.response": ("GET", "/model/v1/queue/{endpoint}/requests/{request_id}/response"),
    "queue.cancel": ("PUT", "/model/v1/queue/{endpoint}/requests/{request_id}/cancel"),
    "videos.create": ("POST", "/v1/videos"),
    "videos.list": ("GET", "/v1/videos"),
    "videos.retrieve": ("GET", "/v1/videos/{video_id}"),
    "videos.delete": ("DELETE", "/v1/videos/{video_id}"),
    "videos.remix": ("POST", "/v1/videos/{video_id}/remix"),
    "videos.content": ("GET", "/v1/videos/{video_id}/content"),
    "files": ("GET", "/files/{name}"),
    "emu.stats": ("GET", "/_emu/stats"),
}
_CDN_ROUTES = ("files",)
_FOREIGN_ROUTES = ("queue.status", "queue.response", "queue.cancel")


def _app(gate: Gate, listener: str, services: Services, names: tuple[str, ...]) -> web.Application:
    app = web.Application(middlewares=[gate.middleware(listener)], client_max_size=MAX_BODY)
    app.on_response_prepare.append(_echo_request_id)
    for name in names:
        method, path = _ROUTES[name]
        if method == "GET":
            app.router.add_get(path, services.handlers[name], name=name)
        else:
            app.router.add_route(method, path, services.handlers[name], name=name)
    return app


def build_main_app(gate: Gate, services: Services) -> web.Application:
    """The API listener."""
    names = tuple(n for n in _ROUTES if n not in _CDN_ROUTES)  # the API and ``GET /_emu/stats``
    return _app(gate, "main", services, names)


def build_cdn_app(gate: Gate, services: Services, foreign_urls: bool) -> web.Application:
    """The second origin: files, and the job routes when the emulator hands out foreign URLs."""
    return _app(gate, "cdn", services, _CDN_ROUTES + (_FOREIGN_ROUTES if foreign_urls else ()))
