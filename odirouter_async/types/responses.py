"""Responses API wire types: the ``Response`` object, its output items and usage.

``Response`` is a ``TopLevel`` (``.raw`` keeps everything, including fields not typed here).
Output items are modelled loosely, on purpose: one ``ResponseOutputItem`` Struct whose ``type``
is a plain string and whose fields are the union of the common ones.  New item types (OpenAI
adds them often) then decode instead of failing, and nothing is lost: ``Response.raw`` has the
item as sent.  Fields whose JSON type differs between item types are typed ``Any``.

The stream events are in ``types/response_events.py``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import TopLevel, WireModel

__all__ = (
    "IncompleteDetails",
    "Response",
    "ResponseContentPart",
    "ResponseError",
    "ResponseOutputItem",
    "ResponseUsage",
)

# ----------------------------------------------------------------------------------------------
# The Response object


class ResponseUsage(WireModel, gc=False):
    """Token counts of a response (OpenRouter's ``cost`` extras typed too)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None
    cost: float | None = None
    cost_details: dict[str, Any] | None = None
    is_byok: bool | None = None


class ResponseError(WireModel, gc=False):
    """``response.error`` of a failed response."""

    code: str | int | None = None
    message: str = ""


class IncompleteDetails(WireModel, gc=False):
    """Why a response is ``incomplete`` (``max_output_tokens``, ``content_filter``...)."""

    reason: str | None = None


class ResponseContentPart(WireModel):
    """A content part: ``output_text``, ``refusal``, ``reasoning_text``, ``summary_text``..."""

    type: str = ""
    text: str | None = None
    refusal: str | None = None
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class ResponseOutputItem(WireModel):
    """One output item, whatever its ``type`` (``message``, ``reasoning``, ``function_call``,
    ``custom_tool_call``, ``web_search_call``, ``code_interpreter_call``, ``mcp_call``...)."""

    type: str = ""
    id: str | None = None
    status: str | None = None
    # message
    role: str | None = None
    content: list[ResponseContentPart] | str | None = None
    # function_call, custom_tool_call, mcp_call
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    server_label: str | None = None
    approval_request_id: str | None = None
    tools: list[Any] | None = None
    # reasoning
    summary: list[ResponseContentPart] | None = None
    encrypted_content: str | None = None
    # code_interpreter_call, web_search_call, file_search_call, image_generation_call
    code: str | None = None
    container_id: str | None = None
    outputs: list[Any] | None = None
    action: Any = None
    queries: list[Any] | None = None
    results: Any = None
    result: Any = None


class Response(TopLevel):
    """A Responses API response (``.x_request_id``: the ``X-Request-Id`` of its HTTP exchange)."""

    id: str = ""
    object: str = "response"
    created_at: int = 0
    status: str | None = None
    model: str = ""
    output: list[ResponseOutputItem] = msgspec.field(default_factory=list)
    usage: ResponseUsage | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: Any = None
    metadata: dict[str, Any] | None = None
    previous_response_id: str | None = None
    background: bool | None = None
    completed_at: int | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool | None = None
    tool_choice: Any = None
    tools: list[Any] | None = None
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    truncation: str | None = None
    service_tier: str | None = None
    store: bool | None = None
    user: str | None = None

    @property
    def output_text(self) -> str:
        """All ``output_text`` content of the ``message`` items, concatenated in order."""
        parts: list[str] = []
        for item in self.output:
            if item.type == "message" and isinstance(item.content, list):
                parts.extend(c.text for c in item.content if c.type == "output_text" and c.text is not None)
        return "".join(parts)
