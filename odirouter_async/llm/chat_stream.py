"""``client.chat.completions.stream(...)``: the chat stream helper and its typed events.

``ChatCompletionStreamManager`` is what ``stream(...)`` returns: an async context manager that
sends the request on entry and closes the stream on exit.  It yields a ``ChatCompletionStream``:

* ``async for event in s``: per chunk a ``ChatChunkEvent``, then one event per thing the chunk
  adds: ``ChatContentDeltaEvent``, ``ChatRefusalDeltaEvent``, ``ChatReasoningDeltaEvent``,
  ``ChatToolCallDeltaEvent`` (one per tool-call fragment) and ``ChatFinishEvent`` (the first
  ``finish_reason`` of each choice, as the protocol's ``finished_by`` records it): a union
  tagged on ``type`` (``types.chat_events``).  Events carry the fragment, never a snapshot, so
  each costs O(1);
* methods, for what arrives: ``text_deltas()`` (just the content fragments of choice 0, no
  event objects built), ``until_done()`` and ``get_final_completion()`` (read to the end);
* properties, for what the stream has so far (built when read, O(size): not per chunk):
  ``output_text`` (choice 0's content), ``tool_calls`` (choice 0's), ``current_completion_snapshot``;
  ``accumulator`` is the ``ChatCompletionAccumulator`` the stream's ``ChatStreamProtocol`` feeds
  with every chunk, an error chunk included, before anything else sees it.

The helper holds one iterator over the underlying ``AsyncStream``, so leaving a loop early and
then calling ``get_final_completion()`` goes on where the loop stopped.  An error that ended the
stream (``StreamEventError``, ``StreamInterrupted``...) is raised again by ``until_done()`` and
``get_final_completion()``; what arrived before it stays readable on the accumulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageToolCall
from ..types.chat_events import (
    ChatChunkEvent,
    ChatCompletionStreamEvent,
    ChatContentDeltaEvent,
    ChatFinishEvent,
    ChatReasoningDeltaEvent,
    ChatRefusalDeltaEvent,
    ChatToolCallDeltaEvent,
)
from .chat_protocol import ChatStreamProtocol
from .chat_state import ChatCompletionAccumulator
from .helper import StreamHelper, StreamManager
from .stream import AsyncStream

__all__ = (
    "ChatChunkEvent",
    "ChatCompletionStream",
    "ChatCompletionStreamEvent",
    "ChatCompletionStreamManager",
    "ChatContentDeltaEvent",
    "ChatFinishEvent",
    "ChatReasoningDeltaEvent",
    "ChatRefusalDeltaEvent",
    "ChatToolCallDeltaEvent",
)


class ChatCompletionStream(StreamHelper[ChatCompletionChunk, ChatCompletionAccumulator]):
    """An open chat stream and its accumulated completion (from ``chat.completions.stream(...)``).

    Attributes:
        stream: the underlying ``AsyncStream[ChatCompletionChunk]``.
        accumulator: the ``ChatCompletionAccumulator`` fed with every chunk that arrived.
    """

    def __init__(self, stream: AsyncStream[ChatCompletionChunk]) -> None:
        """Wrap a stream opened with ``ChatStreamProtocol`` and ``accumulate=True``."""
        super().__init__(stream)
        if not isinstance(stream.protocol, ChatStreamProtocol):
            raise TypeError("ChatCompletionStream needs a ChatStreamProtocol stream")
        self._finished_by = stream.protocol.finished_by

    def __aiter__(self) -> AsyncIterator[ChatCompletionStreamEvent]:
        """Typed events (see the module docstring)."""
        return self._events()

    async def _events(self) -> AsyncIterator[ChatCompletionStreamEvent]:
        finished_by = self._finished_by
        async for chunk in self._items:
            yield ChatChunkEvent(chunk)
            for choice in chunk.choices:
                index = choice.index
                delta = choice.delta
                if delta.content:
                    yield ChatContentDeltaEvent(index, delta.content)
                if delta.refusal:
                    yield ChatRefusalDeltaEvent(index, delta.refusal)
                reasoning = delta.reasoning_content or delta.reasoning
                if reasoning:
                    yield ChatReasoningDeltaEvent(index, reasoning)
                if delta.tool_calls:
                    for fragment in delta.tool_calls:
                        yield ChatToolCallDeltaEvent(index, fragment)
                if choice.finish_reason is not None and finished_by.get(index) is chunk:
                    yield ChatFinishEvent(index, choice.finish_reason)

    async def text_deltas(self) -> AsyncIterator[str]:
        """The content fragments of choice 0, as they arrive (empty fragments skipped)."""
        async for chunk in self._items:
            for choice in chunk.choices:
                if choice.index == 0:
                    content = choice.delta.content
                    if content:
                        yield content
                    break

    async def get_final_completion(self) -> ChatCompletion:
        """Read to the end and return the accumulated ``ChatCompletion`` (``x_request_id`` set)."""
        await self.until_done()
        return self._accumulator.final(self.x_request_id)

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """The completion accumulated so far, built when read (O(size): not per chunk)."""
        return self._accumulator.final(self.x_request_id)

    @property
    def output_text(self) -> str:
        """Choice 0's content so far, joined when read (``""`` when none)."""
        return self._accumulator.text(0)

    @property
    def tool_calls(self) -> list[ChatCompletionMessageToolCall]:
        """Choice 0's tool calls assembled so far, built when read."""
        for choice in self._accumulator.final().choices:
            if choice.index == 0:
                return list(choice.message.tool_calls or ())
        return []


class ChatCompletionStreamManager(StreamManager[ChatCompletionChunk, ChatCompletionStream]):
    """``async with client.chat.completions.stream(...) as s``: the request is sent on entry."""

    def _wrap(self, stream: AsyncStream[ChatCompletionChunk]) -> ChatCompletionStream:
        return ChatCompletionStream(stream)
