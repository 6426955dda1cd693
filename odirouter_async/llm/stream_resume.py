"""Resuming a background Responses stream after a cut (sans-IO: no clock, no I/O).

A Responses stream created with ``background=True`` lives on the server: when the connection
breaks before the terminal event, ``GET /v1/responses/{id}?stream=true&starting_after=N`` replays
the events after sequence number ``N``.  What this module decides, once:

* ``ResumeCursor``: where the stream stands (the response id, from ``response.created``; the last
  ``sequence_number`` handed out) and, after a cut, whether to reconnect and after how long:
  ``after_cut()`` returns the delay, from the client's ``RetryPolicy`` (``backoff.expo`` with
  jitter, capped; its ``max_retries`` is the budget of reconnections *in a row without a new
  event*: any new event restores the budget), or ``None`` when the stream cannot be resumed (no
  id or no sequence number yet) or the budget is spent.  ``accept(item)`` drops an event already
  handed out (``sequence_number`` not above the last one: a server that replays too much);
* ``ResumableResponsesProtocol``: a ``ResponsesStreamProtocol`` whose events pass the cursor
  before the accumulator and the caller see them.  One is built per HTTP body; the cursor and the
  accumulator are shared by all of them, so the final ``Response`` is assembled once.

Plain (not background) streams never use this module: their per-event path is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..http.retry import RetryPolicy
from ..http.sse import DEFAULT_MAX_EVENT_BYTES, SSEEvent
from .responses_protocol import ResponsesStreamProtocol, ResponseStreamItem
from .responses_state import ResponseAccumulator

__all__ = ("ResumableResponsesProtocol", "ResumeCursor")


class ResumeCursor:
    """Where a background stream stands, and what to do after a cut (see the module docstring).

    Attributes:
        response_id: the ``resp_...`` id (known from the start, or from ``response.created``).
        last_sequence: the highest ``sequence_number`` handed out, or ``None``.
        failures: reconnections in a row since the last new event.
        resumes: reconnections made in all.
    """

    __slots__ = ("_delays", "_policy", "failures", "last_sequence", "response_id", "resumes")

    def __init__(
        self, policy: RetryPolicy, *, response_id: str | None = None, starting_after: int | None = None
    ) -> None:
        self._policy = policy
        self._delays = policy.delays()
        self.response_id = response_id
        self.last_sequence = starting_after
        self.failures = 0
        self.resumes = 0

    @property
    def resumable(self) -> bool:
        """Whether a reconnection could say where to start: an id and a sequence number."""
        return self.response_id is not None and self.last_sequence is not None

    def accept(self, item: ResponseStreamItem) -> bool:
        """Whether ``item`` is new (hand it out) or a duplicate of one already handed out (drop it)."""
        if self.response_id is None:
            response = getattr(item, "response", None)
            rid = getattr(response, "id", None)
            if isinstance(rid, str) and rid:
                self.response_id = rid
        seq = item.sequence_number
        if seq is None:
            return True  # nothing to compare: handed out as is
        last = self.last_sequence
        if last is not None and seq <= last:
            return False
        self.last_sequence = seq
        if self.failures:  # progress: the budget is whole again
            self.failures = 0
            self._delays = self._policy.delays()
        return True

    def after_cut(self) -> float | None:
        """Seconds to wait before reconnecting, or ``None``: not resumable, or the budget is spent."""
        if not self.resumable:
            return None
        delay = self._policy.next_delay(self.failures, self._delays, server_hint=None)
        if delay is None:
            return None
        self.failures += 1
        self.resumes += 1
        return delay

    def resume_query(self) -> dict[str, str]:
        """The query of the reconnection: ``stream=true&starting_after=<last sequence number>``."""
        return {"stream": "true", "starting_after": str(self.last_sequence)}


class ResumableResponsesProtocol(ResponsesStreamProtocol):
    """A ``ResponsesStreamProtocol`` that drops events its ``cursor`` has already handed out.

    The accumulator (when there is one) is the one shared by every body of the stream.
    """

    __slots__ = ("_acc_add", "_dup", "cursor")

    def __init__(
        self,
        cursor: ResumeCursor,
        accumulator: ResponseAccumulator | None,
        *,
        x_request_id: str | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        super().__init__(x_request_id=x_request_id, max_event_bytes=max_event_bytes)
        self.cursor = cursor
        self.accumulator = accumulator
        self._acc_add: Callable[[Any], None] | None = None if accumulator is None else accumulator.add
        self._dup: object = None
        self._add = self._gate  # the base feeds every decoded event here, before handing it out

    def _gate(self, item: ResponseStreamItem) -> None:
        if self.cursor.accept(item):
            if self._acc_add is not None:
                self._acc_add(item)
        else:
            self._dup = item

    def _take(self, events: list[SSEEvent]) -> Iterator[ResponseStreamItem]:
        for item in super()._take(events):
            if item is self._dup:
                self._dup = None
                continue
            yield item
