"""_stream_decode: SSE events -> chat chunks / Responses events, DONE, in-band errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from odirouter_async._exceptions import ResponseValidationError, StreamEventError
from odirouter_async.http.sse import SSEEvent
from odirouter_async.llm.chat_protocol import ChatStreamProtocol
from odirouter_async.llm.stream_decode import (
    DONE,
    chat_chunk_error,
    decode_chat_chunk,
    decode_responses_event,
    responses_event_error,
)
from odirouter_async.types import response_events as re_
from odirouter_async.types.chat import ChatCompletionChunk
from odirouter_async.types.response_events import (
    KNOWN_EVENT_TYPES,
    ResponseCompletedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    UnknownEvent,
)
from odirouter_async.types.responses import UnknownOutputItem


def ev(data: Any, event: str = "message") -> SSEEvent:
    """An SSE event whose data is ``data`` (bytes as is, anything else JSON-encoded)."""
    raw = data if isinstance(data, bytes) else msgspec.json.encode(data)
    return SSEEvent(raw, event)


def chunk(**fields: Any) -> dict[str, Any]:
    """A chat chunk body with the usual top-level fields."""
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", **fields}


# ---------------------------------------------------------------------------------------------
# Chat


def test_chat_chunk_decodes_with_raw_and_request_id() -> None:
    """A chunk decodes to a typed Struct; raw bytes and request id are attached."""
    body = chunk(choices=[{"index": 0, "delta": {"content": "hi"}}], x_extra={"a": 1})
    item = decode_chat_chunk(ev(body), request_id="req-1")
    assert isinstance(item, ChatCompletionChunk)
    assert item.choices[0].delta.content == "hi"
    assert item.raw["x_extra"] == {"a": 1}
    assert item.raw_bytes == msgspec.json.encode(body)
    assert item.x_request_id == "req-1"


@pytest.mark.parametrize("data", [b"[DONE]", b"[DONE] ", b"[DONE]\n"])
def test_chat_done(data: bytes) -> None:
    """``[DONE]`` (what openai-python accepts: a prefix) gives the DONE sentinel."""
    assert decode_chat_chunk(ev(data)) is DONE


@pytest.mark.parametrize("data", [b"", b"  ", b"\n"])
def test_chat_empty_data_is_skipped(data: bytes) -> None:
    """An event with empty data decodes to None (nothing to do), not an error."""
    assert decode_chat_chunk(ev(data)) is None


@pytest.mark.parametrize("data", [b"{not json", b"ping", b'{"choices": "x"}', b"[1, 2]", b'{"created": "x"}'])
def test_chat_malformed_is_validation_error(data: bytes) -> None:
    """Non-JSON or wrongly shaped data raises ResponseValidationError carrying the payload."""
    with pytest.raises(ResponseValidationError) as info:
        decode_chat_chunk(ev(data), request_id="r")
    assert info.value.body == data.decode()
    assert info.value.x_request_id == "r"


def test_chat_tolerates_provider_quirks() -> None:
    """Azure, Snowflake, Mistral and Writer shapes all decode."""
    azure = {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []}
    snowflake = chunk(id="", created=0, choices=[{"delta": {"content": "4", "tool_calls": None}, "index": 0}])
    mistral = chunk(
        choices=[
            {"index": 0, "delta": {"tool_calls": [{"id": "X", "function": {"name": "f", "arguments": "{}"}}]}}
        ]
    )
    writer = chunk(
        choices=[
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "id": None, "function": {"arguments": None}}]}}
        ]
    )
    for body in (azure, snowflake, mistral, writer):
        assert isinstance(decode_chat_chunk(ev(body)), ChatCompletionChunk)
    item = decode_chat_chunk(ev(mistral))
    assert isinstance(item, ChatCompletionChunk)
    call = item.choices[0].delta.tool_calls[0]  # type: ignore[index]
    assert call.index is None


def test_chat_error_chunk_raises_with_payload() -> None:
    """A chunk with an ``error`` member ends the chat protocol: StreamEventError (message, code, payload)."""
    body = chunk(error={"code": 400, "message": "Token limit reached"}, choices=[])
    with pytest.raises(StreamEventError) as info:
        ChatStreamProtocol(x_request_id="r9").feed(b"data: " + msgspec.json.encode(body) + b"\n\n")
    err = info.value
    assert err.error == {"code": 400, "message": "Token limit reached"}
    assert err.message == "Token limit reached"
    assert err.code == "400"
    assert err.x_request_id == "r9"


def test_chat_chunk_keeps_error_chunk_for_the_caller() -> None:
    """decode_chat_chunk returns the error chunk (it may carry usage); chat_chunk_error builds the error."""
    body = chunk(
        error={"message": "boom"}, usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    )
    item = decode_chat_chunk(ev(body))
    assert isinstance(item, ChatCompletionChunk)
    assert item.usage is not None and item.usage.total_tokens == 3
    assert chat_chunk_error(item).error == {"message": "boom"}


@pytest.mark.parametrize("error", [None, {}, "", False])
def test_chat_falsy_error_member_is_not_an_error(error: Any) -> None:
    """``error: null`` (and other empty values) do not end the chat protocol."""
    (item,) = ChatStreamProtocol().feed(b"data: " + msgspec.json.encode(chunk(error=error)) + b"\n\n")
    assert isinstance(item, ChatCompletionChunk)


def test_chat_error_event_raises_with_inner_error() -> None:
    """``event: error`` (Groq) raises; ``.error`` is the body's ``error`` member."""
    inner = {
        "message": "Tool call validation failed",
        "type": "invalid_request_error",
        "code": "tool_use_failed",
    }
    with pytest.raises(StreamEventError) as info:
        decode_chat_chunk(ev({"error": inner}, event="error"))
    assert info.value.error == inner
    assert info.value.code == "tool_use_failed"
    assert info.value.error_type == "invalid_request_error"
    assert info.value.message == "Tool call validation failed"


