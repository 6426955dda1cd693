"""SSE event -> typed stream item: chat chunks and Responses events (pure, no I/O).

Owns the meaning of one SSE event's payload, with decoders built once at module level:

``decode_chat_chunk(ev)`` -> ``ChatCompletionChunk``, ``DONE`` (``data: [DONE]``) or ``None``
(an event with empty data: nothing to decode).  It raises ``StreamEventError`` for an
``event: error`` event (Groq); ``.error`` is the error payload (the body's ``error`` member when
it has one).  A chunk whose ``error`` member is set (OpenRouter) is *returned*: it may carry
``usage``, so the chat protocol (``chat_protocol``) accumulates it, then raises
``chat_chunk_error(chunk)``.

``decode_responses_event(ev)`` -> a ``ResponseStreamEvent`` member, ``UnknownEvent`` (a ``type``
this SDK does not know, with the JSON object as ``raw``), ``DONE`` or ``None``.  A Responses
``error`` event is *returned* as ``ResponseErrorEvent`` (it is a documented member of the
union; the Responses protocol raises ``responses_event_error(event)``), and ``response.failed``
is returned like any event: the accumulator and the protocol decide what they mean.  An event
without ``type`` takes its SSE ``event:`` name as type; a chat-style ``{"error": {...}}`` body
becomes a ``ResponseErrorEvent``.

The decoders are built on first use, once (``chunk_decoder()``, ``event_decoder()``): building
them resolves every annotation of the chat / Responses type graphs, the largest part of the
package's import time (BENCHMARKS.md, "Import").  ``strict_chunk_decode`` / ``strict_event_decode``
are rebound to the decoders' own ``decode`` when built: read them as attributes of this module
(``stream_decode.strict_chunk_decode``), not bound once by ``from ... import``.  The Responses
types are imported with the first Responses event: a chat stream does not load them.

Errors: a payload that is not JSON, JSON nested too deep to decode (``RecursionError`` inside
msgspec), or JSON of the wrong shape for a *known* type, raises ``ResponseValidationError``
(``.body`` holds the payload); nothing else escapes, whatever the bytes (a hypothesis property
in ``tests/unit/test_stream_decode_properties.py``).  ``SSEProtocolError`` is left to the
framing layer (``http/sse.py``).  Decoded chunks and events keep their raw bytes (``.raw``,
``.raw_bytes``): attaching them costs about 0.1 µs.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._exceptions import ResponseValidationError, StreamEventError
from ..http.sse import SSEEvent
from ..types._base import attach_raw
from ..types.chat import ChatCompletionChunk
from .chat_quirks import repair_chat_json

if TYPE_CHECKING:  # imported with the first Responses event (``event_decoder``)
    from ..types.response_events import ResponseErrorEvent, ResponseStreamEvent, UnknownEvent

__all__ = (
    "DONE",
    "Done",
    "chat_chunk_error",
    "chunk_decoder",
    "decode_chat_chunk",
    "decode_responses_event",
    "event_decoder",
    "responses_event_error",
    "strict_chunk_decode",
    "strict_event_decode",
)


class Done(enum.Enum):
    """The type of the ``DONE`` sentinel."""

    DONE = "[DONE]"


#: Returned for ``data: [DONE]``: the stream is over.
DONE: Final = Done.DONE

_chunk_decoder: msgspec.json.Decoder[ChatCompletionChunk] | None = None
_event_decoder: msgspec.json.Decoder[ResponseStreamEvent] | None = None


def chunk_decoder() -> msgspec.json.Decoder[ChatCompletionChunk]:
    """The chat chunk decoder: built on the first call, then the same one."""
    global _chunk_decoder
    if _chunk_decoder is None:
        _chunk_decoder = msgspec.json.Decoder(ChatCompletionChunk)
        globals()["strict_chunk_decode"] = _chunk_decoder.decode
    return _chunk_decoder


def strict_chunk_decode(data: bytes) -> ChatCompletionChunk:
    """The strict chunk decode alone: the chat protocol's fast path for an ordinary event; whatever
    it rejects goes through ``decode_chat_chunk`` ([DONE], quirks, typed errors).  Rebound to the
    decoder's own ``decode`` by ``chunk_decoder()``."""
    return chunk_decoder().decode(data)


