"""The queue job state machine: status words, error shapes, /response answers, cancel outcomes."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, strategies as st

from odirouter_async._exceptions import (
    APIStatusError,
    InternalServerError,
    JobCancelled,
    JobFailed,
    OdiRouterError,
    ResponseValidationError,
)
from odirouter_async.queue.job_state import (
    TERMINAL_STATES,
    Cancelled,
    CancelOutcome,
    Failed,
    GiveUp,
    JobState,
    JobStateMachine,
    Pending,
    Phase,
    ResponseGuard,
    Retry,
    Succeeded,
    Unknown,
    Unusable,
    classify_cancel,
    classify_status,
    decide_response,
    decide_status,
)
from odirouter_async.types.queue import QUEUE_STATUS_DECODER, QUEUE_SUBMIT_DECODER, QueueStatus


def status(**fields: object) -> QueueStatus:
    """A status body decoded the way the shell decodes one."""
    return QUEUE_STATUS_DECODER.decode(msgspec.json.encode(fields))


@pytest.mark.parametrize(
    ("fields", "kind", "detail"),
    [
        ({"status": "IN_QUEUE", "queue_position": 0}, Pending, Phase.QUEUED),
        ({"status": "IN_PROGRESS"}, Pending, Phase.RUNNING),
        ({"status": "in-progress"}, Pending, Phase.RUNNING),
        ({"status": " queued "}, Pending, Phase.QUEUED),
        ({"status": "IN_PROGRESS", "error": "transient"}, Pending, Phase.RUNNING),
        ({"status": "COMPLETED", "metrics": {"inference_time": 12.34}}, Succeeded, None),
        ({"status": "COMPLETED", "error": ""}, Succeeded, None),
        ({"status": "COMPLETED", "error": {}}, Succeeded, None),
        ({"status": "succeeded"}, Succeeded, None),
        ({"status": "OK"}, Succeeded, None),
        (
            {"status": "COMPLETED", "error": "Task execution failed", "error_type": "INFERENCE_FAILURE"},
            Failed,
            None,
        ),
        ({"status": "COMPLETED", "error": {"message": "boom", "code": 7}}, Failed, None),
        ({"status": "SUCCEEDED", "error": "late failure"}, Failed, None),
        ({"status": "FAILED"}, Failed, None),
        ({"status": "error", "error": "x"}, Failed, None),
        ({"status": "COMPLETED", "error": "Task was canceled", "error_type": "CANCELED"}, Cancelled, None),
        ({"status": "COMPLETED", "error": "x", "error_type": "cancelled"}, Cancelled, None),
        ({"status": "FAILED", "error_type": "CANCELED"}, Cancelled, None),
        ({"status": "CANCELLED"}, Cancelled, None),
        ({"status": "canceled"}, Cancelled, None),
        ({"status": "aborted"}, Cancelled, None),
        ({"status": "WEIRD_NEW_STATE"}, Unknown, None),
        ({"status": ""}, Unknown, None),
    ],
)
def test_classify_status_table(fields: dict[str, object], kind: type, detail: Phase | None) -> None:
    """Each status body maps to the documented decision, whatever the case or spelling."""
    decision = classify_status(status(**fields))
    assert isinstance(decision, kind)
    if detail is not None:
        assert isinstance(decision, Pending)
        assert decision.phase is detail


def test_failed_keeps_error_object_and_type() -> None:
    """An error object is kept as sent, and the exception carries it with the status body."""
    body = status(
        status="COMPLETED", error={"message": "boom"}, error_type="CONTENT_BLOCKED", request_id="r1"
    )
    decision = classify_status(body)
    assert isinstance(decision, Failed)
    assert decision.error == {"message": "boom"}
    exc = decision.exception(request_id="r1", endpoint="flux")
    assert isinstance(exc, JobFailed)
    assert (exc.request_id, exc.endpoint, exc.error_type) == ("r1", "flux", "CONTENT_BLOCKED")
    assert "boom" in str(exc)
    assert exc.status == {
        "status": "COMPLETED",
        "error": {"message": "boom"},
        "error_type": "CONTENT_BLOCKED",
        "request_id": "r1",
    }


def test_cancelled_exception() -> None:
    """A cancelled job becomes JobCancelled with the gateway's words."""
    decision = classify_status(status(status="COMPLETED", error="Task was canceled", error_type="CANCELED"))
    assert isinstance(decision, Cancelled)
    exc = decision.exception(request_id="r2", endpoint="e")
    assert isinstance(exc, JobCancelled)
    assert "Task was canceled" in str(exc)


