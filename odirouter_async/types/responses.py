"""Responses API wire types: the ``Response`` object, its output items and usage.

``Response`` is a ``TopLevel`` (``.raw`` keeps everything, including fields not typed here).
Output items are a tagged union on ``type`` (``ResponseOutputItem``): one Struct per documented
item type, whose ``type`` is a ``Literal`` ``ClassVar`` (so ``if item.type == "function_call":``
narrows under mypy --strict and pyright) and whose always-present wire fields are typed without
``None`` (``ResponseFunctionToolCall.call_id: str``, ``.name: str``, ``.arguments: str``); the
identifying ones are required to decode, the growing ones (``arguments``, ``input``) default to
``""`` (a stream's ``output_item.added`` may carry them empty or not at all).  An item whose
type this SDK does not know, or whose shape does not match its type, becomes an
``UnknownOutputItem``: ``.type`` is the literal ``"unknown"`` (never a documented type, so
narrowing stays true at run time), the server's type string is ``.item_type`` and the JSON
object ``.raw``.  Message content parts are a union the same
way (``ResponseOutputText``, ``ResponseOutputRefusal``, ``UnknownContentPart``).

msgspec cannot fall back on an unknown tag by itself: a body that fails to decode is decoded
again through ``lenient_response_obj`` (unknown items rewritten to ``UnknownOutputItem``),
so the fast path costs nothing extra.

``ParsedResponse[T]`` is what ``responses.parse`` returns (``output_parsed: T | None``).
The stream events are in ``types/response_events.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Literal, TypeAlias, TypeVar

import msgspec

from ._base import TopLevel, WireModel

__all__ = (
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
)

T = TypeVar("T")

# ----------------------------------------------------------------------------------------------
# Small shared members


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
    """A loose content part (stream ``content_part`` events, reasoning ``summary``/``content``):
    ``output_text``, ``refusal``, ``reasoning_text``, ``summary_text``..."""

    type: str = ""
    text: str | None = None
    refusal: str | None = None
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


# ----------------------------------------------------------------------------------------------
# Message content parts (tagged on ``type``)


class _PartBase(WireModel, tag_field="type"):
    @property
    def type(self) -> str:
        """The part type (each concrete class overrides this with its ``Literal`` tag)."""
        return str(self.__struct_config__.tag)


class ResponseOutputText(_PartBase, tag="output_text", kw_only=True):
    """Text written by the model (``parsed``: set by ``responses.parse`` when it decoded)."""

    type: ClassVar[Literal["output_text"]] = "output_text"
    text: str
    annotations: list[Any] = msgspec.field(default_factory=list)
    logprobs: list[Any] | None = None
    parsed: Any = None


class ResponseOutputRefusal(_PartBase, tag="refusal", kw_only=True):
    """The model refused; ``refusal`` says why."""

    type: ClassVar[Literal["refusal"]] = "refusal"
    refusal: str


class UnknownContentPart(_PartBase, tag="unknown", kw_only=True):
    """A content part whose type this SDK does not know (``part_type``: its type; ``raw``: the JSON)."""

    type: ClassVar[Literal["unknown"]] = "unknown"
    part_type: str = ""
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


ResponseOutputContent: TypeAlias = ResponseOutputText | ResponseOutputRefusal | UnknownContentPart

# ----------------------------------------------------------------------------------------------
# Output items (tagged on ``type``)


class _ItemBase(WireModel, tag_field="type"):
    @property
    def type(self) -> str:
        """The item type (each concrete class overrides this with its ``Literal`` tag)."""
        return str(self.__struct_config__.tag)


class ResponseOutputMessage(_ItemBase, tag="message", kw_only=True):
    """An assistant message: ``content`` holds ``output_text`` and ``refusal`` parts."""

    type: ClassVar[Literal["message"]] = "message"
    id: str = ""
    role: str = "assistant"
    status: str | None = None
    content: list[ResponseOutputContent] = msgspec.field(default_factory=list)


class ResponseFunctionToolCall(_ItemBase, tag="function_call", kw_only=True):
    """A call of one of your function tools (``arguments``: the model's JSON text).

    ``parsed_arguments`` is set by ``responses.parse`` when the tool was a ``function_tool(T)``.
    """

    type: ClassVar[Literal["function_call"]] = "function_call"
    call_id: str
    name: str
    arguments: str = ""  # "" in the ``output_item.added`` of a stream, filled by the deltas
    id: str | None = None
    status: str | None = None
    parsed_arguments: Any = None


class ResponseCustomToolCall(_ItemBase, tag="custom_tool_call", kw_only=True):
    """A call of a custom (free-form input) tool."""

    type: ClassVar[Literal["custom_tool_call"]] = "custom_tool_call"
    call_id: str
    name: str
    input: str = ""
    id: str | None = None
    status: str | None = None


class ResponseReasoningItem(_ItemBase, tag="reasoning", kw_only=True):
    """The model's reasoning: ``summary`` parts, raw ``content`` when given, or encrypted."""

    type: ClassVar[Literal["reasoning"]] = "reasoning"
    id: str = ""
    summary: list[ResponseContentPart] = msgspec.field(default_factory=list)
    content: list[ResponseContentPart] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class ResponseFunctionWebSearch(_ItemBase, tag="web_search_call", kw_only=True):
    """A web search the model ran (``action``: search, open_page, find)."""

    type: ClassVar[Literal["web_search_call"]] = "web_search_call"
    id: str = ""
    status: str | None = None
    action: Any = None


class ResponseFileSearchToolCall(_ItemBase, tag="file_search_call", kw_only=True):
    """A file search the model ran."""

    type: ClassVar[Literal["file_search_call"]] = "file_search_call"
    id: str = ""
    status: str | None = None
    queries: list[str] = msgspec.field(default_factory=list)
    results: list[Any] | None = None


class ResponseComputerToolCall(_ItemBase, tag="computer_call", kw_only=True):
    """A computer-use action for you to perform."""

    type: ClassVar[Literal["computer_call"]] = "computer_call"
    call_id: str
    action: Any
    id: str = ""
    status: str | None = None
    pending_safety_checks: list[Any] = msgspec.field(default_factory=list)


class ResponseCodeInterpreterToolCall(_ItemBase, tag="code_interpreter_call", kw_only=True):
    """Code the model ran in a container."""

    type: ClassVar[Literal["code_interpreter_call"]] = "code_interpreter_call"
    id: str = ""
    status: str | None = None
    code: str | None = None
    container_id: str | None = None
    outputs: list[Any] | None = None


class ResponseImageGenCall(_ItemBase, tag="image_generation_call", kw_only=True):
    """An image generated by the model (``result``: base64 image)."""

    type: ClassVar[Literal["image_generation_call"]] = "image_generation_call"
    id: str = ""
    status: str | None = None
    result: str | None = None


class ResponseLocalShellCall(_ItemBase, tag="local_shell_call", kw_only=True):
    """A shell command for you to run locally."""

    type: ClassVar[Literal["local_shell_call"]] = "local_shell_call"
    call_id: str
    action: Any
    id: str = ""
    status: str | None = None


class ResponseMcpCall(_ItemBase, tag="mcp_call", kw_only=True):
    """A call of a tool on a remote MCP server."""

    type: ClassVar[Literal["mcp_call"]] = "mcp_call"
    name: str
    server_label: str
    arguments: str = ""
    id: str = ""
    status: str | None = None
    output: str | None = None
    error: Any = None
    approval_request_id: str | None = None


class ResponseMcpListTools(_ItemBase, tag="mcp_list_tools", kw_only=True):
    """The tools an MCP server offers."""

    type: ClassVar[Literal["mcp_list_tools"]] = "mcp_list_tools"
    server_label: str
    id: str = ""
    tools: list[Any] = msgspec.field(default_factory=list)
    error: Any = None


class ResponseMcpApprovalRequest(_ItemBase, tag="mcp_approval_request", kw_only=True):
    """An MCP tool call waiting for your approval."""

    type: ClassVar[Literal["mcp_approval_request"]] = "mcp_approval_request"
    name: str
    arguments: str
    server_label: str
    id: str = ""


class UnknownOutputItem(_ItemBase, tag="unknown", kw_only=True):
    """An output item this SDK does not know, or whose shape did not match its type.

    Attributes:
        type: always ``"unknown"`` (so narrowing on a documented type excludes this class).
        item_type: the item's own ``type`` string as the server sent it.
        raw: the item's JSON object.
    """

    type: ClassVar[Literal["unknown"]] = "unknown"
    item_type: str = ""
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


ResponseOutputItem: TypeAlias = (
    ResponseOutputMessage
    | ResponseFunctionToolCall
    | ResponseCustomToolCall
    | ResponseReasoningItem
    | ResponseFunctionWebSearch
    | ResponseFileSearchToolCall
    | ResponseComputerToolCall
    | ResponseCodeInterpreterToolCall
    | ResponseImageGenCall
    | ResponseLocalShellCall
    | ResponseMcpCall
    | ResponseMcpListTools
    | ResponseMcpApprovalRequest
    | UnknownOutputItem
)

# ----------------------------------------------------------------------------------------------
# The Response object


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
            if isinstance(item, ResponseOutputMessage):
                parts.extend(c.text for c in item.content if isinstance(c, ResponseOutputText))
        return "".join(parts)


class ParsedResponse(Response, Generic[T]):
    """A ``Response`` from ``responses.parse``: ``output_parsed`` is the first ``output_text``
    decoded into the requested type (``None`` when the model refused or wrote no text)."""

    output_parsed: T | None = None


# ----------------------------------------------------------------------------------------------
# The lenient path (only taken when the typed decode failed)

_ITEM_TYPES: dict[str, Any] = {
    str(cls.__struct_config__.tag): cls for cls in ResponseOutputItem.__args__ if cls is not UnknownOutputItem
}
_PART_TYPES: dict[str, Any] = {"output_text": ResponseOutputText, "refusal": ResponseOutputRefusal}


def _lenient(obj: Any, known: dict[str, Any], unknown: str, key: str) -> Any:
    """``obj`` as is when it decodes as its type, else the dict of an unknown member."""
    if not isinstance(obj, dict):
        return obj
    kind = obj.get("type")
    cls = known.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        try:
            msgspec.convert(obj, cls)
            return obj
        except msgspec.ValidationError:
            pass
    return {"type": unknown, key: kind if isinstance(kind, str) else "", "raw": obj}


def _lenient_item(obj: Any) -> Any:
    if isinstance(obj, dict) and obj.get("type") == "message" and isinstance(obj.get("content"), list):
        obj = {**obj, "content": [_lenient(p, _PART_TYPES, "unknown", "part_type") for p in obj["content"]]}
    return _lenient(obj, _ITEM_TYPES, "unknown", "item_type")


def lenient_response_obj(obj: Any) -> Any:
    """A decoded JSON response (or stream event) with every output item that would not decode
    typed rewritten as an ``UnknownOutputItem`` (a new object; ``obj`` is not changed)."""
    if not isinstance(obj, dict):
        return obj
    out = dict(obj)
    if isinstance(out.get("output"), list):
        out["output"] = [_lenient_item(i) for i in out["output"]]
    if isinstance(out.get("response"), dict):
        out["response"] = lenient_response_obj(out["response"])
    if isinstance(out.get("item"), dict):
        out["item"] = _lenient_item(out["item"])
    return out


_R = TypeVar("_R", bound=Response)


def decode_lenient(data: bytes, cls: type[_R]) -> _R | None:
    """``data`` decoded as ``cls`` through ``lenient_response_obj`` (``None`` if it still fails)."""
    try:
        return msgspec.convert(lenient_response_obj(msgspec.json.decode(data)), cls)
    except (msgspec.DecodeError, RecursionError):
        return None
