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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy

from .._http.capture import capturing

if TYPE_CHECKING:
    from .chat import Chat, Completions
    from .models import Models
    from .queue import Queue
    from .responses import Responses
    from .videos import Videos

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

_T = TypeVar("_T")
_P = ParamSpec("_P")


class RawResponse(Generic[_T]):
    """A call's result with its HTTP answer: ``headers``, ``status_code``, ``x_request_id``, ``parse()``.

    Attributes:
        headers: the response headers as sent, case-insensitive
            (``headers["X-RateLimit-Remaining-Requests"]``).
        status_code: the HTTP status of the answer.
        x_request_id: the exchange's ``X-Request-Id`` (the gateway's echo, else the one sent).
        url: the URL that answered (never the request headers: they carry the key).
    """

    __slots__ = ("_parsed", "headers", "status_code", "url", "x_request_id")

    def __init__(
        self,
        parsed: _T,
        *,
        headers: CIMultiDictProxy[str],
        status_code: int,
        x_request_id: str | None,
        url: str,
    ) -> None:
        self._parsed = parsed
        self.headers = headers
        self.status_code = status_code
        self.x_request_id = x_request_id
        self.url = url

    def parse(self) -> _T:
        """The typed result the call returns without ``with_raw_response`` (a stream for ``stream=True``)."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<RawResponse status_code={self.status_code} x_request_id={self.x_request_id!r}>"


_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


def raw_method(method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[RawResponse[_T]]]:
    """``method`` (a resource method returning an awaitable) returning a ``RawResponse`` instead."""

    @wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        with capturing() as exchange:
            result = await method(*args, **kwargs)
        return RawResponse(
            result,
            headers=exchange.headers if exchange.headers is not None else _NO_HEADERS,
            status_code=exchange.status,
            x_request_id=exchange.x_request_id,
            url=exchange.url,
        )

    return call


class CompletionsWithRawResponse:
    """``client.with_raw_response.chat.completions``: ``create``, ``parse``."""

    def __init__(self, completions: Completions) -> None:
        self.create = raw_method(completions.create)
        self.parse = raw_method(completions.parse)


class ChatWithRawResponse:
    """``client.with_raw_response.chat``: ``completions``."""

    def __init__(self, chat: Chat) -> None:
        self.completions = CompletionsWithRawResponse(chat.completions)


class ResponsesWithRawResponse:
    """``client.with_raw_response.responses``: ``create``, ``parse``, ``retrieve``, ``cancel``."""

    def __init__(self, responses: Responses) -> None:
        self.create = raw_method(responses.create)
        self.parse = raw_method(responses.parse)
        self.retrieve = raw_method(responses.retrieve)
        self.cancel = raw_method(responses.cancel)


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
        self.chat = ChatWithRawResponse(chat)
        self.responses = ResponsesWithRawResponse(responses)
        self.models = ModelsWithRawResponse(models)
        self.queue = QueueWithRawResponse(queue)
        self.videos = VideosWithRawResponse(videos)
