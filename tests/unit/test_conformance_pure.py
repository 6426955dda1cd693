"""The SSE conformance corpus through the pure core: SSEDecoder -> decode -> accumulator.

Every ``*.sse`` file in ``tests/data/conformance/sse`` (provenance: ``PROVENANCE.md`` there) is
fed whole and in 1-byte, 7-byte and random-size pieces, and the results are compared with its
``*.expected.json`` (computed by the openai package's decoder; see the corpus README for the
meaning of each field).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async._exceptions import StreamEventError
from odirouter_async.http.sse import SSEDecoder, SSEEvent
from odirouter_async.llm.chat_state import ChatCompletionAccumulator
from odirouter_async.llm.responses_state import ResponseAccumulator
from odirouter_async.llm.stream_decode import (
    DONE,
    chat_chunk_error,
    decode_chat_chunk,
    decode_responses_event,
    responses_event_error,
)
from odirouter_async.types.response_events import ResponseErrorEvent

CORPUS = Path(__file__).resolve().parents[1] / "data" / "conformance" / "sse"
NAMES = sorted(p.name[: -len(".expected.json")] for p in CORPUS.glob("*.expected.json"))
assert NAMES, f"conformance corpus missing at {CORPUS}"


def load(name: str) -> tuple[bytes, dict[str, Any]]:
    """The body and the expected values of one corpus file."""
    body = (CORPUS / f"{name}.sse").read_bytes()
    expected = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    return body, expected


def frame(body: bytes, sizes: list[int] | None) -> list[SSEEvent]:
    """SSE events of ``body`` fed whole (None) or in pieces of the given sizes (cycled)."""
    dec = SSEDecoder()
    events: list[SSEEvent] = []
    if sizes is None:
        events += dec.feed(body)
    else:
        pos = i = 0
        while pos < len(body):
            n = sizes[i % len(sizes)]
            events += dec.feed(body[pos : pos + n])
            pos += n
            i += 1
    events += dec.end()
    assert not dec.truncated
    return events


def sse_summary(events: list[SSEEvent]) -> dict[str, Any]:
    """The fields the corpus computes from SSE events alone."""
    not_done = [e for e in events if not e.data.startswith(b"[DONE]")]
    non_json = 0
    for e in not_done:
        try:
            msgspec.json.decode(e.data)
        except msgspec.DecodeError:
            non_json += 1
    return {
        "events": len(not_done),
        "non_json_events": non_json,
        "done_marker": len(not_done) != len(events),
    }


def chat_summary(events: list[SSEEvent]) -> dict[str, Any]:
    """Decode and accumulate a chat stream; in-band errors are recorded in order."""
    acc = ChatCompletionAccumulator()
    errors: list[Any] = []
    chunk_errors: list[Any] = []
    for ev in events:
        try:
            item = decode_chat_chunk(ev)
        except StreamEventError as exc:  # ``event: error``
            errors.append(exc.error)
            continue
        if item is None or item is DONE:
            continue
        acc.add(item)  # first: an error chunk may carry the usage
        if item.error:
            chunk_errors.append(chat_chunk_error(item).error)
            errors.append(chunk_errors[-1])
    assert acc.errors == chunk_errors
    completion = acc.final()
    choice0 = next((c for c in completion.choices if c.index == 0), None)
    calls = choice0.message.tool_calls if choice0 is not None else None
    return {
        "event_types": None,
        "errors": errors,
        "text": acc.text(0),
        "refusal": acc.refusal(0),
        "reasoning": acc.reasoning(0),
        "usage": acc.usage_raw,
        "finish_reason": acc.finish_reason(0),
        "choice_count": len(acc.choice_indexes),
        "text_by_choice": [acc.text(i) for i in acc.choice_indexes],
        "tool_calls": [
            {"index": c.index, "id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in calls or []
        ],
    }


def responses_summary(events: list[SSEEvent]) -> dict[str, Any]:
    """Decode and accumulate a Responses stream."""
    acc = ResponseAccumulator()
    types: list[str | None] = []
    for ev in events:
        item = decode_responses_event(ev)
        if item is None or item is DONE:
            continue
        types.append(item.type)
        if isinstance(item, ResponseErrorEvent):  # returned by decode; the stream layer raises
            assert isinstance(responses_event_error(item), StreamEventError)
        acc.add(item)
    final = acc.final()
    return {
        "event_types": types,
        "errors": acc.errors,
        "output_text": acc.output_text,
        "refusal": acc.refusal,
        "reasoning": acc.reasoning,
        "usage": final.raw.get("usage") if final is not None else None,
        "final_status": acc.status,
        "tool_calls": [
            {
                "output_index": c.output_index,
                "type": c.type,
                "call_id": c.call_id,
                "name": c.name,
                "arguments": c.arguments,
            }
            for c in acc.tool_calls
        ],
    }


def summary(kind: str, events: list[SSEEvent]) -> dict[str, Any]:
    """Everything the expected file records, computed by our pipeline."""
    out = sse_summary(events)
    out.update(chat_summary(events) if kind == "chat" else responses_summary(events))
    return out


def test_corpus_present() -> None:
    """The corpus has its 29 recordings."""
    assert len(NAMES) == 29


@pytest.mark.parametrize("name", NAMES)
def test_corpus_bytes_as_recorded(name: str) -> None:
    """The copied recording is byte for byte the one its expected values were computed from."""
    body, expected = load(name)
    assert (hashlib.sha256(body).hexdigest(), len(body)) == (expected["sha256"], expected["bytes"])


CHUNKINGS = {"whole": None, "1-byte": [1], "7-byte": [7], "random": None}


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("name", NAMES)
def test_corpus_file(name: str, chunking: str) -> None:
    """Our pipeline reproduces the expected values of one recording under one chunking."""
    body, expected = load(name)
    sizes = CHUNKINGS[chunking]
    if chunking == "random":
        rng = random.Random(name)
        sizes = [rng.randint(1, 600) for _ in range(64)]
    got = summary(expected["kind"], frame(body, sizes))
    for key, value in got.items():
        assert value == expected[key], f"{name} [{chunking}]: {key}"


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=scaled(15))
@given(cuts=st.lists(st.integers(1, 97), min_size=1, max_size=12))
def test_corpus_chunking_invariance(name: str, cuts: list[int]) -> None:
    """Any chunking of a recording gives exactly the events of feeding it whole."""
    body, _ = load(name)
    assert frame(body, cuts) == frame(body, None)
