"""An OpenAI-compatible server with real providers' quirks, written apart from the emulator.

``quirk_provider()`` runs it on 127.0.0.1 (``.url``).  The request's ``model`` picks the answer:

chat (``POST /v1/chat/completions``; ``stream: true`` streams the same completion):
  ``fenced``: JSON content wrapped in a ```json fence (openai-python does not strip it);
  ``refusal``: ``refusal`` set, ``content`` null; ``length``: JSON cut mid-string,
  ``finish_reason: "length"``; ``tools``: one ``get_weather`` call whose ``arguments`` arrive in
  pieces over several chunks (each chunk one byte-range of the JSON); otherwise ``{"city": ...}``.

Responses (``POST /v1/responses``):
  ``odd``: output items of unknown types (``compaction``, a ``local_shell_call`` missing its
  ``action``), a message with an unknown content part between two ``output_text`` parts;
  streamed, every ``response.output_item.added`` item lacks all but ``type``/``id``;
  ``background: true`` + ``stream: true``: ``N_EVENTS`` events (``response.created`` first,
  ``response.completed`` last) whose first answer is cut per ``.cut``: ``("abort", k)`` drops
  the connection after ``k`` events, ``("eof", k)`` ends the body cleanly, ``("stall", k)``
  goes silent (until the server closes).  ``GET /v1/responses/{id}?stream=true&starting_after=N``
  replays the events after ``N`` (with one already-sent event repeated: duplicates must be
  skipped), never cut.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ("N_EVENTS", "RID", "QuirkProvider", "background_events", "quirk_provider")

N_EVENTS = 40
RID = "resp_quirk_bg"
_PIECES = [f"w{i} " for i in range(N_EVENTS - 5)]


def _sse(payload: dict[str, Any]) -> bytes:
    return f"event: {payload.get('type', 'message')}\ndata: {json.dumps(payload)}\n\n".encode()


def _chat_message(model: str) -> tuple[dict[str, Any], str]:
    if model == "fenced":
        return {"role": "assistant", "content": '```json\n{"city": "Lisbon"}\n```'}, "stop"
    if model == "refusal":
        return {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "stop"
    if model == "length":
        return {"role": "assistant", "content": '{"city": "Lis'}, "length"
    if model == "tools":
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": '{"city": "Lisbon"}'}, "stop"


def _chat_chunks(model: str) -> list[dict[str, Any]]:
    msg, finish = _chat_message(model)
    base = {"id": "chatcmpl-q", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}]
    if msg.get("tool_calls"):
        args = msg["tool_calls"][0]["function"]["arguments"]
        head = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
        chunks.append(
            {**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]}
        )
        for i in range(0, len(args), 3):
            piece = {"index": 0, "function": {"arguments": args[i : i + 3]}}
            chunks.append(
                {**base, "choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}]}
            )
    elif msg.get("refusal"):
        chunks.append(
            {**base, "choices": [{"index": 0, "delta": {"refusal": msg["refusal"]}, "finish_reason": None}]}
        )
    else:
        text = msg["content"]
        for i in range(0, len(text), 4):
            delta = {"content": text[i : i + 4]}
            chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return chunks


def _odd_output() -> list[dict[str, Any]]:
    parts = [
        {"type": "output_text", "text": "Hello ", "annotations": []},
        {"type": "output_audio", "data": "AAAA", "transcript": "(beep)"},
        {"type": "output_text", "text": "world", "annotations": []},
    ]
    return [
        {"type": "compaction", "id": "cmp_1", "encrypted_content": "zzz"},
        {"type": "local_shell_call", "id": "ls_1", "call_id": "c_ls", "status": "completed"},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": parts},
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "c_fc",
            "name": "get_weather",
            "arguments": '{"city": "Lisbon"}',
        },
    ]


def _response(status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    usage = {"input_tokens": 3, "output_tokens": 7, "total_tokens": 10} if status == "completed" else None
    return {
        "id": extra.pop("id", "resp_quirk"),
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "quirk",
        "output": output,
        "usage": usage,
        **extra,
    }


def _odd_events() -> list[dict[str, Any]]:
    output = _odd_output()
    events: list[dict[str, Any]] = [{"type": "response.created", "response": _response("in_progress", [])}]
    for i, item in enumerate(output):
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": i,
                "item": {"type": item["type"], "id": item["id"]},
            }
        )
        if item["type"] == "function_call":
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    "output_index": i,
                    "item_id": item["id"],
                    "delta": item["arguments"],
                }
            )
        if item["type"] == "message":
            events.append(
                {
                    "type": "response.content_part.added",
                    "output_index": i,
                    "item_id": item["id"],
                    "content_index": 1,
                    "part": {"type": "output_audio"},
                }
            )
            events.append(
                {
                    "type": "response.output_text.delta",
                    "output_index": i,
                    "item_id": item["id"],
                    "content_index": 0,
                    "delta": "Hello ",
                }
            )
        events.append({"type": "response.output_item.done", "output_index": i, "item": item})
    events.append({"type": "response.completed", "response": _response("completed", output)})
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]


def background_events() -> list[dict[str, Any]]:
    """The ``N_EVENTS`` events of the background response, ``sequence_number`` 0..N-1."""
    text = "".join(_PIECES)
    ids = {"item_id": "msg_bg", "output_index": 0, "content_index": 0}
    item = {
        "type": "message",
        "id": "msg_bg",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [], id=RID, background=True)},
        {"type": "response.in_progress", "response": _response("in_progress", [], id=RID, background=True)},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "content": [], "status": "in_progress"},
        },
    ]
    events += [{"type": "response.output_text.delta", **ids, "delta": p} for p in _PIECES]
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append(
        {"type": "response.completed", "response": _response("completed", [item], id=RID, background=True)}
    )
    assert len(events) == N_EVENTS
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]


@dataclass
class QuirkProvider:
    """The server's state: the first background answer's ``cut``, the requests it saw."""

    cut: tuple[str, int] | None = None
    url: str = ""
    requests: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _events(
        self, request: web.Request, events: list[dict[str, Any]], cut: tuple[str, int] | None
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "x-request-id": "req_quirk"})
        await resp.prepare(request)
        sent = events if cut is None else events[: cut[1]]
        await resp.write(b"".join(_sse(e) for e in sent))
        if cut is not None and cut[0] == "abort":
            assert request.transport is not None
            request.transport.close()
            return resp
        if cut is not None and cut[0] == "stall":
            await self._stop.wait()
            return resp
        await resp.write_eof()
        return resp

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path_qs}")
        if request.method == "GET" and request.path == f"/v1/responses/{RID}":
            after = int(request.query.get("starting_after", "-1"))
            events = background_events()[max(after, 0) :]  # one event already sent, again
            return await self._events(request, events, None)
        body = await request.json()
        model = body.get("model", "")
        if request.path == "/v1/chat/completions":
            if body.get("stream"):
                chunks = _chat_chunks(model)
                resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await resp.prepare(request)
                await resp.write(
                    b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
                )
                await resp.write_eof()
                return resp
            msg, finish = _chat_message(model)
            return web.json_response(
                {
                    "id": "chatcmpl-q",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                }
            )
        if body.get("background") and body.get("stream"):
            cut, self.cut = self.cut, None
            return await self._events(request, background_events(), cut)
        if body.get("stream"):
            return await self._events(request, _odd_events(), None)
        return web.json_response(_response("completed", _odd_output()))


@asynccontextmanager
async def quirk_provider(cut: tuple[str, int] | None = None) -> AsyncIterator[QuirkProvider]:
    """Run a ``QuirkProvider`` on 127.0.0.1 (its ``url`` set)."""
    state = QuirkProvider(cut=cut)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        state._stop.set()
        await runner.cleanup()
