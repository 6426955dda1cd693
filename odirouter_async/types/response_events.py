"""Responses API stream events: one Struct per event type, a tagged union on ``type``.

``ResponseStreamEvent`` covers the 58 event types of openai-python's union plus
``response.compaction.compacting``.  Each event is a ``TopLevel`` so the decoder can attach its
raw bytes (``.raw``, ``.raw_bytes``).  ``.type`` is the msgspec tag, declared on every class as a
``ClassVar`` of one ``Literal`` (``ResponseTextDeltaEvent.type: Literal["response.output_text.delta"]``),
so ``if event.type == "response.output_text.delta": event.delta`` narrows the union under
mypy --strict and pyright, and reading ``.type`` is a class attribute lookup.

``ResponseStreamItem`` (what a stream yields) is ``ResponseStreamEvent | UnknownEvent``.  A type
outside the union cannot be decoded with it: ``_stream_decode`` turns it into an ``UnknownEvent``,
never into a wrong class.  ``UnknownEvent.type`` is the literal ``"unknown"`` (so comparing
``.type`` with a documented type narrows ``UnknownEvent`` away too, which is true at run time:
an ``UnknownEvent`` never carries a documented type); the server's type string is
``UnknownEvent.event_type`` and the JSON object ``UnknownEvent.raw``.

``sequence_number`` is optional (recordings from early 2025 lack it).  The payload field of an
event (``delta`` of a delta event, ``response`` of a lifecycle event, ``item`` of an output-item
event) is required, so a known type with a broken shape fails to decode instead of passing as
empty.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Union

import msgspec

from ._base import TopLevel
from .responses import Response, ResponseContentPart, ResponseOutputItem


class ResponseStreamEventBase(TopLevel, tag_field="type"):
    """Fields every stream event has; ``type`` is the tag (a ``Literal`` ``ClassVar`` per class)."""

    sequence_number: int | None = None

    @property
    def type(self) -> str:
        """The event type (each concrete class overrides this with its ``Literal`` tag)."""
        return str(self.__struct_config__.tag)


class _Item(ResponseStreamEventBase):
    item_id: str = ""
    output_index: int = 0


class _Content(_Item):
    content_index: int = 0


class _Summary(_Item):
    summary_index: int = 0


class UnknownEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An event whose type this SDK does not know.

    Attributes:
        type: always ``"unknown"`` (so narrowing on a documented type excludes this class).
        event_type: the event's own ``type`` string as the server sent it.
        raw: the event's JSON object.
        sequence_number: the event's ``sequence_number``, when it has an integer one.
    """

    type: ClassVar[Literal["unknown"]] = "unknown"
    event_type: str
    raw: dict[str, Any]
    sequence_number: int | None = None


# Lifecycle -----------------------------------------------------------------------------------


class ResponseCreatedEvent(ResponseStreamEventBase, tag="response.created", kw_only=True):
    """The response was created."""

    type: ClassVar[Literal["response.created"]] = "response.created"
    response: Response


class ResponseQueuedEvent(ResponseStreamEventBase, tag="response.queued", kw_only=True):
    """The (background) response is queued."""

    type: ClassVar[Literal["response.queued"]] = "response.queued"
    response: Response


class ResponseInProgressEvent(ResponseStreamEventBase, tag="response.in_progress", kw_only=True):
    """The response is being generated."""

    type: ClassVar[Literal["response.in_progress"]] = "response.in_progress"
    response: Response


class ResponseCompletedEvent(ResponseStreamEventBase, tag="response.completed", kw_only=True):
    """Terminal: the response completed."""

    type: ClassVar[Literal["response.completed"]] = "response.completed"
    response: Response


class ResponseFailedEvent(ResponseStreamEventBase, tag="response.failed", kw_only=True):
    """Terminal: the response failed (``response.error``)."""

    type: ClassVar[Literal["response.failed"]] = "response.failed"
    response: Response


class ResponseIncompleteEvent(ResponseStreamEventBase, tag="response.incomplete", kw_only=True):
    """Terminal: the response stopped early (``response.incomplete_details``)."""

    type: ClassVar[Literal["response.incomplete"]] = "response.incomplete"
    response: Response


