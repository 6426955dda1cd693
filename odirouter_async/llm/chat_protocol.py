"""``ChatStreamProtocol``: chat completion SSE bytes in, ``ChatCompletionChunk``s out (sans-IO).

Every rule of a chat stream's end lives here, once (the framing and error plumbing are
``stream_protocol.StreamProtocol``'s):

* ``data: [DONE]`` ends the stream (``done``); what follows it is ignored;
* at EOF without ``[DONE]`` the stream still ended cleanly when at least one choice finished and
  every choice seen has a ``finish_reason`` (Writer sends no ``[DONE]``); otherwise
  ``StreamInterrupted``;
* "has choice *i* finished": ``finished_by[i]`` is the chunk that first gave choice *i* a
  ``finish_reason`` (the helper's ``ChatFinishEvent`` is emitted for exactly that chunk);
* in-band errors: an ``event: error`` event raises ``StreamEventError``; a chunk whose ``error``
  member is set (OpenRouter) is accumulated first (it may carry ``usage``), then raises;
* provider quirks (content as a list of parts, ``null`` token counts) are repaired by the
  decoder (``stream_decode`` + ``chat_quirks``).

With ``accumulate=True``, ``accumulator`` (a ``ChatCompletionAccumulator``) is fed every chunk,
the error chunk included; ``create(stream=True)`` streams without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import msgspec

import odirouter_async.llm.stream_decode as stream_decode

from .._exceptions import StreamInterrupted
from ..http.sse import SSEEvent
from ..types.chat import ChatCompletionChunk
from .chat_state import ChatCompletionAccumulator
from .stream_decode import DONE, Done, chat_chunk_error, decode_chat_chunk
from .stream_protocol import _EVENT_ERRORS, StreamProtocol

__all__ = ("ChatStreamProtocol",)

_MESSAGE: Final = "message"  # the SSE default event type (the same interned string)


class ChatStreamProtocol(StreamProtocol[ChatCompletionChunk]):
    """Chat chunks and the chat end rules (see the module docstring).

    Attributes:
        accumulator: the ``ChatCompletionAccumulator`` fed every chunk, or ``None``.
        finished_by: choice index -> the chunk that first gave it a ``finish_reason``.
    """

    name = "chat"

    __slots__ = ("_open", "finished_by")
    accumulator: ChatCompletionAccumulator | None
    accumulator_type = ChatCompletionAccumulator

    def _start(self) -> None:
        # Indexes seen in a chunk without a finish_reason: a dict of ints stays untracked by the
        # cyclic collector (a set is always tracked), one GC object less per open stream.
        self._open: dict[int, None] = {}
        self.finished_by: dict[int, ChatCompletionChunk] = {}

    # This loop and ResponsesStreamProtocol._take look alike on purpose: the strict decode is
    # inlined in each, because this is the per-chunk hot path and a shared per-event helper
    # measured slower than the CPU budget per chunk allows (BENCHMARKS.md, "Per-event stream
    # loop").  The shared parts that are not per event live in StreamProtocol (iter_feed, eof,
    # _end, _collect).
    def _take(self, events: list[SSEEvent]) -> Iterator[ChatCompletionChunk]:
        rid = self.x_request_id
        add = self._add
        open_choices = self._open
        finished = self.finished_by
        decode = decode_chat_chunk
        strict = stream_decode.strict_chunk_decode  # rebound once the decoder is built
        try:
            for ev in events:
                item: ChatCompletionChunk | Done | None
                if ev.event is _MESSAGE:  # the common case inlined: one call less per chunk
                    data = ev.data
                    try:
                        item = strict(data)
                    except (msgspec.DecodeError, RecursionError):
                        item = decode(ev, rid)
                    else:
                        d = item.__dict__
                        d["_raw_bytes"] = data
                        if rid is not None:
                            d["_x_request_id"] = rid
                else:
                    item = decode(ev, rid)
                if item is None:
                    continue
                if item is DONE:
                    self.done = self.ended = True
                    return
                for choice in item.choices:
                    if choice.finish_reason is None:
                        open_choices[choice.index] = None
                    elif choice.index not in finished:
                        finished[choice.index] = item
                if add is not None:
                    add(item)
                if item.error:
                    raise chat_chunk_error(item, rid)
                yield item
        except _EVENT_ERRORS as exc:
            self._end(exc)
            raise

    def _end_at_eof(self) -> bool:
        finished = self.finished_by
        if finished and self._open.keys() <= finished.keys():
            self.done = True
            return True
        return False

    def _missing_end(self) -> StreamInterrupted:
        return StreamInterrupted(
            "The chat stream ended before [DONE] and before every choice finished.",
            x_request_id=self.x_request_id,
        )
