"""LLM spans with the OpenTelemetry GenAI semantic conventions (chat completions, Responses).

Only when ``tracing.active()`` (a tracer provider is set): the transport asks ``llm_span(path,
body)`` for a paid JSON POST to ``/v1/chat/completions`` or ``/v1/responses`` and gets a
``GenAISpan`` (else ``None``: nothing is built, no per-chunk work).  The span (kind CLIENT) is
named ``"chat {model}"`` and is the parent of the call's HTTP span.  Attributes:

* request: ``gen_ai.operation.name`` (``"chat"``), ``gen_ai.provider.name`` and ``gen_ai.system``
  (``"odirouter"``), ``gen_ai.request.model`` (and ``temperature``, ``top_p``, ``max_tokens``,
  ``seed``, ``frequency_penalty``, ``presence_penalty``, ``stop_sequences``, ``choice.count``
  when sent), ``gen_ai.output.type`` (``"json"`` for a JSON-schema / JSON-object output format),
  ``server.address`` / ``server.port``;
* response: ``gen_ai.response.id``, ``gen_ai.response.model``, ``gen_ai.response.finish_reasons``
  (chat: each choice's ``finish_reason``, one per choice; Responses: the response ``status``, or
  the reason of an incomplete one), ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``:
  from the body, or, for a stream, from its chunks (the final usage chunk, ``response.completed``);
* streams: a ``gen_ai.first_token`` event when the first content arrives, and its delay in
  seconds as ``odirouter.time_to_first_token``.

Prompt and completion content are never recorded unless the application opts in with the
environment variable ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (read when a span
starts): then ``gen_ai.input.messages`` (the request's ``messages`` / ``input`` in the conventions'
message shape, ``{"role", "parts": [...]}``, JSON) and ``gen_ai.output.messages`` (the output text,
JSON) are set.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import msgspec

from . import tracing

__all__ = ("CAPTURE_ENV", "GenAISpan", "llm_span")

_T = TypeVar("_T")
CAPTURE_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROVIDER: Final = "odirouter"
_PATHS: Final = {"/v1/chat/completions": "chat", "/v1/responses": "responses"}
_REQUEST_PARAMS: Final = (
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("seed", "gen_ai.request.seed"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
)
#: ``gen_ai.output.type`` of a requested output format (``response_format`` / ``text.format``).
_OUTPUT_TYPES: Final = {"json_schema": "json", "json_object": "json", "text": "text"}


class _Usage(msgspec.Struct):
    prompt_tokens: Any = None
    completion_tokens: Any = None
    input_tokens: Any = None
    output_tokens: Any = None


class _Message(msgspec.Struct):
    content: Any = None


class _Choice(msgspec.Struct):
    index: Any = 0
    finish_reason: Any = None
    message: _Message | None = None


class _Incomplete(msgspec.Struct):
    reason: Any = None


class _Summary(msgspec.Struct):
    """What a whole chat completion or Responses body says about the call (lenient)."""

    id: Any = None
    model: Any = None
    status: Any = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    output_text: Any = None
    incomplete_details: _Incomplete | None = None


_SUMMARY: Final = msgspec.json.Decoder(_Summary)
_encode: Final = msgspec.json.Encoder().encode


def _capture() -> bool:
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in ("true", "1", "yes")


def llm_span(method: str, url: str, body: object) -> GenAISpan | None:
    """The GenAI span of a chat / Responses call (``None`` for any other request)."""
    if method != "POST" or not isinstance(body, dict):
        return None
    parts = urlsplit(url)
    kind = _PATHS.get(parts.path)
    if kind is None:
        return None
    model = body.get("model")
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.system": PROVIDER,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
    }
    if isinstance(model, str):
        attributes["gen_ai.request.model"] = model
    for key, name in _REQUEST_PARAMS:
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[name] = value
    _more_request_attributes(body, kind, attributes)
    capture = _capture()
    if capture:
        prompt = body.get("messages") if kind == "chat" else body.get("input")
        attributes["gen_ai.input.messages"] = _encode(input_messages(prompt)).decode()
    trace = tracing._trace
    span = tracing._tracer.start_span(
        f"chat {model}" if isinstance(model, str) else "chat",
        kind=trace.SpanKind.CLIENT,
        attributes=attributes,
    )
    return GenAISpan(span, kind, capture)


def _more_request_attributes(body: dict[str, Any], kind: str, attributes: dict[str, Any]) -> None:
    """``gen_ai.request.choice.count`` (``n`` other than 1), ``gen_ai.request.stop_sequences`` and
    ``gen_ai.output.type`` (when the request asks for an output format)."""
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n != 1:
        attributes["gen_ai.request.choice.count"] = n
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, list) and stop and all(isinstance(x, str) for x in stop):
        attributes["gen_ai.request.stop_sequences"] = tuple(stop)
    if kind == "chat":
        fmt = body.get("response_format")
    else:
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
    kind_of = fmt.get("type") if isinstance(fmt, dict) else None
    output = _OUTPUT_TYPES.get(kind_of) if isinstance(kind_of, str) else None
    if output is not None:
        attributes["gen_ai.output.type"] = output


def _text_parts(content: Any) -> list[dict[str, Any]]:
    """``content`` (a string, or a list of chat / Responses content parts) as GenAI ``text`` parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str):
            parts.append({"type": "text", "content": text})
    return parts