def test_chat_error_event_without_json() -> None:
    """An ``event: error`` whose data is plain text raises with that text."""
    with pytest.raises(StreamEventError) as info:
        decode_chat_chunk(ev(b"overloaded", event="error"))
    assert info.value.error == "overloaded"
    assert info.value.message == "overloaded"


def test_chat_error_event_body_without_error_member() -> None:
    """An ``event: error`` body without ``error`` member is the payload itself."""
    with pytest.raises(StreamEventError) as info:
        decode_chat_chunk(ev({"message": "m", "code": 503}, event="error"))
    assert info.value.error == {"message": "m", "code": 503}
    assert info.value.code == "503"


def test_chat_other_event_names_are_chunks() -> None:
    """Event names other than ``error`` do not change how a chunk decodes."""
    assert isinstance(decode_chat_chunk(ev(chunk(), event="chunk")), ChatCompletionChunk)


# ---------------------------------------------------------------------------------------------
# Responses

#: The 58 types of openai-python's ResponseStreamEvent union (openai-python.md, section 5).
_DOCUMENTED = """
response.created response.queued response.in_progress response.completed response.failed
response.incomplete error response.output_item.added response.output_item.done
response.content_part.added response.content_part.done response.output_text.delta
response.output_text.done response.output_text.annotation.added response.refusal.delta
response.refusal.done response.reasoning_text.delta response.reasoning_text.done
response.reasoning_summary_part.added response.reasoning_summary_part.done
response.reasoning_summary_text.delta response.reasoning_summary_text.done
response.function_call_arguments.delta response.function_call_arguments.done
response.custom_tool_call_input.delta response.custom_tool_call_input.done response.audio.delta
response.audio.done response.audio.transcript.delta response.audio.transcript.done
response.code_interpreter_call.in_progress response.code_interpreter_call.interpreting
response.code_interpreter_call.completed response.code_interpreter_call_code.delta
response.code_interpreter_call_code.done response.file_search_call.in_progress
response.file_search_call.searching response.file_search_call.completed
response.web_search_call.in_progress response.web_search_call.searching
response.web_search_call.completed response.image_generation_call.in_progress
response.image_generation_call.generating response.image_generation_call.partial_image
response.image_generation_call.completed response.mcp_call.in_progress response.mcp_call.completed
response.mcp_call.failed response.mcp_call_arguments.delta response.mcp_call_arguments.done
response.mcp_list_tools.in_progress response.mcp_list_tools.completed response.mcp_list_tools.failed
response.shell_call_command.added response.shell_call_command.delta response.shell_call_command.done
response.shell_call_output_content.delta response.shell_call_output_content.done
"""
DOCUMENTED_TYPES = _DOCUMENTED.split()


