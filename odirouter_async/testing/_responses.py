"""``POST /v1/responses``: the OpenAI Responses API, whole or streamed as typed SSE events.

Non-stream: a ``response`` object with ``status: "completed"``, its ``output`` items (a reasoning
item when ``x-emu-reasoning`` is set, then a message with one ``output_text`` part, or a
``function_call`` item when a tool is called) and ``usage``.  Stream (``"stream": true`` in the
body or ``?stream=true``): ``event: <type>`` + ``data: {..., "type", "sequence_number"}`` for
response.created, response.in_progress, the item / part / delta / done events of each output
item, then response.completed carrying the whole response.  No ``[DONE]`` unless the request
carries ``x-emu-done: 1``.  The in-band error of the ``error_event_after`` fault is an
``event: error`` with ``{"type": "error", "code", "message", "param", "sequence_number"}``.
Streams are paced at ``LLMOptions.tokens_per_second`` when it is set.  Errors: a missing ``model``,
an ``input`` that is neither a string nor a non-empty array of objects -> 400
OpenAI-style error; a model outside the catalogue -> 404 ``model_not_found``.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from ._background import BackgroundStore, StoredResponse
from ._common import Shared, encode, json_response, openai_error
from ._llm import (
    Controls,
    LLMOptions,
    answer_pieces,
    count_words,
    last_user_text,
    pick_tool,
    reasoning_pieces,
    split_fragments,
    structured_schema,
    tool_arguments,
    tool_outputs,
)
from ._llm_route import LLMRequest, LLMRoute
from ._sse_out import pace_whole, plan_events, stream_events

__all__ = ("ResponsesService",)

MALFORMED_EVENT = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"oo\n\n'
)


class ResponsesRequest(LLMRequest):
    """The fields the emulator reads (beside ``LLMRequest``'s); others are accepted and ignored."""

    input: Any = None
    background: Any = None
    text: Any = None


_DECODER = msgspec.json.Decoder(ResponsesRequest)


def _validate(req: ResponsesRequest) -> web.Response | None:
    if not isinstance(req.model, str) or not req.model:
        return openai_error("you must provide a model parameter", param="model")
    if req.input is None:
        return openai_error("Missing required parameter: 'input'", param="input")
    if not (isinstance(req.input, str) or (isinstance(req.input, list) and req.input)):
        return openai_error("'input' must be a string or a non-empty array", param="input")
    if isinstance(req.input, list):
        for i, item in enumerate(req.input):
            if not isinstance(item, dict):
                where = f"input[{i}]"
                return openai_error(f"Invalid type for '{where}': expected an object", param=where)
    if req.tools is not None and not isinstance(req.tools, list):
        return openai_error("'tools' must be an array", param="tools")
    return None


def _event(kind: str, seq: int, payload: dict[str, Any]) -> bytes:
    data = encode({"type": kind, "sequence_number": seq, **payload})
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def _deltas(kind: str, ids: dict[str, Any], pieces: list[str], seq: int) -> list[bytes]:
    """Delta events from one template: ``{type, <ids>, delta, sequence_number}``."""
    head = b"event: " + kind.encode() + b"\ndata: " + encode({"type": kind, **ids})[:-1] + b',"delta":'
    cache: dict[str, bytes] = {}
    out = []
    for i, piece in enumerate(pieces):
        encoded = cache.get(piece)
        if encoded is None:
            encoded = cache[piece] = head + encode(piece) + b',"sequence_number":'
        out.append(encoded + str(seq + i).encode() + b"}\n\n")
    return out


def error_event(seq: int) -> bytes:
    """The in-band error event sent by the ``error_event_after`` fault."""
    payload = {"code": "server_error", "message": "Emulated upstream error", "param": None}
    return _event("error", seq, payload)


class ResponsesService(LLMRoute[ResponsesRequest]):
    """The Responses route."""

    route = "responses"

    decoder = _DECODER

    def __init__(self, shared: Shared, options: LLMOptions | None = None) -> None:
        super().__init__(shared, options)
        #: background mode: stored responses, ``GET /v1/responses/{id}``, cancel (``_background``)
        self.background = BackgroundStore(shared, error_event, MALFORMED_EVENT)

    def validate(self, req: ResponsesRequest) -> web.Response | None:
        return _validate(req)

    async def respond(
        self, request: web.Request, req: ResponsesRequest, controls: Controls
    ) -> web.StreamResponse:
        """``POST /v1/responses``."""
        stream = req.stream is True or request.query.get("stream", "").lower() in ("true", "1")
        items = [req.input] if isinstance(req.input, str) else req.input
        user_text = req.input if isinstance(req.input, str) else last_user_text(items)
        answer = _Answer(self.shared, self.options, req, controls, user_text, count_words(items))
        tps = self.options.tokens_per_second
        background = req.background is True
        if not stream:
            if background:  # stored queued; each GET moves it on (_background.py)
                self.background.store(answer.id, StoredResponse(answer.response, "queued"))
                return json_response(self.background.responses[answer.id].body())
            await pace_whole(answer.output_tokens, tps)
            return json_response(answer.response("completed"))
        replaced, fault = await self.stream_fault(request, lambda: answer.response("completed"))
        if replaced is not None:
            return replaced
        events = answer.events()
        if background:  # replayable with GET /v1/responses/{id}?stream=true&starting_after=N
            self.background.store(answer.id, StoredResponse(answer.response, "completed", list(events)))
        if controls.done:
            events.append(b"data: [DONE]\n\n")
        err_seq = fault.error_event_after if fault and fault.error_event_after is not None else 0
        plan, abort = plan_events(events, fault, error_event=error_event(err_seq), malformed=MALFORMED_EVENT)
        return await stream_events(
            request, plan, per_write=controls.per_write, abort=abort, tokens_per_second=tps
        )


class _Answer:
    """One generated response: its output items whole, and as a stream of events."""

    def __init__(
        self,
        shared: Shared,
        options: LLMOptions,
        req: ResponsesRequest,
        controls: Controls,
        user_text: str,
        prompt_tokens: int,
    ) -> None:
        rng = shared.rng
        self.id = f"resp_{rng.getrandbits(96):024x}"
        self.item_ids = {k: f"{k}_{rng.getrandbits(96):024x}" for k in ("rs", "msg", "fc", "call")}
        self.created_at = int(time.time())
        self.model: str = req.model
        items = req.input if isinstance(req.input, list) else []
        outputs = tool_outputs(items)
        schema = structured_schema(req.text.get("format")) if isinstance(req.text, dict) else None
        text = options.reply(user_text, req.model, schema=schema, outputs=outputs)
        self.pieces = answer_pieces(text, controls)
        self.reasoning = reasoning_pieces(controls)
        self.tool = None if outputs else pick_tool(req.tools, req.tool_choice, user_text, controls)
        self.tool_args = (
            tool_arguments(options, user_text, controls, req.tools, self.tool) if self.tool else ""
        )
        self.fragments = split_fragments(self.tool_args, controls.fragment_bytes) if self.tool else []
        self.tools = req.tools or []
        self.tool_choice = req.tool_choice if req.tool_choice is not None else "auto"
        self.prompt_tokens = prompt_tokens

    def _items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.reasoning:
            summary = [{"type": "summary_text", "text": "".join(self.reasoning)}]
            items.append({"type": "reasoning", "id": self.item_ids["rs"], "summary": summary})
        if self.tool is not None:
            items.append(
                {
                    "type": "function_call",
                    "id": self.item_ids["fc"],
                    "call_id": self.item_ids["call"],
                    "name": self.tool,
                    "arguments": self.tool_args,
                    "status": "completed",
                }
            )
        else:
            part = {"type": "output_text", "text": "".join(self.pieces), "annotations": []}
            items.append(
                {
                    "type": "message",
                    "id": self.item_ids["msg"],
                    "role": "assistant",
                    "status": "completed",
                    "content": [part],
                }
            )
        return items

    @property
    def output_tokens(self) -> int:
        return len(self.reasoning) + (len(self.fragments) if self.tool else len(self.pieces))

    def response(self, status: str, output: bool = True) -> dict[str, Any]:
        out_tokens = self.output_tokens
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": self._items() if output else [],
            "parallel_tool_calls": True,
            "tool_choice": self.tool_choice,
            "tools": self.tools,
            "usage": {
                "input_tokens": self.prompt_tokens,
                "output_tokens": out_tokens,
                "total_tokens": self.prompt_tokens + out_tokens,
            }
            if output
            else None,
        }

    def events(self) -> list[bytes]:
        snapshot = self.response("in_progress", output=False)
        out = [_event("response.created", 0, {"response": snapshot})]
        out.append(_event("response.in_progress", 1, {"response": snapshot}))
        for index, item in enumerate(self._items()):
            self._item_events(out, index, item)
        out.append(_event("response.completed", len(out), {"response": self.response("completed")}))
        return out

    def _item_events(self, out: list[bytes], index: int, item: dict[str, Any]) -> None:
        kind, item_id = item["type"], item["id"]
        ids: dict[str, Any] = {"item_id": item_id, "output_index": index}
        if kind == "reasoning":
            text = item["summary"][0]["text"]
            sum_ids = {**ids, "summary_index": 0}
            added = {"type": "reasoning", "id": item_id, "summary": []}
            out.append(_event("response.output_item.added", len(out), {"output_index": index, "item": added}))
            empty: dict[str, Any] = {"type": "summary_text", "text": ""}
            out.append(_event("response.reasoning_summary_part.added", len(out), {**sum_ids, "part": empty}))
            out += _deltas("response.reasoning_summary_text.delta", sum_ids, self.reasoning, len(out))
            out.append(_event("response.reasoning_summary_text.done", len(out), {**sum_ids, "text": text}))
            part = {"type": "summary_text", "text": text}
            out.append(_event("response.reasoning_summary_part.done", len(out), {**sum_ids, "part": part}))
        elif kind == "function_call":
            added = {**item, "arguments": "", "status": "in_progress"}
            out.append(_event("response.output_item.added", len(out), {"output_index": index, "item": added}))
            out += _deltas("response.function_call_arguments.delta", ids, self.fragments, len(out))
            done = {**ids, "arguments": self.tool_args, "name": self.tool}
            out.append(_event("response.function_call_arguments.done", len(out), done))
        else:
            text = item["content"][0]["text"]
            part_ids = {**ids, "content_index": 0}
            added = {**item, "status": "in_progress", "content": []}
            out.append(_event("response.output_item.added", len(out), {"output_index": index, "item": added}))
            empty = {"type": "output_text", "text": "", "annotations": []}
            out.append(_event("response.content_part.added", len(out), {**part_ids, "part": empty}))
            out += _deltas("response.output_text.delta", part_ids, self.pieces, len(out))
            out.append(_event("response.output_text.done", len(out), {**part_ids, "text": text}))
            part = item["content"][0]
            out.append(_event("response.content_part.done", len(out), {**part_ids, "part": part}))
        out.append(_event("response.output_item.done", len(out), {"output_index": index, "item": item}))