class ResponseErrorEvent(ResponseStreamEventBase, tag="error"):
    """An error in the stream.  The nested shape ``{"type": "error", "error": {...}}`` is
    accepted too: ``message``/``code``/``param`` are then filled from ``error``."""

    type: ClassVar[Literal["error"]] = "error"
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

    type: ClassVar[Literal["response.output_item.added"]] = "response.output_item.added"
    output_index: int = 0
    item: ResponseOutputItem


class ResponseOutputItemDoneEvent(ResponseStreamEventBase, tag="response.output_item.done", kw_only=True):
    """An output item is complete."""

    type: ClassVar[Literal["response.output_item.done"]] = "response.output_item.done"
    output_index: int = 0
    item: ResponseOutputItem


class ResponseContentPartAddedEvent(_Content, tag="response.content_part.added", kw_only=True):
    """A content part starts."""

    type: ClassVar[Literal["response.content_part.added"]] = "response.content_part.added"
    part: ResponseContentPart


class ResponseContentPartDoneEvent(_Content, tag="response.content_part.done", kw_only=True):
    """A content part is complete."""

    type: ClassVar[Literal["response.content_part.done"]] = "response.content_part.done"
    part: ResponseContentPart


# Text ----------------------------------------------------------------------------------------


class ResponseTextDeltaEvent(_Content, tag="response.output_text.delta", kw_only=True):
    """A fragment of output text."""

    type: ClassVar[Literal["response.output_text.delta"]] = "response.output_text.delta"
    delta: str
    logprobs: list[Any] | None = None


class ResponseTextDoneEvent(_Content, tag="response.output_text.done"):
    """The output text of a content part is complete."""

    type: ClassVar[Literal["response.output_text.done"]] = "response.output_text.done"
    text: str = ""
    logprobs: list[Any] | None = None


class ResponseOutputTextAnnotationAddedEvent(_Content, tag="response.output_text.annotation.added"):
    """An annotation (citation, file path...) was added to output text."""

    type: ClassVar[Literal["response.output_text.annotation.added"]] = "response.output_text.annotation.added"
    annotation_index: int = 0
    annotation: dict[str, Any] | None = None


class ResponseRefusalDeltaEvent(_Content, tag="response.refusal.delta", kw_only=True):
    """A fragment of a refusal."""

    type: ClassVar[Literal["response.refusal.delta"]] = "response.refusal.delta"
    delta: str


class ResponseRefusalDoneEvent(_Content, tag="response.refusal.done"):
    """The refusal is complete."""

    type: ClassVar[Literal["response.refusal.done"]] = "response.refusal.done"
    refusal: str = ""


# Reasoning -----------------------------------------------------------------------------------


class ResponseReasoningTextDeltaEvent(_Content, tag="response.reasoning_text.delta", kw_only=True):
    """A fragment of raw reasoning text."""

    type: ClassVar[Literal["response.reasoning_text.delta"]] = "response.reasoning_text.delta"
    delta: str


class ResponseReasoningTextDoneEvent(_Content, tag="response.reasoning_text.done"):
    """Raw reasoning text is complete."""

    type: ClassVar[Literal["response.reasoning_text.done"]] = "response.reasoning_text.done"
    text: str = ""


class ResponseReasoningSummaryPartAddedEvent(_Summary, tag="response.reasoning_summary_part.added"):
    """A reasoning summary part starts."""

    type: ClassVar[Literal["response.reasoning_summary_part.added"]] = "response.reasoning_summary_part.added"
    part: ResponseContentPart | None = None


class ResponseReasoningSummaryPartDoneEvent(_Summary, tag="response.reasoning_summary_part.done"):
    """A reasoning summary part is complete."""

    type: ClassVar[Literal["response.reasoning_summary_part.done"]] = "response.reasoning_summary_part.done"
    part: ResponseContentPart | None = None
    status: str | None = None