def minimal(etype: str) -> dict[str, Any]:
    """The smallest valid body of an event type (its required payload fields only)."""
    body: dict[str, Any] = {"type": etype, "sequence_number": 3}
    cls = next(c for c in ResponseStreamEvent.__args__ if c.__struct_config__.tag == etype)  # type: ignore[attr-defined]
    samples = {"response": {}, "item": {}, "part": {}, "delta": "x"}
    for field in msgspec.structs.fields(cls):
        if field.required:
            body[field.encode_name] = samples[field.encode_name]
    if etype == "response.shell_call_output_content.delta":
        body["delta"] = {"stdout": "x"}
    return body


def test_union_covers_the_documented_types() -> None:
    """Every one of the 58 documented types is in the union (plus compaction)."""
    assert len(DOCUMENTED_TYPES) == 58
    assert set(DOCUMENTED_TYPES) <= KNOWN_EVENT_TYPES
    assert KNOWN_EVENT_TYPES - set(DOCUMENTED_TYPES) == {"response.compaction.compacting"}


@pytest.mark.parametrize("etype", sorted(KNOWN_EVENT_TYPES))
def test_every_known_type_decodes_to_its_class(etype: str) -> None:
    """Each known type decodes to its own class, with ``.type``, ``.raw`` and sequence number."""
    item = decode_responses_event(ev(minimal(etype)))
    assert isinstance(item, re_.ResponseStreamEventBase)
    assert item.type == etype
    assert item.sequence_number == 3
    assert item.raw["type"] == etype


def test_text_delta_fields() -> None:
    """A text delta keeps its fields; sequence_number may be absent (old recordings)."""
    body = {
        "type": "response.output_text.delta",
        "item_id": "m1",
        "output_index": 1,
        "content_index": 0,
        "delta": "4",
    }
    item = decode_responses_event(ev(body), request_id="q")
    assert isinstance(item, ResponseTextDeltaEvent)
    assert (item.item_id, item.output_index, item.delta, item.sequence_number) == ("m1", 1, "4", None)
    assert item.x_request_id == "q"


def test_unknown_type_is_unknown_event_with_raw() -> None:
    """A type the SDK does not know becomes UnknownEvent(type, raw), never another class."""
    body = {"type": "response.audio.delta2", "sequence_number": 9, "delta": "x", "more": [1]}
    item = decode_responses_event(ev(body))
    assert isinstance(item, UnknownEvent)
    assert item.type == "unknown" and item.event_type == "response.audio.delta2"
    assert item.raw == body
    assert item.sequence_number == 9


@pytest.mark.parametrize(
    "body",
    [
        {"type": "response.output_text.delta", "delta": 5},
        {"type": "response.output_text.delta"},
        {"type": "response.completed"},
        {"type": "response.completed", "response": {"output": "nope"}},
        {"type": "response.output_item.added", "item": []},
        {"type": "error", "message": 3},
    ],
)
def test_known_type_with_bad_shape_is_an_error(body: dict[str, Any]) -> None:
    """A known type with a broken shape raises ResponseValidationError (not UnknownEvent)."""
    with pytest.raises(ResponseValidationError) as info:
        decode_responses_event(ev(body))
    assert body["type"] in str(info.value)


@pytest.mark.parametrize("data", [b"{oops", b"[1]", b'"text"', b'{"type": 5}', b'{"no_type": 1}'])
def test_responses_not_an_event(data: bytes) -> None:
    """Not JSON, not an object, or a non-string/missing type: ResponseValidationError."""
    with pytest.raises(ResponseValidationError):
        decode_responses_event(ev(data))


