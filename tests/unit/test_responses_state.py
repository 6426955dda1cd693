"""ResponseAccumulator: text, reasoning, refusal, tool calls, terminal events, errors."""

from __future__ import annotations

from typing import Any

import msgspec

from odirouter_async.http.sse import SSEEvent
from odirouter_async.llm.responses_state import ResponseAccumulator
from odirouter_async.llm.stream_decode import DONE, decode_responses_event
from odirouter_async.types.response_events import ResponseStreamEvent, UnknownEvent


def e(etype: str, **fields: Any) -> ResponseStreamEvent | UnknownEvent:
    """An event decoded the way the stream decodes it (raw bytes attached)."""
    item = decode_responses_event(SSEEvent(msgspec.json.encode({"type": etype, **fields})))
    assert item is not None and item is not DONE
    return item  # type: ignore[return-value]


def run(*events: ResponseStreamEvent | UnknownEvent) -> ResponseAccumulator:
    """An accumulator fed these events."""
    acc = ResponseAccumulator()
    for ev in events:
        acc.add(ev)
    return acc


def response(status: str, **fields: Any) -> dict[str, Any]:
    """A response object."""
    return {"id": "resp_1", "object": "response", "status": status, "model": "m", "output": [], **fields}


def test_output_text_across_items_in_stream_order() -> None:
    """Text deltas of all items join in stream order."""
    acc = run(
        e("response.created", response=response("in_progress")),
        e("response.output_text.delta", item_id="m1", output_index=0, delta="Hel"),
        e("response.output_text.delta", item_id="m2", output_index=1, delta="lo"),
        e("response.output_text.delta", item_id="m1", output_index=0, delta="!"),
    )
    assert acc.output_text == "Hello!"
    assert acc.refusal is None
    assert acc.reasoning is None
    assert not acc.done
    assert acc.final() is None
    assert acc.snapshot is not None and acc.snapshot.status == "in_progress"


def test_refusal_and_reasoning() -> None:
    """Refusal deltas, and reasoning from both summary and raw reasoning text deltas."""
    acc = run(
        e("response.reasoning_summary_text.delta", item_id="r", delta="sum ", summary_index=0),
        e("response.reasoning_text.delta", item_id="r", delta="raw"),
        e("response.refusal.delta", item_id="m", delta="No"),
        e("response.refusal.delta", item_id="m", delta="pe"),
    )
    assert acc.reasoning == "sum raw"
    assert acc.refusal == "Nope"


def test_function_and_custom_tool_calls() -> None:
    """Tool calls come from output_item.added; arguments from deltas matched by item_id."""
    acc = run(
        e("response.output_item.added", output_index=0, item={"type": "message", "id": "m"}),
        e(
            "response.output_item.added",
            output_index=1,
            item={"type": "function_call", "id": "fc1", "call_id": "call_1", "name": "get", "arguments": ""},
        ),
        e(
            "response.output_item.added",
            output_index=2,
            item={"type": "custom_tool_call", "id": "ct1", "call_id": "call_2", "name": "sql", "input": ""},
        ),
        e("response.function_call_arguments.delta", item_id="fc1", output_index=1, delta='{"a":'),
        e("response.custom_tool_call_input.delta", item_id="ct1", output_index=2, delta="SELECT"),
        e("response.function_call_arguments.delta", item_id="fc1", output_index=1, delta=" 1}"),
        e("response.custom_tool_call_input.delta", item_id="ct1", output_index=2, delta=" 1"),
        e("response.function_call_arguments.done", item_id="fc1", output_index=1, arguments='{"a": 1}'),
    )
    got = [(c.output_index, c.type, c.call_id, c.name, c.arguments) for c in acc.tool_calls]
    assert got == [
        (1, "function_call", "call_1", "get", '{"a": 1}'),
        (2, "custom_tool_call", "call_2", "sql", "SELECT 1"),
    ]


