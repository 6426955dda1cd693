"""``ResumingStream``: a background Responses stream that reconnects after a cut (I/O shell).

A stream of ``responses.create(background=True, stream=True)``, ``responses.stream(background=True)``
or ``responses.retrieve(id, stream=True)`` is an ``AsyncStream`` like any other, except when its
body ends (or breaks, or goes silent past ``Timeout.read``) before the terminal event: then it
asks its ``ResumeCursor`` (``llm.stream_resume``) whether and when to reconnect, waits that
long, sends ``GET /v1/responses/{id}?stream=true&starting_after=<last sequence number>`` and goes
on with a fresh ``ResumableResponsesProtocol`` sharing the cursor (duplicates dropped) and the
accumulator (one final ``Response``).  The caller sees one uninterrupted sequence of events.

When the cursor says no (no response id or sequence number yet, or ``max_retries``
reconnections in a row brought no new event), the stream raises ``StreamInterrupted`` with the
last failure as ``__cause__`` and ``response_id`` / ``sequence_number`` set, for a manual
``responses.retrieve(response_id, stream=True, starting_after=sequence_number)``.  A reconnection
answered 4xx (other than 408, 409, 429) ends it at once.  Each body is read by
``AsyncStream``'s own loop; an ``error`` event or a bad payload is not a cut and raises as usual.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import Any, Final
from urllib.parse import quote

import anyio

from .._config import RequestOptions
from .._exceptions import APIConnectionError, APIStatusError, StreamError, StreamInterrupted
from ..http.response import StreamResponse
from ..http.status_rules import resume_stream
from ..http.transport import Transport
from .responses_protocol import ResponseStreamItem
from .responses_state import ResponseAccumulator
from .stream import _ACCEPT_SSE, _CLOSED, _ITERATING, _NEW, AsyncStream, open_sse
from .stream_resume import ResumableResponsesProtocol, ResumeCursor

__all__ = ("ResumingStream", "open_background_stream")

RESPONSES_PATH: Final = "/v1/responses"
#: Statuses of a reconnection that are worth another try (besides 5xx).


class ResumingStream(AsyncStream[ResponseStreamItem]):
    """An ``AsyncStream`` of a background response that resumes after a cut (module docstring).

    Attributes:
        cursor: the ``ResumeCursor`` (response id, last sequence number, reconnections made).
    """

    __slots__ = ("_max_event_bytes", "_reopen", "cursor")

    def __init__(
        self,
        response: StreamResponse,
        protocol: ResumableResponsesProtocol,
        reopen: Callable[[str, dict[str, str]], Awaitable[StreamResponse]],
        max_event_bytes: int,
    ) -> None:
        super().__init__(response, protocol)
        self.cursor = protocol.cursor
        self._reopen = reopen
        self._max_event_bytes = max_event_bytes

    async def _items(self, token: object) -> AsyncGenerator[ResponseStreamItem, None]:
        one_body = AsyncStream._items
        while True:
            body = one_body(self, token)
            try:
                async for item in body:
                    yield item
                return  # the terminal event, or closed by the caller
            except (StreamInterrupted, APIConnectionError) as exc:
                if not await self._resume(exc):
                    return  # closed by the caller while reconnecting
            finally:
                await body.aclose()

    async def _resume(self, cut: Exception) -> bool:
        """Reconnect after ``cut``; ``False`` when the caller closed the stream meanwhile."""
        cursor = self.cursor
        last: Exception = cut
        while True:
            delay = cursor.after_cut()
            if delay is None:
                raise self._give_up(last)
            self._state, self.error = _ITERATING, None  # a close from now on is seen below
            await anyio.sleep(delay)
            if self._state == _CLOSED:
                return False
            try:
                response = await self._reopen(cursor.response_id or "", cursor.resume_query())
                await open_sse(response)
            except APIStatusError as exc:
                if not resume_stream(exc.status_code):
                    raise self._give_up(exc, refused=True) from exc
                last = exc
                continue
            except (APIConnectionError, StreamError) as exc:
                last = exc
                continue
            if self._state == _CLOSED:
                response.close()
                return False
            self.protocol = ResumableResponsesProtocol(
                cursor,
                self.protocol.accumulator,
                x_request_id=response.request_id,
                max_event_bytes=self._max_event_bytes,
            )
            self.response = response
            self._state = _NEW
            return True

    def _give_up(self, last: Exception, *, refused: bool = False) -> StreamInterrupted:
        cursor = self.cursor
        self._state = _CLOSED
        if refused:
            message = (
                f"The background Responses stream {cursor.response_id} was cut and the server "
                f"refused to resume it after sequence_number {cursor.last_sequence}: {last}"
            )
        elif cursor.resumes:
            message = (
                f"The background Responses stream {cursor.response_id} was cut and "
                f"{cursor.failures} reconnection(s) in a row brought nothing new "
                f"(last sequence_number {cursor.last_sequence}): {last}"
            )
        elif cursor.resumable:
            message = (
                f"The background Responses stream was cut and may not be resumed (max_retries=0): {last}"
            )
        else:
            message = f"The background Responses stream was cut before it could be resumed: {last}"
        err = StreamInterrupted(message, x_request_id=self.x_request_id)
        err.response_id = cursor.response_id
        err.sequence_number = cursor.last_sequence
        err.__cause__ = last
        self.error = err
        return err


async def open_background_stream(
    transport: Transport,
    options: RequestOptions,
    *,
    body: dict[str, Any] | None = None,
    response_id: str | None = None,
    starting_after: int | None = None,
    accumulate: bool = False,
) -> ResumingStream:
    """Open a resumable Responses stream: ``POST /v1/responses`` with ``body``, or (``body`` None)
    ``GET /v1/responses/{response_id}?stream=true[&starting_after=N]``."""
    budget = options.max_retries
    policy = transport.retry if not isinstance(budget, int) else replace(transport.retry, max_retries=budget)
    cursor = ResumeCursor(policy, response_id=response_id, starting_after=starting_after)
    again = RequestOptions(extra_headers=options.extra_headers, timeout=options.timeout, max_retries=0)

    def reopen(rid: str, query: dict[str, str]) -> Awaitable[StreamResponse]:
        path = f"{RESPONSES_PATH}/{quote(rid, safe='')}"
        return transport.open_stream("GET", path, query=query, options=again, headers=_ACCEPT_SSE)

    if body is not None:
        response = await transport.open_stream(
            "POST", RESPONSES_PATH, json=body, options=options, paid=True, headers=_ACCEPT_SSE
        )
    else:
        query = {"stream": "true"}
        if starting_after is not None:
            query["starting_after"] = str(starting_after)
        path = f"{RESPONSES_PATH}/{quote(response_id or '', safe='')}"
        response = await transport.open_stream("GET", path, query=query, options=options, headers=_ACCEPT_SSE)
    await open_sse(response)
    limit = transport.limits.max_event_bytes
    accumulator = ResponseAccumulator() if accumulate else None
    proto = ResumableResponsesProtocol(
        cursor, accumulator, x_request_id=response.request_id, max_event_bytes=limit
    )
    return ResumingStream(response, proto, reopen, limit)