class ResponseReasoningSummaryTextDeltaEvent(
    _Summary, tag="response.reasoning_summary_text.delta", kw_only=True
):
    """A fragment of reasoning summary text."""

    type: ClassVar[Literal["response.reasoning_summary_text.delta"]] = "response.reasoning_summary_text.delta"
    delta: str


class ResponseReasoningSummaryTextDoneEvent(_Summary, tag="response.reasoning_summary_text.done"):
    """Reasoning summary text is complete."""

    type: ClassVar[Literal["response.reasoning_summary_text.done"]] = "response.reasoning_summary_text.done"
    text: str = ""


# Function and custom tools -------------------------------------------------------------------


class ResponseFunctionCallArgumentsDeltaEvent(
    _Item, tag="response.function_call_arguments.delta", kw_only=True
):
    """A fragment of a function call's JSON arguments."""

    type: ClassVar[Literal["response.function_call_arguments.delta"]] = (
        "response.function_call_arguments.delta"
    )
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(_Item, tag="response.function_call_arguments.done"):
    """A function call's arguments are complete."""

    type: ClassVar[Literal["response.function_call_arguments.done"]] = "response.function_call_arguments.done"
    arguments: str = ""
    name: str | None = None


class ResponseCustomToolCallInputDeltaEvent(_Item, tag="response.custom_tool_call_input.delta", kw_only=True):
    """A fragment of a custom (freeform) tool call's input."""

    type: ClassVar[Literal["response.custom_tool_call_input.delta"]] = "response.custom_tool_call_input.delta"
    delta: str


class ResponseCustomToolCallInputDoneEvent(_Item, tag="response.custom_tool_call_input.done"):
    """A custom tool call's input is complete."""

    type: ClassVar[Literal["response.custom_tool_call_input.done"]] = "response.custom_tool_call_input.done"
    input: str = ""


# Audio ---------------------------------------------------------------------------------------


class ResponseAudioDeltaEvent(ResponseStreamEventBase, tag="response.audio.delta", kw_only=True):
    """A fragment of base64 audio."""

    type: ClassVar[Literal["response.audio.delta"]] = "response.audio.delta"
    delta: str


class ResponseAudioDoneEvent(ResponseStreamEventBase, tag="response.audio.done"):
    """The audio is complete."""

    type: ClassVar[Literal["response.audio.done"]] = "response.audio.done"


class ResponseAudioTranscriptDeltaEvent(
    ResponseStreamEventBase, tag="response.audio.transcript.delta", kw_only=True
):
    """A fragment of the audio transcript."""

    type: ClassVar[Literal["response.audio.transcript.delta"]] = "response.audio.transcript.delta"
    delta: str


class ResponseAudioTranscriptDoneEvent(ResponseStreamEventBase, tag="response.audio.transcript.done"):
    """The audio transcript is complete."""

    type: ClassVar[Literal["response.audio.transcript.done"]] = "response.audio.transcript.done"


# Code interpreter ----------------------------------------------------------------------------


class ResponseCodeInterpreterCallInProgressEvent(_Item, tag="response.code_interpreter_call.in_progress"):
    """A code interpreter call started."""

    type: ClassVar[Literal["response.code_interpreter_call.in_progress"]] = (
        "response.code_interpreter_call.in_progress"
    )


class ResponseCodeInterpreterCallInterpretingEvent(_Item, tag="response.code_interpreter_call.interpreting"):
    """A code interpreter call is running its code."""

    type: ClassVar[Literal["response.code_interpreter_call.interpreting"]] = (
        "response.code_interpreter_call.interpreting"
    )


class ResponseCodeInterpreterCallCompletedEvent(_Item, tag="response.code_interpreter_call.completed"):
    """A code interpreter call finished."""

    type: ClassVar[Literal["response.code_interpreter_call.completed"]] = (
        "response.code_interpreter_call.completed"
    )


class ResponseCodeInterpreterCallCodeDeltaEvent(
    _Item, tag="response.code_interpreter_call_code.delta", kw_only=True
):
    """A fragment of the code a code interpreter call runs."""

    type: ClassVar[Literal["response.code_interpreter_call_code.delta"]] = (
        "response.code_interpreter_call_code.delta"
    )
    delta: str


