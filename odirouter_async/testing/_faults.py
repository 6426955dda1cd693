"""Scripted misbehaviour: injected faults, scripted SSE bodies and the poll-rate limit.

``emu.faults.add(route, ...)`` queues a ``Fault`` for the next ``times`` requests to a route
(``times=None``: every request until ``emu.faults.clear()``).  Faults on one route are used in
the order they were added.  Two kinds:

- *answer faults* (``status``, ``drop``, ``delay`` alone or together) are applied by the server
  to the next request of the route, before its handler: stall ``delay`` seconds, then either close
  the connection without an answer (``drop``; the request body is read first) or answer
  ``status`` with ``body``/``headers`` (without either, the request is then handled normally);
  ``headers`` without ``status`` are added to the normal answer (e.g. ``x-ratelimit-*`` on a
  successful call, for ``with_raw_response``);
- *stream faults* (any of ``truncate_after``, ``stall_after``, ``error_event_after``,
  ``malformed_after``, ``content_type``) are used by the next *streaming* request of ``"chat"`` /
  ``"responses"`` / ``"responses.retrieve"`` (the replay of a background response, ``?stream=true``;
  non-stream requests leave them queued), and by the next ``"files"`` or
  ``"videos.content"`` download:

  ==================== ==============================================================================
  truncate_after=N     send N SSE events, then end the body cleanly without ``[DONE]`` / terminal
                       event; with ``drop=True`` abort the connection instead.  ``"files"``: N bytes
                       of the declared Content-Length, then abort.
  stall_after=N        send N events (files: bytes), go silent for ``delay`` seconds, then go on.
  error_event_after=N  after N events send an in-band error (chat: ``data: {"error": {...}}``,
                       responses: an ``event: error`` with ``type: "error"``), then end.
  malformed_after=N    after N events send a ``data:`` line of broken JSON, then go on.
  content_type=CT      answer the stream request 200 (or ``status``) with a non-SSE body of that
                       content type: ``body`` if given, else the non-stream JSON answer.
  ==================== ==============================================================================

*When* a fault applies: by default to the next request of its kind.  Two options make a fault
apply to only some requests, for soak runs (both usually with ``times=None``):

- ``probability=p``: each request of the route gets the fault with probability ``p``, drawn from
  the registry's own seeded ``random.Random`` (the emulator's ``seed``), so a run is reproducible;
- ``burst=N, every=M``: ``N`` consecutive requests of every ``M`` to the route get it, the last
  ``N`` of each window unless ``offset`` says where the burst starts (``offset=0``: the first
  ``N``, so the very first requests are hit); e.g. 429 with ``headers={"Retry-After": "1"}``.

Every probabilistic or burst fault of a route sees every request of the route (a burst counts
them all, even those another fault answered); the first fault, in the order added, that applies
is used.  ``fault.hits`` counts the requests it was applied to.

``PollRateLimiter`` is a sliding one-second window over status and result requests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from random import Random
from typing import Any

__all__ = ("ROUTES", "Fault", "FaultRegistry", "PollRateLimiter", "ScriptedStream")

ROUTES = frozenset(
    {
        "models",
        "chat",
        "responses",
        "responses.retrieve",
        "responses.cancel",
        "queue.submit",
        "queue.status",
        "queue.response",
        "queue.cancel",
        "videos.create",
        "videos.retrieve",
        "videos.list",
        "videos.delete",
        "videos.remix",
        "videos.content",
        "files",
    }
)
STREAM_ROUTES = frozenset({"chat", "responses", "responses.retrieve", "files", "videos.content"})


@dataclass(slots=True)
class Fault:
    """One injected fault (see the module docstring for what each option does).

    ``body``: ``bytes`` are sent as is, ``str`` as UTF-8 text, anything else JSON-encoded; ``None``
    means a default JSON error body for ``status`` (429: the gateway's ``RATE_LIMIT_EXCEEDED``
    body).  The Content-Type is ``text/plain`` for ``str`` and ``application/json`` otherwise,
    unless ``headers`` sets it.  ``hits`` counts the requests the fault was applied to.
    """

    route: str
    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] | None = None
    drop: bool = False
    delay: float = 0.0
    truncate_after: int | None = None
    stall_after: int | None = None
    error_event_after: int | None = None
    malformed_after: int | None = None
    content_type: str | None = None
    times: int | None = 1
    hits: int = 0
    probability: float | None = None
    burst: int | None = None
    every: int | None = None
    offset: int = 0
    seen: int = 0

    def fires(self, rng: Random) -> bool:
        """Whether this request gets the fault (counts it for a burst; draws for a probability)."""
        if self.burst is not None and self.every is not None:
            position = self.seen % self.every
            self.seen += 1
            return self.offset <= position < self.offset + self.burst
        self.seen += 1
        if self.probability is not None:
            return rng.random() < self.probability
        return True

    @property
    def is_stream_fault(self) -> bool:
        """True when the fault shapes a streamed body rather than the whole answer."""
        return (
            self.truncate_after is not None
            or self.stall_after is not None
            or self.error_event_after is not None
            or self.malformed_after is not None
            or self.content_type is not None
        )

    @property
    def remaining(self) -> int | None:
        """How many more requests it applies to (``None``: unlimited)."""
        return None if self.times is None else max(self.times - self.hits, 0)


@dataclass(slots=True)
class ScriptedStream:
    """An exact SSE body for the next stream request of a route (``emu.serve_sse``)."""

    body: bytes
    chunk_sizes: list[int] | None = None
    status: int = 200
    content_type: str = "text/event-stream"


def _check_count(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must be >= 0")


class FaultRegistry:
    """The faults and scripted streams waiting for requests (``emu.faults``)."""

    def __init__(self, rng: Random | None = None) -> None:
        self._rng = rng if rng is not None else Random(0)
        self._by_route: dict[str, list[Fault]] = {}
        self._scripts: dict[str, deque[ScriptedStream]] = {}

    def add(
        self,
        route: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        drop: bool = False,
        delay: float = 0.0,
        truncate_after: int | None = None,
        stall_after: int | None = None,
        error_event_after: int | None = None,
        malformed_after: int | None = None,
        content_type: str | None = None,
        times: int | None = 1,
        probability: float | None = None,
        burst: int | None = None,
        every: int | None = None,
        offset: int | None = None,
    ) -> Fault:
        """Queue a fault for the next ``times`` requests to ``route``; returns it (see ``hits``).

        ``probability`` / ``burst`` + ``every``: apply it to only some requests (module docstring).
        """
        if probability is not None and not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        if (burst is None) != (every is None):
            raise ValueError("burst and every go together")
        if burst is not None and every is not None and not 1 <= burst <= every:
            raise ValueError("burst must be >= 1 and <= every")
        if probability is not None and burst is not None:
            raise ValueError("pass probability or burst/every, not both")
        if offset is not None and (burst is None or every is None or not 0 <= offset <= every - burst):
            raise ValueError("offset needs burst/every and must be in [0, every - burst]")
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {sorted(ROUTES)}")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every request)")
        for name, value in (
            ("truncate_after", truncate_after),
            ("stall_after", stall_after),
            ("error_event_after", error_event_after),
            ("malformed_after", malformed_after),
        ):
            _check_count(name, value)
        fault = Fault(
            route=route,
            status=status,
            body=body,
            headers=dict(headers) if headers is not None else None,
            drop=drop,
            delay=delay,
            truncate_after=truncate_after,
            stall_after=stall_after,
            error_event_after=error_event_after,
            malformed_after=malformed_after,
            content_type=content_type,
            times=times,
            probability=probability,
            burst=burst,
            every=every,
            offset=(every - burst if offset is None else offset) if burst and every else 0,
        )
        if fault.is_stream_fault and route not in STREAM_ROUTES:
            raise ValueError(f"stream faults apply to {sorted(STREAM_ROUTES)}, not {route!r}")
        if stall_after is not None and delay <= 0:
            raise ValueError("stall_after needs delay=<seconds>")
        if not fault.is_stream_fault and status is None and not drop and delay <= 0 and not headers:
            raise ValueError("a fault needs status, drop, delay, headers or a stream option")
        self._by_route.setdefault(route, []).append(fault)
        return fault

    def take(self, route: str, *, stream: bool) -> Fault | None:
        """Use the first pending fault of the given kind for ``route`` (``None`` if there is none)."""
        pending = self._by_route.get(route)
        if not pending:
            return None
        chosen: int | None = None
        for i, fault in enumerate(pending):
            if fault.is_stream_fault is not stream:
                continue
            if chosen is None:
                if fault.fires(self._rng):
                    chosen = i
            elif fault.burst is not None:
                fault.fires(self._rng)  # a burst counts every request of the route
        if chosen is None:
            return None
        fault = pending[chosen]
        fault.hits += 1
        if fault.times is not None and fault.hits >= fault.times:
            del pending[chosen]
        return fault

    def pending(self, route: str | None = None) -> list[Fault]:
        """Faults not used up yet (for one route, or all)."""
        if route is not None:
            return list(self._by_route.get(route, ()))
        return [f for faults in self._by_route.values() for f in faults]

    def clear(self, route: str | None = None) -> None:
        """Remove pending faults and scripted streams (for one route, or all)."""
        if route is None:
            self._by_route.clear()
            self._scripts.clear()
        else:
            self._by_route.pop(route, None)
            self._scripts.pop(route, None)

    # -- scripted SSE bodies --------------------------------------------------------------

    def script(self, route: str, stream: ScriptedStream) -> None:
        """Queue an exact body for the next stream request of ``route``."""
        if route not in ("chat", "responses"):
            raise ValueError("serve_sse applies to 'chat' or 'responses'")
        if stream.chunk_sizes is not None and any(n <= 0 for n in stream.chunk_sizes):
            raise ValueError("chunk sizes must be > 0")
        self._scripts.setdefault(route, deque()).append(stream)

    def take_script(self, route: str) -> ScriptedStream | None:
        """The next scripted body for ``route``, if any."""
        scripts = self._scripts.get(route)
        return scripts.popleft() if scripts else None


class PollRateLimiter:
    """At most ``limit`` accepted requests in any sliding one-second window (``None``: no limit).

    Rejected requests do not enter the window, so a client that backs off gets through again.
    """

    __slots__ = ("_times", "limit", "window")

    def __init__(self, limit: float | None, window: float = 1.0) -> None:
        if limit is not None and limit <= 0:
            raise ValueError("poll_rate_limit must be > 0 (or None)")
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Admit a request at time ``now`` (monotonic seconds) if the window has room."""
        limit = self.limit
        if limit is None:
            return True
        times = self._times
        cutoff = now - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True
