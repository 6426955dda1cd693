"""Responses API stream events: one Struct per event type, a tagged union on ``type``.

``ResponseStreamEvent`` covers the 58 event types of openai-python's union plus
``response.compaction.compacting``.  Each event is a ``TopLevel`` so the decoder can attach its
raw bytes (``.raw``, ``.raw_bytes``).  ``.type`` is the msgspec tag, declared on every class as a
``ClassVar`` of one ``Literal`` (``ResponseTextDeltaEvent.type: Literal["response.output_text.delta"]``),
so ``if event.type == "response.output_text.delta": event.delta`` narrows the union under
mypy --strict and pyright, and reading ``.type`` is a class attribute lookup.

``ResponseStreamItem`` (what a stream yields) is ``ResponseStreamEvent | UnknownEvent``.  A type
outside the union cannot be decoded with it: ``llm/stream_decode.py`` turns it into an ``UnknownEvent``,
never into a wrong class.  ``UnknownEvent.type`` is the literal ``"unknown"`` (so comparing
``.type`` with a documented type narrows ``UnknownEvent`` away too, which is true at run time:
an ``UnknownEvent`` never carries a documented type); the server's type string is
``UnknownEvent.event_type`` and the JSON object ``UnknownEvent.raw``.

The classes look alike on purpose (``duplicates`` lists them by shape): a class per tag is what
makes ``event.type == "..."`` narrow, and msgspec needs each tag on its own class.  What they
share is already shared: ``ResponseStreamEventBase`` and the ``_Item`` / ``_Content`` /
``_Summary`` bases carry the common fields.  A class factory would hide the classes from
mypy and pyright, which is the point of having them.

``sequence_number`` is optional (recordings from early 2025 lack it).  The payload field of an
event (``delta`` of a delta event, ``response`` of a lifecycle event, ``item`` of an output-item
event) is required, so a known type with a broken shape fails to decode instead of passing as
empty.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Union

from ._response_event_base import ResponseStreamEventBase, UnknownEvent, _Content, _Item, _Summary
from ._response_tool_events import (
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCompactionCompactingEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpListToolsCompletedEvent,
    ResponseMcpListToolsFailedEvent,
    ResponseMcpListToolsInProgressEvent,
    ResponseShellCallCommandAddedEvent,
    ResponseShellCallCommandDeltaEvent,
    ResponseShellCallCommandDoneEvent,
    ResponseShellCallOutputContentDeltaEvent,
    ResponseShellCallOutputContentDoneEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
)
from .responses import Response, ResponseContentPart, ResponseOutputItem

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
"""Every event type the SDK knows (decode with ``llm.stream_decode.decode_responses_event``)."""

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
