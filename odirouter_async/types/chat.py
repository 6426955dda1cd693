"""Chat Completions wire types: the ``chat.completion`` body and the ``chat.completion.chunk``.

Response side only; requests are plain dicts (``ChatMessage`` is a typing aid for them).
Every field that some real provider omits or sends as ``null`` has a default, learnt from the
conformance corpus: Azure's first chunk has ``object: ""`` and ``choices: []``, Snowflake sends
an empty ``id`` and ``created: 0``, Mistral streams a tool call without ``index``, Writer sends
``arguments: null`` fragments, OpenRouter puts an ``error`` member in a chunk.  Unknown fields
are skipped (``WireModel``); the whole body stays reachable as ``.raw``.

Stream chunks are decoded per token, so the types under ``ChatCompletionChunk`` are leaf
Structs with ``gc=False`` (no reference cycles are possible through their fields).  The chunk
itself is a ``TopLevel`` (a ``__dict__`` for ``.raw``): decoding costs the same, and attaching
the raw bytes about 0.1 µs.  Fields typed ``Any`` are named so because ``object`` is itself a
field name in these classes.
"""

from __future__ import annotations

from typing import Any, Generic, TypedDict, TypeVar

import msgspec

from ._base import TopLevel, WireModel

__all__ = (
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
)


class ChatMessage(TypedDict, total=False):
    """A request message (a typing aid; any dict the gateway accepts may be sent)."""

    role: str
    content: str | list[dict[str, Any]] | None
    name: str
    tool_calls: list[dict[str, Any]]
    tool_call_id: str


# ----------------------------------------------------------------------------------------------
# Shared


class CompletionUsage(WireModel, gc=False):
    """Token counts.  Provider extras seen in the wild are typed too (OpenRouter ``cost``,
    DeepSeek cache counters, Groq timings); anything else is in the body's ``.raw``."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None
    cost: float | None = None
    cost_details: dict[str, Any] | None = None
    is_byok: bool | None = None
    prompt_cache_hit_tokens: int | None = None
    prompt_cache_miss_tokens: int | None = None
    cached_tokens: int | None = None
    queue_time: float | None = None
    prompt_time: float | None = None
    completion_time: float | None = None
    total_time: float | None = None


# ----------------------------------------------------------------------------------------------
# Non-streamed body


class Function(WireModel, gc=False):
    """The function a tool call invokes; ``arguments`` is the model's JSON text, unparsed
    (``None`` only when a provider sent ``null``)."""

    name: str = ""
    arguments: str | None = ""


class ChatCompletionMessageToolCall(WireModel, gc=False):
    """A tool call in a final message.  ``index`` is only set on accumulated streams."""

    id: str = ""
    type: str = "function"
    function: Function = msgspec.field(default_factory=Function)
    index: int | None = None


class ChatCompletionMessage(WireModel):
    """The assistant message of a choice (gateway extras such as ``reasoning_content`` typed)."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    annotations: list[Any] | None = None
    audio: dict[str, Any] | None = None
    function_call: Function | None = None


class Choice(WireModel):
    """One choice of a ``chat.completion``."""

    index: int = 0
    message: ChatCompletionMessage = msgspec.field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(TopLevel):
    """A ``chat.completion`` body (``.x_request_id``: the ``X-Request-Id`` of its HTTP exchange)."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = msgspec.field(default_factory=list)
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


# ----------------------------------------------------------------------------------------------
# Stream chunks


class ChoiceDeltaToolCallFunction(WireModel, gc=False):
    """A fragment of a tool call's function: ``name`` once, ``arguments`` in pieces (or null)."""

    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(WireModel, gc=False):
    """A tool-call fragment.  ``index`` may be missing (Mistral); ``id`` only on the first."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDelta(WireModel, gc=False):
    """What one chunk adds to one choice."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChunkChoice(WireModel, gc=False):
    """One choice's part of a chunk (``n > 1`` streams carry one choice per chunk)."""

    index: int = 0
    delta: ChoiceDelta = msgspec.field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


# ChatCompletion and ChatCompletionChunk share their top-level fields by name (OpenAI's two
# shapes), not by a base class: their ``choices`` differ in type, and the chunk is the hot decode
# path (a base with generic ``choices`` changes every chunk's decode for eight lines).
class ChatCompletionChunk(TopLevel):
    """A ``chat.completion.chunk``; ``error`` is the in-band error member some providers send."""

    id: str = ""
    object: str = ""
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = msgspec.field(default_factory=list)
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    provider: str | None = None
    error: Any = None


# ----------------------------------------------------------------------------------------------
# ``chat.completions.parse`` results: the same shapes, with the decoded values added.
# The field overrides narrow a container's element type, which mypy reports as an incompatible
# override (lists are invariant); they are read-only results, so the narrowing is sound.

T = TypeVar("T")


class ParsedFunction(Function, gc=False):
    """A tool call's function; ``parsed_arguments`` holds the arguments decoded into the
    ``function_tool(T)`` type of that name (``None`` for tools given as plain dicts)."""

    parsed_arguments: Any = None


class ParsedFunctionToolCall(ChatCompletionMessageToolCall, gc=False):
    """A tool call of a ``parse`` result."""

    function: ParsedFunction = msgspec.field(default_factory=ParsedFunction)


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    """The assistant message of a ``parse`` result: ``parsed`` is ``content`` decoded into ``T``
    (``None`` when the model refused, see ``refusal``, or wrote no content)."""

    parsed: T | None = None
    tool_calls: list[ParsedFunctionToolCall] | None = None  # type: ignore[assignment]


class ParsedChoice(Choice, Generic[T]):
    """One choice of a ``parse`` result."""

    message: ParsedChatCompletionMessage[T] = msgspec.field(default_factory=ParsedChatCompletionMessage)


class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """What ``chat.completions.parse`` returns: every choice's ``message.parsed`` is a ``T``."""

    choices: list[ParsedChoice[T]] = msgspec.field(default_factory=list)  # type: ignore[assignment]
