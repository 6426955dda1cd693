"""What the emulated LLMs say: deterministic answers, tool-call decisions, control headers, models.

``LLMOptions`` holds the emulator-wide settings (catalogue, pacing, echo, seed).  The answer to a
conversation is a few plausible sentences about the last user message (``_text.reply_text``,
deterministic in the seed, model and prompt), or ``"You said: <last user message>"`` with
``Emulator(echo=True)``; it is cut into word pieces (each piece keeps its trailing space, so the
pieces concatenate to the text).  Tool-call arguments fit the tool's JSON schema
(``_text.schema_value``; ``{"query": <message>}`` with ``echo`` when the schema has no
properties).  A model id outside the catalogue answers 404 ``model_not_found``
(``check_model``).  Control headers change the size and shape of the output, for tests and
benchmarks:

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
"weather" or a tool's name, or ``x-emu-tool-args-bytes`` is set; but never once the tools have
answered: a conversation whose last user message is followed by tool results (chat ``tool``
messages, Responses ``function_call_output`` items) gets a text answer that quotes those results
(``tool_outputs``/``tool_answer``), so an agent loop ends after one round.  Tool arguments take
the places and names the prompt says ("weather in Lisbon" -> ``{"city": "Lisbon"}``).

A JSON-schema output format (chat ``response_format``, Responses ``text.format``, of type
``json_schema``) gets a JSON document generated from the schema (``structured_schema``;
``json_object`` gets a small object): valid against it, deterministic in the seed, model and prompt.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from ._catalogue import ModelCatalogue
from ._common import Handler, Shared, encode, json_response, openai_error
from ._text import reply_text, schema_value, seeded_rng

__all__ = (
    "Controls",
    "LLMOptions",
    "answer_pieces",
    "check_model",
    "count_words",
    "last_user_text",
    "make_handle_models",
    "parse_controls",
    "pick_tool",
    "reasoning_pieces",
    "split_fragments",
    "structured_schema",
    "tool_answer",
    "tool_arguments",
    "tool_outputs",
    "tool_parameters",
)

_MAX_PIECES = 10_000_000


@dataclass(slots=True)
class LLMOptions:
    """Emulator-wide LLM settings: which models, how fast, echo or generated answers."""

    catalogue: ModelCatalogue = field(default_factory=ModelCatalogue)
    tokens_per_second: float = 0.0
    echo: bool = False
    seed: int = 0

    def reply(
        self,
        user_text: str,
        model: str,
        *,
        schema: Any = None,
        outputs: list[tuple[str, str]] | None = None,
    ) -> str:
        """The whole answer text: JSON fitting ``schema`` when one is given, else a text that
        quotes the tool ``outputs`` when there are any, else an answer to the last user message."""
        if schema is not None:
            said = " ".join([user_text, *(out for _, out in outputs or ())])
            rng = seeded_rng("structured", self.seed, model, said)
            return encode(schema_value(schema, rng, prompt=said)).decode()
        if outputs:
            return tool_answer(outputs)
        if self.echo:
            return "You said: " + (" ".join(user_text.split()) or "nothing")
        return reply_text(user_text, model, self.seed)


_JSON_OBJECT = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def structured_schema(fmt: Any) -> Any:
    """The JSON schema an output format asks for (chat ``response_format`` or Responses
    ``text.format``), or ``None`` for plain text."""
    if not isinstance(fmt, Mapping):
        return None
    kind = fmt.get("type")
    if kind == "json_object":
        return _JSON_OBJECT
    if kind != "json_schema":
        return None
    spec = fmt.get("json_schema", fmt)  # chat nests it, Responses does not
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return schema if isinstance(schema, Mapping) else {}


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return _content_text(output)
    return encode(output).decode() if output is not None else ""


def tool_outputs(messages: Iterable[Any]) -> list[tuple[str, str]]:
    """``(tool name, output text)`` of the tool results after the last user message: chat
    ``role: tool`` messages and Responses ``function_call_output`` items (names from the calls
    in the conversation; ``""`` when the call is not in it)."""
    names: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        kind, role = message.get("type"), message.get("role")
        if role == "user" and (kind in (None, "message")):
            found = []
        elif kind == "function_call":
            names[str(message.get("call_id"))] = str(message.get("name") or "")
        elif role == "assistant" and isinstance(message.get("tool_calls"), list):
            for call in message["tool_calls"]:
                function = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(function, Mapping):
                    names[str(call.get("id"))] = str(function.get("name") or "")
        elif kind == "function_call_output":
            call_id = str(message.get("call_id"))
            found.append((names.get(call_id, ""), _output_text(message.get("output"))))
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            found.append((names.get(call_id, ""), _output_text(message.get("content"))))
    return found


def _describe(output: str) -> str:
    """A tool output in words: a JSON object as ``key value`` pairs, anything else as given."""
    try:
        value = msgspec.json.decode(output)
    except msgspec.DecodeError:
        value = None
    if isinstance(value, dict) and value:
        return ", ".join(
            f"{k} {v if not isinstance(v, (dict, list)) else encode(v).decode()}" for k, v in value.items()
        )
    text = " ".join(output.split())
    return text[:500] or "nothing"


def tool_answer(outputs: list[tuple[str, str]]) -> str:
    """The answer once the tools have run: it says what each one returned."""
    parts = [f"{name or 'the tool'} returned {_describe(out)}" for name, out in outputs]
    return "Here is what I found: " + "; ".join(parts) + "."


def check_model(options: LLMOptions, model: str) -> web.Response | None:
    """404 ``model_not_found`` (OpenAI-style body) for a model outside the catalogue, else ``None``."""
    if options.catalogue.accepts(model):
        return None
    message = f"The model `{model}` does not exist or you do not have access to it."
    return openai_error(message, 404, param="model", code="model_not_found")


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


def answer_pieces(text: str, controls: Controls) -> list[str]:
    """The answer ``text``, as the content pieces a stream sends one per chunk."""
    words = _words(text)
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


def tool_parameters(tools: list[Any] | None, name: str) -> Any:
    """The JSON schema of the ``parameters`` of the tool called ``name`` (``None`` if unknown)."""
    for tool in tools or ():
        if _tool_name(tool) == name and isinstance(tool, Mapping):
            function = tool.get("function")
            holder = function if isinstance(function, Mapping) else tool
            return holder.get("parameters")
    return None


def tool_arguments(
    options: LLMOptions, user_text: str, controls: Controls, tools: list[Any] | None, name: str
) -> str:
    """The JSON arguments of the call to tool ``name``: fitting its schema, or ~``x-emu-tool-args-bytes``."""
    if controls.tool_args_bytes is None:
        said = " ".join(user_text.split())
        schema = tool_parameters(tools, name)
        if options.echo and not (isinstance(schema, Mapping) and schema.get("properties")):
            return encode({"query": said}).decode()  # echo: a schema without properties gets the prompt
        rng = seeded_rng("tool", options.seed, name, said)
        return encode(schema_value(schema, rng, prompt=said)).decode()
    filler_len = max(controls.tool_args_bytes - len('{"data":""}'), 0)
    filler = ("abcdefghijklmnopqrstuvwxyz0123456789" * (filler_len // 36 + 1))[:filler_len]
    return '{"data":"' + filler + '"}'


def split_fragments(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (one empty piece for empty text)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def make_handle_models(shared: Shared, options: LLMOptions) -> Handler:
    """The ``GET /v1/models`` handler: the catalogue, then the endpoints configured since."""

    async def handle_models(request: web.Request) -> web.Response:
        data = options.catalogue.listing(shared.extra_model_ids)
        return json_response({"object": "list", "data": data})

    return handle_models