def event_decoder() -> msgspec.json.Decoder[ResponseStreamEvent]:
    """The Responses event union's decoder: built on the first call, then the same one."""
    global _event_decoder
    if _event_decoder is None:
        from ..types.response_events import ResponseStreamEvent

        _event_decoder = msgspec.json.Decoder(ResponseStreamEvent)
        globals()["strict_event_decode"] = _event_decoder.decode
    return _event_decoder


def strict_event_decode(data: bytes) -> ResponseStreamEvent:
    """The strict union decode alone: the Responses protocol's fast path for a known event type;
    whatever it rejects goes through ``decode_responses_event`` (unknown types, fallbacks,
    errors).  Rebound to the decoder's own ``decode`` by ``event_decoder()``."""
    return event_decoder().decode(data)


_any_decoder: Final = msgspec.json.Decoder()
_MESSAGE: Final = "message"


# ----------------------------------------------------------------------------------------------
# Chat Completions


def decode_chat_chunk(ev: SSEEvent, request_id: str | None = None) -> ChatCompletionChunk | Done | None:
    """Decode a chat stream event without checking the chunk's ``error`` member.

    Raises ``StreamEventError`` for an ``event: error`` event, ``ResponseValidationError`` for a
    payload that is not a chunk.
    """
    if ev.event is not _MESSAGE and ev.event == "error":
        raise _chat_error_event(ev, request_id)
    data = ev.data
    try:
        chunk = strict_chunk_decode(data)
    except msgspec.DecodeError as exc:
        repaired = _chat_not_a_chunk(data, exc, request_id)
        if not isinstance(repaired, ChatCompletionChunk):
            return repaired
        chunk = repaired
    except RecursionError as exc:
        raise _invalid("chat.completion.chunk", data, exc, request_id) from None
    d = chunk.__dict__
    d["_raw_bytes"] = data
    if request_id is not None:
        d["_x_request_id"] = request_id
    return chunk


def _chat_not_a_chunk(
    data: bytes, exc: msgspec.DecodeError, request_id: str | None
) -> ChatCompletionChunk | Done | None:
    if data.startswith(b"[DONE]"):
        return DONE
    if not data.strip():
        return None
    try:
        repaired = repair_chat_json(data, chunk_decoder())
    except RecursionError:
        repaired = None
    if repaired is not None:
        return repaired
    raise _invalid("chat.completion.chunk", data, exc, request_id) from None


def chat_chunk_error(chunk: ChatCompletionChunk, request_id: str | None = None) -> StreamEventError:
    """The ``StreamEventError`` for a chunk that carries an ``error`` member."""
    return _stream_error(chunk.error, request_id)


def _chat_error_event(ev: SSEEvent, request_id: str | None) -> StreamEventError:
    try:
        body: Any = _any_decoder.decode(ev.data)
    except (msgspec.DecodeError, RecursionError):
        body = ev.text
    payload = body.get("error", body) if isinstance(body, dict) else body
    return _stream_error(payload, request_id)


# ----------------------------------------------------------------------------------------------
# Responses


def decode_responses_event(
    ev: SSEEvent, request_id: str | None = None
) -> ResponseStreamEvent | UnknownEvent | Done | None:
    """Decode a Responses stream event (see the module docstring for the cases)."""
    data = ev.data
    try:
        event: ResponseStreamEvent = strict_event_decode(data)
    except msgspec.DecodeError as exc:  # ValidationError included
        if data.startswith(b"[DONE]"):
            return DONE
        if not data.strip():
            return None
        return _responses_fallback(ev, exc, request_id)
    except RecursionError as exc:
        raise _invalid("Responses stream event", data, exc, request_id) from None
    return attach_raw(event, data, request_id)


