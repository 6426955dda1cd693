"""``POST /v1/chat/completions``: OpenAI-style chat completions, whole or streamed as SSE.

Non-stream: a ``chat.completion`` object (``n`` choices, ``usage``).  Stream: a role chunk per
choice, reasoning chunks (``x-emu-reasoning``), content chunks or one tool call streamed in argument
fragments, a finish chunk per choice, a usage chunk with ``choices: []`` when
``stream_options.include_usage``, then ``data: [DONE]``.

Streams are built from byte templates: the chunk envelope is encoded once per request and each
distinct piece once, so a 20 000-chunk stream costs the server a few milliseconds to build; they
are paced at ``LLMOptions.tokens_per_second`` when it is set.
Errors: an unparseable body, a missing ``model``, ``messages`` that is not a non-empty list of
``{"role", "content"}`` objects -> 400 OpenAI-style error; a model outside the catalogue -> 404
``model_not_found``; no credit left -> 403 ``{"error": "insufficient balance"}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from ._common import encode, json_response, openai_error
from ._llm import (
    Controls,
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

__all__ = ("ChatService",)

DONE = b"data: [DONE]\n\n"
ERROR_EVENT = (
    b'data: {"error":{"message":"Emulated upstream error","type":"server_error",'
    b'"param":null,"code":"upstream_error"}}\n\n'
)
MALFORMED_EVENT = b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"oo\n\n'
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class ChatRequest(LLMRequest):
    """The fields the emulator reads (beside ``LLMRequest``'s); others are accepted and ignored."""

    messages: Any = None
    stream_options: Any = None
    n: Any = None
    response_format: Any = None


_DECODER = msgspec.json.Decoder(ChatRequest)


@dataclass(slots=True)
class _Answer:
    id: str
    created: int
    model: str
    n: int
    pieces: list[str]
    reasoning: list[str]
    tool: str | None
    tool_args: str
    call_id: str
    prompt_tokens: int
    fragment_bytes: int

    @property
    def completion_tokens(self) -> int:
        per_choice = len(self.reasoning) + (
            len(split_fragments(self.tool_args, self.fragment_bytes)) if self.tool else len(self.pieces)
        )
        return per_choice * self.n

    def usage(self) -> dict[str, int]:
        c = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": c,
            "total_tokens": self.prompt_tokens + c,
        }


def _message_problem(i: int, message: Any) -> web.Response | None:
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        return openai_error(f"Invalid type for '{where}': expected an object", param=where)
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        expected = ", ".join(sorted(ROLES))
        message_text = f"Invalid value for '{where}.role': expected one of {expected}"
        return openai_error(message_text, param=f"{where}.role")
    content = message.get("content")
    calls = role == "assistant" and (message.get("tool_calls") or message.get("function_call"))
    if content is None and not calls:
        return openai_error(f"Missing required parameter: '{where}.content'", param=f"{where}.content")
    if content is not None and not isinstance(content, (str, list)):
        return openai_error(
            f"Invalid type for '{where}.content': expected a string or an array of parts",
            param=f"{where}.content",
        )
    return None


def _validate(req: ChatRequest) -> web.Response | None:
    if not isinstance(req.model, str) or not req.model:
        return openai_error("you must provide a model parameter", param="model")
    if not isinstance(req.messages, list) or not req.messages:
        return openai_error(
            "'messages' is a required property and must be a non-empty array", param="messages"
        )
    for i, message in enumerate(req.messages):
        problem = _message_problem(i, message)
        if problem is not None:
            return problem
    if req.stream is not None and not isinstance(req.stream, bool):
        return openai_error("'stream' must be a boolean", param="stream")
    if req.n is not None and (not isinstance(req.n, int) or isinstance(req.n, bool) or not 1 <= req.n <= 128):
        return openai_error("'n' must be an integer between 1 and 128", param="n")
    if req.tools is not None and not isinstance(req.tools, list):
        return openai_error("'tools' must be an array", param="tools")
    if req.stream_options is not None and not isinstance(req.stream_options, dict):
        return openai_error("'stream_options' must be an object", param="stream_options")
    return None


