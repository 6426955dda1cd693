"""odirouter_async: the async-first SDK for the OdiRouter Model API.

Everything public is importable from here; the modules behind it are private.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._client import AsyncOdiRouter as AsyncOdiRouter
from ._config import (
    NOT_GIVEN as NOT_GIVEN,
    VERSION,
    Limits as Limits,
    NotGiven as NotGiven,
    PollingOptions as PollingOptions,
    Timeout as Timeout,
)
from ._core.retry import RetryPolicy as RetryPolicy
from ._core.strict_schema import StrictSchemaError as StrictSchemaError
from ._exceptions import (
    APIConnectionError as APIConnectionError,
    APIStatusError as APIStatusError,
    APITimeoutError as APITimeoutError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    BatchHalted as BatchHalted,
    ClientClosedError as ClientClosedError,
    ClientLoopError as ClientLoopError,
    ConflictError as ConflictError,
    ContentParseError as ContentParseError,
    InsecureURLError as InsecureURLError,
    InsufficientBalanceError as InsufficientBalanceError,
    InternalServerError as InternalServerError,
    JobCancelled as JobCancelled,
    JobError as JobError,
    JobFailed as JobFailed,
    JobTimeout as JobTimeout,
    JournalError as JournalError,
    LengthFinishReasonError as LengthFinishReasonError,
    NotFoundError as NotFoundError,
    OdiRouterError as OdiRouterError,
    PermissionDeniedError as PermissionDeniedError,
    RateLimitError as RateLimitError,
    ResponseValidationError as ResponseValidationError,
    SSEProtocolError as SSEProtocolError,
    StreamError as StreamError,
    StreamEventError as StreamEventError,
    StreamInterrupted as StreamInterrupted,
    UncertainSubmit as UncertainSubmit,
    UnprocessableEntityError as UnprocessableEntityError,
)
from ._llm import chat_stream as _chat_stream
from ._llm.chat_stream import *  # noqa: F403  (the chat helper and its events: its __all__)
from ._llm.responses_stream import (
    ResponseStream as ResponseStream,
    ResponseStreamManager as ResponseStreamManager,
)
from ._llm.stream import AsyncStream as AsyncStream
from ._llm.structured import (
    FunctionTool as FunctionTool,
    ParsedChatCompletionStream as ParsedChatCompletionStream,
    ParsedChatCompletionStreamManager as ParsedChatCompletionStreamManager,
    ParsedResponseStream as ParsedResponseStream,
    ParsedResponseStreamManager as ParsedResponseStreamManager,
    function_tool as function_tool,
)
from .resources.raw import RawResponse as RawResponse
from .types._base import to_dict as to_dict
from .types.chat import (
    ChatCompletion as ChatCompletion,
    ChatCompletionChunk as ChatCompletionChunk,
    ParsedChatCompletion as ParsedChatCompletion,
)
from .types.models import Model as Model, ModelList as ModelList
from .types.response_events import (
    ResponseStreamEvent as ResponseStreamEvent,
    UnknownEvent as UnknownEvent,
)
from .types.responses import (
    ParsedResponse as ParsedResponse,
    Response as Response,
    ResponseOutputItem as ResponseOutputItem,
    UnknownOutputItem as UnknownOutputItem,
)

if TYPE_CHECKING:  # imported on first use (``__getattr__`` below); type checkers see them here
    from ._core.jobstate import CancelOutcome as CancelOutcome, JobState as JobState
    from ._queue.jobs import Job as Job
    from ._queue.journal import Journal as Journal
    from ._queue.map import (
        JobMap as JobMap,
        MapHooks as MapHooks,
        MapOutcome as MapOutcome,
        MapProgress as MapProgress,
    )
    from ._queue.scheduler import SchedulerStats as SchedulerStats
    from .types.queue import (
        JobOutput as JobOutput,
        JobResult as JobResult,
        QueueStatus as QueueStatus,
        StatusUpdate as StatusUpdate,
    )
    from .types.videos import (
        Video as Video,
        VideoDeleted as VideoDeleted,
        VideoError as VideoError,
        VideoList as VideoList,
    )

#: names whose modules a chat or responses call never needs: imported on first use (issue #23)
_LAZY: dict[str, str] = {
    "CancelOutcome": "._core.jobstate",
    "JobState": "._core.jobstate",
    "Job": "._queue.jobs",
    "Journal": "._queue.journal",
    "JobMap": "._queue.map",
    "MapHooks": "._queue.map",
    "MapOutcome": "._queue.map",
    "MapProgress": "._queue.map",
    "SchedulerStats": "._queue.scheduler",
    "JobOutput": ".types.queue",
    "JobResult": ".types.queue",
    "QueueStatus": ".types.queue",
    "StatusUpdate": ".types.queue",
    "Video": ".types.videos",
    "VideoDeleted": ".types.videos",
    "VideoError": ".types.videos",
    "VideoList": ".types.videos",
}


def __getattr__(name: str) -> Any:
    """``from odirouter_async import Job`` imports the queue machinery only then (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, the lazy ones included."""
    return sorted(set(globals()) | set(_LAZY))


__version__ = VERSION

__all__: tuple[str, ...] = (
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncOdiRouter",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchHalted",
    "CancelOutcome",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ClientClosedError",
    "ClientLoopError",
    "ConflictError",
    "InsecureURLError",
    "InsufficientBalanceError",
    "InternalServerError",
    "Job",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobMap",
    "JobOutput",
    "JobResult",
    "JobState",
    "JobTimeout",
    "Journal",
    "JournalError",
    "Limits",
    "MapHooks",
    "MapOutcome",
    "MapProgress",
    "Model",
    "ModelList",
    "NotFoundError",
    "NotGiven",
    "OdiRouterError",
    "PermissionDeniedError",
    "PollingOptions",
    "QueueStatus",
    "RateLimitError",
    "RawResponse",
    "Response",
    "ResponseStream",
    "ResponseStreamEvent",
    "ResponseStreamManager",
    "ResponseValidationError",
    "RetryPolicy",
    "SSEProtocolError",
    "SchedulerStats",
    "StatusUpdate",
    "StreamError",
    "StreamEventError",
    "StreamInterrupted",
    "Timeout",
    "UncertainSubmit",
    "UnknownEvent",
    "UnprocessableEntityError",
    "Video",
    "VideoDeleted",
    "VideoError",
    "VideoList",
    "__version__",
    "to_dict",
)
__all__ += _chat_stream.__all__
__all__ += (
    "ContentParseError",
    "FunctionTool",
    "LengthFinishReasonError",
    "ParsedChatCompletion",
    "ParsedChatCompletionStream",
    "ParsedChatCompletionStreamManager",
    "ParsedResponse",
    "ParsedResponseStream",
    "ParsedResponseStreamManager",
    "ResponseOutputItem",
    "StrictSchemaError",
    "UnknownOutputItem",
    "function_tool",
)