def test_succeeded_inference_time() -> None:
    """metrics.inference_time is exposed on the decision."""
    decision = classify_status(status(status="COMPLETED", metrics={"inference_time": 1.5}))
    assert isinstance(decision, Succeeded)
    assert decision.inference_time == 1.5
    assert decision.result is None


def test_status_body_tolerates_unknown_fields_and_float_position() -> None:
    """Extra fields are ignored and numbers may be ints or floats."""
    body = status(status="IN_QUEUE", queue_position=0.0, new_field=[1, 2], logs=[{"message": "hi"}])
    assert body.queue_position == 0.0
    assert body.logs == [{"message": "hi"}]


def test_submit_response_optional_urls() -> None:
    """Only request_id is required in a submit answer."""
    sub = QUEUE_SUBMIT_DECODER.decode(b'{"request_id": "mmsu_1", "queue_position": 0}')
    assert sub.request_id == "mmsu_1"
    assert sub.response_url is None


RESULT = (
    b'{"request_id": "mmsu_1", "outputs": [{"type": "image", "url": "https://cdn/x.png", '
    b'"content_type": "image/png", "width": 1024, "height": 1024, "file_size": 2048.0}], '
    b'"metadata": {"prompt": "cat"}, "extra": 1}'
)


def test_response_200_is_the_result() -> None:
    """A 200 /response body is the result: outputs, metadata and raw."""
    decision = decide_response(200, RESULT, http_request_id="req-1")
    assert isinstance(decision, Succeeded)
    result = decision.result
    assert result is not None
    assert result.outputs[0].url == "https://cdn/x.png"
    assert result.outputs[0].width == 1024
    assert result.metadata == {"prompt": "cat"}
    assert result.raw["extra"] == 1
    assert result.x_request_id == "req-1"


def test_response_202_pending() -> None:
    """A 202 carries a status body: pending."""
    decision = decide_response(202, b'{"status": "IN_PROGRESS", "request_id": "mmsu_1"}')
    assert isinstance(decision, Pending)
    assert decision.phase is Phase.RUNNING
    assert decision.body is not None
    assert decision.body.request_id == "mmsu_1"


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"status": 5}', b'{"detail": "x"}'])
def test_response_202_unreadable_asks_the_status_url(raw: bytes) -> None:
    """A 202 without a readable status is Unusable (the shell asks the status URL), never a crash."""
    decision = decide_response(202, raw, http_request_id="req-9")
    assert isinstance(decision, Unusable)
    assert isinstance(decision.error, ResponseValidationError)
    assert decision.error.status_code == 202 and decision.error.x_request_id == "req-9"


def test_response_200_status_with_error_is_failure() -> None:
    """A 200 that is a status body with an error is a failure, not a result."""
    raw = b'{"status": "COMPLETED", "error": "bad", "error_type": "REQUEST_INVALID"}'
    decision = decide_response(200, raw)
    assert isinstance(decision, Failed)
    assert decision.error_type == "REQUEST_INVALID"


def test_response_400_failed_job_body() -> None:
    """The emulator answers 400 with the status body for a failed job: that is the decision."""
    raw = (
        b'{"status": "COMPLETED", "request_id": "r", "error": "Task was canceled", "error_type": "CANCELED"}'
    )
    assert isinstance(decide_response(400, raw), Cancelled)


@pytest.mark.parametrize(
    ("code", "raw"), [(400, b'{"detail": "bad"}'), (500, b"oops"), (404, b'{"status": "IN_QUEUE"}')]
)
def test_response_error_without_job_decision(code: int, raw: bytes) -> None:
    """Error answers that do not describe a finished job are Unusable, carrying the typed HTTP error."""
    decision = decide_response(code, raw)
    assert isinstance(decision, Unusable)
    assert isinstance(decision.error, APIStatusError) and decision.error.status_code == code


@pytest.mark.parametrize(
    "raw", [b"<html>oops</html>", b"[" * 5000 + b"]" * 5000, b'{"a": ' * 3000 + b"1" + b"}" * 3000]
)
def test_response_200_not_an_object_or_too_deep_is_typed(raw: bytes) -> None:
    """A 200 that is HTML or JSON nested too deep is Unusable with ResponseValidationError and the body."""
    decision = decide_response(200, raw)
    assert isinstance(decision, Unusable)
    assert isinstance(decision.error, ResponseValidationError)
    assert isinstance(decision.error.body, str) and decision.error.body[:5] == raw[:5].decode()


