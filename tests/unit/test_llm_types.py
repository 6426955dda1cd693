"""LLM wire types: non-streamed bodies decode tolerantly and keep their raw JSON."""

from __future__ import annotations

import msgspec
import pytest

from odirouter_async.types._base import attach_raw
from odirouter_async.types.chat import ChatCompletion
from odirouter_async.types.models import ModelList
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
    assert c.http_request_id == "rid"


def test_chat_completion_minimal_body() -> None:
    """A body with only choices (other fields omitted) still decodes with defaults."""
    c = msgspec.json.decode(b'{"choices": [{"message": {"content": "hi"}}]}', type=ChatCompletion)
    assert c.choices[0].message.content == "hi"
    assert (c.id, c.object, c.usage, c.request_id) == ("", "chat.completion", None, None)


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
