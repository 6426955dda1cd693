"""The global poll budget: a token bucket whose rate follows AIMD on 429s.  Pure (``now`` is a parameter).

One ``PollBudget`` per client caps the status polls of every job together.  It starts at
``max_rate`` polls/s (``math.inf`` means no cap until the server complains).  A 429 (or a
``Retry-After``) is a *multiplicative decrease*: the rate drops to ``decrease`` x the rate actually
measured over the last second (not the allowed rate, which may be far above it), the bucket is
emptied, and nothing is sent before ``now + retry_after``.  Afterwards the rate grows back
*additively*, by ``recovery`` x the measured rate at the decrease per second (K/2 -> K in about
10 s with the defaults), up to ``max_rate``: the sawtooth of TCP and of the AWS SDKs' adaptive
retry mode, so a server limit of K polls/s is approached from below and rarely touched.

A burst of 429s answers polls that were all sent before the first one arrived: only a 429 for a
poll sent *after* the last decrease (``sent_at``) lowers the rate again, so one overload is one
halving, not twenty.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ("PollBudget",)

_MEASURE_WINDOW = 1.0  # seconds over which the sent rate is measured
_MIN_INCREASE = 0.5  # polls/s gained per second at least, so tiny rates recover too
_COOLDOWN = 0.1  # a 429 without a send time lowers the rate at most this often


class PollBudget:
    """Token bucket + AIMD.  ``take(now)`` before every poll; ``on_rate_limited`` on every 429."""

    __slots__ = (
        "_burst",
        "_decrease",
        "_increase",
        "_last_decrease",
        "_max_pause",
        "_max_rate",
        "_min_rate",
        "_recovery",
        "_sent",
        "_tokens",
        "_updated",
        "paused_until",
        "rate",
    )

    def __init__(
        self,
        max_rate: float,
        *,
        min_rate: float = 1.0,
        burst: float = 0.1,
        decrease: float = 0.5,
        recovery: float = 0.05,
        max_pause: float = 60.0,
    ) -> None:
        if not max_rate > 0 or not 0 < min_rate <= max_rate or not 0 < decrease < 1:
            raise ValueError("need max_rate >= min_rate > 0 and 0 < decrease < 1")
        self._max_rate = max_rate
        self._min_rate = min_rate
        self._burst = burst
        self._decrease = decrease
        self._recovery = recovery
        self._max_pause = max_pause
        #: polls/s allowed now
        self.rate = max_rate
        #: no poll is allowed before this monotonic time
        self.paused_until = -math.inf
        self._increase = 0.0
        self._tokens = self._capacity()
        self._updated: float | None = None
        self._last_decrease = -math.inf
        self._sent: deque[float] = deque()

    def _capacity(self) -> float:
        return max(1.0, self.rate * self._burst)

    def refill(self, now: float) -> None:
        """Bring the bucket (and the additive recovery) up to ``now``."""
        last = self._updated
        self._updated = now if last is None else max(last, now)
        if last is None or now <= last:
            return
        grow = now - max(last, self.paused_until)
        if grow > 0 and self.rate < self._max_rate:
            self.rate = min(self._max_rate, self.rate + self._increase * grow)
        self._tokens = min(self._capacity(), self._tokens + self.rate * (now - last))

    def take(self, now: float) -> bool:
        """Spend one token for a poll sent at ``now``; False when the budget says wait."""
        self.refill(now)
        if now < self.paused_until or self._tokens < 1.0 - 1e-9:
            return False
        self._tokens -= 1.0
        self._sent.append(now)
        self.measured_rate(now)  # keeps the window short
        return True

    def ready_at(self, now: float) -> float:
        """The earliest time >= ``now`` at which ``take`` can succeed."""
        self.refill(now)
        at = max(now, self.paused_until)
        missing = 1.0 - self._tokens
        if missing > 1e-9 and not math.isinf(self.rate):
            at = max(at, now + missing / self.rate)
        return at

    def measured_rate(self, now: float) -> float:
        """Polls taken in the last second."""
        sent = self._sent
        while sent and sent[0] <= now - _MEASURE_WINDOW:
            sent.popleft()
        return float(len(sent))

    def on_rate_limited(
        self, now: float, retry_after: float | None = None, *, sent_at: float | None = None
    ) -> bool:
        """A 429 arrived at ``now`` for a request sent at ``sent_at``; True if the rate was lowered."""
        self.refill(now)
        self._tokens = 0.0
        if retry_after is not None and retry_after > 0:
            self.paused_until = max(self.paused_until, now + min(retry_after, self._max_pause))
        fresh = (
            sent_at >= self._last_decrease if sent_at is not None else now - self._last_decrease >= _COOLDOWN
        )
        if not fresh:
            return False
        measured = max(self._min_rate, self.measured_rate(now))
        self.rate = max(self._min_rate, min(self.rate, measured) * self._decrease)
        self._increase = max(_MIN_INCREASE, self._recovery * measured)
        self._last_decrease = now
        return True