def test_error_body_too_deep_is_kept_as_text() -> None:
    """A 500 whose JSON body is nested too deep is still a typed 500, its body kept as text."""
    raw = b'{"detail": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    decision = decide_response(500, raw)
    assert isinstance(decision, Unusable) and isinstance(decision.error, InternalServerError)
    assert isinstance(decision.error.body, str) and decision.error.body.startswith('{"detail": [[[')


LOOSE_RESULT = (
    b'{"request_id": 7, "outputs": [{"url": "https://cdn/a.png", "width": "1024", "file_size": "10", '
    b'"height": 1e400, "extra": {"k": 1}}, {"url": "https://cdn/b.png", "width": 512}, "https://cdn/c.png"], '
    b'"metadata": {"seed": 1e400}}'
)


def test_result_with_odd_field_types_keeps_every_output() -> None:
    """Strings for numbers, 1e400, a bare URL: every output stays, typed fields best effort, raw kept."""
    decision = decide_response(200, LOOSE_RESULT)
    assert isinstance(decision, Succeeded) and decision.result is not None
    result = decision.result
    assert [o.url for o in result.outputs] == ["https://cdn/a.png", "https://cdn/b.png", "https://cdn/c.png"]
    first = result.outputs[0]
    assert first.width == 1024 and first.file_size == 10 and first.height is None
    assert first.raw["extra"] == {"k": 1} and first.raw["height"] == Decimal("1e400")
    assert result.outputs[1].width == 512
    assert result.request_id == "7"
    assert result.raw["metadata"]["seed"] == Decimal("1e400")
    assert result.raw_bytes == LOOSE_RESULT


def test_status_with_odd_field_types_is_classified() -> None:
    """A status with numbers as strings, null metrics and extra keys still decides."""
    raw = b'{"status": "IN_QUEUE", "queue_position": "3", "metrics": null, "x": [1]}'
    decision = decide_status(200, raw)
    assert isinstance(decision, Pending) and decision.body is not None
    assert decision.body.queue_position == 3 and decision.body.raw["x"] == [1]
    done = decide_status(
        200, b'{"status": "COMPLETED", "metrics": {"inference_time": "1.5"}, "error_type": 5}'
    )
    assert isinstance(done, Succeeded) and done.inference_time == 1.5


@pytest.mark.parametrize(
    "raw",
    [
        b'{"request_id": "r", "outputs": "weird"}',
        b'{"status": "COMPLETED", "images": [{"url": "u"}]}',
        b'{"outputs": null}',
    ],
)
def test_response_200_unexpected_envelope_keeps_raw(raw: bytes) -> None:
    """A result that is not the documented envelope is still a result, with everything in .raw."""
    decision = decide_response(200, raw)
    assert isinstance(decision, Succeeded)
    assert decision.result is not None
    assert decision.result.outputs == []
    assert decision.result.raw == msgspec.json.decode(raw)


@pytest.mark.parametrize(
    ("code", "raw", "outcome"),
    [
        (202, b'{"status": "CANCELLATION_REQUESTED"}', CancelOutcome.REQUESTED),
        (200, None, CancelOutcome.REQUESTED),
        (200, b'{"status": "OK"}', CancelOutcome.REQUESTED),
        (400, b'{"status": "ALREADY_COMPLETED"}', CancelOutcome.ALREADY_COMPLETED),
        (200, b'{"status": "already_completed"}', CancelOutcome.ALREADY_COMPLETED),
        (404, b'{"status": "NOT_FOUND"}', CancelOutcome.NOT_FOUND),
        (404, b'{"detail": "Request not found"}', CancelOutcome.NOT_FOUND),
        (410, b"", CancelOutcome.NOT_FOUND),
        (400, b'{"detail": "cancel not supported"}', CancelOutcome.REJECTED),
        (405, b"garbage", CancelOutcome.REJECTED),
        (502, None, CancelOutcome.REJECTED),
    ],
)
def test_classify_cancel(code: int, raw: bytes | None, outcome: CancelOutcome) -> None:
    """Cancel answers map to CancelOutcome: the body's word first, then the HTTP status."""
    assert classify_cancel(code, raw) is outcome