def _input_message(item: Any) -> dict[str, Any] | None:
    """One chat message or Responses input item in the GenAI message shape (``role``, ``parts``)."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind == "function_call_output" or item.get("role") == "tool":
        rid = item.get("call_id", item.get("tool_call_id"))
        response = item.get("output", item.get("content"))
        return {"role": "tool", "parts": [{"type": "tool_call_response", "id": rid, "response": response}]}
    if kind == "function_call":
        call = {
            "type": "tool_call",
            "id": item.get("call_id"),
            "name": item.get("name"),
            "arguments": item.get("arguments"),
        }
        return {"role": "assistant", "parts": [call]}
    parts = _text_parts(item.get("content"))
    for call in item.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": fn.get("name"),
                    "arguments": fn.get("arguments"),
                }
            )
    return {"role": item.get("role", "user"), "parts": parts}


def input_messages(prompt: Any) -> list[dict[str, Any]]:
    """The request's ``messages`` / ``input`` as ``gen_ai.input.messages`` wants them: a list of
    ``{"role", "parts": [{"type": "text", "content"} | tool_call | tool_call_response]}``."""
    if isinstance(prompt, str):
        return [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
    found = (_input_message(item) for item in (prompt if isinstance(prompt, list) else ()))
    return [m for m in found if m is not None]


class GenAISpan:
    """One LLM call's span: the request attributes at start, the response's when it is known."""

    __slots__ = ("_ended", "_first", "_kind", "_model", "_reasons", "_rid", "_span", "_started", "_text")

    def __init__(self, span: Any, kind: str, capture: bool) -> None:
        self._span = span
        self._kind = kind
        self._started = time.monotonic()
        self._first = False
        self._ended = False
        self._reasons: dict[object, str] = {}  # by choice index: one reason per generation
        self._rid: object = None
        self._model: object = None
        self._text: list[str] | None = [] if capture else None

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make this span the parent of what runs inside (the HTTP span); an error ends it."""
        try:
            with tracing._trace.use_span(self._span, end_on_exit=False, record_exception=False):
                yield
        except BaseException as exc:
            self.end(exc)
            raise

    # -- a whole body -----------------------------------------------------------------------

    def record_body(self, content: bytes) -> None:
        """Read the response attributes from a whole chat completion or Responses body; end."""
        try:
            summary = _SUMMARY.decode(content)
        except (msgspec.DecodeError, RecursionError):
            self.end()
            return
        self._identity(summary.id, summary.model)
        if summary.choices:
            for choice in summary.choices:
                self._reason(choice.index, choice.finish_reason)
                if self._text is not None and choice.message is not None:
                    self._add_text(choice.message.content)
        self._status(summary.status, summary.incomplete_details)
        self._usage(summary.usage)
        if self._text is not None and isinstance(summary.output_text, str):
            self._text.append(summary.output_text)
        self.end()

    # -- a stream -----------------------------------------------------------------------------

    async def wrap(self, items: AsyncGenerator[_T, None]) -> AsyncGenerator[_T, None]:
        """``items``, each one observed; the span ends with the stream (an error marks it)."""
        observe = self._observe_chat if self._kind == "chat" else self._observe_event
        try:
            async for item in items:
                observe(item)
                yield item
        except BaseException as exc:
            self.end(None if isinstance(exc, GeneratorExit) else exc)
            raise
        finally:
            await items.aclose()
            self.end()

    def _first_token(self) -> None:
        self._first = True
        delay = time.monotonic() - self._started
        self._span.add_event("gen_ai.first_token", {"odirouter.time_to_first_token": delay})
        self._span.set_attribute("odirouter.time_to_first_token", delay)

    def _observe_chat(self, chunk: Any) -> None:
        self._identity(chunk.id, chunk.model)
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None and (delta.content or delta.tool_calls):
                if not self._first:
                    self._first_token()
                if self._text is not None:
                    self._add_text(delta.content)
            self._reason(choice.index, choice.finish_reason)
        if chunk.usage is not None:
            self._usage(chunk.usage)

    def _observe_event(self, event: Any) -> None:
        response = getattr(event, "response", None)
        if response is not None:
            self._identity(response.id, response.model)
            if event.type in ("response.completed", "response.incomplete", "response.failed"):
                self._status(response.status, response.incomplete_details)
                self._usage(response.usage)
            return
        if not self._first and getattr(event, "delta", None):
            self._first_token()
        if self._text is not None and event.type == "response.output_text.delta":
            self._add_text(event.delta)

    # -- attributes -------------------------------------------------------------------------

    def _identity(self, rid: Any, model: Any) -> None:
        if rid != self._rid and isinstance(rid, str) and rid:  # set once per value, not per chunk
            self._rid = rid
            self._span.set_attribute("gen_ai.response.id", rid)
        if model != self._model and isinstance(model, str) and model:
            self._model = model
            self._span.set_attribute("gen_ai.response.model", model)

    def _reason(self, index: object, reason: Any) -> None:
        if isinstance(reason, str) and reason:
            self._reasons[index if isinstance(index, int) else len(self._reasons)] = reason

    def _status(self, status: Any, incomplete: Any) -> None:
        reason = getattr(incomplete, "reason", None)
        if isinstance(reason, str) and reason:
            self._reasons[0] = reason
        elif isinstance(status, str) and status:
            self._reasons[0] = status

    def _usage(self, usage: Any) -> None:
        if usage is None:
            return
        inp = getattr(usage, "input_tokens", None)
        out = getattr(usage, "output_tokens", None)
        if inp is None:
            inp = getattr(usage, "prompt_tokens", None)
        if out is None:
            out = getattr(usage, "completion_tokens", None)
        if isinstance(inp, int) and not isinstance(inp, bool):
            self._span.set_attribute("gen_ai.usage.input_tokens", inp)
        if isinstance(out, int) and not isinstance(out, bool):
            self._span.set_attribute("gen_ai.usage.output_tokens", out)

    def _add_text(self, text: Any) -> None:
        if self._text is not None and isinstance(text, str):
            self._text.append(text)

    def end(self, exc: BaseException | None = None) -> None:
        """End the span once (``exc``: recorded, status ERROR)."""
        if self._ended:
            return
        self._ended = True
        span = self._span
        if self._reasons:
            span.set_attribute("gen_ai.response.finish_reasons", tuple(self._reasons.values()))
        if self._text is not None and self._text:
            message = {"role": "assistant", "parts": [{"type": "text", "content": "".join(self._text)}]}
            span.set_attribute("gen_ai.output.messages", _encode([message]).decode())
        if exc is not None:
            span.record_exception(exc)
            span.set_status(tracing._trace.StatusCode.ERROR, type(exc).__name__)
            span.set_attribute("error.type", type(exc).__name__)
        span.end()
