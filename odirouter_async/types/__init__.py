"""The public types: every wire Struct, stream event and result type, importable from one place.

``from odirouter_async.types import ResponseTextDeltaEvent, ChatCompletion, JobResult, Video``.
Chat (``chat``), chat stream helper events (``chat_events``), Responses (``responses``) and
their stream events (``response_events``), models, queue results and videos.  Everything here
is a msgspec Struct (or a ``TypedDict``/``Union`` alias) and free of I/O; the client, the
streams and the errors are exported from ``odirouter_async`` itself.
"""

from __future__ import annotations

# Each of these modules' ``__all__`` is its public names: exported whole, not written again here.
from . import chat, chat_events, models, response_events, responses
from .chat import *  # noqa: F403
from .chat_events import *  # noqa: F403
from .models import *  # noqa: F403
from .queue import (
    JobOutput as JobOutput,
    JobResult as JobResult,
    QueueMetrics as QueueMetrics,
    QueueStatus as QueueStatus,
    QueueSubmitResponse as QueueSubmitResponse,
    StatusUpdate as StatusUpdate,
)
from .response_events import *  # noqa: F403
from .responses import *  # noqa: F403
from .videos import (
    Video as Video,
    VideoDeleted as VideoDeleted,
    VideoError as VideoError,
    VideoList as VideoList,
)

# queue.py and videos.py also export their decoders to the package: their public names are listed.
__all__: tuple[str, ...] = (
    "JobOutput",
    "JobResult",
    "QueueMetrics",
    "QueueStatus",
    "QueueSubmitResponse",
    "StatusUpdate",
    "Video",
    "VideoDeleted",
    "VideoError",
    "VideoList",
)
__all__ += chat.__all__
__all__ += chat_events.__all__
__all__ += models.__all__
__all__ += response_events.__all__
__all__ += responses.__all__
