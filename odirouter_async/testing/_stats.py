"""What the emulator saw: ``RequestRecord`` (one per HTTP request) and ``EmulatorStats``.

Tests assert on these: how many requests reached a route, whether a client sent its key to the
CDN origin, how many polls a job cost, whether a paid submit arrived twice.  Every structure is
updated in O(1) per request; ``Emulator(keep_log=False)`` keeps the counters but not the log
(for long benchmarks).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

__all__ = ("EmulatorStats", "RequestRecord", "submit_key")

_POLL_ROUTES = frozenset({"queue.status", "queue.response"})


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request as the emulator saw it (appended on arrival, completed on answer).

    ``status`` is 0 while the request is being handled and stays 0 when the emulator dropped the
    connection or the client went away before the answer was complete.  ``request_id`` is the ``X-Request-Id``
    echoed on the answer (the caller's, else a generated ``req_...``); ``job_id`` the queue
    request id or video id the request concerned, if any.  ``time`` is ``time.monotonic()`` at
    arrival.  ``listener`` is ``"main"`` or ``"cdn"`` (the second origin).  ``connection`` is the
    client's source port: two requests with the same value came over one (kept-alive) connection.
    """

    method: str
    path: str
    route: str
    status: int
    request_id: str
    has_auth: bool
    auth_ok: bool
    time: float
    job_id: str | None = None
    listener: str = "main"
    connection: int = 0


def submit_key(endpoint: str, body: bytes) -> str:
    """The key of ``EmulatorStats.submits_by_body``: sha256 hex of ``endpoint + "\\n" + body``."""
    return hashlib.sha256(endpoint.encode() + b"\n" + body).hexdigest()


@dataclass
class EmulatorStats:
    """Counters and the request log of one emulator (``emu.stats``; cleared by ``emu.reset_stats()``).

    - ``log``: every request, in arrival order (empty when ``keep_log=False``).
    - ``count(route, status=None)``: requests that reached a route (optionally with that status).
    - ``job_requests[request_id]``: status polls + result fetches + cancels that named the job,
      counted on arrival (so a poll answered 429 or faulted still counts: it cost a request).
    - ``submits_by_body[submit_key(endpoint, body)]``: how often an identical queue submit arrived
      (counted on arrival, before faults; see ``submit_key``).
    - ``duplicate_submits``: queue submits whose (endpoint, body) had been seen before.
    - ``submits_by_request_id_header``: ``X-Request-Id`` -> queue submits carrying it.
    - ``rate_limited``: requests answered 429 by the poll-rate limit.
    - ``faults_applied``: requests answered (or streamed) according to an injected fault.
    - ``auth_sent_to_cdn``: requests to the second origin that carried an Authorization header.
    - ``poll_seconds[s]`` / ``limited_seconds[s]``: status + result requests that arrived in second
      ``s`` (``int(time.monotonic())``), and those of them answered 429 (poll rate over time).
    """

    keep_log: bool = True
    log: list[RequestRecord] = field(default_factory=list)
    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    job_requests: Counter[str] = field(default_factory=Counter)
    submits_by_body: Counter[str] = field(default_factory=Counter)
    submits_by_request_id_header: Counter[str] = field(default_factory=Counter)
    duplicate_submits: int = 0
    rate_limited: int = 0
    faults_applied: int = 0
    auth_sent_to_cdn: int = 0
    poll_seconds: Counter[int] = field(default_factory=Counter)
    limited_seconds: Counter[int] = field(default_factory=Counter)

    def count(self, route: str, status: int | None = None) -> int:
        """Requests that reached ``route`` (answered with ``status``, when given)."""
        if status is None:
            return self.routes[route]
        return self.statuses[(route, status)]

    def records(self, route: str | None = None) -> list[RequestRecord]:
        """The logged requests to ``route`` (all when ``None``)."""
        if route is None:
            return list(self.log)
        return [r for r in self.log if r.route == route]

    @property
    def total(self) -> int:
        """All requests seen."""
        return sum(self.routes.values())

    def clear(self) -> None:
        """Forget everything (in place, so references held by tests stay valid)."""
        self.log.clear()
        self.routes.clear()
        self.statuses.clear()
        self.job_requests.clear()
        self.submits_by_body.clear()
        self.submits_by_request_id_header.clear()
        self.duplicate_submits = 0
        self.rate_limited = 0
        self.faults_applied = 0
        self.auth_sent_to_cdn = 0
        self.poll_seconds.clear()
        self.limited_seconds.clear()

    # -- updates (called by the server) ---------------------------------------------------

    def arrived(self, record: RequestRecord) -> None:
        """Count a request on arrival."""
        self.routes[record.route] += 1
        if record.route in _POLL_ROUTES:
            self.poll_seconds[int(record.time)] += 1
        if record.listener == "cdn" and record.has_auth:
            self.auth_sent_to_cdn += 1
        if self.keep_log:
            self.log.append(record)

    def answered(self, record: RequestRecord, status: int) -> None:
        """Record the status a request was answered with."""
        record.status = status
        self.statuses[(record.route, status)] += 1
        if status == 429 and record.route in _POLL_ROUTES:
            self.limited_seconds[int(record.time)] += 1

    def submit_arrived(self, endpoint: str, body: bytes, request_id_header: str | None) -> None:
        """Count a queue submit body (duplicate detection)."""
        key = submit_key(endpoint, body)
        if self.submits_by_body[key]:
            self.duplicate_submits += 1
        self.submits_by_body[key] += 1
        if request_id_header is not None:
            self.submits_by_request_id_header[request_id_header] += 1
