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
from ._raw import RawResponse as RawResponse
from .http.retry import RetryPolicy as RetryPolicy
from .llm import chat_stream as _chat_stream
from .llm.chat_stream import *  # noqa: F403  (the chat helper and its events: its __all__)
from .llm.stream import AsyncStream as AsyncStream
from .types._base import to_dict as to_dict
from .types.chat import (
    ChatCompletion as ChatCompletion,
    ChatCompletionChunk as ChatCompletionChunk,
    ParsedChatCompletion as ParsedChatCompletion,
)
from .types.models import Model as Model, ModelList as ModelList

if TYPE_CHECKING:  # imported on first use (``__getattr__`` below); type checkers see them here
    from .batch.journal import Journal as Journal
    from .batch.map import (
        JobMap as JobMap,
        MapHooks as MapHooks,
        MapOutcome as MapOutcome,
        MapProgress as MapProgress,
    )
    from .llm.responses_stream import (
        ResponseStream as ResponseStream,
        ResponseStreamManager as ResponseStreamManager,
    )
    from .llm.strict_schema import StrictSchemaError as StrictSchemaError
    from .llm.structured import (
        FunctionTool as FunctionTool,
        ParsedChatCompletionStream as ParsedChatCompletionStream,
        ParsedChatCompletionStreamManager as ParsedChatCompletionStreamManager,
        ParsedResponseStream as ParsedResponseStream,
        ParsedResponseStreamManager as ParsedResponseStreamManager,
        function_tool as function_tool,
    )
    from .queue.job_state import CancelOutcome as CancelOutcome, JobState as JobState
    from .queue.jobs import Job as Job
    from .queue.scheduler import SchedulerStats as SchedulerStats
    from .types.queue import (
        JobOutput as JobOutput,
        JobResult as JobResult,
        QueueStatus as QueueStatus,
        StatusUpdate as StatusUpdate,
    )
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
    from .types.videos import (
        Video as Video,
        VideoDeleted as VideoDeleted,
        VideoError as VideoError,
        VideoList as VideoList,
    )

#: names whose modules a chat call never needs: imported on first use (issue #23)
_LAZY: dict[str, str] = {
    "ResponseStream": ".llm.responses_stream",
    "ResponseStreamManager": ".llm.responses_stream",
    "StrictSchemaError": ".llm.strict_schema",
    "FunctionTool": ".llm.structured",
    "ParsedChatCompletionStream": ".llm.structured",
    "ParsedChatCompletionStreamManager": ".llm.structured",
    "ParsedResponseStream": ".llm.structured",
    "ParsedResponseStreamManager": ".llm.structured",
    "function_tool": ".llm.structured",
    "ResponseStreamEvent": ".types.response_events",
    "UnknownEvent": ".types.response_events",
    "ParsedResponse": ".types.responses",
    "Response": ".types.responses",
    "ResponseOutputItem": ".types.responses",
    "UnknownOutputItem": ".types.responses",
    "CancelOutcome": ".queue.job_state",
    "JobState": ".queue.job_state",
    "Job": ".queue.jobs",
    "Journal": ".batch.journal",
    "JobMap": ".batch.map",
    "MapHooks": ".batch.map",
    "MapOutcome": ".batch.map",
    "MapProgress": ".batch.map",
    "SchedulerStats": ".queue.scheduler",
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
