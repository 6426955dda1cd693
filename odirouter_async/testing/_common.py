"""Plumbing shared by the emulator's route handlers: the shared state, JSON answers, ids, balance.

``Shared`` is the one object every service gets: the fault registry, the stats, the wallet, the
poll-rate limiter, the clock and the two listeners' base URLs (filled in when the emulator has
bound its sockets).  Every JSON body is encoded with msgspec into a plain ``web.Response``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from random import Random
from typing import Any

import msgspec
from aiohttp import web

from ._faults import Fault, FaultRegistry, PollRateLimiter
from ._stats import EmulatorStats, RequestRecord

__all__ = (
    "JSON",
    "Handler",
    "Shared",
    "Wallet",
    "bind_record",
    "current_record",
    "current_request_id",
    "detail_error",
    "encode",
    "json_response",
    "new_request_id",
    "openai_error",
    "set_job_id",
    "ulid",
)

JSON = "application/json"
encode = msgspec.json.Encoder().encode
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Each request is handled in its own task, so a context variable is per-request state.
_CURRENT: ContextVar[RequestRecord | None] = ContextVar("odirouter_emulator_record", default=None)
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_SHIFTS = range(120, -1, -10)


class Wallet:
    """Credits for paid calls: ``None`` is unlimited; each paid call costs one credit."""

    __slots__ = ("balance", "spent")

    def __init__(self, balance: float | None) -> None:
        self.balance = balance
        self.spent = 0

    def charge(self) -> bool:
        """Take one credit; ``False`` (and nothing taken) when the balance cannot pay."""
        if self.balance is not None:
            if self.balance < 1:
                return False
            self.balance -= 1
        self.spent += 1
        return True


@dataclass
class Shared:
    """State every route handler may touch."""

    faults: FaultRegistry
    stats: EmulatorStats
    wallet: Wallet
    limiter: PollRateLimiter
    rng: Random
    clock: Callable[[], float] = time.monotonic
    main_url: str = ""
    cdn_url: str = ""
    foreign_urls: bool = False
    extra_model_ids: list[str] = field(default_factory=list)

    def take_fault(self, route: str, *, stream: bool) -> Fault | None:
        """Use the next pending fault of a kind for ``route``, counting it in the stats."""
        fault = self.faults.take(route, stream=stream)
        if fault is not None:
            self.stats.faults_applied += 1
        return fault

    @property
    def job_base_url(self) -> str:
        """Base of the status/response/cancel URLs handed out (the CDN origin when foreign)."""
        return self.cdn_url if self.foreign_urls else self.main_url


def json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer (msgspec-encoded once, sent as bytes)."""
    return web.Response(body=encode(obj), status=status, content_type=JSON, headers=headers)


def detail_error(message: str, status: int) -> web.Response:
    """A FastAPI-style ``{"detail": ...}`` error (queue gateway style)."""
    return json_response({"detail": message}, status)


def openai_error(
    message: str,
    status: int = 400,
    *,
    param: str | None = None,
    code: str | None = None,
    type: str = "invalid_request_error",
) -> web.Response:
    """An OpenAI-style ``{"error": {"message", "type", "param", "code"}}`` error."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return json_response(body, status)


def new_request_id() -> str:
    """A fresh ``X-Request-Id`` for a request that did not bring one."""
    return "req_" + secrets.token_hex(12)


def ulid(rng: Random, unix_ms: int | None = None) -> str:
    """A lowercase ULID-like id: 48-bit millisecond time + 80 random bits, Crockford base32."""
    if unix_ms is None:
        unix_ms = time.time_ns() // 1_000_000
    n = ((unix_ms & 0xFFFF_FFFF_FFFF) << 80) | rng.getrandbits(80)
    pairs = _PAIRS  # 130 bits (two leading zeros, as in a ULID) = 13 pairs of base32 digits
    return "".join([pairs[(n >> shift) & 1023] for shift in _SHIFTS])


def current_record() -> RequestRecord | None:
    """The ``RequestRecord`` of the request being handled (set by the gate, per request task)."""
    return _CURRENT.get()


def current_request_id() -> str:
    """The ``X-Request-Id`` of the request being handled."""
    record = _CURRENT.get()
    return record.request_id if record is not None else ""


def set_job_id(job_id: str) -> None:
    """Note on the current request's record which job or video it concerned."""
    record = _CURRENT.get()
    if record is not None:
        record.job_id = job_id


def bind_record(record: RequestRecord) -> None:
    """Make ``record`` the current request's record (the gate calls this first thing)."""
    _CURRENT.set(record)
