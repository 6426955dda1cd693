"""What a poll of a video means for ``videos.wait``.  Pure: no I/O, no clock of its own.

``VideoWatch`` is the state of one wait.  Each poll's answer becomes an observation for the
client's poll scheduler (``queue.schedule.Outcome`` / ``RateLimited``):

============================== ================================================================
``queued``                     ``QUEUED``
``in_progress``                ``RUNNING``
``completed``                  ``DONE`` (the wait returns the video)
``failed``                     ``ENDED`` with ``JobFailed`` (``error`` / ``error_type`` from the
                               video's ``error.message`` / ``error.code``; ``request_id`` is the
                               video id, ``endpoint`` the model)
any other word with an          ``ENDED`` with ``JobFailed``, as ``failed`` (a terminal word this
``error``                      SDK does not know, e.g. ``error`` / ``cancelled``)
any other word                 ``PENDING`` (logged once per word): keep waiting
429                            ``RateLimited(retry_after)``: slows all polling
5xx, 408, 409, connection,     ``ERROR``: back off and keep waiting
timeout
a body that is not a video,    ``ERROR``, up to ``MAX_BAD_BODIES`` in a row, then fatal (the
or another video's id          ``ResponseValidationError``): never a hang, no remote action
404 and other 4xx              fatal: the wait raises that error (``NotFoundError`` ...)
============================== ================================================================

``VideoWatch`` is also the video's poll interpreter for the one wait pipeline (``start`` /
``feed`` / ``feed_error``, as ``queue.job_state.JobPoll``): the shell GETs ``/v1/videos/{id}``
and feeds the answer; ``parse_video`` reads a video body (strict, then lenient; its id checked).
``VideoWatch.observe`` also says whether the video's status or progress changed since the last
look, which is when ``on_progress`` is called (the video is offered as ``PollResult.update``).
``id_problem`` says whether an id can be one
path segment of ``/v1/videos/{id}`` (callers' ids and the gateway's are both checked with it).
"""

from __future__ import annotations

import logging
from typing import Any, Final
from urllib.parse import quote

import msgspec

from .._exceptions import JobFailed, OdiRouterError, ResponseValidationError
from ..http.retry import parse_retry_after
from ..queue.job_state import (
    Answer,
    Ask,
    Observation,
    Outcome,
    PollResult,
    RateLimited,
    observe_error,
    unusable,
)
from ..types._base import attach_raw
from ..types.videos import VIDEO_DECODER, VIDEO_LIST_DECODER, Video, VideoList

__all__ = (
    "MAX_BAD_BODIES",
    "VideoWatch",
    "classify_video",
    "id_problem",
    "invalid_answer",
    "parse_lenient",
    "parse_video",
    "parse_video_list",
    "video_failed",
    "video_path",
)

logger: Final = logging.getLogger("odirouter_async")

#: Consecutive unreadable poll bodies tolerated before the wait gives up.
MAX_BAD_BODIES: Final = 3
_STATUS: Final = {"queued": Outcome.QUEUED, "in_progress": Outcome.RUNNING}
_MAX_LOGGED: Final = 64
#: Second-chance decoder: numbers sent as numeric strings (``"progress": "45"``) are accepted.
_LENIENT_VIDEO: Final = msgspec.json.Decoder(Video, strict=False)
_LENIENT_LIST: Final = msgspec.json.Decoder(VideoList, strict=False)
_DECODE_ERRORS: Final = (msgspec.DecodeError, RecursionError)


_BAD_ID_CHARS: Final = frozenset("/?#\\") | frozenset(map(chr, (*range(0x21), *range(0x7F, 0xA1))))


def id_problem(video_id: object) -> str | None:
    """Why ``video_id`` cannot be one path segment of ``/v1/videos/{id}`` (``None``: it can)."""
    if not isinstance(video_id, str):
        return f"must be a string, not {type(video_id).__name__}"
    if not video_id:
        return "must not be empty"
    if video_id in (".", ".."):
        return "must not be '.' or '..'"
    bad = next((c for c in video_id if c in _BAD_ID_CHARS), None)
    if bad is not None:
        return (
            f"must not contain {bad!r} ('/', '?', '#', backslash, spaces and control characters are refused)"
        )
    return None


def video_path(video_id: str, suffix: str = "") -> str:
    """``/v1/videos/{id}{suffix}`` for a caller's id; ``TypeError`` / ``ValueError`` when unusable."""
    problem = id_problem(video_id)
    if problem is not None:
        if not isinstance(video_id, str):
            raise TypeError(f"video_id {problem}")
        raise ValueError(f"video_id {video_id!r} {problem}")
    return f"/v1/videos/{quote(video_id, safe='')}{suffix}"


def video_failed(video: Video) -> JobFailed:
    """The error a ``failed`` video raises from ``wait``."""
    reason = video.error_message or video.error_code or "no reason given"
    word = "failed" if video.status == "failed" else f"ended ({video.status!r})"
    return JobFailed(
        f"video {video.id} {word}: {reason}",
        request_id=video.id,
        endpoint=video.model,
        error=video.error_message,
        error_type=video.error_code,
        status=video.raw,
        x_request_id=video.x_request_id,
    )


def invalid_answer(answer: Answer, message: str) -> ResponseValidationError:
    """A ``ResponseValidationError`` for an answer (its status, ``X-Request-Id``, body excerpt)."""
    return ResponseValidationError(
        f"{message} (from {answer.url.split('?')[0]})",
        x_request_id=answer.x_request_id,
        body=answer.body[:2000].decode("utf-8", "replace"),
        status_code=answer.status,
    )


