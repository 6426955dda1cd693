"""What one endpoint's job durations look like, learned from the polls that found jobs done.  Pure.

A duration is the age of the job (seconds since submit) when it finished.  Polls never see the
finish itself, only an interval: the job was pending at ``lower`` (the last pending answer, or 0)
and done at ``upper``.  So every sample is interval-censored:

- a *narrow* interval (at most one poll spacing wide) gives its midpoint;
- a *wide* one (typically a job found done on its very first poll: ``(0, upper]``) is imputed: a
  value drawn from the recent *precise* durations (scouts', below) inside the interval.  Using the
  midpoint there would drag the model far too low, and dropping such finishes would bias it upward
  (the shortest jobs are the ones found on a first poll), a bias that feeds on itself through the
  placement; imputing from the reservoir itself would feed on itself too, since it could never
  reach below its own minimum.  When no precise duration lies inside the interval, the midpoint is
  used if the interval is at most half the age wide (a job past the window, found by its backoff
  polls: that is news), else the finish is not a sample (it says almost nothing).

Samples go into a uniform reservoir (Algorithm R) of ``capacity`` values over the last about
``capacity x memory`` finishes.  Uniform matters: within a batch, jobs finish in duration order,
so "the most recent N finishes" would be the longest N.

The *likely window* ``[lo, hi]`` is the 1%..99.5% range, widened while samples are few: by
``spread/(n+1)`` on both sides, ``hi/(4n)`` and one spacing above, half a spacing below.

Scouts' finishes are *precise* (narrow intervals): the last 64 of them also bound the window,
so a warm endpoint that got faster or slower is noticed by its occasional scout (a canary) long
before the reservoir turns over.  Two tripwires say the model no longer fits at all: a precise
duration far outside the window (``surprising``: below half ``lo`` or above twice ``hi``), or
4 of the last 32 finishes past ``hi`` (``check``, about 0.5% expected).  The schedule then
``reset``s (keeping the finish that tripped it) and scouts again.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ("DurationModel", "Prior", "prior_for")

_CHECKS = 32  # finishes the tripwire looks at
_PRECISE = 64  # precise (scout) durations kept
_CHECK_AFTER = 64  # samples before the tripwire is armed
_TAIL_SURPRISE = 4  # finishes past hi among the last _CHECKS (expected: about 0.5%)
_SEED_UNTIL = 8  # real samples after which history seeds are dropped


@dataclass(frozen=True, slots=True)
class Prior:
    """Where a lone job of an endpoint with no history is polled: ``first``, then every
    ``max(gap, fraction x age)`` seconds, and past ``30 x gap`` every ``late_fraction x age``
    (ages since submit): dense where short jobs end, no more than 15% of the age late on."""

    kind: str
    first: float
    gap: float
    fraction: float
    late_fraction: float = 0.15

    def _knots(self) -> tuple[float, float, float, float]:
        """(turn, late, x at turn, x at late): where the linear and the two geometric parts meet."""
        turn = max(self.first, self.gap / self.fraction)
        late = max(turn, 30.0 * self.gap)
        x1 = (turn - self.first) / self.gap
        return turn, late, x1, x1 + math.log(late / turn) / math.log1p(self.fraction)

    def age(self, x: float) -> float:
        """Age of poll number ``x`` (>= 0; poll k of a job with phase u is at ``x = k + u``).

        Linear (``gap`` apart) from ``first`` until the relative spacing takes over, then
        geometric (ratio ``1 + fraction``), then (ratio ``1 + late_fraction``).
        """
        turn, late, x1, x2 = self._knots()
        if x <= x1:
            return self.first + self.gap * x
        if x <= x2:
            return float(turn * (1.0 + self.fraction) ** (x - x1))
        return float(late * (1.0 + self.late_fraction) ** (x - x2))

    def index(self, age: float) -> float:
        """The inverse of ``age`` (-1 before ``first``)."""
        if age < self.first:
            return -1.0
        turn, late, x1, x2 = self._knots()
        if age <= turn:
            return (age - self.first) / self.gap
        if age <= late:
            return x1 + math.log(age / turn) / math.log1p(self.fraction)
        return x2 + math.log(age / late) / math.log1p(self.late_fraction)


# Cold priors by endpoint kind, guessed from the name (video is checked first: "image-to-video").
# Chosen with benchmarks/queue_sim.py (``cold_curve``): a lone 2 s job of an unknown kind costs
# about 5 polls at a median lag of about 0.3 s; image endpoints (1-10 s) start later, video
# endpoints (20 s - 10 min) much later and sparser.
_KINDS: tuple[tuple[str, re.Pattern[str], float, float, float], ...] = (
    (
        "video",
        re.compile(
            r"t2v|i2v|v2v|video|sora|veo|kling|hunyuan|ltx|wan[-_.]?\d|mochi|hailuo|seedance|"
            r"pika|runway|luma|(?:^|[^a-z])v$"
        ),
        5.0,
        2.0,
        0.2,
    ),
    ("audio", re.compile(r"tts|audio|speech|music|voice|whisper|sound|lyria|stt"), 0.8, 0.5, 0.3),
    (
        "image",
        re.compile(
            r"flux|sdxl|sd3|stable.?diffusion|image|img|t2i|i2i|recraft|ideogram|imagen|dall|"
            r"midjourney|upscale|seedream|photo|kontext|hidream"
        ),
        0.75,
        0.4,
        0.3,
    ),
)
_GENERIC = ("generic", 0.4, 0.35, 0.3)


def prior_for(endpoint: str, scale: float = 1.0) -> Prior:
    """The cold prior of ``endpoint`` (by kind, from its name); ``scale`` multiplies its gaps."""
    name = endpoint.lower()
    for kind, pattern, first, gap, fraction in _KINDS:
        if pattern.search(name):
            return Prior(kind, first * scale, gap * scale, fraction * scale, 0.15 * scale)
    kind, first, gap, fraction = _GENERIC
    return Prior(kind, first * scale, gap * scale, fraction * scale, 0.15 * scale)


class DurationModel:
    """A bounded, uniform sample of durations and the likely window derived from it."""

    __slots__ = (
        "_checks",
        "_limit",
        "_rng",
        "_samples",
        "_seed_count",
        "_seeds",
        "_spacing",
        "capacity",
        "hi",
        "lo",
        "median",
        "precise",
        "seen",
        "sorted",
    )

    def __init__(
        self,
        rng: random.Random,
        spacing: Callable[[float], float],
        *,
        capacity: int = 1024,
        memory: int = 16,
    ) -> None:
        self._rng = rng
        self._spacing = spacing
        self.capacity = capacity
        self._limit = capacity * memory
        self._samples: list[float] = []
        #: the samples, sorted
        self.sorted: list[float] = []
        #: finishes offered since the last reset
        self.seen = 0
        #: durations from a history (a previous process), dropped after _SEED_UNTIL real samples
        self._seeds: list[float] = []
        self._seed_count = 0
        self.lo = self.hi = self.median = 0.0
        self._checks: deque[bool] = deque(maxlen=_CHECKS)
        #: the last precisely known durations (scouts'): they anchor the window's edges
        self.precise: deque[float] = deque(maxlen=_PRECISE)

    def __len__(self) -> int:
        return len(self.sorted)

    def add(self, lower: float, upper: float, *, precise: bool = False) -> float | None:
        """Record a finish known to lie in ``(lower, upper]``; returns the sample used, if any.

        ``precise``: a scout's finish (a narrow interval by construction); the last ones bound the
        window even when the reservoir is still full of an older regime.
        """
        lower, upper = max(0.0, lower), max(lower, upper)
        width = upper - lower
        sample = lower + 0.5 * width
        if precise:
            self.precise.append(sample)
        if width > self._spacing(upper):
            inside = [p for p in self.precise if lower < p <= upper]
            if inside:
                sample = self._rng.choice(inside)
            elif width > 0.5 * upper:
                return None
        self.seen += 1
        if self._seeds and self.seen >= _SEED_UNTIL:
            self._drop_seeds()
        if len(self._samples) < self.capacity:
            self._samples.append(sample)
            insort(self.sorted, sample)
        else:
            slot = self._rng.randrange(min(self.seen, self._limit))
            if slot >= self.capacity:
                return sample
            old, self._samples[slot] = self._samples[slot], sample
            del self.sorted[bisect_left(self.sorted, old)]
            insort(self.sorted, sample)
        self._refresh()
        return sample

    @property
    def seeded(self) -> bool:
        """True while the window still rests on durations from a history."""
        return bool(self._seeds)

    def real(self) -> list[float]:
        """The sorted samples learned in this process (history seeds excluded)."""
        if not self._seeds:
            return list(self.sorted)
        rest = list(self.sorted)
        for value in self._seeds:
            i = bisect_left(rest, value)
            if i < len(rest) and rest[i] == value:
                del rest[i]
        return rest

    def seed(self, durations: Sequence[float], count: int = _SEED_UNTIL) -> None:
        """Start from durations a previous process learned (the model must be empty).

        They count as samples until ``_SEED_UNTIL`` real finishes have been added, then they are
        dropped; while they are in, ``surprising`` is armed (one precise finish far outside the
        window resets the model).  ``count``: the finishes behind them; below ``_SEED_UNTIL`` the
        window opens another spacing earlier (a lone job's duration is known to about a spacing).
        """
        if self.sorted or not durations:
            return
        values = sorted(max(0.0, float(v)) for v in durations)[: self.capacity]
        self._samples = list(values)
        self.sorted = list(values)
        self._seeds = list(values)
        self._seed_count = count
        self._refresh()

    def _drop_seeds(self) -> None:
        seeds, self._seeds = self._seeds, []
        for value in seeds:
            if value in self._samples:
                self._samples.remove(value)
                del self.sorted[bisect_left(self.sorted, value)]
        if self.sorted:
            self._refresh()

    def _refresh(self) -> None:
        if not self.sorted:
            self.lo = self.hi = self.median = 0.0
            return
        srt, n = self.sorted, len(self.sorted)
        q_lo, q_hi = srt[int(0.01 * (n - 1))], srt[math.ceil(0.995 * (n - 1))]
        if self.precise:
            q_lo, q_hi = min(q_lo, min(self.precise)), max(q_hi, max(self.precise))
        spread = q_hi - q_lo
        margin = 1.5 if self._seeds and self._seed_count < _SEED_UNTIL else 0.5
        self.lo = max(0.0, q_lo - spread / (n + 1) - margin * self._spacing(q_lo))
        self.hi = q_hi + 2 * spread / (n + 1) + 0.25 * q_hi / n + self._spacing(q_hi)
        self.median = srt[n // 2]

    def surprising(self, duration: float) -> bool:
        """True when a precisely known duration (a scout's) is far outside a mature model's window."""
        armed = len(self.sorted) >= _CHECK_AFTER or bool(self._seeds)
        return armed and not 0.5 * self.lo <= duration <= 2 * self.hi

    def check(self, tail: bool) -> bool:
        """Note one finish (``tail``: found past ``hi``); True when too many of the last were past it."""
        if len(self.sorted) < _CHECK_AFTER:
            return False
        self._checks.append(tail)
        return sum(self._checks) >= _TAIL_SURPRISE

    def reset(self) -> None:
        """Forget everything (the endpoint changed): the schedule scouts again."""
        self._samples.clear()
        self.sorted.clear()
        self._checks.clear()
        self.precise.clear()
        self._seeds = []
        self.seen = 0
        self.lo = self.hi = self.median = 0.0
