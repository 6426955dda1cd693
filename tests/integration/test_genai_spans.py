"""LLM spans with the OpenTelemetry GenAI semantic conventions (chat and Responses, whole and streamed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.http import genai
from odirouter_async.testing import Emulator

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk not installed")
export = pytest.importorskip("opentelemetry.sdk.trace.export")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
otel_trace = pytest.importorskip("opentelemetry.trace")

pytestmark = pytest.mark.anyio

_EXPORTER: Any = None
MESSAGES = [{"role": "user", "content": "my secret prompt"}]


def _exporter() -> Any:
    """One in-memory exporter on the process-wide tracer provider (OTel allows setting it once)."""
    global _EXPORTER
    if _EXPORTER is None:
        provider = otel_trace.get_tracer_provider()
        if not isinstance(provider, sdk_trace.TracerProvider):
            provider = sdk_trace.TracerProvider()
            otel_trace.set_tracer_provider(provider)
        _EXPORTER = in_memory.InMemorySpanExporter()
        provider.add_span_processor(export.SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The finished spans of this test; content capture off unless the test opts in."""
    monkeypatch.delenv(genai.CAPTURE_ENV, raising=False)
    exporter = _exporter()
    exporter.clear()
    yield exporter
    exporter.clear()


def _llm_span(exporter: Any) -> Any:
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    return span


def _no_content(attrs: dict[str, Any]) -> None:
    assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    assert not any("my secret prompt" in str(v) for v in attrs.values())


async def test_chat_call_span(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """A chat call is a "chat {model}" span with request/response model, id, finish reasons and usage."""
    completion = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, temperature=0.5)
    span = _llm_span(spans)
    attrs = dict(span.attributes)
    assert span.name == "chat gpt-4.1" and span.kind == otel_trace.SpanKind.CLIENT
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == attrs["gen_ai.system"] == "odirouter"
    assert attrs["gen_ai.request.model"] == "gpt-4.1" and attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.response.model"] == completion.model
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert completion.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    _no_content(attrs)
    (http,) = [s for s in spans.get_finished_spans() if s.name == "POST /v1/chat/completions"]
    assert http.parent is not None and http.parent.span_id == span.context.span_id