def test_responses_done_and_empty() -> None:
    """``[DONE]`` (OpenRouter appends one) gives DONE; empty data gives None."""
    assert decode_responses_event(ev(b"[DONE]")) is DONE
    assert decode_responses_event(ev(b"")) is None


def test_type_from_sse_event_name_when_missing() -> None:
    """A body without ``type`` takes its SSE ``event:`` name."""
    item = decode_responses_event(ev({"delta": "hi", "item_id": "a"}, event="response.output_text.delta"))
    assert isinstance(item, ResponseTextDeltaEvent)
    assert item.delta == "hi"
    unknown = decode_responses_event(ev({"x": 1}, event="response.brand_new"))
    assert isinstance(unknown, UnknownEvent)
    assert unknown.event_type == "response.brand_new"


def test_error_event_is_returned_not_raised() -> None:
    """A Responses ``error`` event is returned typed; responses_event_error builds the exception."""
    body = {"type": "error", "code": "server_error", "message": "boom", "param": None, "sequence_number": 4}
    item = decode_responses_event(ev(body, event="error"))
    assert isinstance(item, ResponseErrorEvent)
    assert (item.message, item.code) == ("boom", "server_error")
    exc = responses_event_error(item, request_id="r")
    assert isinstance(exc, StreamEventError)
    assert (exc.message, exc.code, exc.x_request_id) == ("boom", "server_error", "r")
    assert exc.error == {"type": "error", "message": "boom", "code": "server_error", "param": None}


def test_nested_error_event_shape() -> None:
    """``{"type": "error", "error": {...}}`` fills message/code/param from the inner object."""
    inner = {"type": "invalid_request_error", "code": "bad", "message": "nope", "param": "input"}
    item = decode_responses_event(ev({"type": "error", "error": inner}))
    assert isinstance(item, ResponseErrorEvent)
    assert (item.message, item.code, item.param) == ("nope", "bad", "input")
    exc = responses_event_error(item)
    assert exc.error == inner
    assert exc.error_type == "invalid_request_error"


def test_error_event_with_string_error() -> None:
    """``{"type": "error", "error": "text"}`` takes the text as message."""
    item = decode_responses_event(ev({"type": "error", "error": "upstream timeout"}))
    assert isinstance(item, ResponseErrorEvent)
    assert item.message == "upstream timeout"
    assert responses_event_error(item).error == "upstream timeout"


def test_chat_style_error_body_in_responses_stream() -> None:
    """A body ``{"error": {...}}`` without ``type`` becomes a ResponseErrorEvent."""
    item = decode_responses_event(ev({"error": {"message": "quota", "code": 429}}, event="error"))
    assert isinstance(item, ResponseErrorEvent)
    assert (item.message, item.code) == ("quota", 429)


def test_failed_is_returned_not_raised() -> None:
    """``response.failed`` is an ordinary event for decode."""
    body = {
        "type": "response.failed",
        "response": {"status": "failed", "error": {"code": "x", "message": "y"}},
    }
    item = decode_responses_event(ev(body))
    assert isinstance(item, ResponseFailedEvent)
    assert item.response.error is not None and item.response.error.message == "y"


def test_completed_response_output_text() -> None:
    """A terminal event's Response exposes ``output_text`` over message items."""
    response = {
        "id": "r",
        "status": "completed",
        "output_text": "ignored",
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "a"}, {"type": "refusal", "refusal": "n"}],
            },
            {"type": "new_item_kind", "whatever": {"x": 1}},
            {"type": "message", "content": [{"type": "output_text", "text": "b", "annotations": []}]},
        ],
    }
    item = decode_responses_event(ev({"type": "response.completed", "response": response}))
    assert isinstance(item, ResponseCompletedEvent)
    assert item.response.output_text == "ab"
    unknown = item.response.output[2]
    assert isinstance(unknown, UnknownOutputItem)
    assert unknown.type == "unknown" and unknown.item_type == "new_item_kind"
    assert unknown.raw == {"type": "new_item_kind", "whatever": {"x": 1}}
