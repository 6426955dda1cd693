"""``client.chat.completions.stream(...)``: the chat stream helper and its typed events.

``ChatCompletionStreamManager`` is what ``stream(...)`` returns: an async context manager that
sends the request on entry and closes the stream on exit.  It yields a ``ChatCompletionStream``:

* ``async for event in s``: per chunk a ``ChatChunkEvent``, then one event per thing the chunk
  adds: ``ChatContentDeltaEvent``, ``ChatRefusalDeltaEvent``, ``ChatReasoningDeltaEvent``,
  ``ChatToolCallDeltaEvent`` (one per tool-call fragment) and ``ChatFinishEvent`` (the first
  ``finish_reason`` of each choice): a union tagged on ``type`` (``types.chat_events``).  Events
  carry the fragment, never a snapshot, so each costs O(1); ``s.current_completion_snapshot``
  builds the completion so far when asked (O(size)).
* ``text_deltas()``: just the content fragments of choice 0 (no event objects built);
* ``until_done()`` / ``get_final_completion()``: read to the end; the completion is accumulated
  by ``ChatCompletionAccumulator`` (content, refusal, reasoning, tool calls, finish reasons,
  usage), fed every chunk, an error chunk included, before anything else sees it.

The helper holds one iterator over the underlying ``AsyncStream``, so leaving a loop early and
then calling ``get_final_completion()`` goes on where the loop stopped.  An error that ended the
stream (``StreamEventError``, ``StreamInterrupted``...) is raised again by ``until_done()`` and
``get_final_completion()``; what arrived before it stays readable on the accumulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

from multidict import CIMultiDictProxy

from .._core.chat_state import ChatCompletionAccumulator
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.chat_events import (
    ChatChunkEvent,
    ChatCompletionStreamEvent,
    ChatContentDeltaEvent,
    ChatFinishEvent,
    ChatReasoningDeltaEvent,
    ChatRefusalDeltaEvent,
    ChatToolCallDeltaEvent,
)
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


class ChatCompletionStream:
    """An open chat stream with an accumulator (from ``chat.completions.stream(...)``).

    Attributes:
        accumulator: the ``ChatCompletionAccumulator`` fed with every chunk so far.
        stream: the underlying ``AsyncStream[ChatCompletionChunk]``.
    """

    def __init__(
        self, stream: AsyncStream[ChatCompletionChunk], accumulator: ChatCompletionAccumulator
    ) -> None:
        """Wrap a stream whose ``sink`` is ``accumulator.add`` (the manager builds both).

        Args:
            stream: the open stream.
            accumulator: the accumulator the stream feeds.
        """
        self.stream = stream
        self.accumulator = accumulator
        self._chunks = stream.__aiter__()  # held here: leaving one loop does not close the stream
        self._finished: set[int] = set()

    @property
    def x_request_id(self) -> str | None:
        """The ``X-Request-Id`` of the exchange."""
        return self.stream.x_request_id

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The response headers."""
        return self.stream.headers

    def __aiter__(self) -> AsyncIterator[ChatCompletionStreamEvent]:
        """Typed events (see the module docstring)."""
        return self._events()

    async def _events(self) -> AsyncIterator[ChatCompletionStreamEvent]:
        finished = self._finished
        async for chunk in self._chunks:
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
                if choice.finish_reason is not None and index not in finished:
                    finished.add(index)
                    yield ChatFinishEvent(index, choice.finish_reason)

    async def text_deltas(self) -> AsyncIterator[str]:
        """The content fragments of choice 0, as they arrive (empty fragments skipped)."""
        async for chunk in self._chunks:
            for choice in chunk.choices:
                if choice.index == 0:
                    content = choice.delta.content
                    if content:
                        yield content
                    break

    async def until_done(self) -> None:
        """Read the stream to its end (raises what ended it early, if anything did)."""
        async for _ in self._chunks:
            pass
        self.stream.raise_if_failed()

    async def get_final_completion(self) -> ChatCompletion:
        """Read to the end and return the accumulated ``ChatCompletion`` (``x_request_id`` set)."""
        await self.until_done()
        return self.accumulator.final(self.x_request_id)

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        """The completion accumulated so far, built now (cost grows with the text: not per chunk)."""
        return self.accumulator.final(self.x_request_id)

    async def close(self) -> None:
        """Close the stream (idempotent)."""
        await self.stream.aclose()
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except RuntimeError:  # being iterated by another task, which sees the close
                pass


class ChatCompletionStreamManager:
    """``async with client.chat.completions.stream(...) as s``: the request is sent on entry."""

    def __init__(
        self, open_stream: Callable[[Callable[[Any], None]], Awaitable[AsyncStream[ChatCompletionChunk]]]
    ) -> None:
        """Hold the request until ``async with``.

        Args:
            open_stream: ``open_stream(sink)`` sends the request and returns the stream that
                feeds ``sink``.
        """
        self._open = open_stream
        self._stream: ChatCompletionStream | None = None

    async def __aenter__(self) -> ChatCompletionStream:
        if self._stream is not None:
            raise RuntimeError("this stream manager was already entered; call stream(...) again")
        accumulator = ChatCompletionAccumulator()
        self._stream = ChatCompletionStream(await self._open(accumulator.add), accumulator)
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