async def test_chat_stream_span_has_usage_and_first_token(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """A streamed chat call's span ends with the stream: usage from the final chunk, time to first token."""
    stream = await client.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    usage = None
    async with stream:
        async for chunk in stream:
            usage = chunk.usage or usage
    assert usage is not None
    span = _llm_span(spans)
    attrs = dict(span.attributes)
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["odirouter.time_to_first_token"] >= 0
    assert [e.name for e in span.events] == ["gen_ai.first_token"]
    _no_content(attrs)


async def test_responses_create_and_stream_spans(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """Responses calls, whole and streamed, carry the response id, status and token usage."""
    response = await client.responses.create(model="gpt-4.1", input="my secret prompt")
    attrs = dict(_llm_span(spans).attributes)
    assert attrs["gen_ai.response.id"] == response.id
    assert response.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ("completed",)
    _no_content(attrs)
    spans.clear()
    async with client.responses.stream(model="gpt-4.1", input="my secret prompt") as s:
        final = await s.get_final_response()
    attrs = dict(_llm_span(spans).attributes)
    assert attrs["gen_ai.response.id"] == final.id
    assert final.usage is not None and attrs["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert "odirouter.time_to_first_token" in attrs
    _no_content(attrs)


async def test_content_only_when_opted_in(
    client: odr.AsyncOdiRouter, spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, prompt and completion are recorded."""
    monkeypatch.setenv(genai.CAPTURE_ENV, "true")
    stream = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
    text = ""
    async with stream:
        async for chunk in stream:
            text += "".join(c.delta.content or "" for c in chunk.choices)
    attrs = dict(_llm_span(spans).attributes)
    assert "my secret prompt" in attrs["gen_ai.input.messages"]
    (message,) = json.loads(attrs["gen_ai.output.messages"])
    assert text and message["parts"][0]["content"] == text


async def test_failed_call_and_cut_stream_mark_the_span(
    client: odr.AsyncOdiRouter, emu: Emulator, spans: Any
) -> None:
    """A refused call and a stream cut mid-way end the LLM span as errors."""
    emu.faults.add("chat", status=400)
    with pytest.raises(odr.BadRequestError):
        await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    span = _llm_span(spans)
    assert span.status.status_code == otel_trace.StatusCode.ERROR
    spans.clear()
    emu.faults.add("chat", truncate_after=2, drop=True)
    stream = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
    with pytest.raises(odr.StreamInterrupted):
        async with stream:
            async for _ in stream:
                pass
    span = _llm_span(spans)
    assert span.status.status_code == otel_trace.StatusCode.ERROR
    assert span.attributes["error.type"] == "StreamInterrupted"


async def test_stream_closed_early_ends_its_span(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """Leaving a stream after its first chunk still ends the span (not an error)."""
    stream = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
    async with stream:
        async for _ in stream:
            break
    span = _llm_span(spans)
    assert span.status.status_code != otel_trace.StatusCode.ERROR


async def test_other_calls_get_no_llm_span(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """models.list and queue calls stay plain HTTP spans."""
    await client.models.list()
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("chat")]


async def test_stream_answered_without_sse_ends_its_span(
    client: odr.AsyncOdiRouter, emu: Emulator, spans: Any
) -> None:
    """A stream request answered with a JSON body (not SSE) raises and ends the LLM span as an error."""
    emu.faults.add("chat", content_type="text/plain", body="nope")
    with pytest.raises(odr.SSEProtocolError):
        await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
    assert _llm_span(spans).status.status_code == otel_trace.StatusCode.ERROR


async def test_structured_request_span_names_output_type_and_sampling(
    client: odr.AsyncOdiRouter, spans: Any
) -> None:
    """A parse() call's span has gen_ai.output.type "json"; seed, penalties, stop and n are recorded."""

    class City(msgspec.Struct):
        city: str

    await client.chat.completions.parse(
        model="gpt-4.1", messages=MESSAGES, response_format=City, seed=7, n=2, stop="END",
        frequency_penalty=0.5, presence_penalty=0.25,
    )  # fmt: skip
    attrs = dict(_llm_span(spans).attributes)
    assert attrs["gen_ai.output.type"] == "json" and attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.choice.count"] == 2 and attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert (
        attrs["gen_ai.request.frequency_penalty"] == 0.5 and attrs["gen_ai.request.presence_penalty"] == 0.25
    )
    spans.clear()
    await client.responses.parse(model="gpt-4.1", input="x", text_format=City)
    assert dict(_llm_span(spans).attributes)["gen_ai.output.type"] == "json"
    spans.clear()
    await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    assert "gen_ai.output.type" not in dict(_llm_span(spans).attributes)


async def test_captured_input_messages_use_the_conventions_shape(
    client: odr.AsyncOdiRouter, spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opted-in gen_ai.input.messages are {"role", "parts"} messages (text, tool_call, tool_call_response)."""
    monkeypatch.setenv(genai.CAPTURE_ENV, "true")
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}'},
    }
    messages = [
        {"role": "user", "content": "weather in Lisbon?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "21C"},
    ]
    await client.chat.completions.create(model="gpt-4.1", messages=messages)
    got = json.loads(dict(_llm_span(spans).attributes)["gen_ai.input.messages"])
    assert got == [
        {"role": "user", "parts": [{"type": "text", "content": "weather in Lisbon?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": '{"city":"Lisbon"}'}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "21C"}]},
    ]
    spans.clear()
    await client.responses.create(model="gpt-4.1", input="hello there")
    got = json.loads(dict(_llm_span(spans).attributes)["gen_ai.input.messages"])
    assert got == [{"role": "user", "parts": [{"type": "text", "content": "hello there"}]}]


async def test_finish_reasons_one_per_choice(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """With n=2, gen_ai.response.finish_reasons has one reason per generation, whole and streamed."""
    await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, n=2)
    assert dict(_llm_span(spans).attributes)["gen_ai.response.finish_reasons"] == ("stop", "stop")
    spans.clear()
    stream = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, n=2, stream=True)
    async with stream:
        [chunk async for chunk in stream]
    assert dict(_llm_span(spans).attributes)["gen_ai.response.finish_reasons"] == ("stop", "stop")
