"""Responses API stream events: one Struct per event type, a tagged union on ``type``.

``ResponseStreamEvent`` covers the 58 event types of openai-python's union plus
``response.compaction.compacting``.  Each event is a ``TopLevel`` so the decoder can attach its
raw bytes (``.raw``, ``.raw_bytes``); ``.type`` is the tag.  A type outside the union cannot be
decoded with it: ``_stream_decode`` turns it into ``UnknownEvent(type, raw)``, never into a
wrong class.  ``sequence_number`` is optional (recordings from early 2025 lack it).  The payload
field of an event (``delta`` of a delta event, ``response`` of a lifecycle event, ``item`` of an
output-item event) is required, so a known type with a broken shape fails to decode instead of
passing as empty.
"""

from __future__ import annotations

from typing import Any, Union

from ._base import TopLevel, WireModel
from .responses import Response, ResponseContentPart, ResponseOutputItem


class ResponseStreamEventBase(TopLevel, tag_field="type"):
    """Fields every stream event has; ``type`` is the tag."""

    sequence_number: int | None = None

    @property
    def type(self) -> str:
        """The event type (the tag of the concrete class)."""
        return str(self.__struct_config__.tag)


class _Item(ResponseStreamEventBase):
    item_id: str = ""
    output_index: int = 0


class _Content(_Item):
    content_index: int = 0


class _Summary(_Item):
    summary_index: int = 0


class UnknownEvent(WireModel):
    """An event whose ``type`` this SDK does not know; ``raw`` is its JSON object."""

    type: str
    raw: dict[str, Any]
    sequence_number: int | None = None


# Lifecycle -----------------------------------------------------------------------------------


class ResponseCreatedEvent(ResponseStreamEventBase, tag="response.created", kw_only=True):
    """The response was created."""

    response: Response


class ResponseQueuedEvent(ResponseStreamEventBase, tag="response.queued", kw_only=True):
    """The (background) response is queued."""

    response: Response


class ResponseInProgressEvent(ResponseStreamEventBase, tag="response.in_progress", kw_only=True):
    """The response is being generated."""

    response: Response


class ResponseCompletedEvent(ResponseStreamEventBase, tag="response.completed", kw_only=True):
    """Terminal: the response completed."""

    response: Response


class ResponseFailedEvent(ResponseStreamEventBase, tag="response.failed", kw_only=True):
    """Terminal: the response failed (``response.error``)."""

    response: Response


class ResponseIncompleteEvent(ResponseStreamEventBase, tag="response.incomplete", kw_only=True):
    """Terminal: the response stopped early (``response.incomplete_details``)."""

    response: Response


class ResponseErrorEvent(ResponseStreamEventBase, tag="error"):
    """An error in the stream.  The nested shape ``{"type": "error", "error": {...}}`` is
    accepted too: ``message``/``code``/``param`` are then filled from ``error``."""

    message: str = ""
    code: str | int | None = None
    param: str | None = None
    error: Any = None

    def __post_init__(self) -> None:
        err = self.error
        if isinstance(err, dict):
            if not self.message and isinstance(err.get("message"), str):
                self.message = err["message"]
            if self.code is None and isinstance(err.get("code"), (str, int)):
                self.code = err["code"]
            if self.param is None and isinstance(err.get("param"), str):
                self.param = err["param"]
        elif isinstance(err, str) and not self.message:
            self.message = err


# Output structure ----------------------------------------------------------------------------


class ResponseOutputItemAddedEvent(ResponseStreamEventBase, tag="response.output_item.added", kw_only=True):
    """A new output item starts."""

    output_index: int = 0
    item: ResponseOutputItem


class ResponseOutputItemDoneEvent(ResponseStreamEventBase, tag="response.output_item.done", kw_only=True):
    """An output item is complete."""

    output_index: int = 0
    item: ResponseOutputItem


class ResponseContentPartAddedEvent(_Content, tag="response.content_part.added", kw_only=True):
    """A content part starts."""

    part: ResponseContentPart


class ResponseContentPartDoneEvent(_Content, tag="response.content_part.done", kw_only=True):
    """A content part is complete."""

    part: ResponseContentPart


# Text ----------------------------------------------------------------------------------------


class ResponseTextDeltaEvent(_Content, tag="response.output_text.delta", kw_only=True):
    """A fragment of output text."""

    delta: str
    logprobs: list[Any] | None = None


class ResponseTextDoneEvent(_Content, tag="response.output_text.done"):
    """The output text of a content part is complete."""

    text: str = ""
    logprobs: list[Any] | None = None


class ResponseOutputTextAnnotationAddedEvent(_Content, tag="response.output_text.annotation.added"):
    """An annotation (citation, file path...) was added to output text."""

    annotation_index: int = 0
    annotation: dict[str, Any] | None = None


