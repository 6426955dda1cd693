"""The pure resume rules: dedupe by sequence_number, the budget of reconnections, the query."""

from __future__ import annotations

from typing import Any

from odirouter_async.http.retry import RetryPolicy
from odirouter_async.llm.responses_state import ResponseAccumulator
from odirouter_async.llm.stream_resume import ResumableResponsesProtocol, ResumeCursor
from odirouter_async.types.response_events import UnknownEvent

POLICY = RetryPolicy(max_retries=2, initial_delay=1.0, max_delay=4.0, jitter=lambda v: v)


def _event(seq: int | None) -> UnknownEvent:
    return UnknownEvent(event_type="x.y", raw={}, sequence_number=seq)


def _sse(seq: int, kind: str = "response.output_text.delta", **payload: Any) -> bytes:
    import json

    body = {"type": kind, "sequence_number": seq, **payload}
    return f"event: {kind}\ndata: {json.dumps(body)}\n\n".encode()


def test_duplicates_and_older_events_are_dropped() -> None:
    """An event at or below the last sequence number handed out is a duplicate."""
    cursor = ResumeCursor(POLICY, response_id="resp_1")
    assert [cursor.accept(_event(s)) for s in (0, 1, 1, 0, 2, 5, 3)] == [
        True,
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    assert cursor.last_sequence == 5


def test_events_without_sequence_number_pass() -> None:
    """Without a sequence number there is nothing to compare: the event is handed out."""
    cursor = ResumeCursor(POLICY, response_id="r", starting_after=3)
    assert cursor.accept(_event(None))
    assert cursor.last_sequence == 3


def test_not_resumable_without_id_or_sequence() -> None:
    """No response id, or no sequence number yet: after_cut says no."""
    assert ResumeCursor(POLICY).after_cut() is None
    cursor = ResumeCursor(POLICY, response_id="resp_1")
    assert cursor.after_cut() is None
    cursor.accept(_event(0))
    assert cursor.after_cut() == 1.0


def test_budget_counts_reconnections_in_a_row_and_progress_restores_it() -> None:
    """Delays follow the policy's backoff; max_retries failures in a row spend it; a new event restores it."""
    cursor = ResumeCursor(POLICY, response_id="r", starting_after=4)
    assert [cursor.after_cut(), cursor.after_cut(), cursor.after_cut()] == [1.0, 2.0, None]
    assert cursor.accept(_event(5))
    assert cursor.failures == 0 and cursor.after_cut() == 1.0
    assert cursor.resumes == 3


def test_resume_query_names_the_last_event() -> None:
    """The reconnection asks for the events after the last one handed out."""
    cursor = ResumeCursor(POLICY, response_id="r", starting_after=7)
    assert cursor.resume_query() == {"stream": "true", "starting_after": "7"}


def test_protocol_takes_the_id_from_response_created_and_feeds_one_accumulator() -> None:
    """Two bodies share the cursor and the accumulator: overlapping events count once."""
    cursor = ResumeCursor(POLICY)
    acc = ResponseAccumulator()
    created = _sse(
        0,
        "response.created",
        response={"id": "resp_9", "object": "response", "status": "in_progress", "output": []},
    )
    first = ResumableResponsesProtocol(cursor, acc)
    items = first.feed(created + _sse(1, item_id="m", output_index=0, content_index=0, delta="a"))
    assert [i.sequence_number for i in items] == [0, 1] and cursor.response_id == "resp_9"
    second = ResumableResponsesProtocol(cursor, acc)
    replay = _sse(1, item_id="m", output_index=0, content_index=0, delta="a")
    items = second.feed(replay + _sse(2, item_id="m", output_index=0, content_index=0, delta="b"))
    assert [i.sequence_number for i in items] == [2]
    assert acc.output_text == "ab"
