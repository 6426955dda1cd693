"""What the emulated LLMs say: deterministic answers, tool-call decisions, control headers, models.

The answer to a conversation is ``"You said: <last user message>"``, cut into word pieces (each
piece keeps its trailing space, so the pieces concatenate to the text).  Control headers change
the size and shape of the output, for tests and benchmarks:

==========================  =====================================================================
``x-emu-chunks: N``         N content pieces (the answer's words, cycled, or ``x-emu-chunk-text``)
``x-emu-chunk-text: s``     the text of every piece (with ``x-emu-chunks``; default one piece)
``x-emu-per-write: K``      K SSE events per transport write (default 1)
``x-emu-tool-args-bytes: B``  force one tool call whose arguments are a JSON object of ~B bytes
``x-emu-fragment-bytes: F`` stream tool-call arguments in fragments of F characters (default 64)
``x-emu-reasoning: N``      N reasoning pieces before the answer
``x-emu-done: 1``           Responses streams: append ``data: [DONE]``
==========================  =====================================================================

A tool is called when the request has tools, ``tool_choice`` is not ``"none"`` and either
``tool_choice`` is ``"required"`` or names a function, or the last user message mentions
"weather" or a tool's name, or ``x-emu-tool-args-bytes`` is set.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._common import Handler, Shared, encode, json_response

__all__ = (
    "LLM_MODEL_IDS",
    "QUEUE_MODEL_IDS",
    "Controls",
    "answer_pieces",
    "count_words",
    "last_user_text",
    "make_handle_models",
    "parse_controls",
    "pick_tool",
    "reasoning_pieces",
    "split_fragments",
    "tool_arguments",
)

LLM_MODEL_IDS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o4-mini", "deepseek-chat")
QUEUE_MODEL_IDS = ("nano_banana_2", "flux_pro_11", "gpt_image_1", "happyhorse_1.0_t2v", "sora-2")
MODELS_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z, fixed so the list is deterministic
_MAX_PIECES = 10_000_000


@dataclass(slots=True)
class Controls:
    """The ``x-emu-*`` control headers of one request."""

    chunks: int | None = None
    chunk_text: str | None = None
    per_write: int = 1
    tool_args_bytes: int | None = None
    fragment_bytes: int = 64
    reasoning: int = 0
    done: bool = False


def _int_header(headers: Mapping[str, str], name: str, lo: int, hi: int) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}]")
    return value


def parse_controls(headers: Mapping[str, str]) -> Controls:
    """Read the control headers; ``ValueError`` (-> 400) on a bad value."""
    c = Controls()
    c.chunks = _int_header(headers, "x-emu-chunks", 0, _MAX_PIECES)
    c.chunk_text = headers.get("x-emu-chunk-text")
    c.per_write = _int_header(headers, "x-emu-per-write", 1, 100_000) or 1
    c.tool_args_bytes = _int_header(headers, "x-emu-tool-args-bytes", 0, 1 << 30)
    c.fragment_bytes = _int_header(headers, "x-emu-fragment-bytes", 1, 1 << 30) or 64
    c.reasoning = _int_header(headers, "x-emu-reasoning", 0, _MAX_PIECES) or 0
    c.done = headers.get("x-emu-done", "").strip().lower() in ("1", "true", "yes")
    return c


def _content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
            elif isinstance(part, str):
                texts.append(part)
        return " ".join(texts)
    return ""


def last_user_text(messages: Iterable[Any]) -> str:
    """Text of the last ``role: user`` message (chat messages or Responses input items)."""
    text = ""
    for message in messages:
        if (
            isinstance(message, Mapping)
            and message.get("role", "user") == "user"
            and ("content" in message or message.get("type") == "message")
        ):
            text = _content_text(message.get("content"))
    return text


def count_words(messages: Iterable[Any]) -> int:
    """A token estimate for the prompt: whitespace-separated words of every message."""
    total = 0
    for message in messages:
        if isinstance(message, Mapping):
            total += len(_content_text(message.get("content")).split())
        elif isinstance(message, str):
            total += len(message.split())
    return max(total, 1)


def _words(text: str) -> list[str]:
    words = text.split(" ")
    pieces = [w + " " for w in words[:-1]]
    if words[-1]:
        pieces.append(words[-1])
    return [p for p in pieces if p] or [text]


def answer_pieces(user_text: str, controls: Controls) -> list[str]:
    """The answer, as the content pieces a stream sends one per chunk."""
    said = " ".join(user_text.split()) or "nothing"
    words = _words(f"You said: {said}")
    if controls.chunks is None:
        return words
    if controls.chunk_text is not None:
        return [controls.chunk_text] * controls.chunks
    return list(itertools.islice(itertools.cycle(words), controls.chunks))


def reasoning_pieces(controls: Controls) -> list[str]:
    """The reasoning pieces (``x-emu-reasoning``)."""
    steps = ("Let ", "me ", "think ", "about ", "this. ")
    return list(itertools.islice(itertools.cycle(steps), controls.reasoning))


def _tool_name(tool: Any) -> str | None:
    if not isinstance(tool, Mapping):
        return None
    function = tool.get("function")
    name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
    return name if isinstance(name, str) else None


def pick_tool(tools: list[Any] | None, tool_choice: Any, user_text: str, controls: Controls) -> str | None:
    """The name of the tool to call, or ``None`` to answer with text."""
    if not tools or tool_choice == "none":
        return None
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if isinstance(name, str):
            return name
    names = [n for n in map(_tool_name, tools) if n]
    if not names:
        return None
    lowered = user_text.lower()
    for name in names:
        if name.lower() in lowered:
            return name
    wanted = tool_choice == "required" or "weather" in lowered or controls.tool_args_bytes is not None
    return names[0] if wanted else None


def tool_arguments(user_text: str, controls: Controls) -> str:
    """The JSON arguments of the tool call (about ``x-emu-tool-args-bytes`` bytes when set)."""
    if controls.tool_args_bytes is None:
        return encode({"query": " ".join(user_text.split())}).decode()
    filler_len = max(controls.tool_args_bytes - len('{"data":""}'), 0)
    filler = ("abcdefghijklmnopqrstuvwxyz0123456789" * (filler_len // 36 + 1))[:filler_len]
    return '{"data":"' + filler + '"}'


def split_fragments(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (one empty piece for empty text)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def make_handle_models(shared: Shared) -> Handler:
    """The ``GET /v1/models`` handler."""

    async def handle_models(request: web.Request) -> web.Response:
        ids = dict.fromkeys([*LLM_MODEL_IDS, *QUEUE_MODEL_IDS, *shared.extra_model_ids])
        data = [{"id": i, "object": "model", "created": MODELS_CREATED, "owned_by": "odirouter"} for i in ids]
        return json_response({"object": "list", "data": data})

    return handle_models
