"""The public types: every wire Struct, stream event and result type, importable from one place.

``from odirouter_async.types import ResponseTextDeltaEvent, ChatCompletion, JobResult, Video``.
Chat (``chat``), chat stream helper events (``chat_events``), Responses (``responses``) and
their stream events (``response_events``), models, queue results and videos.  Everything here
is a msgspec Struct (or a ``TypedDict``/``Union`` alias) and free of I/O; the client, the
streams and the errors are exported from ``odirouter_async`` itself.

Each name's module is imported when the name is first read (PEP 562 ``__getattr__``): importing
``types.chat`` for a chat call does not load the Responses, queue and video types (issue #23).
``_NAMES`` lists each module's public names (its ``__all__``), checked against the modules by
``tests/unit/test_lazy_import.py``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see every name here; at run time ``__getattr__`` imports it
    from .chat import *  # noqa: F403
    from .chat_events import *  # noqa: F403
    from .models import *  # noqa: F403
    from .queue import *  # noqa: F403
    from .response_events import *  # noqa: F403
    from .responses import *  # noqa: F403
    from .videos import *  # noqa: F403

#: submodule -> the public names it exports to this package
_NAMES: dict[str, tuple[str, ...]] = {
    "chat": (
        "ChatCompletion",
        "ChatCompletionChunk",
        "ChatCompletionMessage",
        "ChatCompletionMessageToolCall",
        "ChatMessage",
        "Choice",
        "ChoiceDelta",
        "ChoiceDeltaToolCall",
        "ChoiceDeltaToolCallFunction",
        "ChunkChoice",
        "CompletionUsage",
        "Function",
        "ParsedChatCompletion",
        "ParsedChatCompletionMessage",
        "ParsedChoice",
        "ParsedFunction",
        "ParsedFunctionToolCall",
    ),
    "chat_events": (
        "ChatChunkEvent",
        "ChatCompletionStreamEvent",
        "ChatContentDeltaEvent",
        "ChatFinishEvent",
        "ChatReasoningDeltaEvent",
        "ChatRefusalDeltaEvent",
        "ChatToolCallDeltaEvent",
    ),
    "models": (
        "Model",
        "ModelList",
    ),
    "response_events": (
        "KNOWN_EVENT_TYPES",
        "ResponseAudioDeltaEvent",
        "ResponseAudioDoneEvent",
        "ResponseAudioTranscriptDeltaEvent",
        "ResponseAudioTranscriptDoneEvent",
        "ResponseCodeInterpreterCallCodeDeltaEvent",
        "ResponseCodeInterpreterCallCodeDoneEvent",
        "ResponseCodeInterpreterCallCompletedEvent",
        "ResponseCodeInterpreterCallInProgressEvent",
        "ResponseCodeInterpreterCallInterpretingEvent",
        "ResponseCompactionCompactingEvent",
        "ResponseCompletedEvent",
        "ResponseContentPartAddedEvent",
        "ResponseContentPartDoneEvent",
        "ResponseCreatedEvent",
        "ResponseCustomToolCallInputDeltaEvent",
        "ResponseCustomToolCallInputDoneEvent",
        "ResponseErrorEvent",
        "ResponseFailedEvent",
        "ResponseFileSearchCallCompletedEvent",
        "ResponseFileSearchCallInProgressEvent",
        "ResponseFileSearchCallSearchingEvent",
        "ResponseFunctionCallArgumentsDeltaEvent",
        "ResponseFunctionCallArgumentsDoneEvent",
        "ResponseImageGenCallCompletedEvent",
        "ResponseImageGenCallGeneratingEvent",
        "ResponseImageGenCallInProgressEvent",
        "ResponseImageGenCallPartialImageEvent",
        "ResponseInProgressEvent",
        "ResponseIncompleteEvent",
        "ResponseMcpCallArgumentsDeltaEvent",
        "ResponseMcpCallArgumentsDoneEvent",
        "ResponseMcpCallCompletedEvent",
        "ResponseMcpCallFailedEvent",
        "ResponseMcpCallInProgressEvent",
        "ResponseMcpListToolsCompletedEvent",
        "ResponseMcpListToolsFailedEvent",
        "ResponseMcpListToolsInProgressEvent",
        "ResponseOutputItemAddedEvent",
        "ResponseOutputItemDoneEvent",
        "ResponseOutputTextAnnotationAddedEvent",
        "ResponseQueuedEvent",
        "ResponseReasoningSummaryPartAddedEvent",
        "ResponseReasoningSummaryPartDoneEvent",
        "ResponseReasoningSummaryTextDeltaEvent",
        "ResponseReasoningSummaryTextDoneEvent",
        "ResponseReasoningTextDeltaEvent",
        "ResponseReasoningTextDoneEvent",
        "ResponseRefusalDeltaEvent",
        "ResponseRefusalDoneEvent",
        "ResponseShellCallCommandAddedEvent",
        "ResponseShellCallCommandDeltaEvent",
        "ResponseShellCallCommandDoneEvent",
        "ResponseShellCallOutputContentDeltaEvent",
        "ResponseShellCallOutputContentDoneEvent",
        "ResponseStreamEvent",
        "ResponseStreamEventBase",
        "ResponseStreamItem",
        "ResponseTextDeltaEvent",
        "ResponseTextDoneEvent",
        "ResponseWebSearchCallCompletedEvent",
        "ResponseWebSearchCallInProgressEvent",
        "ResponseWebSearchCallSearchingEvent",
        "TerminalEvent",
        "UnknownEvent",
    ),
    "responses": (
        "IncompleteDetails",
        "ParsedResponse",
        "Response",
        "ResponseCodeInterpreterToolCall",
        "ResponseComputerToolCall",
        "ResponseContentPart",
        "ResponseCustomToolCall",
        "ResponseError",
        "ResponseFileSearchToolCall",
        "ResponseFunctionToolCall",
        "ResponseFunctionWebSearch",
        "ResponseImageGenCall",
        "ResponseLocalShellCall",
        "ResponseMcpApprovalRequest",
        "ResponseMcpCall",
        "ResponseMcpListTools",
        "ResponseOutputContent",
        "ResponseOutputItem",
        "ResponseOutputMessage",
        "ResponseOutputRefusal",
        "ResponseOutputText",
        "ResponseReasoningItem",
        "ResponseUsage",
        "UnknownContentPart",
        "UnknownOutputItem",
    ),
    "queue": ("JobOutput", "JobResult", "QueueMetrics", "QueueStatus", "QueueSubmitResponse", "StatusUpdate"),
    "videos": ("Video", "VideoDeleted", "VideoError", "VideoList"),
}
_WHERE: dict[str, str] = {name: module for module, names in _NAMES.items() for name in names}

__all__: tuple[str, ...] = tuple(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` (first use only: the value is cached here)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, the ones not imported yet included."""
    return sorted(set(globals()) | set(_WHERE))