class ResponseCodeInterpreterCallCodeDoneEvent(_Item, tag="response.code_interpreter_call_code.done"):
    """The code of a code interpreter call is complete."""

    type: ClassVar[Literal["response.code_interpreter_call_code.done"]] = (
        "response.code_interpreter_call_code.done"
    )
    code: str = ""


# Searches, image generation, MCP, compaction: progress events with only item_id/output_index


class ResponseFileSearchCallInProgressEvent(_Item, tag="response.file_search_call.in_progress"):
    """A file search started."""

    type: ClassVar[Literal["response.file_search_call.in_progress"]] = "response.file_search_call.in_progress"


class ResponseFileSearchCallSearchingEvent(_Item, tag="response.file_search_call.searching"):
    """A file search is searching."""

    type: ClassVar[Literal["response.file_search_call.searching"]] = "response.file_search_call.searching"


class ResponseFileSearchCallCompletedEvent(_Item, tag="response.file_search_call.completed"):
    """A file search finished."""

    type: ClassVar[Literal["response.file_search_call.completed"]] = "response.file_search_call.completed"


class ResponseWebSearchCallInProgressEvent(_Item, tag="response.web_search_call.in_progress"):
    """A web search started."""

    type: ClassVar[Literal["response.web_search_call.in_progress"]] = "response.web_search_call.in_progress"


class ResponseWebSearchCallSearchingEvent(_Item, tag="response.web_search_call.searching"):
    """A web search is searching."""

    type: ClassVar[Literal["response.web_search_call.searching"]] = "response.web_search_call.searching"


class ResponseWebSearchCallCompletedEvent(_Item, tag="response.web_search_call.completed"):
    """A web search finished."""

    type: ClassVar[Literal["response.web_search_call.completed"]] = "response.web_search_call.completed"


class ResponseImageGenCallInProgressEvent(_Item, tag="response.image_generation_call.in_progress"):
    """An image generation started."""

    type: ClassVar[Literal["response.image_generation_call.in_progress"]] = (
        "response.image_generation_call.in_progress"
    )


class ResponseImageGenCallGeneratingEvent(_Item, tag="response.image_generation_call.generating"):
    """An image is being generated."""

    type: ClassVar[Literal["response.image_generation_call.generating"]] = (
        "response.image_generation_call.generating"
    )


class ResponseImageGenCallCompletedEvent(_Item, tag="response.image_generation_call.completed"):
    """An image generation finished."""

    type: ClassVar[Literal["response.image_generation_call.completed"]] = (
        "response.image_generation_call.completed"
    )


class ResponseImageGenCallPartialImageEvent(_Item, tag="response.image_generation_call.partial_image"):
    """A partial image (base64) of an image generation."""

    type: ClassVar[Literal["response.image_generation_call.partial_image"]] = (
        "response.image_generation_call.partial_image"
    )

    partial_image_b64: str = ""
    partial_image_index: int = 0
    background: str | None = None
    output_format: str | None = None
    quality: str | None = None
    size: str | None = None


class ResponseMcpCallInProgressEvent(_Item, tag="response.mcp_call.in_progress"):
    """An MCP tool call started."""

    type: ClassVar[Literal["response.mcp_call.in_progress"]] = "response.mcp_call.in_progress"


class ResponseMcpCallCompletedEvent(_Item, tag="response.mcp_call.completed"):
    """An MCP tool call finished."""

    type: ClassVar[Literal["response.mcp_call.completed"]] = "response.mcp_call.completed"


class ResponseMcpCallFailedEvent(_Item, tag="response.mcp_call.failed"):
    """An MCP tool call failed."""

    type: ClassVar[Literal["response.mcp_call.failed"]] = "response.mcp_call.failed"


class ResponseMcpCallArgumentsDeltaEvent(_Item, tag="response.mcp_call_arguments.delta", kw_only=True):
    """A fragment of an MCP tool call's arguments."""

    type: ClassVar[Literal["response.mcp_call_arguments.delta"]] = "response.mcp_call_arguments.delta"
    delta: str


