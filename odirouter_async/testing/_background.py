"""Responses background mode: stored responses, their status, their replayable events, cancel.

A ``POST /v1/responses`` with ``"background": true`` is stored here (with ``"background": true``
in the response object):

* not streamed: answered ``status: "queued"`` at once; each ``GET /v1/responses/{id}`` moves it
  one step, ``queued`` -> ``in_progress`` -> ``completed`` (deterministic: no clock), so a test
  polls a known number of times;
* streamed: the whole event list is generated up front and stored (sequence number = index); the
  response counts as ``completed`` (the emulator generates instantly), whatever the client's
  connection did (a fault may cut it).

``GET /v1/responses/{id}?stream=true[&starting_after=N]`` replays the stored events whose
``sequence_number`` is above ``N`` (all of them without it), shaped by the stream faults of the
``"responses.retrieve"`` route (``truncate_after``, ``drop``...), so a resume can be cut again.
``POST /v1/responses/{id}/cancel``: a ``queued`` / ``in_progress`` response becomes
``cancelled``; a finished one is returned as it is.  An unknown id -> 404; a response not created
in background mode cannot be cancelled (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._common import Shared, json_response, openai_error
from ._sse_out import plan_events, stream_events

__all__ = ("BackgroundStore", "StoredResponse")

_NEXT = {"queued": "in_progress", "in_progress": "completed"}
_MAX_STORED = 10_000


@dataclass
class StoredResponse:
    """One background response: ``make(status)`` builds its object; ``events`` when streamed."""

    make: Callable[[str], dict[str, Any]]
    status: str
    events: list[bytes] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        obj = self.make(self.status) if self.status == "completed" else self.make_pending()
        obj["background"] = True
        return obj

    def make_pending(self) -> dict[str, Any]:
        obj = self.make(self.status)
        obj["output"], obj["usage"] = [], None
        return obj


class BackgroundStore:
    """The stored background responses of one emulator, and the two routes that read them."""

    def __init__(self, shared: Shared, error_event: Callable[[int], bytes], malformed: bytes) -> None:
        self.shared = shared
        self.responses: dict[str, StoredResponse] = {}
        self._error_event = error_event
        self._malformed = malformed

    def store(self, response_id: str, stored: StoredResponse) -> None:
        """Keep ``stored`` (the oldest is forgotten past ``_MAX_STORED``: soak runs stay bounded)."""
        if len(self.responses) >= _MAX_STORED:
            self.responses.pop(next(iter(self.responses)))
        self.responses[response_id] = stored

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/responses/{response_id}`` (``?stream=true&starting_after=N``: the events)."""
        stored = self.responses.get(request.match_info["response_id"])
        if stored is None:
            return openai_error("No response found with that id.", 404, code="not_found")
        if request.query.get("stream", "").lower() not in ("true", "1"):
            stored.status = _NEXT.get(stored.status, stored.status)
            return json_response(stored.body())
        if not stored.events:
            return openai_error("This response was not created with stream=true.", param="stream")
        raw_after = request.query.get("starting_after")
        try:
            after = int(raw_after) if raw_after is not None else -1
        except ValueError:
            return openai_error("'starting_after' must be an integer", param="starting_after")
        events = stored.events[max(after + 1, 0) :]
        fault = self.shared.take_fault("responses.retrieve", stream=True)
        err_seq = fault.error_event_after if fault and fault.error_event_after is not None else 0
        plan, abort = plan_events(
            events, fault, error_event=self._error_event(after + 1 + err_seq), malformed=self._malformed
        )
        return await stream_events(request, plan, abort=abort)

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /v1/responses/{response_id}/cancel``."""
        stored = self.responses.get(request.match_info["response_id"])
        if stored is None:
            return openai_error("No response found with that id.", 404, code="not_found")
        if stored.status in _NEXT:
            stored.status = "cancelled"
        return json_response(stored.body())
