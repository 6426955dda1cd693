"""Responses stream events of the built-in tools: audio, code interpreter, file and web search,
image generation, MCP, compaction and the shell tool (members of ``ResponseStreamEvent``).

One class per event type, alike by design: see ``response_events.py`` (why a factory would not do).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ._response_event_base import ResponseStreamEventBase, _Item

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