class ResponseRefusalDeltaEvent(_Content, tag="response.refusal.delta", kw_only=True):
    """A fragment of a refusal."""

    delta: str


class ResponseRefusalDoneEvent(_Content, tag="response.refusal.done"):
    """The refusal is complete."""

    refusal: str = ""


# Reasoning -----------------------------------------------------------------------------------


class ResponseReasoningTextDeltaEvent(_Content, tag="response.reasoning_text.delta", kw_only=True):
    """A fragment of raw reasoning text."""

    delta: str


class ResponseReasoningTextDoneEvent(_Content, tag="response.reasoning_text.done"):
    """Raw reasoning text is complete."""

    text: str = ""


class ResponseReasoningSummaryPartAddedEvent(_Summary, tag="response.reasoning_summary_part.added"):
    """A reasoning summary part starts."""

    part: ResponseContentPart | None = None


class ResponseReasoningSummaryPartDoneEvent(_Summary, tag="response.reasoning_summary_part.done"):
    """A reasoning summary part is complete."""

    part: ResponseContentPart | None = None
    status: str | None = None


class ResponseReasoningSummaryTextDeltaEvent(
    _Summary, tag="response.reasoning_summary_text.delta", kw_only=True
):
    """A fragment of reasoning summary text."""

    delta: str


class ResponseReasoningSummaryTextDoneEvent(_Summary, tag="response.reasoning_summary_text.done"):
    """Reasoning summary text is complete."""

    text: str = ""


# Function and custom tools -------------------------------------------------------------------


class ResponseFunctionCallArgumentsDeltaEvent(
    _Item, tag="response.function_call_arguments.delta", kw_only=True
):
    """A fragment of a function call's JSON arguments."""

    delta: str


class ResponseFunctionCallArgumentsDoneEvent(_Item, tag="response.function_call_arguments.done"):
    """A function call's arguments are complete."""

    arguments: str = ""
    name: str | None = None


class ResponseCustomToolCallInputDeltaEvent(_Item, tag="response.custom_tool_call_input.delta", kw_only=True):
    """A fragment of a custom (freeform) tool call's input."""

    delta: str


class ResponseCustomToolCallInputDoneEvent(_Item, tag="response.custom_tool_call_input.done"):
    """A custom tool call's input is complete."""

    input: str = ""


# Audio ---------------------------------------------------------------------------------------


class ResponseAudioDeltaEvent(ResponseStreamEventBase, tag="response.audio.delta", kw_only=True):
    """A fragment of base64 audio."""

    delta: str


class ResponseAudioDoneEvent(ResponseStreamEventBase, tag="response.audio.done"):
    """The audio is complete."""


class ResponseAudioTranscriptDeltaEvent(
    ResponseStreamEventBase, tag="response.audio.transcript.delta", kw_only=True
):
    """A fragment of the audio transcript."""

    delta: str


class ResponseAudioTranscriptDoneEvent(ResponseStreamEventBase, tag="response.audio.transcript.done"):
    """The audio transcript is complete."""


# Code interpreter ----------------------------------------------------------------------------


class ResponseCodeInterpreterCallInProgressEvent(_Item, tag="response.code_interpreter_call.in_progress"):
    """A code interpreter call started."""


class ResponseCodeInterpreterCallInterpretingEvent(_Item, tag="response.code_interpreter_call.interpreting"):
    """A code interpreter call is running its code."""


class ResponseCodeInterpreterCallCompletedEvent(_Item, tag="response.code_interpreter_call.completed"):
    """A code interpreter call finished."""


class ResponseCodeInterpreterCallCodeDeltaEvent(
    _Item, tag="response.code_interpreter_call_code.delta", kw_only=True
):
    """A fragment of the code a code interpreter call runs."""

    delta: str


class ResponseCodeInterpreterCallCodeDoneEvent(_Item, tag="response.code_interpreter_call_code.done"):
    """The code of a code interpreter call is complete."""

    code: str = ""


# Searches, image generation, MCP, compaction: progress events with only item_id/output_index


class ResponseFileSearchCallInProgressEvent(_Item, tag="response.file_search_call.in_progress"):
    """A file search started."""


class ResponseFileSearchCallSearchingEvent(_Item, tag="response.file_search_call.searching"):
    """A file search is searching."""


class ResponseFileSearchCallCompletedEvent(_Item, tag="response.file_search_call.completed"):
    """A file search finished."""


class ResponseWebSearchCallInProgressEvent(_Item, tag="response.web_search_call.in_progress"):
    """A web search started."""


