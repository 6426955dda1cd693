"""Wire types of the Sora-style videos endpoint (``/v1/videos``), shaped like OpenAI's Videos API.

OdiRouter documents the route only as "Sora-style" (``odirouter-api.md`` §6, §12 item 13), so
every type is tolerant: only ``id`` and ``status`` (what a decision needs) are required, numbers
accept ints and floats, ``seconds`` may arrive as a string or a number, ``error`` as an object or
a plain string, and unknown fields are ignored.  Whole bodies are ``TopLevel``: ``video.raw`` is
the JSON as received, with any field this module does not name.

Decoders are built once, here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import msgspec

from ._base import TopLevel, WireModel

#: the public names (re-exported by ``odirouter_async.types``); the decoders and
#: ``TERMINAL_STATUSES`` are the package's own, imported by name where they are used
__all__ = (
    "Video",
    "VideoDeleted",
    "VideoError",
    "VideoList",
)

#: Status words after which a video never changes again.
TERMINAL_STATUSES: Final = frozenset({"completed", "failed"})


class VideoError(WireModel):
    """Why a video failed: ``{"code": ..., "message": ...}``."""

    code: str | None = None
    message: str | None = None


class Video(TopLevel):
    """A video job: what ``create``, ``retrieve``, ``remix`` and ``wait`` return.

    ``status`` is ``queued`` | ``in_progress`` | ``completed`` | ``failed`` in OpenAI's API; it is
    kept as a string, so a word this SDK does not know is still readable (``wait`` keeps polling
    through it).  ``progress`` is 0..100.  Timestamps are Unix seconds.
    """

    id: str
    status: str
    object: str = "video"
    model: str | None = None
    progress: int | float | None = None
    created_at: int | float | None = None
    completed_at: int | float | None = None
    expires_at: int | float | None = None
    seconds: str | int | float | None = None
    size: str | None = None
    prompt: str | None = None
    error: VideoError | str | None = None
    remixed_from_video_id: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the video is ``completed`` or ``failed`` (it will not change any more)."""
        return self.status in TERMINAL_STATUSES

    @property
    def error_code(self) -> str | None:
        """``error.code``, when the video has an error object."""
        return self.error.code if isinstance(self.error, VideoError) else None

    @property
    def error_message(self) -> str | None:
        """``error.message`` (or the error itself when the gateway sent a plain string)."""
        if isinstance(self.error, VideoError):
            return self.error.message
        return self.error


class VideoList(TopLevel):
    """One page of ``GET /v1/videos``; iterating it iterates ``data``.

    Pass ``last_id`` as ``after=`` to get the next page while ``has_more``.
    """

    object: str = "list"
    data: list[Video] = msgspec.field(default_factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None

    def __iter__(self) -> Iterator[Video]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class VideoDeleted(TopLevel):
    """``DELETE /v1/videos/{id}``: ``{"id", "object": "video.deleted", "deleted": true}``."""

    id: str
    object: str = "video.deleted"
    deleted: bool = True


VIDEO_DECODER: Final = msgspec.json.Decoder(Video)
VIDEO_LIST_DECODER: Final = msgspec.json.Decoder(VideoList)
VIDEO_DELETED_DECODER: Final = msgspec.json.Decoder(VideoDeleted)
