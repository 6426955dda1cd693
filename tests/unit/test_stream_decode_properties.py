"""Properties of the stream event decoders: any JSON, any field types -> a typed result or error."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, strategies as st

from odirouter_async._exceptions import ResponseValidationError, StreamEventError
from odirouter_async.http.sse import SSEEvent
from odirouter_async.llm.stream_decode import (
    DONE,
    decode_chat_chunk,
    decode_responses_event,
    responses_event_error,
)
from odirouter_async.types.chat import ChatCompletionChunk
from odirouter_async.types.response_events import (
    KNOWN_EVENT_TYPES,
    ResponseErrorEvent,
    ResponseStreamEvent,
    UnknownEvent,
)

_TYPED_ERRORS = (ResponseValidationError, StreamEventError)

# Every field name any event type or chunk part uses, so random objects hit real fields.
_EVENT_FIELDS = sorted(
    {f.encode_name for cls in ResponseStreamEvent.__args__ for f in msgspec.structs.fields(cls)}  # type: ignore[attr-defined]
    | {"error", "message", "code", "param", "response", "item", "part"}
)
_CHUNK_FIELDS = ["id", "object", "created", "model", "choices", "usage", "error", "provider"]
_CHOICE_FIELDS = ["index", "delta", "finish_reason", "logprobs", "message"]
_DELTA_FIELDS = ["role", "content", "tool_calls", "reasoning", "refusal", "function_call"]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(_EVENT_FIELDS + _DELTA_FIELDS), inner, max_size=4),
    ),
    max_leaves=20,
)


def _deep(depth: int, kind: str) -> bytes:
    """JSON nested ``depth`` levels: lists, or objects under a real field name."""
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"delta":' * depth + b"1" + b"}" * depth


@st.composite
def chat_bodies(draw: st.DrawFn) -> bytes:
    """A chat chunk whose fields (top, choice, delta) hold arbitrary JSON values."""
    delta = draw(st.dictionaries(st.sampled_from(_DELTA_FIELDS), json_values, max_size=4))
    choice: dict[str, Any] = draw(st.dictionaries(st.sampled_from(_CHOICE_FIELDS), json_values, max_size=3))
    if draw(st.booleans()):
        choice["delta"] = delta
    body: dict[str, Any] = draw(st.dictionaries(st.sampled_from(_CHUNK_FIELDS), json_values, max_size=4))
    if draw(st.booleans()):
        body["choices"] = [choice]
    return msgspec.json.encode(body)


@st.composite
def responses_bodies(draw: st.DrawFn) -> bytes:
    """A Responses event of a known (or unknown, or missing) type whose fields are arbitrary JSON."""
    body: dict[str, Any] = draw(st.dictionaries(st.sampled_from(_EVENT_FIELDS), json_values, max_size=6))
    etype = draw(
        st.one_of(
            st.sampled_from(sorted(KNOWN_EVENT_TYPES)),
            st.just("error"),
            st.text(max_size=10),
            json_values,
            st.none(),
        )
    )
    if etype is not None:
        body["type"] = etype
    return msgspec.json.encode(body)


payloads = st.one_of(
    st.binary(max_size=64),
    json_values.map(msgspec.json.encode),
    st.builds(_deep, st.integers(900, 3000) | st.integers(1, 50), st.sampled_from(["list", "object"])),
)
event_names = st.sampled_from(["message", "error", "response.output_text.delta", "x"])


def _check_chat(data: bytes, event: str) -> None:
    try:
        item = decode_chat_chunk(SSEEvent(data, event), "req-1")
    except _TYPED_ERRORS as exc:
        assert exc.x_request_id == "req-1"
        return
    assert item is None or item is DONE or isinstance(item, ChatCompletionChunk)
    if isinstance(item, ChatCompletionChunk):
        assert item.raw_bytes == data
        item.raw  # noqa: B018  (the lazy raw decode must not raise either)


def _check_responses(data: bytes, event: str) -> None:
    try:
        item = decode_responses_event(SSEEvent(data, event), "req-1")
    except _TYPED_ERRORS as exc:
        assert exc.x_request_id == "req-1"
        return
    assert item is None or item is DONE or isinstance(item, (UnknownEvent, *ResponseStreamEvent.__args__))  # type: ignore[attr-defined]
    if isinstance(item, ResponseErrorEvent):
        assert isinstance(responses_event_error(item, "req-1"), StreamEventError)
    if item is not None and item is not DONE and not isinstance(item, UnknownEvent):
        item.raw  # noqa: B018


@given(data=st.one_of(payloads, chat_bodies()), event=event_names)
def test_chat_decoder_gives_a_chunk_or_a_typed_error(data: bytes, event: str) -> None:
    """Any payload decodes to a chunk, DONE or None, or raises a typed error; nothing else."""
    _check_chat(data, event)


@given(data=st.one_of(payloads, responses_bodies()), event=event_names)
def test_responses_decoder_gives_an_event_or_a_typed_error(data: bytes, event: str) -> None:
    """Any payload decodes to a typed event, UnknownEvent, DONE or None, or raises a typed error."""
    _check_responses(data, event)


def test_deep_nesting_is_a_validation_error() -> None:
    """JSON nested 1000+ deep is a ResponseValidationError on both decoders, not RecursionError."""
    for kind in ("list", "object"):
        data = _deep(5000, kind)
        for decode in (decode_chat_chunk, decode_responses_event):
            try:
                decode(SSEEvent(data), "req-9")  # type: ignore[operator]
            except ResponseValidationError as exc:
                assert exc.x_request_id == "req-9" and exc.body == data.decode()
                assert kind == "list" or "nested too deeply" in exc.message
            else:
                raise AssertionError(f"{decode.__name__} accepted {kind} nesting 5000 deep")


def test_deep_error_event_is_a_stream_event_error() -> None:
    """A deeply nested `event: error` payload still becomes a StreamEventError."""
    data = _deep(5000, "object")
    try:
        decode_chat_chunk(SSEEvent(data, "error"), "req-2")
    except StreamEventError as exc:
        assert exc.x_request_id == "req-2"
    else:
        raise AssertionError("no error raised")
