"""When a failed HTTP attempt may be tried again, and after how long.  Pure: no I/O, no clock.

The rule, which the README documents:

* Requests that are safe to repeat (GET, PUT cancel, DELETE, and any request the caller marks
  idempotent) are retried on connection errors, timeouts, 408, 409, 429 and 5xx.
* A POST that starts paid work (chat, responses, queue submit, videos) is retried only when the
  gateway cannot have started it: the connection failed before the request was sent, or the
  gateway answered 429 or 503 (it refused the work), or it sent ``x-should-retry: true``.
  Never after a read timeout or a connection cut once the request was sent, and never on other
  5xx: the gateway documents no idempotency, so a retry could pay twice.
* ``x-should-retry: false`` always wins.
* Delays: the server's hint first (``retry-after-ms``, then ``Retry-After`` as seconds or an
  HTTP date), honoured when it is at most ``max_retry_after`` seconds; a longer hint is not
  waited out here (the error surfaces with ``.retry_after``).  Otherwise exponential backoff from
  ``backoff.expo`` (initial * 2**n, capped at ``max_delay``) with ``backoff.full_jitter``.
"""

from __future__ import annotations

import email.utils
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import backoff

from .status_rules import retry_request

__all__ = ("Failure", "RetryPolicy", "parse_retry_after")


class Failure(enum.Enum):
    """How an attempt failed when there was no HTTP status."""

    #: the connection could not be established: the request never left the client.
    CONNECT = "connect"
    #: the connection broke after the request was (maybe) sent.
    DISCONNECTED = "disconnected"
    #: no byte arrived for ``Timeout.read`` seconds, or the total deadline passed.
    READ_TIMEOUT = "read_timeout"


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``now`` is the wall-clock time (``time.time()``) used for HTTP-date values.  Returns None
    when there is no usable hint; negative waits become 0.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = None
        if value is not None and value == value and value != float("inf"):
            return max(0.0, value)
    ra = headers.get("retry-after")
    if ra is None:
        return None
    ra = ra.strip()
    try:
        value = float(ra)
    except ValueError:
        pass
    else:
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return max(0.0, value)
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    """The retry budget and delays of one client (see the module docstring for the rule).

    Args:
        max_retries: retries after the first attempt (2 means up to 3 attempts).
        initial_delay: first backoff delay before jitter, seconds.
        max_delay: cap on a backoff delay, seconds.
        max_retry_after: the longest server-requested wait honoured, seconds.
        jitter: maps a backoff value to the delay actually slept (``backoff.full_jitter``:
            uniform in [0, value]); tests pass a deterministic one.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: Callable[[float], float] = field(default=backoff.full_jitter, repr=False)

    def delays(self) -> Iterator[float]:
        """The backoff delays of one call, in order: ``backoff.expo`` capped, then jittered."""
        gen = backoff.expo(base=2, factor=self.initial_delay, max_value=self.max_delay)
        next(gen)  # backoff's generators must be primed
        for value in gen:
            yield self.jitter(value)

    def should_retry(
        self,
        *,
        paid: bool,
        status: int | None = None,
        failure: Failure | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether this failed attempt may be repeated (budget aside)."""
        if headers is not None:
            hint = headers.get("x-should-retry")
            if hint is not None:
                if hint.strip().lower() == "false":
                    return False
                if hint.strip().lower() == "true":
                    return True
        if failure is not None:
            if failure is Failure.CONNECT:
                return True
            return not paid
        if status is None:
            return False
        return retry_request(status, paid=paid)

    def next_delay(
        self,
        retries_done: int,
        backoff_delays: Iterator[float],
        *,
        server_hint: float | None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the call must give up.

        ``retries_done`` counts retries already made (0 before the first retry);
        ``backoff_delays`` is this call's iterator from :meth:`delays`;
        ``server_hint`` comes from :func:`parse_retry_after`.
        """
        if retries_done >= self.max_retries:
            return None
        if server_hint is not None:
            if server_hint > self.max_retry_after:
                return None
            next(backoff_delays)  # keep the exponential sequence advancing
            return server_hint
        return next(backoff_delays)