def _responses_fallback(
    ev: SSEEvent, exc: msgspec.DecodeError, request_id: str | None
) -> ResponseStreamEvent | UnknownEvent:
    """What the union rejected: not JSON, an unknown type, a missing type, or a bad shape."""
    from ..types.response_events import (
        KNOWN_EVENT_TYPES,
        ResponseErrorEvent,
        ResponseStreamEvent,
        UnknownEvent,
    )
    from ..types.responses import lenient_response_obj

    try:
        obj: Any = _any_decoder.decode(ev.data)
    except (msgspec.DecodeError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise _invalid("Responses stream event", ev.data, exc, request_id)
    etype = obj.get("type")
    if etype is None:
        if isinstance(obj.get("error"), dict) or ev.event == "error":
            err = obj.get("error") if isinstance(obj.get("error"), dict) else obj
            seq = _int_or_none(obj.get("sequence_number"))
            return attach_raw(ResponseErrorEvent(error=err, sequence_number=seq), ev.data, request_id)
        if ev.event != _MESSAGE:
            etype = ev.event  # the type given only as the SSE event name
            obj = {**obj, "type": etype}
    if not isinstance(etype, str):
        raise _invalid("Responses stream event", ev.data, exc, request_id)
    if etype not in KNOWN_EVENT_TYPES:
        seq = _int_or_none(obj.get("sequence_number"))
        return UnknownEvent(event_type=etype, raw=obj, sequence_number=seq)
    try:
        event: ResponseStreamEvent = msgspec.convert(lenient_response_obj(obj), ResponseStreamEvent)
    except (msgspec.ValidationError, RecursionError) as exc2:
        raise _invalid(f"{etype!r} event", ev.data, exc2, request_id) from None
    return attach_raw(event, ev.data, request_id)


def responses_event_error(event: ResponseErrorEvent, request_id: str | None = None) -> StreamEventError:
    """The ``StreamEventError`` for a Responses ``error`` event."""
    payload: Any = event.error
    if payload is None:
        payload = {"type": "error", "message": event.message, "code": event.code, "param": event.param}
    code = None if event.code is None else str(event.code)
    raw_type = payload.get("type") if isinstance(payload, dict) else None
    error_type = raw_type if isinstance(raw_type, str) else None
    return StreamEventError(
        event.message or "The server reported an error in the stream.",
        error=payload,
        x_request_id=request_id,
        code=code,
        error_type=error_type,
    )


# ----------------------------------------------------------------------------------------------
# Helpers


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stream_error(payload: object, request_id: str | None) -> StreamEventError:
    """A ``StreamEventError`` whose message, code and type come from the payload when present."""
    message = code = error_type = None
    if isinstance(payload, dict):
        msg = payload.get("message")
        message = msg if isinstance(msg, str) and msg else None
        raw_code = payload.get("code")
        code = None if raw_code is None or isinstance(raw_code, (dict, list)) else str(raw_code)
        raw_type = payload.get("type")
        error_type = raw_type if isinstance(raw_type, str) else None
    elif isinstance(payload, str) and payload:
        message = payload
    return StreamEventError(
        message or "An error occurred during streaming.",
        error=payload,
        x_request_id=request_id,
        code=code,
        error_type=error_type,
    )


def _invalid(what: str, data: bytes, exc: Exception, request_id: str | None) -> ResponseValidationError:
    if isinstance(exc, RecursionError):
        exc = ValueError("JSON nested too deeply to decode")
    text = data.decode("utf-8", "replace")
    shown = text if len(text) <= 200 else text[:200] + "..."
    return ResponseValidationError(
        f"Invalid {what} in stream: {exc}: {shown!r}", x_request_id=request_id, body=text
    )
