"""A small background-Responses server, independent of the emulator, that cuts its streams.

``ResumeServer(cut_at=..., ...)`` answers ``POST /v1/responses`` (``background: true``,
``stream: true``) with the events of one fixed response, and
``GET /v1/responses/{id}?stream=true&starting_after=N`` with the events after ``N``.  Each
answer in turn is cut according to ``cuts`` (one entry per answer, in order; ``None``: no cut):
``("abort", k)`` sends ``k`` events and then drops the connection, ``("eof", k)`` sends ``k``
events and ends the body cleanly (no terminal event).  ``replay_overlap`` makes the resume
start that many events *before* the one asked for (a server that replays too much: the client
must drop the duplicates).  ``resume_status`` answers every resume with that HTTP status.
Every request is kept in ``.requests`` (method, path with query).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ("RESPONSE_ID", "TEXT_PIECES", "ResumeServer", "resume_server")

RESPONSE_ID = "resp_indep_1"
TEXT_PIECES = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "dog."]
Cut = tuple[str, int] | None


def _response(status: str, text: str | None) -> dict[str, object]:
    output = []
    if text is not None:
        part = {"type": "output_text", "text": text, "annotations": []}
        output = [
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [part]}
        ]
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1,
        "status": status,
        "background": True,
        "model": "indep-model",
        "output": output,
        "usage": {"input_tokens": 4, "output_tokens": len(TEXT_PIECES), "total_tokens": 4 + len(TEXT_PIECES)}
        if text is not None
        else None,
    }


def _events() -> list[bytes]:
    payloads: list[dict[str, object]] = [
        {"type": "response.created", "response": _response("in_progress", None)},
        {"type": "response.in_progress", "response": _response("in_progress", None)},
    ]
    ids = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    for piece in TEXT_PIECES:
        payloads.append({"type": "response.output_text.delta", **ids, "delta": piece})
    payloads.append({"type": "response.output_text.done", **ids, "text": "".join(TEXT_PIECES)})
    payloads.append({"type": "response.completed", "response": _response("completed", "".join(TEXT_PIECES))})
    out = []
    for seq, payload in enumerate(payloads):
        data = json.dumps({**payload, "sequence_number": seq})
        out.append(f"event: {payload['type']}\ndata: {data}\n\n".encode())
    return out


EVENTS = _events()


@dataclass
class ResumeServer:
    """The server's script and what it saw (see the module docstring)."""

    cuts: list[Cut] = field(default_factory=list)
    replay_overlap: int = 0
    resume_status: int | None = None
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    answers: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        await request.read()
        if request.method == "POST":
            events = EVENTS
        else:
            if self.resume_status is not None:
                return web.json_response(
                    {"error": {"message": "nope", "type": "x"}}, status=self.resume_status
                )
            after = int(request.query.get("starting_after", "-1"))
            events = EVENTS[max(after + 1 - self.replay_overlap, 0) :]
        cut = self.cuts[self.answers] if self.answers < len(self.cuts) else None
        self.answers += 1
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        sent = events if cut is None else events[: cut[1]]
        for event in sent:
            await resp.write(event)
        if cut is not None and cut[0] == "abort":
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write_eof()
        return resp


@asynccontextmanager
async def resume_server(**script: object) -> AsyncIterator[ResumeServer]:
    """Run a ``ResumeServer`` on 127.0.0.1 (keyword arguments: its script)."""
    state = ResumeServer(**script)  # type: ignore[arg-type]
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()