class ResponseMcpCallArgumentsDoneEvent(_Item, tag="response.mcp_call_arguments.done"):
    """An MCP tool call's arguments are complete."""

    type: ClassVar[Literal["response.mcp_call_arguments.done"]] = "response.mcp_call_arguments.done"
    arguments: str = ""


class ResponseMcpListToolsInProgressEvent(_Item, tag="response.mcp_list_tools.in_progress"):
    """Listing an MCP server's tools started."""

    type: ClassVar[Literal["response.mcp_list_tools.in_progress"]] = "response.mcp_list_tools.in_progress"


class ResponseMcpListToolsCompletedEvent(_Item, tag="response.mcp_list_tools.completed"):
    """Listing an MCP server's tools finished."""

    type: ClassVar[Literal["response.mcp_list_tools.completed"]] = "response.mcp_list_tools.completed"


class ResponseMcpListToolsFailedEvent(_Item, tag="response.mcp_list_tools.failed"):
    """Listing an MCP server's tools failed."""

    type: ClassVar[Literal["response.mcp_list_tools.failed"]] = "response.mcp_list_tools.failed"


class ResponseCompactionCompactingEvent(_Item, tag="response.compaction.compacting"):
    """The context is being compacted."""

    type: ClassVar[Literal["response.compaction.compacting"]] = "response.compaction.compacting"


# Shell tool ----------------------------------------------------------------------------------


class _Shell(ResponseStreamEventBase):
    output_index: int = 0
    command_index: int = 0


class ResponseShellCallCommandAddedEvent(_Shell, tag="response.shell_call_command.added"):
    """A shell command was added to a shell call."""

    type: ClassVar[Literal["response.shell_call_command.added"]] = "response.shell_call_command.added"
    command: str = ""


class ResponseShellCallCommandDeltaEvent(_Shell, tag="response.shell_call_command.delta", kw_only=True):
    """A fragment of a shell command."""

    type: ClassVar[Literal["response.shell_call_command.delta"]] = "response.shell_call_command.delta"
    delta: str


class ResponseShellCallCommandDoneEvent(_Shell, tag="response.shell_call_command.done"):
    """A shell command is complete."""

    type: ClassVar[Literal["response.shell_call_command.done"]] = "response.shell_call_command.done"
    command: str = ""


class ResponseShellCallOutputContentDeltaEvent(
    _Shell, tag="response.shell_call_output_content.delta", kw_only=True
):
    """A fragment of a shell command's output (``{"stdout": ..., "stderr": ...}``)."""

    type: ClassVar[Literal["response.shell_call_output_content.delta"]] = (
        "response.shell_call_output_content.delta"
    )
    item_id: str = ""
    delta: dict[str, Any]


class ResponseShellCallOutputContentDoneEvent(_Shell, tag="response.shell_call_output_content.done"):
    """A shell command's output is complete."""

    type: ClassVar[Literal["response.shell_call_output_content.done"]] = (
        "response.shell_call_output_content.done"
    )
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

#: What a Responses stream yields: a documented event, or an ``UnknownEvent``.
ResponseStreamItem = Union[ResponseStreamEvent, UnknownEvent]  # noqa: UP007

#: Terminal lifecycle events: each carries the final ``response``.
TerminalEvent = Union[ResponseCompletedEvent, ResponseFailedEvent, ResponseIncompleteEvent]  # noqa: UP007

_EVENT_CLASSES: tuple[type[ResponseStreamEventBase], ...] = ResponseStreamEvent.__args__  # type: ignore[attr-defined]

#: Every ``type`` string of ``ResponseStreamEvent``.
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(str(cls.__struct_config__.tag) for cls in _EVENT_CLASSES)

for _cls in _EVENT_CLASSES:  # the Literal ClassVar and the msgspec tag are written twice: same string
    _type: object = _cls.__dict__.get("type")
    if _type != _cls.__struct_config__.tag:
        raise TypeError(f"{_cls.__name__}.type {_type!r} != its tag {_cls.__struct_config__.tag!r}")
del _cls, _type

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
    "ResponseStreamItem",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "TerminalEvent",
    "UnknownEvent",
)
