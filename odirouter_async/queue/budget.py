"""The global poll budget: a token bucket whose rate follows AIMD on 429s.  Pure (``now`` is a parameter).

One ``PollBudget`` per client caps the status polls of every job together.  It starts at
``min(start_rate, max_rate)`` polls/s (``max_rate=math.inf`` means no cap and no slow start).
**Slow start**: before the first 429 the rate doubles every ``start_double_every`` seconds, and
only while polls wait for it (``PollSchedule`` passes ``START_RATE`` = 100/s and 0.15 s: 3 200/s
after 0.75 s of demand), so a first contact with a poll limit K overshoots it by a few doublings,
not by ``max_rate``.  **Window**: no poll is sent while the last second already holds ``rate``
polls that were not refused, so after a 429 the client does not feed a sliding-window limit that
is still full of the burst that drew it.  A 429 (or a
``Retry-After``) is a *multiplicative decrease*: the rate drops to ``decrease`` x the rate actually
measured over the last second (not the allowed rate, which may be far above it), the bucket is
emptied, and nothing is sent before ``now + retry_after``.  The measured rate is remembered as the
*ceiling*: the rate that drew the 429.

Recovery has two speeds.  Below ``probe`` x ceiling (90%), the rate *doubles* every
``double_every`` seconds (slow-start-like: a halving is undone in about 0.2 s instead of the
~10 s of a linear climb, so a poll limit of K costs a short dip, not seconds of half rate).
Above it, the rate grows *additively*, by ``recovery`` x ceiling per second (2%: from 90% to
the ceiling in 5 s), up to ``max_rate``: the ceiling is approached slowly and rarely touched, so
429 bursts stay rare, while a limit that was raised is still found.  Measured in
``benchmarks/queue_sim.py`` (``limit_floor``): 1000 x 2 s jobs against K = 200 polls/s.

A burst of 429s answers polls that were all sent before the first one arrived: only a 429 for a
poll sent *after* the last decrease (``sent_at``) lowers the rate again, so one overload is one
halving, not twenty.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ("START_DOUBLE_EVERY", "START_RATE", "PollBudget")

#: the first rate, before any 429 (capped by ``max_rate``), and how fast it doubles while it binds
START_RATE = 100.0
START_DOUBLE_EVERY = 0.15

_MEASURE_WINDOW = 1.0  # seconds over which the sent rate is measured
_MIN_INCREASE = 0.5  # polls/s gained per second at least, so tiny rates recover too
_COOLDOWN = 0.1  # a 429 without a send time lowers the rate at most this often
_PROBE_PAUSE = 0.1  # refused while held at the decreased rate: everyone waits this long
_OVERSHOOT = 1.25  # sent / accepted above this at a 429: a burst; honour Retry-After for everyone


class PollBudget:
    """Token bucket + AIMD.  ``take(now)`` before every poll; ``on_rate_limited`` on every 429."""

    __slots__ = (
        "_burst",
        "_ceiling",
        "_counted_until",
        "_decrease",
        "_double_every",
        "_episode",
        "_hold_until",
        "_increase",
        "_last_decrease",
        "_limited",
        "_max_pause",
        "_max_rate",
        "_min_rate",
        "_pause_over",
        "_probe",
        "_recovery",
        "_sent",
        "_start_double_every",
        "_starved_at",
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
        decrease: float = 0.9,
        recovery: float = 0.02,
        probe: float = 0.9,
        double_every: float = 0.1,
        max_pause: float = 60.0,
        pause_over: float = 2.0,
        start_rate: float = math.inf,
        start_double_every: float = START_DOUBLE_EVERY,
    ) -> None:
        if not max_rate > 0 or not 0 < min_rate <= max_rate or not 0 < decrease < 1:
            raise ValueError("need max_rate >= min_rate > 0 and 0 < decrease < 1")
        if not 0 < probe <= 1 or not double_every > 0 or not start_double_every > 0:
            raise ValueError("need 0 < probe <= 1, double_every > 0 and start_double_every > 0")
        if not start_rate > 0:
            raise ValueError("need start_rate > 0")
        self._start_double_every = start_double_every
        self._probe = probe
        self._double_every = double_every
        #: the measured rate that drew the last 429 (inf: none yet)
        self._ceiling = math.inf
        self._counted_until = -math.inf  # polls sent before this counted as accepted in the ceiling
        self._episode = (0.0, -math.inf)  # (sent rate, end of Retry-After) at the last decrease
        self._max_rate = max_rate
        self._min_rate = min_rate
        self._burst = burst
        self._decrease = decrease
        self._recovery = recovery
        self._max_pause = max_pause
        self._pause_over = pause_over
        #: no recovery before this time (a short Retry-After holds the decreased rate)
        self._hold_until = -math.inf
        #: polls/s allowed now
        self.rate = max_rate if math.isinf(max_rate) else max(min_rate, min(max_rate, start_rate))
        self._starved_at = -math.inf  # when a take was last refused for want of tokens
        #: no poll is allowed before this monotonic time
        self.paused_until = -math.inf
        self._increase = 0.0
        self._tokens = self._capacity()
        self._updated: float | None = None
        self._last_decrease = -math.inf
        self._sent: deque[float] = deque()
        self._limited: deque[float] = deque()  # send times of polls answered 429

    def _capacity(self) -> float:
        return max(1.0, self.rate * self._burst)

    def refill(self, now: float) -> None:
        """Bring the bucket (and the additive recovery) up to ``now``."""
        last = self._updated
        self._updated = now if last is None else max(last, now)
        if last is None or now <= last:
            return
        grow = now - max(last, self.paused_until, self._hold_until)
        if grow > 0 and self.rate < self._max_rate:
            if now - self._starved_at > _MEASURE_WINDOW:  # the rate does not bind: no growth
                grow = 0.0  # (else an idle spell would grow it far past the last 429's rate)
            safe = self._probe * self._ceiling
            if self.rate < safe:  # well below the rate that drew a 429: double
                every = self._start_double_every if math.isinf(safe) else self._double_every
                doubled = self.rate * 2.0 ** (grow / every)
                if doubled <= safe:
                    self.rate = doubled
                    grow = 0.0
                else:  # the time left after reaching ``safe`` is additive
                    grow -= every * math.log2(safe / self.rate)
                    self.rate = safe
            if grow > 0:
                self.rate = self.rate + self._increase * grow
            self.rate = min(self._max_rate, self.rate)
        self._tokens = min(self._capacity(), self._tokens + self.rate * (now - last))

    def take(self, now: float) -> bool:
        """Spend one token for a poll sent at ``now``; False when the budget says wait."""
        self.refill(now)
        if now < self.paused_until:
            return False
        if self._tokens < 1.0 - 1e-9:
            self._starved_at = now
            return False
        if self.measured_rate(now) + 1.0 > self.rate and self._window_free_at(now) > now:
            self._starved_at = now  # the last second already holds ``rate`` polls: wait for one to age out
            return False
        self._tokens -= 1.0
        self._sent.append(now)
        return True

    def _window_free_at(self, now: float) -> float:
        """When the polls accepted in the last second drop below ``rate`` (a sliding-window server
        limit never sees more than ``rate`` from us, even right after a burst that drew a 429)."""
        rate = self.rate
        sent = self._sent
        if math.isinf(rate) or len(sent) + 1.0 <= rate:
            return now
        excess = len(sent) - self._limited_in_window(now) + 1 - math.floor(rate)
        if excess <= 0:
            return now
        return sent[min(excess, len(sent)) - 1] + _MEASURE_WINDOW

    def ready_at(self, now: float) -> float:
        """The earliest time >= ``now`` at which ``take`` can succeed."""
        self.refill(now)
        at = max(now, self.paused_until)
        missing = 1.0 - self._tokens
        if missing > 1e-9 and not math.isinf(self.rate):
            at = max(at, now + missing / self.rate)
        self.measured_rate(now)
        return max(at, self._window_free_at(now))

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
        if sent_at is not None:
            self._limited.append(sent_at)
        wait = min(retry_after, self._max_pause) if retry_after is not None and retry_after > 0 else 0.0
        if wait >= self._pause_over:  # a long Retry-After: everyone waits
            self.paused_until = max(self.paused_until, now + wait)
        fresh = (
            sent_at >= self._last_decrease if sent_at is not None else now - self._last_decrease >= _COOLDOWN
        )
        if fresh and now < self._hold_until and self.rate <= self._ceiling * self._decrease * 1.01:
            # still held at the decreased rate and refused: the server remembers the burst before
            # the decrease (a sliding window stays full for up to a second).  Lowering the rate
            # again would only stretch the dip; a short pause stops feeding it 429s
            fresh = False
            pause = min(wait, _PROBE_PAUSE) if wait > 0 else _PROBE_PAUSE
            self.paused_until = max(self.paused_until, now + pause)
        if not fresh:
            if sent_at is not None and self._last_decrease - _MEASURE_WINDOW < sent_at <= self._counted_until:
                # one more poll of the burst was refused: it was counted as accepted at the decrease
                # (never below half of what was sent: the classic halving is the floor)
                floor = max(self._min_rate, 0.5 * self._episode[0])
                self._ceiling = max(floor, self._ceiling - 1.0)
                self.rate = min(self.rate, max(self._min_rate, self._ceiling * self._decrease))
                self._check_overshoot()
            return False
        measured = max(self._min_rate, self.measured_rate(now))
        # the ceiling: what the server *accepted* over the last second (sent minus answered 429);
        # a sliding-window limit of K is then estimated as about K, however hard it was hit
        answered = measured - self._sent_after(sent_at)  # polls sent later are still in flight
        self._counted_until = now if sent_at is None else sent_at
        self._ceiling = max(self._min_rate, answered - self._limited_in_window(now))
        self.rate = max(self._min_rate, self._ceiling * self._decrease)
        self._increase = max(_MIN_INCREASE, self._recovery * self._ceiling)
        self._last_decrease = now
        # a short Retry-After: the rejected job waits that long (the schedule); the others go on
        # at the decreased rate, which does not grow before then
        self._hold_until = max(self._hold_until, now + wait)
        self._episode = (measured, now + wait)
        self._check_overshoot()
        return True

    def _check_overshoot(self) -> None:
        """A burst far past the limit (sent > 1.25 x accepted): the server's window is full of it
        for a while, so everyone honours the Retry-After of the 429 that revealed it."""
        measured, until = self._episode
        if measured > _OVERSHOOT * self._ceiling and until > self.paused_until:
            self.paused_until = until

    def _sent_after(self, sent_at: float | None) -> int:
        if sent_at is None:
            return 0
        count = 0
        for t in reversed(self._sent):
            if t <= sent_at:
                break
            count += 1
        return count

    def _limited_in_window(self, now: float) -> int:
        limited = self._limited
        while limited and limited[0] <= now - _MEASURE_WINDOW:
            limited.popleft()
        return sum(1 for t in limited if t > now - _MEASURE_WINDOW)

    @property
    def ceiling(self) -> float:
        """The rate that drew the last 429 (``inf`` before any)."""
        return self._ceiling
