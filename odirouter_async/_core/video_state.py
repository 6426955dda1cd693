"""What a poll of a video means for ``videos.wait``.  Pure: no I/O, no clock of its own.

``VideoWatch`` is the state of one wait.  Each poll's answer becomes an observation for the
client's poll scheduler (``_schedule.Outcome`` / ``RateLimited``):

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

``VideoWatch.observe`` also says whether the video's status or progress changed since the last
look, which is when ``on_progress`` is called.  ``id_problem`` says whether an id can be one
path segment of ``/v1/videos/{id}`` (callers' ids and the gateway's are both checked with it).
"""

from __future__ import annotations

import logging
from typing import Final

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    JobFailed,
    OdiRouterError,
    RateLimitError,
    ResponseValidationError,
)
from ..types.videos import Video
from .poll_schedule import Observation, Outcome, RateLimited

__all__ = ("MAX_BAD_BODIES", "VideoWatch", "classify_video", "id_problem", "video_failed")

logger: Final = logging.getLogger("odirouter_async")

#: Consecutive unreadable poll bodies tolerated before the wait gives up.
MAX_BAD_BODIES: Final = 3
_RETRYABLE_STATUS: Final = frozenset({408, 409, 425})
_STATUS: Final = {"queued": Outcome.QUEUED, "in_progress": Outcome.RUNNING}
_MAX_LOGGED: Final = 64
_logged_unknown: set[str] = set()


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


def classify_video(video: Video) -> tuple[Outcome, JobFailed | None]:
    """The outcome of one look at a video, and the error when it failed."""
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
    if status not in _logged_unknown and len(_logged_unknown) < _MAX_LOGGED:
        _logged_unknown.add(status)
        logger.warning("video %s has an unknown status %r; still waiting", video.id, status)
    return Outcome.PENDING, None


class VideoWatch:
    """The state of one ``wait``: the last video seen and the run of unreadable bodies."""

    __slots__ = ("_bad_bodies", "_seen", "last", "video_id")

    def __init__(self, video_id: str) -> None:
        self.video_id = video_id
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
        outcome, error = classify_video(video)
        return outcome, error, changed

    def observe_error(self, exc: OdiRouterError) -> Observation | None:
        """The observation for a poll that raised; ``None`` means the wait must raise ``exc``."""
        if isinstance(exc, RateLimitError):
            return RateLimited(exc.retry_after)
        if isinstance(exc, ResponseValidationError):
            self._bad_bodies += 1
            return Outcome.ERROR if self._bad_bodies < MAX_BAD_BODIES else None
        if isinstance(exc, InternalServerError) or (
            isinstance(exc, APIStatusError) and exc.status_code in _RETRYABLE_STATUS
        ):
            return Outcome.ERROR
        if isinstance(exc, APIConnectionError):
            return Outcome.ERROR
        return None
