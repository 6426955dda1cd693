"""The chat and Responses stream protocols (``llm/``): bytes in, items and the stream's end out.

Recorded bodies (the conformance corpus in ``tests/data/conformance/sse``, and
bodies written here) are fed the way the shell feeds them: ``feed`` per network read until the
protocol ended, ``eof()`` at the end of the body, ``raise_error()`` after.  Hypothesis cuts them
at arbitrary points: the items, the accumulated state and the outcome must not change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async._exceptions import (
    OdiRouterError,
    ResponseValidationError,
    SSEProtocolError,
    StreamEventError,
    StreamInterrupted,
)
from odirouter_async.llm.chat_protocol import ChatStreamProtocol
from odirouter_async.llm.responses_protocol import ResponsesStreamProtocol
from odirouter_async.llm.stream_protocol import StreamProtocol
from odirouter_async.types.chat import ChatCompletionChunk

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA / "conformance" / "sse"


def chunk_body(index: int = 0, content: str | None = "x", finish: str | None = None, **extra: Any) -> bytes:
    """One chat chunk as an SSE event."""
    body = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + msgspec.json.encode(body) + b"\n\n"


def event_body(type_: str, **fields: Any) -> bytes:
    """One Responses event as an SSE event (a ``response`` object for lifecycle events)."""
    if type_ in ("response.created", "response.completed", "response.incomplete", "response.failed"):
        status = {"response.created": "in_progress", "response.completed": "completed"}.get(type_, "failed")
        fields.setdefault("response", {"id": "r", "object": "response", "status": status, "output": []})
    return b"data: " + msgspec.json.encode({"type": type_, **fields}) + b"\n\n"


CHAT_BODY = (
    b": keep-alive\n\n"
    + chunk_body(content="Hel")
    + chunk_body(content="lo", index=1)
    + chunk_body(content="lo")
    + chunk_body(content=None, finish="stop")
    + chunk_body(content=None, index=1, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 2})
    + b"data: [DONE]\n\n"
)
RESPONSES_BODY = (
    event_body("response.created", sequence_number=0)
    + event_body("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="Hi ")
    + event_body("response.future.thing", sequence_number=2)
    + event_body("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="there")
    + event_body("response.completed", sequence_number=4)
    + b"data: ignored after the end\n\n"
)
BODIES: dict[str, tuple[str, bytes]] = {
    "local_chat": ("chat", CHAT_BODY),
    "local_chat_list_content": ("chat", (DATA / "chat_list_content.sse").read_bytes()),
    "local_responses": ("responses", RESPONSES_BODY),
    "local_chat_error_after_text": ("chat", chunk_body() + chunk_body(error={"message": "boom"})),
    "local_chat_no_done_unfinished": ("chat", chunk_body() + chunk_body(index=1)),
}
for path in sorted(CORPUS.glob("*.sse")):
    BODIES[path.stem] = ("chat" if path.stem.startswith("chat_") else "responses", path.read_bytes())


def pieces(body: bytes, cuts: list[int] | None) -> list[bytes]:
    """``body`` whole (None) or cut into pieces of the given sizes (cycled)."""
    if cuts is None:
        return [body]
    out, pos, i = [], 0, 0
    while pos < len(body):
        out.append(body[pos : pos + cuts[i % len(cuts)]])
        pos += cuts[i % len(cuts)]
        i += 1
    return out


def run(
    kind: str, body: bytes, cuts: list[int] | None
) -> tuple[StreamProtocol[Any], list[Any], Exception | None]:
    """Feed ``body`` as the shell does; the protocol, its items, and the error that ended it."""
    proto: StreamProtocol[Any] = (ChatStreamProtocol if kind == "chat" else ResponsesStreamProtocol)(
        x_request_id="rid", accumulate=True
    )
    items: list[Any] = []
    try:
        reads = iter(pieces(body, cuts))
        while not proto.ended:
            data = next(reads, None)
            items += proto.eof() if data is None else proto.feed(data)
        proto.raise_error()
    except OdiRouterError as exc:
        return proto, items, exc
    return proto, items, None


def outcome(kind: str, body: bytes, cuts: list[int] | None) -> dict[str, Any]:
    """Everything a user could observe: items, end, error, accumulated state."""
    proto, items, error = run(kind, body, cuts)
    acc: Any = proto.accumulator  # type: ignore[attr-defined]
    state = (
        msgspec.json.encode(acc.final())
        if kind == "chat"
        else (acc.output_text, acc.tool_calls, acc.status, acc.errors, acc.unknown_events)
    )
    return {
        "items": [msgspec.json.encode(item) for item in items],
        "done": proto.done,
        "error": None if error is None else (type(error), str(error), getattr(error, "body", None)),
        "state": state,
    }


@pytest.mark.parametrize("name", sorted(BODIES))
@settings(max_examples=scaled(25))
@given(cuts=st.lists(st.integers(1, 300), min_size=1, max_size=16))
def test_any_chunking_gives_identical_items(name: str, cuts: list[int]) -> None:
    """Cutting a recorded body anywhere gives the same items, end, error and accumulated state."""
    kind, body = BODIES[name]
    assert outcome(kind, body, cuts) == outcome(kind, body, None)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_one_byte_reads(name: str) -> None:
    """Feeding a recorded body one byte at a time gives what feeding it whole gives."""
    kind, body = BODIES[name]
    assert outcome(kind, body, [1]) == outcome(kind, body, None)


CORPUS_NAMES = sorted(p.stem for p in CORPUS.glob("*.sse"))
assert CORPUS_NAMES, f"conformance corpus missing at {CORPUS}"


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_through_the_protocol(name: str) -> None:
    """Each recording ends as the reference decoder read it: its text, tool calls, usage or error."""
    kind, body = BODIES[name]
    expected = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    proto, items, error = run(kind, body, None)
    acc: Any = proto.accumulator  # type: ignore[attr-defined]
    if expected["errors"]:  # the first in-band error ends the stream
        assert isinstance(error, StreamEventError) and error.error == expected["errors"][0]
        return
    assert error is None and proto.done
    if kind == "responses":
        assert [item.type if item.type != "unknown" else item.event_type for item in items] == (
            expected["event_types"]
        )
        assert (acc.output_text, acc.refusal, acc.reasoning, acc.status) == (
            expected["output_text"],
            expected["refusal"],
            expected["reasoning"],
            expected["final_status"],
        )
        return
    assert [acc.text(i) for i in acc.choice_indexes] == expected["text_by_choice"]
    assert (acc.refusal(0), acc.reasoning(0), acc.usage_raw, acc.finish_reason(0)) == (
        expected["refusal"],
        expected["reasoning"],
        expected["usage"],
        expected["finish_reason"],
    )
    assert len(items) == sum(1 for ev in body.split(b"\n\n") if b"data:" in ev and b"[DONE]" not in ev)


# -- the end rules, one by one ------------------------------------------------------------------


def test_chat_done_ends_and_ignores_the_rest() -> None:
    """``[DONE]`` ends a chat stream; bytes after it give no items and no error."""
    proto = ChatStreamProtocol()
    assert len(proto.feed(chunk_body() + b"data: [DONE]\n\n")) == 1
    assert proto.done and proto.ended
    assert proto.feed(b"data: {not json}\n\n") == []
    assert proto.eof() == []


def test_chat_eof_after_every_choice_finished_is_a_clean_end() -> None:
    """Without ``[DONE]``, EOF once every choice seen finished is a clean end (Writer)."""
    proto = ChatStreamProtocol()
    proto.feed(chunk_body(0) + chunk_body(1) + chunk_body(0, None, "stop") + chunk_body(1, None, "length"))
    assert proto.eof() == [] and proto.done


@pytest.mark.parametrize("body", [b"", chunk_body(0) + chunk_body(1) + chunk_body(0, None, "stop")])
def test_chat_eof_with_a_choice_open_is_interrupted(body: bytes) -> None:
    """EOF before ``[DONE]`` with a choice unfinished (or none seen) raises StreamInterrupted."""
    proto = ChatStreamProtocol(x_request_id="rid")
    proto.feed(body)
    with pytest.raises(StreamInterrupted, match="before every choice finished") as info:
        proto.eof()
    assert info.value.x_request_id == "rid" and not proto.done


def test_chat_finished_by_is_the_first_finishing_chunk() -> None:
    """``finished_by[i]`` is the chunk that first gave choice i a finish_reason."""
    proto = ChatStreamProtocol()
    items = proto.feed(chunk_body(0) + chunk_body(0, None, "length") + chunk_body(0, None, "stop"))
    assert proto.finished_by == {0: items[1]}


def test_error_after_items_keeps_them_then_raises() -> None:
    """An error chunk after items in the same read: the items come back, the error follows."""
    proto = ChatStreamProtocol(x_request_id="rid", accumulate=True)
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    items = proto.feed(chunk_body(content="partial") + chunk_body(error={"message": "boom"}, usage=usage))
    assert [i.choices[0].delta.content for i in items] == ["partial"]
    assert proto.ended and not proto.done
    with pytest.raises(StreamEventError, match="boom"):
        proto.raise_error()
    with pytest.raises(StreamEventError):
        proto.feed(chunk_body())  # the error stays the outcome
    assert proto.accumulator is not None and proto.accumulator.usage is not None  # the error chunk's usage


def test_error_first_raises_at_once() -> None:
    """An error with no item before it in the read raises from feed itself."""
    proto = ChatStreamProtocol()
    with pytest.raises(StreamEventError, match="overloaded"):
        proto.feed(b"event: error\ndata: overloaded\n\n")
    with pytest.raises(ResponseValidationError):
        ChatStreamProtocol().feed(b"data: {not json}\n\n")


def test_eof_inside_an_event_is_interrupted() -> None:
    """A body cut inside an event raises StreamInterrupted with the cut bytes as body."""
    proto = ResponsesStreamProtocol()
    proto.feed(event_body("response.created")[:-2] + b'data: {"type": "response.output_te')
    with pytest.raises(StreamInterrupted, match="inside an event") as info:
        proto.eof()
    assert "response.output_te" in str(info.value.body)


def test_last_event_without_blank_line_is_kept() -> None:
    """A last event missing only its blank line is decoded (and can end the stream)."""
    proto = ResponsesStreamProtocol()
    proto.feed(event_body("response.created") + event_body("response.completed")[:-2])
    (item,) = proto.eof()
    assert item.type == "response.completed" and proto.done


def test_responses_terminal_is_last_and_done_marker_is_interrupted() -> None:
    """A terminal event is the last item; ``[DONE]`` before one raises StreamInterrupted."""
    proto = ResponsesStreamProtocol()
    items = proto.feed(RESPONSES_BODY)
    assert items[-1].type == "response.completed" and proto.done and proto.ended
    cut = ResponsesStreamProtocol()
    assert len(cut.feed(event_body("response.created") + b"data: [DONE]\n\n")) == 1
    with pytest.raises(StreamInterrupted, match="terminal event"):
        cut.raise_error()


def test_responses_failed_is_a_final_state_and_error_event_raises() -> None:
    """``response.failed`` ends the stream cleanly; an ``error`` event raises StreamEventError."""
    proto = ResponsesStreamProtocol(accumulate=True)
    assert proto.feed(event_body("response.failed"))[-1].type == "response.failed" and proto.done
    err = {"type": "error", "code": "server_error", "message": "down", "sequence_number": 1}
    with pytest.raises(StreamEventError, match="down"):
        ResponsesStreamProtocol().feed(b"data: " + msgspec.json.encode(err) + b"\n\n")


def test_event_size_bound() -> None:
    """An event over ``max_event_bytes`` raw bytes raises SSEProtocolError."""
    with pytest.raises(SSEProtocolError):
        ChatStreamProtocol(max_event_bytes=64).feed(b"data: " + b"x" * 100)


def test_no_accumulation_unless_asked() -> None:
    """``create(stream=True)``'s protocol keeps no accumulator; the helpers' does."""
    assert ChatStreamProtocol().accumulator is None
    assert ResponsesStreamProtocol().accumulator is None
    proto = ChatStreamProtocol(accumulate=True)
    proto.feed(CHAT_BODY)
    assert proto.accumulator is not None and proto.accumulator.text(1) == "lo"
    assert all(isinstance(i, ChatCompletionChunk) for i in ChatStreamProtocol().feed(CHAT_BODY))


sse_bodies = st.lists(
    st.one_of(
        st.sampled_from([CHAT_BODY, RESPONSES_BODY, b"data: [DONE]\n\n", b"event: error\n", b": c\n\n"]),
        st.binary(max_size=80),
        st.builds(lambda b: b"data: " + b + b"\n\n", st.binary(max_size=60)),
    ),
    max_size=8,
).map(b"".join)


@settings(max_examples=scaled(300))
@given(body=sse_bodies, kind=st.sampled_from(["chat", "responses"]), cut=st.integers(1, 50))
def test_any_bytes_give_items_or_a_typed_error(body: bytes, kind: str, cut: int) -> None:
    """Whatever the bytes, a protocol gives items and an end, or a typed error: nothing else escapes."""
    proto, _items, error = run(kind, body, [cut])
    assert proto.ended
    assert error is None or isinstance(error, OdiRouterError)
    assert proto.done == (error is None)
