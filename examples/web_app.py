# pyright: strict
"""A Starlette app that shares ONE ``AsyncOdiRouter`` through its lifespan.

``POST /chat`` answers JSON; ``GET /stream?prompt=...`` streams the answer's text as it is
generated (a client that goes away closes the upstream stream at once).  One client per process:
it holds one connection pool and one polling scheduler and is safe under many concurrent requests.

Run it (``pip install 'odirouter_async[examples]' uvicorn``)::

    ODIROUTER_API_KEY=... uvicorn web_app:app            # from the examples/ folder
    # offline: `odirouter emulator --port 8080` in another shell, then
    ODIROUTER_BASE_URL=http://127.0.0.1:8080 ODIROUTER_API_KEY=emu-test-key uvicorn web_app:app
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypedDict

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import odirouter_async as odr

MODEL = os.environ.get("ODIROUTER_MODEL", "gpt-4.1-mini")


class ChatIn(msgspec.Struct):
    """The body of ``POST /chat``."""

    prompt: str


_CHAT_IN = msgspec.json.Decoder(ChatIn)


class State(TypedDict):
    """What the lifespan hands to every request (``request.state.client``)."""

    client: odr.AsyncOdiRouter


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncGenerator[State, None]:
    """One client for the whole process: created at startup, closed at shutdown."""
    async with odr.AsyncOdiRouter() as client:  # ODIROUTER_API_KEY, ODIROUTER_BASE_URL
        yield {"client": client}


def _client(request: Request) -> odr.AsyncOdiRouter:
    client: odr.AsyncOdiRouter = request.state.client
    return client


def _error(exc: odr.OdiRouterError) -> JSONResponse:
    """Gateway trouble -> 502 with the gateway's request id (for support), never the key."""
    status = exc.status_code if isinstance(exc, odr.APIStatusError) and exc.status_code < 500 else 502
    x_request_id = getattr(exc, "x_request_id", None)
    return JSONResponse({"error": type(exc).__name__, "x_request_id": x_request_id}, status_code=status)


async def chat(request: Request) -> Response:
    """``POST /chat`` with ``{"prompt": "..."}`` -> ``{"answer", "x_request_id"}``."""
    try:
        prompt = _CHAT_IN.decode(await request.body()).prompt
    except msgspec.DecodeError:  # ValidationError too
        return JSONResponse({"error": 'send {"prompt": "..."}'}, status_code=400)
    try:
        completion = await _client(request).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": prompt}]
        )
    except odr.OdiRouterError as exc:
        return _error(exc)
    answer = completion.choices[0].message.content if completion.choices else None
    return JSONResponse({"answer": answer or "", "x_request_id": completion.x_request_id})


async def stream(request: Request) -> Response:
    """``GET /stream?prompt=...`` -> the answer as ``text/plain``, fragment by fragment."""
    prompt = request.query_params.get("prompt", "")
    if not prompt:
        return JSONResponse({"error": "pass ?prompt=..."}, status_code=400)
    client = _client(request)

    async def fragments() -> AsyncIterator[str]:
        # Starlette cancels this generator when the browser goes away: leaving the `async with`
        # closes the upstream HTTP response at once (no tokens are read for nobody).
        async with client.chat.completions.stream(
            model=MODEL, messages=[{"role": "user", "content": prompt}]
        ) as s:
            async for text in s.text_deltas():
                yield text

    return StreamingResponse(fragments(), media_type="text/plain; charset=utf-8")


app = Starlette(routes=[Route("/chat", chat, methods=["POST"]), Route("/stream", stream)], lifespan=lifespan)
