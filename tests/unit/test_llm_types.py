"""LLM wire types: bodies decode tolerantly and keep their raw JSON; stream events are tagged unions."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_type_hints

import msgspec
import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async.http.sse import SSEEvent
from odirouter_async.llm.stream_decode import decode_responses_event
from odirouter_async.types._base import attach_raw
from odirouter_async.types.chat import ChatCompletion, ChoiceDeltaToolCall
from odirouter_async.types.chat_events import (
    ChatChunkEvent,
    ChatCompletionStreamEvent,
    ChatContentDeltaEvent,
    ChatFinishEvent,
    ChatReasoningDeltaEvent,
    ChatRefusalDeltaEvent,
    ChatToolCallDeltaEvent,
)
from odirouter_async.types.models import ModelList
from odirouter_async.types.response_events import (
    KNOWN_EVENT_TYPES,
    ResponseStreamEvent,
    ResponseStreamEventBase,
    UnknownEvent,
)
from odirouter_async.types.responses import Response

COMPLETION = b"""{
  "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4.1",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
    "message": {"role": "assistant", "content": null, "reasoning_content": "think",
      "tool_calls": [{"id": "call_1", "type": "function",
                      "function": {"name": "get", "arguments": "{\\"a\\": 1}"}},
                     {"id": "call_2", "type": "function", "function": {"name": "noargs", "arguments": null}}],
      "provider_specific": {"x": 1}}}],
  "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11,
            "completion_tokens_details": {"reasoning_tokens": 3}, "cost": 0.01, "new_counter": 9},
  "system_fingerprint": null
}"""


def test_chat_completion_decodes_with_extras_and_raw() -> None:
    """A completion with tool calls, reasoning and unknown fields decodes; raw keeps everything."""
    c = attach_raw(msgspec.json.decode(COMPLETION, type=ChatCompletion), COMPLETION, "rid")
    msg = c.choices[0].message
    assert msg.content is None
    assert msg.reasoning_content == "think"
    assert msg.tool_calls is not None
    assert [(t.id, t.function.name, t.function.arguments) for t in msg.tool_calls] == [
        ("call_1", "get", '{"a": 1}'),
        ("call_2", "noargs", None),
    ]
    assert c.usage is not None and (c.usage.total_tokens, c.usage.cost) == (11, 0.01)
    assert c.raw["usage"]["new_counter"] == 9
    assert c.raw["choices"][0]["message"]["provider_specific"] == {"x": 1}
    assert c.x_request_id == "rid"


def test_chat_completion_minimal_body() -> None:
    """A body with only choices (other fields omitted) still decodes with defaults."""
    c = msgspec.json.decode(b'{"choices": [{"message": {"content": "hi"}}]}', type=ChatCompletion)
    assert c.choices[0].message.content == "hi"
    assert (c.id, c.object, c.usage, c.x_request_id) == ("", "chat.completion", None, None)


def test_chat_completion_wrong_type_is_rejected() -> None:
    """A value of the wrong JSON type is a validation error, not silently kept."""
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"created": "yesterday"}', type=ChatCompletion)


def test_model_list() -> None:
    """``/v1/models`` decodes; the list iterates and has a length."""
    body = (
        b'{"object": "list", "data": [{"id": "a", "owned_by": "x"}, {"id": "b", "created": 1, "extra": 2}]}'
    )
    models = msgspec.json.decode(body, type=ModelList)
    assert [m.id for m in models] == ["a", "b"]
    assert len(models) == 2
    assert models.data[1].created == 1


def test_model_requires_id() -> None:
    """A model entry without ``id`` is rejected."""
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"data": [{"owned_by": "x"}]}', type=ModelList)


def test_response_output_text_and_loose_items() -> None:
    """``Response.output_text`` joins output_text parts; unknown item types decode."""
    body = b"""{"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
      "output": [
        {"type": "message", "id": "m1", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hello ", "annotations": []}]},
        {"type": "image_generation_call", "id": "ig", "result": "aGk=", "status": "completed"},
        {"type": "message", "id": "m2", "content": [{"type": "output_text", "text": "world"}]}
      ],
      "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
      "error": null, "incomplete_details": null}"""
    r = msgspec.json.decode(body, type=Response)
    assert r.output_text == "Hello world"
    assert r.output[1].type == "image_generation_call"
    assert r.output[1].result == "aGk="
    assert r.usage is not None and r.usage.total_tokens == 3


# -- stream events: tagged unions whose ``type`` is a Literal per class ----------------------------

EVENT_CLASSES: list[type[ResponseStreamEventBase]] = list(ResponseStreamEvent.__args__)  # type: ignore[attr-defined]
#: A value for every required field of an event class, by field name.
REQUIRED = {
    "response": {"id": "r", "status": "completed", "model": "m", "output": []},
    "item": {"type": "message", "id": "i"},
    "part": {"type": "output_text", "text": "t"},
    "delta": "d",
}


def _minimal(cls: type[ResponseStreamEventBase]) -> dict[str, Any]:
    """The smallest JSON object of an event class: its type and its required fields."""
    body: dict[str, Any] = {"type": cls.__struct_config__.tag, "sequence_number": 3}
    for f in msgspec.structs.fields(cls):
        if f.required:
            body[f.name] = {} if f.type == dict[str, Any] else REQUIRED[f.name]
    return body


def test_response_event_type_is_a_literal_classvar_equal_to_the_tag() -> None:
    """Every Responses event class declares ``type: ClassVar[Literal[<its tag>]]`` (what narrows)."""
    assert len(EVENT_CLASSES) == len(KNOWN_EVENT_TYPES) == 59
    for cls in EVENT_CLASSES:
        tag = cls.__struct_config__.tag
        assert cls.__dict__["type"] == tag, cls
        assert get_type_hints(cls)["type"] == ClassVar[Literal[tag]], cls
        assert "type" not in msgspec.structs.fields(cls)  # a ClassVar, not a field to construct


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_event_type_decodes_to_its_class_and_back(cls: type[ResponseStreamEventBase]) -> None:
    """Each documented type decodes (one pass) to its own class; ``.type`` and the encoding agree."""
    body = _minimal(cls)
    data = msgspec.json.encode(body)
    event = decode_responses_event(SSEEvent(data))
    assert type(event) is cls
    assert isinstance(event, ResponseStreamEventBase)
    assert event.type == body["type"] and event.sequence_number == 3
    assert event.raw == body and event.raw_bytes == data
    assert msgspec.json.decode(msgspec.json.encode(event))["type"] == body["type"]


@settings(max_examples=scaled(200))
@given(st.text(min_size=1, max_size=40).filter(lambda t: t not in KNOWN_EVENT_TYPES))
def test_unknown_types_are_never_misclassified(etype: str) -> None:
    """Any type outside the union is an UnknownEvent (``type == "unknown"``), its own type kept."""
    body = {"type": etype, "delta": "x", "response": {"id": "r"}, "sequence_number": 1}
    event = decode_responses_event(SSEEvent(msgspec.json.encode(body)))
    assert isinstance(event, UnknownEvent)
    assert event.type == "unknown" and event.event_type == etype
    assert event.raw == body and event.sequence_number == 1


def test_unknown_event_type_is_distinct_from_every_documented_type() -> None:
    """``UnknownEvent.type`` can never equal a documented type, so narrowing on one excludes it."""
    assert UnknownEvent.type not in KNOWN_EVENT_TYPES
    assert UnknownEvent(event_type="x", raw={}).type == "unknown"


def test_chat_stream_events_are_a_tagged_union() -> None:
    """Chat helper events encode with their ``type`` and decode back through the union."""
    fragment = msgspec.convert({"index": 0, "function": {"arguments": "{"}}, ChoiceDeltaToolCall)
    events = [
        ChatContentDeltaEvent(0, "Hel"),
        ChatRefusalDeltaEvent(1, "no"),
        ChatReasoningDeltaEvent(0, "hmm"),
        ChatToolCallDeltaEvent(0, fragment),
        ChatFinishEvent(0, "stop"),
    ]
    decoder = msgspec.json.Decoder(ChatCompletionStreamEvent)
    for event in events:
        data = msgspec.json.encode(event)
        assert msgspec.json.decode(data)["type"] == event.type == type(event).__struct_config__.tag
        assert decoder.decode(data) == event
    assert ChatChunkEvent.type == "chunk"
    assert events[3].arguments_delta == "{"  # type: ignore[attr-defined]