def test_machine_follows_then_absorbs() -> None:
    """Pending states follow the gateway (even back to queued); a terminal state absorbs."""
    machine = JobStateMachine()
    assert machine.state is JobState.SUBMITTED
    assert machine.feed(Pending(Phase.RUNNING)) is JobState.RUNNING
    assert machine.feed(Pending(Phase.QUEUED)) is JobState.QUEUED
    assert machine.feed(Unknown("X")) is JobState.UNKNOWN
    failed = Failed("boom", "INFERENCE_FAILURE")
    assert machine.feed(failed) is JobState.FAILED
    assert machine.feed(Succeeded()) is JobState.FAILED
    assert machine.terminal
    assert machine.decision is failed


def test_first_unknown_once() -> None:
    """An unknown status is reported for logging only the first time."""
    machine = JobStateMachine()
    assert machine.first_unknown("WEIRD")
    assert not machine.first_unknown("WEIRD")
    assert machine.first_unknown("OTHER")


WORDS = st.sampled_from(
    ["IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "ERROR", "CANCELED", "cancelled", "ok", "running", "?"]
)
ERRORS = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ERROR_TYPES = st.one_of(st.none(), st.sampled_from(["CANCELED", "INFERENCE_FAILURE", "canceled"]))
BODIES = st.builds(
    lambda word, error, error_type: status(status=word, error=error, error_type=error_type),
    st.one_of(WORDS, st.text(max_size=12)),
    ERRORS,
    ERROR_TYPES,
)


@given(st.lists(BODIES, min_size=1, max_size=12))
def test_terminal_states_absorb(bodies: list[QueueStatus]) -> None:
    """Whatever follows a terminal decision, the machine stays in that terminal state."""
    machine = JobStateMachine()
    terminal: JobState | None = None
    for body in bodies:
        decision = classify_status(body)
        state = machine.feed(decision)
        if terminal is not None:
            assert state is terminal
        elif state in TERMINAL_STATES:
            terminal = state
            assert decision.terminal
        else:
            assert not decision.terminal


JSONISH = st.one_of(
    st.binary(max_size=64),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["status", "outputs", "error", "x"]), inner, max_size=3),
        ),
        max_leaves=12,
    ).map(msgspec.json.encode),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
)
CODES = st.one_of(st.sampled_from([200, 202, 400, 404, 409, 410, 422, 499, 500, 502]), st.integers(100, 599))


@given(JSONISH, CODES)
def test_decide_response_never_crashes_untyped(raw: bytes, code: int) -> None:
    """Any bytes and status give a Decision or Unusable with a typed error: never an exception."""
    for decide in (decide_response, decide_status):
        decision = decide(code, raw)
        assert isinstance(decision, (Pending, Unknown, Succeeded, Failed, Cancelled, Unusable))
        if isinstance(decision, Unusable):
            assert isinstance(decision.error, OdiRouterError)


@given(st.lists(st.tuples(CODES, JSONISH), min_size=1, max_size=10))
def test_terminal_state_absorbs_every_later_answer(answers: list[tuple[int, bytes]]) -> None:
    """Fed any sequence of /response answers, the machine never leaves its first terminal state."""
    machine = JobStateMachine()
    first: JobState | None = None
    for code, raw in answers:
        decision = decide_response(code, raw)
        if isinstance(decision, Unusable):
            continue
        state = machine.feed(decision)
        if first is not None:
            assert state is first
        elif state.terminal:
            first = state


@given(
    st.lists(
        st.tuples(
            st.sampled_from([404, 422, 500, 502, 200]),
            st.sampled_from(["pending", "completed", "unusable", "gone", "none"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 6),
)
def test_guard_is_bounded(steps: list[tuple[int, str]], limit: int) -> None:
    """Unusable answers end the job after at most `limit` retries in a row unless the status is pending."""
    guard = ResponseGuard(limit)
    in_a_row = 0
    for code, kind in steps:
        answer = decide_response(code, b"<html>x</html>")
        assert isinstance(answer, Unusable)
        status_answer = {
            "pending": decide_status(200, b'{"status": "IN_PROGRESS"}'),
            "completed": decide_status(200, b'{"status": "COMPLETED"}'),
            "unusable": decide_status(500, b"oops"),
            "gone": decide_status(404, b'{"detail": "Request not found"}'),
            "none": None,
        }[kind]
        step = guard.recover(answer, status_answer if guard.needs_status else None)
        if isinstance(step, (GiveUp, Failed)):
            return
        if isinstance(step, Retry):
            in_a_row += 1
            assert in_a_row < limit
        else:
            assert isinstance(step, (Pending, Unknown))
