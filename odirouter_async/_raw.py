"""``client.with_raw_response``: any resource call, with the HTTP answer's status and headers.

``await client.with_raw_response.chat.completions.create(...)`` returns a ``RawResponse[T]``
where ``T`` is what ``client.chat.completions.create(...)`` returns: ``.headers`` (the response
headers exactly as the server sent them, a case-insensitive multidict), ``.status_code``,
``.x_request_id``, ``.url`` and ``.parse()`` (the usual typed result; for ``stream=True`` the open
``AsyncStream``).  The call runs as usual (retries, errors: an error status raises the typed
error, as without the prefix); the headers are those of the exchange that answered it (the last
successful one when a call makes several).  The request itself (its headers carry the key) is
never kept.

One generic wrapper (``raw_method``) turns a method returning ``Awaitable[T]`` into one returning
``Awaitable[RawResponse[T]]`` with the same parameters (a ``ParamSpec``: mypy and pyright check
the arguments, and ``.parse()`` is typed); each namespace below lists the methods it wraps.
``RawResponse``/``raw_method`` live in ``_raw_call`` and the chat-completions and Responses
namespaces with their resources, which also hand them out as openai-python's resource-first
spelling (``client.chat.completions.with_raw_response.create(...)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http.raw_call import RawResponse, raw_method
from .llm.chat import CompletionsWithRawResponse

if TYPE_CHECKING:
    from .llm.chat import Chat
    from .llm.models import Models
    from .llm.responses import Responses, ResponsesWithRawResponse
    from .queue.resource import Queue
    from .videos.resource import Videos

__all__ = (
    "ChatWithRawResponse",
    "CompletionsWithRawResponse",
    "ModelsWithRawResponse",
    "QueueWithRawResponse",
    "RawResponse",
    "ResponsesWithRawResponse",
    "VideosWithRawResponse",
    "WithRawResponse",
    "raw_method",
)


class ChatWithRawResponse:
    """``client.with_raw_response.chat``: ``completions``."""

    def __init__(self, chat: Chat) -> None:
        self.completions = CompletionsWithRawResponse(chat.completions)


class ModelsWithRawResponse:
    """``client.with_raw_response.models``: ``list``."""

    def __init__(self, models: Models) -> None:
        self.list = raw_method(models.list)


class QueueWithRawResponse:
    """``client.with_raw_response.queue``: ``submit``."""

    def __init__(self, queue: Queue) -> None:
        self.submit = raw_method(queue.submit)


class VideosWithRawResponse:
    """``client.with_raw_response.videos``: ``create``, ``retrieve``, ``list``, ``delete``, ``remix``."""

    def __init__(self, videos: Videos) -> None:
        self.create = raw_method(videos.create)
        self.retrieve = raw_method(videos.retrieve)
        self.list = raw_method(videos.list)
        self.delete = raw_method(videos.delete)
        self.remix = raw_method(videos.remix)


class WithRawResponse:
    """``client.with_raw_response``: the client's resources, each call returning a ``RawResponse``."""

    def __init__(
        self, *, chat: Chat, responses: Responses, models: Models, queue: Queue, videos: Videos
    ) -> None:
        from .llm.responses import ResponsesWithRawResponse  # the Responses stack: on first use

        self.chat = ChatWithRawResponse(chat)
        self.responses = ResponsesWithRawResponse(responses)
        self.models = ModelsWithRawResponse(models)
        self.queue = QueueWithRawResponse(queue)
        self.videos = VideosWithRawResponse(videos)


def __getattr__(name: str) -> object:
    """``ResponsesWithRawResponse`` lives with the Responses resource, imported on first use."""
    if name == "ResponsesWithRawResponse":
        from .llm.responses import ResponsesWithRawResponse

        return ResponsesWithRawResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