def parse_lenient(
    answer: Answer, strict: msgspec.json.Decoder[Any], lenient: msgspec.json.Decoder[Any]
) -> Any:
    """The body decoded strictly, else leniently (numbers as strings); the raw JSON attached."""
    error: Exception | None = None
    for decoder in (strict, lenient):
        try:
            obj = decoder.decode(answer.body)
        except _DECODE_ERRORS as exc:
            error = error or exc
            continue
        return attach_raw(obj, answer.body, answer.x_request_id)
    why = "JSON nested too deeply to decode" if isinstance(error, RecursionError) else str(error)
    raise invalid_answer(answer, f"unexpected response body: {why}")


def parse_video(answer: Answer, expected_id: str | None = None) -> Video:
    """The video in a 2xx answer; ``ResponseValidationError`` when its id is unusable (or not
    ``expected_id``) or the body is not a video."""
    video: Video = parse_lenient(answer, VIDEO_DECODER, _LENIENT_VIDEO)
    problem = id_problem(video.id)
    if problem is not None:
        raise invalid_answer(answer, f"the gateway answered a video whose id {video.id!r} {problem}")
    if expected_id is not None and video.id != expected_id:
        raise invalid_answer(
            answer, f"asked for video {expected_id!r}, the gateway answered video {video.id!r}"
        )
    return video


def parse_video_list(answer: Answer) -> VideoList:
    """A page of videos; ``ResponseValidationError`` when one of their ids is unusable."""
    page: VideoList = parse_lenient(answer, VIDEO_LIST_DECODER, _LENIENT_LIST)
    for video in page.data:
        problem = id_problem(video.id)
        if problem is not None:
            raise invalid_answer(answer, f"the gateway listed a video whose id {video.id!r} {problem}")
    return page


def classify_video(video: Video, seen: set[str] | None = None) -> tuple[Outcome, JobFailed | None]:
    """The outcome of one look at a video, and the error when it failed.

    ``seen``: the unknown status words already logged (by this wait); ``None`` logs every time.
    """
    status = video.status
    if status == "completed":
        return Outcome.DONE, None
    if status == "failed":
        return Outcome.ENDED, video_failed(video)
    outcome = _STATUS.get(status)
    if outcome is not None:
        return outcome, None
    if video.error_message or video.error_code:
        return Outcome.ENDED, video_failed(video)
    if seen is None or (status not in seen and len(seen) < _MAX_LOGGED):
        if seen is not None:
            seen.add(status)
        logger.warning("video %s has an unknown status %r; still waiting", video.id, status)
    return Outcome.PENDING, None


class VideoWatch:
    """The state of one ``wait``: the last video seen and the run of unreadable bodies."""

    __slots__ = ("_bad_bodies", "_seen", "_unknown", "last", "video_id")

    def __init__(self, video_id: str) -> None:
        self.video_id = video_id
        self._unknown: set[str] = set()
        #: the last video object read (``None`` before the first).
        self.last: Video | None = None
        self._seen: tuple[str, object] | None = None
        self._bad_bodies = 0

    @property
    def model(self) -> str | None:
        """The video's model, once known."""
        return self.last.model if self.last is not None else None

    def observe(self, video: Video) -> tuple[Outcome, JobFailed | None, bool]:
        """``(outcome, error, changed)`` for a video read by a poll.

        ``changed`` is True on the first look and whenever ``status`` or ``progress`` moved.
        """
        self._bad_bodies = 0
        self.last = video
        key = (video.status, video.progress)
        changed = key != self._seen
        self._seen = key
        outcome, error = classify_video(video, self._unknown)
        return outcome, error, changed

    def observe_error(self, exc: OdiRouterError) -> Observation | None:
        """The observation for a poll that raised; ``None`` means the wait must raise ``exc``."""
        if isinstance(exc, ResponseValidationError):
            self._bad_bodies += 1
            return Outcome.ERROR if self._bad_bodies < MAX_BAD_BODIES else None
        return observe_error(exc)

    # -- the interpreter of the one wait pipeline ----------------------------------------------

    def look(self, video: Video) -> PollResult:
        """One look at a video: its ``PollResult`` (the video as ``update`` when it moved)."""
        outcome, error, changed = self.observe(video)
        value = video if outcome is Outcome.DONE else None
        return PollResult(outcome, value=value, error=error, update=video if changed else None)

    def start(self) -> Ask:
        """A poll begins: ``GET /v1/videos/{id}``."""
        return Ask.PRIMARY

    def feed(self, ask: Ask, answer: Answer, now: float) -> PollResult:
        """The answer of the poll (any status; ``now``: wall clock, for Retry-After dates)."""
        if answer.status == 429:
            return PollResult(RateLimited(parse_retry_after(answer.headers, now)))
        if not 200 <= answer.status < 300:
            status = unusable(answer.status, answer.body, answer.headers, answer.x_request_id)
            return self.feed_error(ask, status.error)
        try:
            video = parse_video(answer, self.video_id)
        except OdiRouterError as exc:
            return self.feed_error(ask, exc)
        return self.look(video)

    def feed_error(self, ask: Ask, exc: OdiRouterError) -> PollResult:
        """The poll met ``exc`` (a transport error, or the answer's own)."""
        observation = self.observe_error(exc)
        return PollResult(Outcome.ENDED if observation is None else observation, error=exc)