class ChatService(LLMRoute[ChatRequest]):
    """The chat completions route."""

    route = "chat"

    decoder = _DECODER

    def validate(self, req: ChatRequest) -> web.Response | None:
        return _validate(req)

    async def respond(self, request: web.Request, req: ChatRequest, controls: Controls) -> web.StreamResponse:
        """``POST /v1/chat/completions``."""
        answer = self._answer(req, controls)
        tps = self.options.tokens_per_second
        if not req.stream:
            await pace_whole(answer.completion_tokens // answer.n, tps)
            return json_response(self._completion(answer))
        replaced, fault = await self.stream_fault(request, lambda: self._completion(answer))
        if replaced is not None:
            return replaced
        include_usage = bool(req.stream_options and req.stream_options.get("include_usage"))
        events = self._events(answer, include_usage)
        plan, abort = plan_events(events, fault, error_event=ERROR_EVENT, malformed=MALFORMED_EVENT)
        return await stream_events(
            request, plan, per_write=controls.per_write, abort=abort, tokens_per_second=tps
        )

    def _answer(self, req: ChatRequest, controls: Controls) -> _Answer:
        rng = self.shared.rng
        user_text = last_user_text(req.messages)
        outputs = tool_outputs(req.messages)
        tool = None if outputs else pick_tool(req.tools, req.tool_choice, user_text, controls)
        schema = structured_schema(req.response_format)
        text = self.options.reply(user_text, req.model, schema=schema, outputs=outputs)
        return _Answer(
            id=f"chatcmpl-{rng.getrandbits(96):024x}",
            created=int(time.time()),
            model=req.model,
            n=req.n or 1,
            pieces=answer_pieces(text, controls),
            reasoning=reasoning_pieces(controls),
            tool=tool,
            tool_args=tool_arguments(self.options, user_text, controls, req.tools, tool) if tool else "",
            call_id=f"call_{rng.getrandbits(96):024x}",
            prompt_tokens=count_words(req.messages),
            fragment_bytes=controls.fragment_bytes,
        )

    @staticmethod
    def _completion(a: _Answer) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(a.pieces)}
        if a.tool is not None:
            message["content"] = None
            function = {"name": a.tool, "arguments": a.tool_args}
            message["tool_calls"] = [{"id": a.call_id, "type": "function", "function": function}]
        if a.reasoning:
            message["reasoning_content"] = "".join(a.reasoning)
        finish = "tool_calls" if a.tool else "stop"
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(a.n)
        ]
        return {
            "id": a.id,
            "object": "chat.completion",
            "created": a.created,
            "model": a.model,
            "choices": choices,
            "usage": a.usage(),
        }

    @staticmethod
    def _events(a: _Answer, include_usage: bool) -> list[bytes]:
        head = (
            b'data: {"id":'
            + encode(a.id)
            + b',"object":"chat.completion.chunk","created":'
            + str(a.created).encode()
            + b',"model":'
            + encode(a.model)
            + b',"choices":['
        )
        tails = [b'{"index":' + str(i).encode() + b',"delta":' for i in range(a.n)]

        def chunks(delta: bytes, finish: bytes = b"null") -> list[bytes]:
            end = b',"logprobs":null,"finish_reason":' + finish + b"}]}\n\n"
            return [head + tail + delta + end for tail in tails]

        events = chunks(b'{"role":"assistant","content":""}')
        cache: dict[str, list[bytes]] = {}
        for field, pieces in (("reasoning_content", a.reasoning), ("content", [] if a.tool else a.pieces)):
            if pieces and pieces.count(pieces[0]) == len(pieces):  # one text repeated: no per-piece work
                events += chunks(b'{"' + field.encode() + b'":' + encode(pieces[0]) + b"}") * len(pieces)
                continue
            cache.clear()
            for piece in pieces:
                evs = cache.get(piece)
                if evs is None:
                    evs = cache[piece] = chunks(b'{"' + field.encode() + b'":' + encode(piece) + b"}")
                events += evs
        if a.tool is not None:
            first = {
                "index": 0,
                "id": a.call_id,
                "type": "function",
                "function": {"name": a.tool, "arguments": ""},
            }
            events += chunks(b'{"tool_calls":[' + encode(first) + b"]}")
            frag_head = b'{"tool_calls":[{"index":0,"function":{"arguments":'
            for frag in split_fragments(a.tool_args, a.fragment_bytes):
                events += chunks(frag_head + encode(frag) + b"}}]}")
        events += chunks(b"{}", b'"tool_calls"' if a.tool else b'"stop"')
        if include_usage:
            events.append(head + b'],"usage":' + encode(a.usage()) + b"}\n\n")
        events.append(DONE)
        return events