def test_arguments_from_done_when_no_deltas() -> None:
    """A gateway that sends no deltas: the ``*.done`` event or the finished item gives the arguments."""
    acc = run(
        e(
            "response.output_item.added",
            output_index=0,
            item={"type": "function_call", "id": "a", "name": "f"},
        ),
        e("response.function_call_arguments.done", item_id="a", output_index=0, arguments="{}"),
        e(
            "response.output_item.added",
            output_index=1,
            item={"type": "function_call", "id": "b", "name": "g"},
        ),
        e(
            "response.output_item.done",
            output_index=1,
            item={"type": "function_call", "id": "b", "name": "g", "call_id": "c", "arguments": '{"k": 2}'},
        ),
    )
    assert [(c.item_id, c.call_id, c.arguments) for c in acc.tool_calls] == [
        ("a", None, "{}"),
        ("b", "c", '{"k": 2}'),
    ]


def test_delta_for_unannounced_item_is_kept() -> None:
    """Argument deltas for an item never announced still make a call (nothing dropped)."""
    acc = run(e("response.function_call_arguments.delta", item_id="x", output_index=3, delta="{}"))
    [call] = acc.tool_calls
    assert (call.item_id, call.type, call.output_index, call.arguments) == ("x", "function_call", 3, "{}")


def test_completed_gives_final_response_with_exact_raw() -> None:
    """The terminal response is the final one; its ``.raw`` is the object exactly as sent."""
    usage = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7, "provider_extra": {"x": 1}}
    body = response("completed", usage=usage, unknown_top_field=[1, 2])
    acc = run(
        e("response.output_text.delta", item_id="m", delta="hi"),
        e("response.completed", response=body, sequence_number=5),
    )
    final = acc.final(x_request_id="rq")
    assert final is not None
    assert acc.done and acc.status == "completed"
    assert final.raw == body
    assert final.raw["usage"] == usage
    assert final.usage is not None and final.usage.total_tokens == 7
    assert final.x_request_id == "rq"
    assert acc.last_sequence_number == 5
    assert acc.errors == []


def test_incomplete_is_terminal() -> None:
    """``response.incomplete`` is a final state with its details."""
    body = response("incomplete", incomplete_details={"reason": "max_output_tokens"})
    acc = run(e("response.incomplete", response=body))
    final = acc.final()
    assert acc.status == "incomplete"
    assert final is not None and final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"


def test_failed_records_error_and_is_terminal() -> None:
    """``response.failed`` is terminal and its ``response.error`` (as sent) is recorded."""
    err = {"code": "server_error", "message": "The model failed", "extra": True}
    acc = run(e("response.failed", response=response("failed", error=err)))
    assert acc.status == "failed"
    assert acc.errors == [err]
    final = acc.final()
    assert final is not None and final.error is not None and final.error.message == "The model failed"


def test_error_event_recorded() -> None:
    """An ``error`` event's JSON goes to ``errors`` (raising is the stream's decision)."""
    acc = run(e("error", code="rate_limit", message="slow down", param=None, sequence_number=2))
    assert acc.errors == [
        {"type": "error", "code": "rate_limit", "message": "slow down", "param": None, "sequence_number": 2}
    ]
    assert not acc.done


def test_unknown_events_counted() -> None:
    """Unknown events are counted, not lost or misread."""
    acc = run(e("response.future_thing", sequence_number=1), e("response.output_text.delta", delta="a"))
    assert (acc.events, acc.unknown_events) == (2, 1)
    assert acc.output_text == "a"
    assert acc.last_sequence_number == 1


def test_last_sequence_number_is_the_highest() -> None:
    """``last_sequence_number`` tracks the highest number seen (for resuming)."""
    acc = run(
        e("response.output_text.delta", delta="a", sequence_number=4),
        e("response.queued", response=response("q")),
    )
    assert acc.last_sequence_number == 4


def test_megabytes_of_arguments() -> None:
    """5 MB of argument deltas: correct, and the state keeps fragments un-joined."""
    acc = ResponseAccumulator()
    acc.add(
        e(
            "response.output_item.added",
            output_index=0,
            item={"type": "function_call", "id": "fc", "name": "f"},
        )
    )
    piece = e("response.function_call_arguments.delta", item_id="fc", delta="y" * 1000)
    for _ in range(5000):
        acc.add(piece)
    assert len(acc._calls["fc"].parts) == 5000
    [call] = acc.tool_calls
    assert call.arguments == "y" * 5_000_000
