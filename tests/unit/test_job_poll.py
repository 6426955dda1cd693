"""The wait pipeline's pure interpreters (``queue.job_state``, ``videos.video_state``)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

import odirouter_async as odr
from odirouter_async._exceptions import APIConnectionError, JobCancelled, JobFailed
from odirouter_async.http.status_rules import KEEP_POLLING
from odirouter_async.queue.job_state import (
    Answer,
    Ask,
    JobPoll,
    JobState,
    Outcome,
    PollResult,
    RateLimited,
    job_timeout,
    observe_error,
)
from odirouter_async.types.queue import JobResult, StatusUpdate
from odirouter_async.videos.video_state import MAX_BAD_BODIES, VideoWatch


def body(obj: object) -> bytes:
    """JSON bytes."""
    return msgspec.json.encode(obj)


def status(word: str, **extra: object) -> bytes:
    """A status body."""
    return body({"status": word, "request_id": "r1", **extra})


QUEUED = Answer(202, {}, status("IN_QUEUE", queue_position=3))
RUNNING = Answer(202, {}, status("IN_PROGRESS"))
RESULT = Answer(200, {}, body({"request_id": "r1", "outputs": [{"url": "https://x/a.png"}]}))
FAILED = Answer(200, {}, status("COMPLETED", error="boom", error_type="RUNTIME_ERROR"))
CANCELLED = Answer(200, {}, status("COMPLETED", error="stop", error_type="CANCELED"))
BROKEN = Answer(500, {"content-type": "text/html"}, b"<html>oops</html>")
GONE = Answer(404, {}, body({"detail": "Request not found"}))
LIMITED = Answer(429, {"retry-after": "2"}, b"")
DONE_STATUS = Answer(200, {}, status("COMPLETED", logs=[{"message": "done"}]))


def one_poll(interp: JobPoll, answers: list[Answer]) -> PollResult:
    """Run one poll: answers are taken in order as the interpreter asks for URLs."""
    ask = interp.start()
    while True:
        step = interp.feed(ask, answers.pop(0), 0.0)
        if isinstance(step, PollResult):
            return step
        ask = step


def test_pending_answers_and_updates() -> None:
    """202 statuses are pending observations; an update is offered only when something changed."""
    interp = JobPoll("r1", "ep")
    first = one_poll(interp, [QUEUED])
    assert first.outcome is Outcome.QUEUED and isinstance(first.update, StatusUpdate)
    assert first.update.queue_position == 3 and first.update.request_id == "r1"
    assert one_poll(interp, [QUEUED]).update is None
    running = one_poll(interp, [RUNNING])
    assert running.outcome is Outcome.RUNNING and running.update is not None
    assert interp.sm.state is JobState.RUNNING and interp.requests == 3


def test_result_ends_done_with_a_completed_update() -> None:
    """The result answer is DONE with the JobResult, kept as final, with a COMPLETED update."""
    interp = JobPoll("r1", "ep")
    done = one_poll(interp, [RESULT])
    assert done.outcome is Outcome.DONE and isinstance(done.value, JobResult)
    assert isinstance(done.update, StatusUpdate) and done.update.status == "COMPLETED"
    assert interp.final is done.value and interp.sm.state is JobState.SUCCEEDED


@pytest.mark.parametrize(("answer", "error"), [(FAILED, JobFailed), (CANCELLED, JobCancelled)])
def test_failure_bodies_end_the_wait(answer: Answer, error: type[Exception]) -> None:
    """A failure (or cancel) body on /response is ENDED with the typed job error."""
    interp = JobPoll("r1", "ep")
    ended = one_poll(interp, [answer])
    assert ended.outcome is Outcome.ENDED and isinstance(ended.error, error)
    assert interp.final is ended.error


def test_unusable_answer_asks_the_status_url() -> None:
    """A 5xx /response asks the status URL: pending there keeps waiting, failed there ends the job."""
    interp = JobPoll("r1", "ep")
    assert interp.feed(interp.start(), BROKEN, 0.0) is Ask.STATUS
    assert interp.feed(Ask.STATUS, RUNNING, 0.0) == PollResult(Outcome.RUNNING, update=interp_update(interp))
    ended = one_poll(interp, [BROKEN, Answer(200, {}, status("FAILED", error="x"))])
    assert ended.outcome is Outcome.ENDED and isinstance(ended.error, JobFailed)
    assert isinstance(ended.error.__cause__, odr.InternalServerError)


def interp_update(interp: JobPoll) -> StatusUpdate:
    """The update the interpreter offered last (for an equality check)."""
    return StatusUpdate(
        request_id="r1", status="IN_PROGRESS", raw={"status": "IN_PROGRESS", "request_id": "r1"}
    )


def test_unusable_answers_are_bounded() -> None:
    """Unusable answers everywhere are retried max_errors times, then the wait ends with the error."""
    interp = JobPoll("r1", "ep", max_errors=3)
    outcomes = [one_poll(interp, [BROKEN, BROKEN]).outcome for _ in range(3)]
    assert outcomes == [Outcome.ERROR, Outcome.ERROR, Outcome.ENDED]


def test_rate_limit_and_transport_errors() -> None:
    """429 is RateLimited with Retry-After; a connection error is a transient ERROR."""
    interp = JobPoll("r1", "ep")
    assert one_poll(interp, [LIMITED]).outcome == RateLimited(2.0)
    step = interp.feed_error(interp.start(), APIConnectionError("reset"))
    assert isinstance(step, PollResult) and step.outcome is Outcome.ERROR


def test_logs_mode_asks_status_first_then_the_result() -> None:
    """With logs, the status URL comes first; COMPLETED there fetches the result, keeping its update."""
    interp = JobPoll("r1", "ep", logs=True)
    assert interp.start() is Ask.STATUS
    queued = one_poll(interp, [Answer(200, {}, status("IN_QUEUE", logs=[{"message": "queued"}]))])
    assert queued.outcome is Outcome.QUEUED and queued.update is not None
    assert queued.update.logs == [{"message": "queued"}]
    done = one_poll(interp, [DONE_STATUS, RESULT])
    assert done.outcome is Outcome.DONE and isinstance(done.update, StatusUpdate)
    assert done.update.logs == [{"message": "done"}]


ANSWERS = [QUEUED, RUNNING, RESULT, FAILED, CANCELLED, BROKEN, GONE, LIMITED, DONE_STATUS]


@settings(max_examples=scaled(300), deadline=None)
@given(st.lists(st.sampled_from(ANSWERS), max_size=30), st.booleans())
def test_any_sequence_ends_in_exactly_one_terminal_outcome(answers: list[Answer], logs: bool) -> None:
    """Any sequence of answers (then results) ends in exactly one terminal outcome; nothing raises."""
    interp = JobPoll("r1", "ep", max_errors=3, logs=logs)
    feed = [*answers, *[RESULT] * 8]
    results: list[PollResult] = []
    while not (results and results[-1].terminal):
        results.append(one_poll(interp, feed))
    assert sum(r.terminal for r in results) == 1
    last = results[-1]
    if last.outcome is Outcome.DONE:
        assert interp.final is last.value and interp.sm.state is JobState.SUCCEEDED
    else:
        assert isinstance(last.error, odr.OdiRouterError)


@pytest.mark.parametrize("code", [500, 502, 503, *KEEP_POLLING])
def test_transient_statuses_are_errors(code: int) -> None:
    """5xx and 408/409/425 are transient; 429 slows down; other 4xx end the wait."""
    exc = odr.APIStatusError("x", status_code=code)
    assert observe_error(exc) is Outcome.ERROR
    assert observe_error(odr.RateLimitError("x", status_code=429, retry_after=1.0)) == RateLimited(1.0)
    assert observe_error(odr.NotFoundError("x", status_code=404)) is None


def test_job_timeout_says_whether_it_cancelled() -> None:
    """The one JobTimeout constructor says whether a remote cancel was sent."""
    kept = job_timeout("Job", request_id="r1", endpoint="ep", wait_timeout=2.0)
    assert isinstance(kept, odr.JobTimeout) and kept.request_id == "r1"
    assert "within 2 s" in str(kept) and "not cancelled" in str(kept)
    assert "a remote cancel was sent (CANCELLATION_REQUESTED)" in str(
        job_timeout("Job", request_id="r1", endpoint="ep", wait_timeout=1, cancel="CANCELLATION_REQUESTED")
    )
    assert "remote cancel failed" in str(
        job_timeout("Job", request_id="r1", endpoint=None, wait_timeout=1, cancel="failed")
    )


def video_answer(state: str, code: int = 200, video_id: str = "video_1") -> Answer:
    """A video answer."""
    return Answer(
        code,
        {},
        body({"id": video_id, "object": "video", "status": state, "model": "sora-2"}),
        None,
        "/v1/videos/x",
    )


def test_video_interpreter() -> None:
    """VideoWatch reads poll answers: states, HTTP errors, 429, and bad bodies bounded."""
    watch = VideoWatch("video_1")
    assert watch.start() is Ask.PRIMARY
    queued = watch.feed(Ask.PRIMARY, video_answer("queued"), 0.0)
    assert queued.outcome is Outcome.QUEUED and queued.update is not None
    assert watch.feed(Ask.PRIMARY, video_answer("queued"), 0.0).update is None
    assert watch.feed(Ask.PRIMARY, Answer(503, {}, b"{}"), 0.0).outcome is Outcome.ERROR
    assert watch.feed(Ask.PRIMARY, LIMITED, 0.0).outcome == RateLimited(2.0)
    gone = watch.feed(Ask.PRIMARY, GONE, 0.0)
    assert gone.outcome is Outcome.ENDED and isinstance(gone.error, odr.NotFoundError)
    other = [
        watch.feed(Ask.PRIMARY, video_answer("queued", video_id="video_2"), 0.0)
        for _ in range(MAX_BAD_BODIES)
    ]
    assert [r.outcome for r in other] == [Outcome.ERROR] * (MAX_BAD_BODIES - 1) + [Outcome.ENDED]
    done = watch.feed(Ask.PRIMARY, video_answer("completed"), 0.0)
    assert done.outcome is Outcome.DONE and done.value is not None
    failed = VideoWatch("video_1").feed(Ask.PRIMARY, video_answer("failed"), 0.0)
    assert failed.outcome is Outcome.ENDED and isinstance(failed.error, JobFailed)
