"""``_video_state``: what each poll of a video means for ``videos.wait`` (pure, no event loop)."""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote

import msgspec
import pytest
from hypothesis import given, strategies as st

from odirouter_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    JobFailed,
    NotFoundError,
    ResponseValidationError,
)
from odirouter_async.http.error_body import make_status_error
from odirouter_async.queue.schedule import Outcome, RateLimited
from odirouter_async.types._base import attach_raw
from odirouter_async.types.videos import VIDEO_DECODER, Video, VideoError
from odirouter_async.videos.video_state import MAX_BAD_BODIES, VideoWatch, classify_video, id_problem


def video(status: str, progress: int = 0, **fields: object) -> Video:
    """A video decoded from JSON, as the transport would produce it."""
    body = {"id": "video_1", "object": "video", "model": "sora-2", "status": status, "progress": progress}
    body.update(fields)
    raw = msgspec.json.encode(body)
    return attach_raw(VIDEO_DECODER.decode(raw), raw, None)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("queued", Outcome.QUEUED),
        ("in_progress", Outcome.RUNNING),
        ("completed", Outcome.DONE),
        ("failed", Outcome.ENDED),
        ("some_new_word", Outcome.PENDING),
    ],
)
def test_status_words_map_to_outcomes(status: str, outcome: Outcome) -> None:
    """Each documented status word has its outcome; an unknown one keeps waiting."""
    assert classify_video(video(status))[0] is outcome


def test_failed_video_is_a_typed_error() -> None:
    """A failed video becomes JobFailed carrying its error object, id and model."""
    failed = video("failed", 100, error={"code": "moderation_blocked", "message": "Blocked by policy"})
    outcome, error = classify_video(failed)
    assert outcome is Outcome.ENDED
    assert isinstance(error, JobFailed)
    assert (error.request_id, error.endpoint) == ("video_1", "sora-2")
    assert (error.error_type, error.error) == ("moderation_blocked", "Blocked by policy")
    assert error.status == failed.raw
    assert "Blocked by policy" in str(error)


def test_failed_without_error_object() -> None:
    """A failed video without an error (or with a plain string) still explains itself."""
    _, bare = classify_video(video("failed"))
    assert bare is not None and "no reason given" in str(bare)
    _, text = classify_video(video("failed", error="quota"))
    assert text is not None and text.error == "quota" and text.error_type is None


def test_unknown_status_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """An unknown status word is logged the first time only (per wait: no process-wide state)."""
    with caplog.at_level(logging.WARNING, logger="odirouter_async"):
        for watch in (VideoWatch("video_1"), VideoWatch("video_2")):
            for _ in range(3):
                watch.observe(video("unit_test_unknown_word"))
    assert sum("unit_test_unknown_word" in r.getMessage() for r in caplog.records) == 2


def test_progress_changes_are_reported_once() -> None:
    """observe() says 'changed' on the first look and when status or progress moved."""
    watch = VideoWatch("video_1")
    changes = [watch.observe(v)[2] for v in (video("queued"), video("queued"), video("in_progress"))]
    changes += [watch.observe(v)[2] for v in (video("in_progress", 40), video("in_progress", 40))]
    assert changes == [True, False, True, True, False]
    assert watch.last is not None and watch.last.progress == 40
    assert watch.model == "sora-2"


def test_poll_errors_map_to_observations() -> None:
    """429 slows polling, 5xx and network errors back off, 404 and other 4xx end the wait."""
    watch = VideoWatch("video_1")
    limited = make_status_error(429, {}, b"{}", x_request_id=None, retry_after=1.5)
    assert watch.observe_error(limited) == RateLimited(1.5)
    for status in (500, 502, 503, 408):
        assert watch.observe_error(make_status_error(status, {}, b"", x_request_id=None)) is Outcome.ERROR
    assert watch.observe_error(APIConnectionError()) is Outcome.ERROR
    assert watch.observe_error(APITimeoutError()) is Outcome.ERROR
    not_found = make_status_error(404, {}, b'{"error": {"message": "no"}}', x_request_id=None)
    assert isinstance(not_found, NotFoundError)
    assert watch.observe_error(not_found) is None
    assert watch.observe_error(make_status_error(401, {}, b"", x_request_id=None)) is None


def test_unreadable_bodies_end_the_wait_after_a_run() -> None:
    """A run of bad bodies ends the wait; a good body in between resets the count."""
    watch = VideoWatch("video_1")
    bad = ResponseValidationError("not a video")
    assert [watch.observe_error(bad) for _ in range(MAX_BAD_BODIES - 1)] == [Outcome.ERROR] * 2
    watch.observe(video("queued"))
    assert [watch.observe_error(bad) for _ in range(MAX_BAD_BODIES - 1)] == [Outcome.ERROR] * 2
    assert watch.observe_error(bad) is None


def test_video_types_are_tolerant() -> None:
    """Numbers for seconds, floats for progress, unknown fields: all accepted, all in .raw."""
    v = video("completed", 100, seconds=8, created_at=1.5, future_field={"x": 1})
    assert v.seconds == 8 and v.is_terminal
    assert v.raw["future_field"] == {"x": 1}
    assert isinstance(video("failed", error={"code": "c"}).error, VideoError)


@pytest.mark.parametrize("status", ["errored", "cancelled", "expired"])
def test_unknown_word_with_an_error_is_failed(status: str) -> None:
    """A status word the SDK does not know, carrying an error, ends the wait with JobFailed."""
    outcome, error = classify_video(video(status, error={"code": "moderation", "message": "blocked"}))
    assert outcome is Outcome.ENDED
    assert isinstance(error, JobFailed) and (error.error, error.error_type) == ("blocked", "moderation")
    assert repr(status) in str(error)


@pytest.mark.parametrize("error", [None, "", {}, {"code": None, "message": None}])
def test_unknown_word_with_an_empty_error_keeps_waiting(error: object) -> None:
    """An empty or null error on an unknown word is no reason to stop."""
    assert classify_video(video("rendering", error=error))[0] is Outcome.PENDING


@pytest.mark.parametrize(
    "bad",
    ["", ".", "..", "a/b", "a?b", "a#b", "a\\b", "a b", "\t", "a\x00", "a\x7f", "a\x85", "a\xa0b", 7, None],
)
def test_id_problem_refuses_unusable_ids(bad: object) -> None:
    """Ids that cannot be exactly one path segment are refused with a reason."""
    assert id_problem(bad)


@pytest.mark.parametrize("good", ["video_1", "0b6f...", "vid:a+b=c~d", "é", "...", "a.b", "%2e%2e"])
def test_id_problem_accepts_odd_but_usable_ids(good: str) -> None:
    """Dots inside, reserved and non-ASCII characters are fine: they are percent-encoded."""
    assert id_problem(good) is None


@given(st.text())
def test_accepted_ids_are_one_segment(video_id: str) -> None:
    """Any accepted id, percent-encoded, is one segment that is not a dot segment and decodes back."""
    if id_problem(video_id) is not None:
        return
    segment = quote(video_id, safe="")
    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert segment not in ("", ".", "..")
    assert unquote(segment) == video_id
