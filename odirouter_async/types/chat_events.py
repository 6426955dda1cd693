"""The typed events of ``chat.completions.stream(...)``: a tagged union on ``type``.

``ChatCompletionStream`` (``llm/chat_stream.py``) yields, per chunk, a ``ChatChunkEvent`` and then one
event per thing the chunk adds.  Each class is a frozen msgspec Struct tagged on ``type``
(``msgspec.json.encode(event)`` writes ``{"type": "content.delta", ...}``), and declares ``type``
as a ``ClassVar`` of one ``Literal``, so ``if event.type == "content.delta": event.delta``
narrows ``ChatCompletionStreamEvent`` under mypy --strict and pyright.  Events carry the
fragment, never a snapshot: building one is O(1).
"""

from __future__ import annotations

from typing import ClassVar, Literal, Union

import msgspec

from .chat import ChatCompletionChunk, ChoiceDeltaToolCall

__all__ = (
    "ChatChunkEvent",
    "ChatCompletionStreamEvent",
    "ChatContentDeltaEvent",
    "ChatFinishEvent",
    "ChatReasoningDeltaEvent",
    "ChatRefusalDeltaEvent",
    "ChatToolCallDeltaEvent",
)


class _ChatEvent(msgspec.Struct, frozen=True, gc=False, tag_field="type"):
    """The base of the chat stream events (``type`` is the tag)."""


class ChatChunkEvent(_ChatEvent, frozen=True, gc=False, tag="chunk"):
    """A chunk arrived (every chunk gives one, before the events derived from it)."""

    type: ClassVar[Literal["chunk"]] = "chunk"
    chunk: ChatCompletionChunk


class ChatContentDeltaEvent(_ChatEvent, frozen=True, gc=False, tag="content.delta"):
    """A content fragment of choice ``index``."""

    type: ClassVar[Literal["content.delta"]] = "content.delta"
    index: int
    delta: str


class ChatRefusalDeltaEvent(_ChatEvent, frozen=True, gc=False, tag="refusal.delta"):
    """A refusal fragment of choice ``index``."""

    type: ClassVar[Literal["refusal.delta"]] = "refusal.delta"
    index: int
    delta: str


class ChatReasoningDeltaEvent(_ChatEvent, frozen=True, gc=False, tag="reasoning.delta"):
    """A reasoning fragment (``reasoning_content`` or ``reasoning``) of choice ``index``."""

    type: ClassVar[Literal["reasoning.delta"]] = "reasoning.delta"
    index: int
    delta: str


class ChatToolCallDeltaEvent(_ChatEvent, frozen=True, gc=False, tag="tool_call.delta"):
    """A tool-call fragment of choice ``index``: ``fragment.index``/``id``/``function.name`` and
    an ``arguments`` piece (``arguments_delta``, ``""`` when the fragment has none)."""

    type: ClassVar[Literal["tool_call.delta"]] = "tool_call.delta"
    index: int
    fragment: ChoiceDeltaToolCall

    @property
    def arguments_delta(self) -> str:
        """The piece of the call's JSON arguments in this fragment."""
        fn = self.fragment.function
        return (fn.arguments or "") if fn is not None else ""


class ChatFinishEvent(_ChatEvent, frozen=True, gc=False, tag="finish"):
    """Choice ``index`` got its (first) ``finish_reason``."""

    type: ClassVar[Literal["finish"]] = "finish"
    index: int
    finish_reason: str


ChatCompletionStreamEvent = Union[  # noqa: UP007 - a runtime alias on 3.10
    ChatChunkEvent,
    ChatContentDeltaEvent,
    ChatRefusalDeltaEvent,
    ChatReasoningDeltaEvent,
    ChatToolCallDeltaEvent,
    ChatFinishEvent,
]
"""Every event ``ChatCompletionStream`` yields (``msgspec.json.Decoder(ChatCompletionStreamEvent)``
decodes their JSON back)."""

for _cls in ChatCompletionStreamEvent.__args__:  # type: ignore[attr-defined]
    if _cls.__dict__.get("type") != _cls.__struct_config__.tag:  # the Literal and the tag agree
        raise TypeError(f"{_cls.__name__}: type ClassVar != tag")
del _cls