class ResponseWebSearchCallSearchingEvent(_Item, tag="response.web_search_call.searching"):
    """A web search is searching."""


class ResponseWebSearchCallCompletedEvent(_Item, tag="response.web_search_call.completed"):
    """A web search finished."""


class ResponseImageGenCallInProgressEvent(_Item, tag="response.image_generation_call.in_progress"):
    """An image generation started."""


class ResponseImageGenCallGeneratingEvent(_Item, tag="response.image_generation_call.generating"):
    """An image is being generated."""


class ResponseImageGenCallCompletedEvent(_Item, tag="response.image_generation_call.completed"):
    """An image generation finished."""


class ResponseImageGenCallPartialImageEvent(_Item, tag="response.image_generation_call.partial_image"):
    """A partial image (base64) of an image generation."""

    partial_image_b64: str = ""
    partial_image_index: int = 0
    background: str | None = None
    output_format: str | None = None
    quality: str | None = None
    size: str | None = None


class ResponseMcpCallInProgressEvent(_Item, tag="response.mcp_call.in_progress"):
    """An MCP tool call started."""


class ResponseMcpCallCompletedEvent(_Item, tag="response.mcp_call.completed"):
    """An MCP tool call finished."""


class ResponseMcpCallFailedEvent(_Item, tag="response.mcp_call.failed"):
    """An MCP tool call failed."""


class ResponseMcpCallArgumentsDeltaEvent(_Item, tag="response.mcp_call_arguments.delta", kw_only=True):
    """A fragment of an MCP tool call's arguments."""

    delta: str


class ResponseMcpCallArgumentsDoneEvent(_Item, tag="response.mcp_call_arguments.done"):
    """An MCP tool call's arguments are complete."""

    arguments: str = ""


class ResponseMcpListToolsInProgressEvent(_Item, tag="response.mcp_list_tools.in_progress"):
    """Listing an MCP server's tools started."""


class ResponseMcpListToolsCompletedEvent(_Item, tag="response.mcp_list_tools.completed"):
    """Listing an MCP server's tools finished."""


class ResponseMcpListToolsFailedEvent(_Item, tag="response.mcp_list_tools.failed"):
    """Listing an MCP server's tools failed."""


class ResponseCompactionCompactingEvent(_Item, tag="response.compaction.compacting"):
    """The context is being compacted."""


# Shell tool ----------------------------------------------------------------------------------


class _Shell(ResponseStreamEventBase):
    output_index: int = 0
    command_index: int = 0


class ResponseShellCallCommandAddedEvent(_Shell, tag="response.shell_call_command.added"):
    """A shell command was added to a shell call."""

    command: str = ""


class ResponseShellCallCommandDeltaEvent(_Shell, tag="response.shell_call_command.delta", kw_only=True):
    """A fragment of a shell command."""

    delta: str


class ResponseShellCallCommandDoneEvent(_Shell, tag="response.shell_call_command.done"):
    """A shell command is complete."""

    command: str = ""


class ResponseShellCallOutputContentDeltaEvent(
    _Shell, tag="response.shell_call_output_content.delta", kw_only=True
):
    """A fragment of a shell command's output (``{"stdout": ..., "stderr": ...}``)."""

    item_id: str = ""
    delta: dict[str, Any]


class ResponseShellCallOutputContentDoneEvent(_Shell, tag="response.shell_call_output_content.done"):
    """A shell command's output is complete."""

    item_id: str = ""
    output: list[Any] | None = None


ResponseStreamEvent = Union[  # noqa: UP007 - a runtime union of Struct types for msgspec
    ResponseCreatedEvent,
    ResponseQueuedEvent,
    ResponseInProgressEvent,
    ResponseCompletedEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseErrorEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpListToolsInProgressEvent,
    ResponseMcpListToolsCompletedEvent,
    ResponseMcpListToolsFailedEvent,
    ResponseCompactionCompactingEvent,
    ResponseShellCallCommandAddedEvent,
    ResponseShellCallCommandDeltaEvent,
    ResponseShellCallCommandDoneEvent,
    ResponseShellCallOutputContentDeltaEvent,
    ResponseShellCallOutputContentDoneEvent,
]
"""Every event type the SDK knows (decode with ``_stream_decode.decode_responses_event``)."""

#: Terminal lifecycle events: each carries the final ``response``.
TerminalEvent = Union[ResponseCompletedEvent, ResponseFailedEvent, ResponseIncompleteEvent]  # noqa: UP007

#: Every ``type`` string of ``ResponseStreamEvent``.
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag)
    for cls in ResponseStreamEvent.__args__  # type: ignore[attr-defined]
)

__all__ = (
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
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "TerminalEvent",
    "UnknownEvent",
)
