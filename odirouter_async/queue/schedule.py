"""``PollSchedule``: when each queue job is polled next.  Pure: no I/O, ``now`` and ``rng`` are inputs.

A poll is one ``GET`` of the job's ``response_url``: 202 + a status while pending, the result once
done, so the poll that finds a job done is also its result fetch.  The schedule spends its polls
where the job is likely to finish, learned per endpoint.  Its parts, one section each below:

- the vocabulary (``Outcome``, ``RateLimited``, stats) and the job / endpoint
  records;
- placement: where a job's next poll goes (spacing through the likely window, the
  tail, the cold-start priors and scouts' curves, fixed intervals);
- learning: what a finish teaches the endpoint's ``DurationModel``, and re-plans;
- ``queue.budget.PollBudget``: the token bucket at ``max_rate``; a 429 lowers it to 90% of what
  the server accepted and it recovers fast (see there); the refused job itself waits its
  ``Retry-After``;
- ``PollSchedule``: the shell's contract below, scout recruitment, history seeds and snapshots.

- **Scouts.**  With no model, the first jobs of an endpoint (``max(min_scouts, scout_share n)``
  capped at ``max_scouts``) are scouts, until it has 8 samples.  On a warm endpoint the first
  ``min_scouts`` jobs after a quiet spell (10 median durations) and one in 500 after that are
  scouts too (*canaries*): their precise durations keep the window honest when the endpoint gets
  faster or slower (see the duration model below).
- **History.**  ``seed(endpoint, durations, now)`` warms an endpoint with what a previous process
  learned (``queue/history.py``): its first jobs are placed by it, no scouts; ``snapshot`` gives
  what to keep for the next process.
- **Errors.**  Transient errors (5xx, connection) back off per job (``backoff.expo`` from
  ``error_base``, capped).

The shell's contract (one task per client):

1. ``add(key, endpoint, now)`` right after a submit returned (or ``age=`` seconds since the submit
   when re-attaching; ``age=None`` if unknown: polled at once, then on the prior, never learned).
   ``every=`` seconds instead polls the job at that fixed interval (first at ``now + every``, then
   ``every`` after each answer), outside the endpoint's learning: no scout, no model placement, no
   sample; errors and 429s back off as for any job.
2. ``keys = due(now, limit)`` returns the jobs to poll *now*, at most ``limit`` (free connection
   slots) and within the budget.  Each returned key is exactly one poll the shell must send.
3. For each, ``observe(key, outcome, now)`` when the answer (or the error) arrives.  ``DONE`` and
   ``ENDED`` forget the job; a ``RateLimited`` outcome also applies ``on_rate_limited``.
4. Sleep until ``next_wakeup(now)`` (``None``: nothing scheduled), or until ``add``/``observe`` was
   called, since either may bring the next wakeup forward.  ``remove(key)`` when the caller gives
   up on a job (cancel, timeout).  Observations for unknown keys are ignored.

Vocabulary and records
----------------------

The poll schedule's vocabulary and records.  Pure: no I/O.

What a poll found (``Outcome``, ``RateLimited``, ``Observation``), what the schedule reports
(``ScheduleStats``, ``DurationEstimate``), and the state ``PollSchedule`` keeps: one
``JobState`` per scheduled job, one ``EndpointState`` per endpoint (its duration model, its
scouts and re-plan bookkeeping), the ``Counters`` and the heap of planned polls.

The duration model
------------------

What one endpoint's job durations look like, learned from the polls that found jobs done.  Pure.

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

Placement
---------

Placement: when a scheduled job's next poll goes, from what its endpoint has learned.  Pure.

- **Placement.**  ``spacing(a) = max(1.6 lag_target, 1.7 lag_fraction a)``: the median lag is then
  about ``0.8 lag_target`` for short jobs and ``0.85 lag_fraction`` of the duration for long ones.
  A job's first poll lands at ``lo + (0.5 + u) spacing`` (``u`` its own uniform phase: ten
  thousand jobs never poll in lockstep), then every ``spacing`` through the window, where the
  spacing of a job younger than the window's median is the median's (the ratio targets are of
  the typical duration: a warm batch's early finishers need no denser polls); past ``hi``
  (a job far from what was learned) it backs off: ``backoff.expo`` from one spacing, capped at
  ``max(tail_cap, tail_fraction age)``, half fixed and half jittered (``jitter``, full jitter with
  ``rng`` by default, applied to the upper half: a poll right after the last one is a waste).
  Past a window seeded from a history a job follows its endpoint's prior curve instead.
- **Cold start.**  With no model, the first jobs of an endpoint are *scouts* (``PollSchedule``
  recruits them), polled every ``max(scout_interval, scout_fraction age)`` (0.2 s, 10% of the age),
  and at the window's spacing once that is relative (17% of the age, past 2.35 s), when at least
  20 jobs wait behind them.  A scout with fewer behind it (a
  lone ``queue.run``, a small batch) follows its
  endpoint's *prior* (``prior_for``: by kind from the name, video / audio / image /
  generic): first poll at ``first``, then ``max(gap, fraction age)`` apart (15% of the age late
  on), at its own phase (generic: 0.4 s, 0.35 s, 30%: a lone 2 s job costs about 5 polls at a
  median lag of 0.27 s; ``cold_scale`` stretches the curve, see ``queue_sim.cold_curve``).  The
  others are on a sparse prior (``backoff.expo`` from ``prior_first``) whose polls are *skipped*
  while at least two older scouts are still pending (they would have finished first) and the job
  is younger than ``gate_horizon`` (12 min: a 10 min batch waits for its scouts too): a cold batch
  costs no polls but the scouts' until 8% of the scouts have finished (``_ready``).
- **Fixed interval.**  A job added with ``every=`` polls ``every`` seconds after each answer.

``SchedulePlacement`` holds these rules as methods of the schedule (``PollSchedule`` sets the
tuning attributes declared here); each plan is an entry on the heap of ``Counters``.

Learning
--------

Learning: what a finished job teaches its endpoint, and the re-plans that follow.  Pure.

- **Model.**  Every job that finishes (``DONE``) adds its duration to the endpoint's
  ``DurationModel``: a uniform reservoir of interval-censored samples (between the
  last poll that saw the job pending and the one that saw it done) and the *likely window*
  ``[lo, hi]`` derived from it (see there).  The window is kept open past the age of any scout
  still pending while the model is young, or while that scout is older than the model (a cold
  wave's model holds only its early finishes: its later jobs are not "past the window", and do
  not trip the reset).  ``IN_QUEUE`` and ``IN_PROGRESS`` are not told apart:
  the clock is total time since submit, which is what a caller waits for and is robust to sparse
  observations (``queue_position`` is always 0).  When the model stops fitting (its tripwire) it is
  reset and the endpoint scouts again.  ``observe(..., inference_time=)`` (``metrics`` of a done
  job) with the ages last seen ``IN_QUEUE`` / first seen ``IN_PROGRESS`` narrows a finish.
- **History.**  An endpoint seeded from a previous process (``PollSchedule.seed``) places its
  first jobs by the seeds, which give way to the first 8 real finishes; one precise finish far
  outside them resets the endpoint (``stale``: the old history is contradicted).
- **Late scouts.**  The first finish of a cold batch opens its window; with three scouts that is
  the earliest of three draws, and one run in three opened it seconds after the batch had begun to
  finish (issue #23: the same 300 x 20 s batch split into two outcomes).  So while every scout is
  still pending, a batch of at least 20 recruits one more scout when their age passes 1 s and each
  time it grows 1.37x (up to 4 % of the batch or ``max_scouts``), polled at the window's spacing
  rather than densely:
  about ten extra samplers by 20 s, for a few tenths of a request per job.
- **Re-plans.**  Once 8% of the scouts have finished, every job is placed in one batch: those
  already past ``lo`` catch up within 1.5 spacings (spread by their phase; the wave has mostly just
  begun to finish; half a spacing for short jobs, whose spacing is absolute); once 12 catch-ups
  have answered and a quarter of them found their job done (the window opened late), the rest
  catch up within half a spacing.  Later material
  changes (the count doubles, the window moves by a fraction of a spacing) re-plan the endpoint
  again, at most once per half a spacing; a re-plan only ever moves a planned poll earlier.

``ScheduleLearning`` holds these rules as methods of the schedule, on top of its placement.
"""

from __future__ import annotations

import enum
import heapq
import math
import random
import re
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import backoff

from .budget import START_DOUBLE_EVERY, START_RATE, PollBudget

__all__ = (
    "PENDING",
    "Counters",
    "DurationEstimate",
    "DurationModel",
    "EndpointState",
    "JobState",
    "Mode",
    "Observation",
    "Outcome",
    "PollSchedule",
    "Prior",
    "RateLimited",
    "ScheduleLearning",
    "SchedulePlacement",
    "ScheduleStats",
    "expo",
    "prior_for",
)

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


K = TypeVar("K", bound=Hashable)


class Outcome(enum.Enum):
    """What one poll (or any status read) found."""

    QUEUED = "queued"  # pending, IN_QUEUE
    RUNNING = "running"  # pending, IN_PROGRESS
    PENDING = "pending"  # pending, unknown status word
    DONE = "done"  # finished: its duration is a sample of the endpoint's model
    ENDED = "ended"  # finished but atypical (failed, cancelled): not a sample
    ERROR = "error"  # transient failure of the poll itself (5xx, connection, timeout)


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The poll was answered 429; ``retry_after`` in seconds when the server said."""

    retry_after: float | None = None


Observation = Outcome | RateLimited


PENDING = frozenset({Outcome.QUEUED, Outcome.RUNNING, Outcome.PENDING})


class Mode(enum.Enum):
    """How a job's next poll is placed."""

    SCOUT = "scout"
    PRIOR = "prior"  # no model yet
    MODEL = "model"  # inside the likely window
    TAIL = "tail"  # beyond the window: backoff
    UNTIMED = "untimed"  # age unknown
    FIXED = "fixed"  # ``add(..., every=)``: a fixed interval, never learned


class EndpointState:
    """What the schedule knows and plans per endpoint."""

    __slots__ = (
        "adds",
        "canaries",
        "canary_at",
        "catch_hits",
        "catch_polls",
        "catch_up",
        "dirty_at",
        "early",
        "frontier",
        "jobs",
        "last_replan",
        "model",
        "opened",
        "planned",
        "prior",
        "queues",
        "recruit_at",
        "recruited",
        "replans",
        "rescout",
        "scout_starts",
        "stale",
    )

    def __init__(self, model: DurationModel, prior: Prior) -> None:
        self.model = model
        self.prior = prior  # where a lone cold job polls (by endpoint kind)
        self.early = 0  # jobs in a row found done on their first poll (history: "got faster?")
        self.stale = False  # the model was reset here: a history it was seeded with is wrong
        self.queues = False  # a job of this endpoint was seen IN_QUEUE
        self.jobs: dict[Hashable, JobState[Any]] = {}
        self.rescout = 0  # pending jobs still to be made scouts after a reset
        self.recruited = 0  # scouts made since the model was (re)started
        self.adds = 0  # jobs added since the last canary
        self.canary_at = -math.inf
        self.canaries = 0  # canaries still to be made
        self.scout_starts: list[float] = []  # start times of pending scouts, sorted
        self.frontier = 0.0  # highest age a scout was seen pending at
        self.recruit_at = 0.0  # frontier age at which the next late scout is recruited (cold batch)
        self.dirty_at: float | None = None
        self.last_replan = -math.inf
        self.opened = math.inf  # when the model got its first sample (since the last reset)
        self.planned = (0.0, 0.0)  # the window of the last re-plan
        self.replans = 0
        self.catch_up = 1.5  # catch-ups spread over this many spacings (see ``_caught``)
        self.catch_polls = 0  # catch-up polls answered since the window (re)opened ...
        self.catch_hits = 0  # ... and how many of them found their job done


@dataclass(slots=True, eq=False)
class JobState(Generic[K]):
    """One scheduled job: its clock, what was seen of it, and its planned poll."""

    key: K
    ep: EndpointState
    start: float  # monotonic time of age 0
    timed: bool
    scout: bool
    phase: float
    mode: Mode = Mode.PRIOR
    known: float = 0.0  # age at which the job was last known pending
    queued: float = 0.0  # age at which it was last seen IN_QUEUE (it started later)
    running: float = math.inf  # age by which it was seen IN_PROGRESS (it started earlier)
    due: float = math.inf
    version: int = 0
    in_flight: bool = False
    sent_at: float = 0.0
    waits: Iterator[float] | None = None  # prior / tail backoff
    errors: Iterator[float] | None = None
    every: float = 0.0  # > 0: a fixed-interval job (``add(..., every=)``)
    late: bool = False  # a scout recruited late in a cold batch: polled at the window's spacing
    catching: bool = False  # its planned poll is a catch-up (``_model_target``)


@dataclass(frozen=True, slots=True)
class ScheduleStats:
    """Counters for progress reports and tests."""

    jobs: int
    in_flight: int
    scouts: int  # pending scouts (densely polled to learn durations)
    polls: int  # polls handed out by due()
    deferred: int  # prior polls skipped because older scouts were still pending
    errors: int
    rate_limited: int
    replans: int
    rate: float  # polls/s allowed now
    recent_rate: float  # polls handed out in the last second
    paused_until: float | None


@dataclass(frozen=True, slots=True)
class DurationEstimate:
    """What the schedule has learned about one endpoint (seconds since submit)."""

    samples: int
    low: float  # start of the likely window
    median: float
    high: float  # end of the likely window


def expo(factor: float) -> Iterator[float]:
    """``backoff.expo`` from ``factor``, doubling, primed."""
    gen: Iterator[float] = backoff.expo(base=2, factor=factor)
    next(gen)  # prime: backoff's generators yield None first
    return gen


@dataclass(slots=True)
class Counters:
    """The schedule's counters and its heap of planned polls ``(at, seq, job, version)``."""

    polls: int = 0
    deferred: int = 0
    errors: int = 0
    rate_limited: int = 0
    replans: int = 0
    seq: int = 0
    heap: list[tuple[float, int, JobState[Any], int]] = field(default_factory=list)




_MIN_GAP = 0.05  # no two polls of one job closer than this (seconds)


_GATE_MIN = 2  # pending older scouts needed to skip a cold job's prior poll


_FRONTIER_UNTIL = 32  # pending scouts keep the window open until this many samples, or longer if
# they were recruited before its first sample: a cold wave's model only holds its early finishes


_GATE_SLACK = 0.05  # a scout submitted this much later still counts as "older"


_BATCH = 20  # a scout with at least this many non-scouts behind it polls densely


_OPEN_SHARE = 0.08  # non-scouts wait on the scouts until this share of them has finished


class SchedulePlacement(Generic[K]):
    """Where each job's next poll goes (the placement half of ``PollSchedule``)."""

    _rng: random.Random
    _jitter: Callable[[float], float]
    _abs_spacing: float
    _rel_spacing: float
    _catch_up: float
    _catch_slow: float
    _catch_fast_share: float
    _catch_min: int
    _scout_interval: float
    _scout_fraction: float
    _prior_first: float
    _gate_horizon: float
    _tail_cap: float
    _tail_fraction: float
    _jobs: dict[K, JobState[K]]
    _c: Counters

    def _spacing(self, age: float) -> float:
        return max(self._abs_spacing, self._rel_spacing * age)

    def _half_jitter(self, value: float) -> float:
        return max(_MIN_GAP, 0.5 * value + self._jitter(0.5 * value))

    def _wait(self, job: JobState[K], age: float) -> float:
        """The next prior/tail backoff wait, capped at a fraction of the age."""
        if job.waits is None:
            job.waits = expo(self._prior_first if job.mode is not Mode.TAIL else self._spacing(age))
        cap = max(self._tail_cap, self._tail_fraction * age)
        return self._half_jitter(min(next(job.waits), cap))

    def _hi(self, ep: EndpointState) -> float:
        if ep.scout_starts and (len(ep.model) < _FRONTIER_UNTIL or ep.scout_starts[0] < ep.opened):
            return max(ep.model.hi, ep.frontier + self._spacing(ep.frontier))
        return ep.model.hi

    def _ready(self, ep: EndpointState) -> bool:
        """Non-scouts are placed by the model once 8% of the scouts have finished."""
        return len(ep.model) >= max(1, math.ceil(_OPEN_SHARE * ep.recruited))

    def _window(self, ep: EndpointState) -> tuple[float, float, float] | None:
        """``(lo, hi, median)`` of the endpoint's likely window; ``None`` until it is ready."""
        if not self._ready(ep):
            return None
        return ep.model.lo, self._hi(ep), ep.model.median

    def _model_target(
        self,
        job: JobState[K],
        age_now: float,
        *,
        planned: bool = False,
        window: tuple[float, float, float] | None = None,
    ) -> float | None:
        """Age of the next poll inside the likely window; ``None`` when the job is past it.

        A job not yet polled inside the window polls at ``lo + (0.5 + phase) spacing``; one that is
        already past that point and has no model-made plan (``planned``) catches up within half a
        spacing, spread by its phase.  ``window``: ``_window(job.ep)`` when the caller has it.
        """
        known = job.known
        job.catching = False
        if window is None:
            window = self._window(job.ep)
        if window is None or known >= window[1]:
            return None
        lo, _, median = window
        if known >= lo:
            return known + self._spacing(max(known, median))
        first = lo + (0.5 + job.phase) * self._spacing(max(lo, median))
        if age_now <= lo or (planned and first >= age_now):
            return first
        spacing = self._spacing(max(age_now, median))
        if spacing <= self._abs_spacing:  # short jobs keep the fast catch-up (and no re-plans for it):
            return age_now + self._catch_up * job.phase * spacing  # 1.5 spacings is most of their length
        job.catching = True
        return age_now + job.ep.catch_up * job.phase * spacing

    def _plan(self, job: JobState[K], now: float, not_before: float = -math.inf) -> None:
        """Plan the next poll from what is known now."""
        age_now, known, ep = now - job.start, job.known, job.ep
        if job.mode is Mode.FIXED:  # ``every`` after this answer (or after the add)
            self._push(job, max(now + job.every, not_before))
            return
        if job.mode is Mode.SCOUT:
            if len(ep.jobs) - len(ep.scout_starts) >= _BATCH:  # others wait on this scout: dense
                if job.late or self._rel_spacing * known > self._abs_spacing:  # the window's
                    step = self._spacing(known)  # spacing once it is relative: the late ones are there
                else:
                    step = max(self._scout_interval, self._scout_fraction * known)
                at = known + step * self._rng.uniform(0.9, 1.1)
            else:  # a lone or small-batch scout: the endpoint's prior curve, at the job's own phase
                at = self._prior_next(job, known)
        elif job.mode is Mode.UNTIMED or not self._ready(ep):
            if job.mode is not Mode.UNTIMED and job.mode is not Mode.PRIOR:
                job.mode, job.waits = Mode.PRIOR, None
            at = known + self._wait(job, known)
        else:
            target = self._model_target(job, age_now)
            if target is None:
                if job.mode is not Mode.TAIL:
                    job.mode, job.waits = Mode.TAIL, None
                # past a window from a history: the prior curve, not backoff
                at = self._prior_next(job, known) if ep.model.seeded else known + self._wait(job, known)
            else:
                job.mode, job.waits, at = Mode.MODEL, None, target
        self._push(job, max(job.start + at, now, not_before))

    def _prior_next(self, job: JobState[K], known: float) -> float:
        """The next age on the endpoint's prior curve after ``known``, at the job's phase."""
        prior = job.ep.prior
        step = math.floor(prior.index(known + _MIN_GAP) - job.phase) + 1
        return prior.age(max(0, step) + job.phase) * self._rng.uniform(1.0, 1.03)  # never before

    def _push(self, job: JobState[K], at: float) -> None:
        job.version += 1
        job.due = at
        c = self._c
        c.seq += 1
        heapq.heappush(c.heap, (at, c.seq, job, job.version))
        if len(c.heap) > 2 * len(self._jobs) + 4096:  # drop the entries re-plans left behind
            c.heap = [entry for entry in c.heap if entry[3] == entry[2].version]
            heapq.heapify(c.heap)

    def _gated(self, job: JobState[K], now: float) -> bool:
        """Skip a cold job's prior poll while older scouts, which finish first, are all pending."""
        ep = job.ep
        if self._ready(ep) or now - job.start >= self._gate_horizon:
            return False
        return bisect_right(ep.scout_starts, job.start + _GATE_SLACK) >= _GATE_MIN




_LATE_FROM = 1.0  # a cold batch whose scouts are all pending at this age recruits one more ...


_LATE_GROWTH = 1.37  # ... and one more each time their age grows by this factor


_LATE_BATCH = 20  # only with at least this many non-scouts waiting


_LATE_SHARE = 0.04  # and at most this share of the batch (or ``max_scouts``) are scouts


class ScheduleLearning(SchedulePlacement[K]):
    """What finishes teach an endpoint, and its re-plans (the learning half of ``PollSchedule``)."""

    _min_scouts: int
    _max_scouts: int
    _endpoints: dict[str, EndpointState]

    def _learn(self, job: JobState[K], age: float, now: float, inference_time: float | None = None) -> None:
        """A finish (seen done at ``age``) into the model: a surprise resets it; a re-plan is due."""
        ep = job.ep
        model = ep.model
        lower = job.known
        if inference_time is not None and math.isfinite(inference_time) and inference_time >= 0:
            started = job.running
            if not ep.queues and math.isinf(started):  # this endpoint's jobs never wait in a queue
                started = self._spacing(inference_time)  # seen so far: it started about at once
            low, high = max(lower, job.queued + inference_time), min(age, started + inference_time)
            if low <= high:  # else the hint contradicts the polls (clock skew): ignore it
                lower, age = low, high
        mid = lower + 0.5 * (age - lower)
        ep.early = 0 if lower > 0.0 or job.scout else ep.early + 1
        if job.scout:
            surprise = model.surprising(mid)
        else:
            surprise = job.mode in (Mode.MODEL, Mode.TAIL) and model.check(job.mode is Mode.TAIL)
            # a history that no longer fits: one finish known to lie far outside it
            surprise = surprise or (model.seeded and age - lower <= 0.5 * age and model.surprising(mid))
        if surprise:  # the endpoint changed: start over from this finish, and scout again
            ep.stale = True
            model.reset()
            ep.rescout, ep.frontier, ep.replans, ep.recruited = self._min_scouts, 0.0, 0, 0
            ep.recruit_at = 0.0
            ep.catch_up, ep.catch_polls, ep.catch_hits = self._catch_slow, 0, 0
            ep.dirty_at = now
        if not model:
            ep.opened = now
        model.add(lower, age, precise=job.scout or age - lower <= 0.5 * self._spacing(age))
        n, (lo0, hi0) = len(model), ep.planned
        if ep.replans == 0:
            if self._ready(ep) or surprise:
                ep.dirty_at = now
        elif (
            (n & (n - 1) == 0 and n < 2 * model.capacity)
            or abs(model.lo - lo0) > 0.25 * self._spacing(model.lo)
            or model.hi - hi0 > 0.5 * self._spacing(model.hi)
        ):
            at = max(now, ep.last_replan + 0.5 * self._spacing(model.median))
            ep.dirty_at = at if ep.dirty_at is None else min(ep.dirty_at, at)

    def _flush(self, now: float) -> None:
        """Run the re-plans that have come due."""
        for ep in self._endpoints.values():
            if ep.dirty_at is not None and ep.dirty_at <= now:
                self._replan(ep, now)

    def _replan(self, ep: EndpointState, now: float) -> None:
        """Move the endpoint's planned polls to the new window (only ever earlier, except prior ones)."""
        ep.dirty_at, ep.last_replan, ep.planned = None, now, (ep.model.lo, ep.model.hi)
        ep.replans += 1
        self._c.replans += 1
        ready = self._ready(ep)
        # the window is fixed for the whole loop unless it recruits scouts (which moves ``hi``)
        window = self._window(ep) if ready and not ep.rescout else None
        for job in ep.jobs.values():
            if job.in_flight or job.mode in (Mode.SCOUT, Mode.UNTIMED):
                continue
            if ep.rescout and job.timed:  # after a reset: the oldest pending jobs scout
                ep.rescout -= 1
                self._make_scout(job)
                self._plan(job, now)
                continue
            if job.mode is Mode.PRIOR or not ready:
                self._plan(job, now)
                continue
            catching = job.catching
            target = self._model_target(job, now - job.start, planned=True, window=window)
            if target is not None and job.start + target < job.due - 1e-9:
                job.mode, job.waits = Mode.MODEL, None
                self._push(job, max(job.start + target, now))
            else:
                job.catching = catching

    def _recruit_late(self, ep: EndpointState, now: float) -> None:
        """A cold batch whose scouts are all still pending recruits more, ever sparser in age."""
        cap = min(self._max_scouts, max(self._min_scouts, math.ceil(_LATE_SHARE * len(ep.jobs))))
        if ep.model or ep.frontier < max(_LATE_FROM, ep.recruit_at) or ep.recruited >= cap:
            return
        ep.recruit_at = max(_LATE_FROM, ep.frontier) * _LATE_GROWTH
        if len(ep.jobs) - len(ep.scout_starts) < _LATE_BATCH:
            return
        for job in ep.jobs.values():
            if job.timed and not job.scout and not job.in_flight and job.mode is Mode.PRIOR:
                self._make_scout(job)
                job.late = True
                self._plan(job, now)
                return

    def _caught(self, job: JobState[K], done: bool, now: float) -> None:
        """A catch-up poll answered: when many find their job done, the rest catch up faster."""
        job.catching = False
        ep = job.ep
        ep.catch_polls += 1
        ep.catch_hits += done
        share = ep.catch_hits / ep.catch_polls
        if ep.catch_polls < self._catch_min or share < self._catch_fast_share:
            return
        # the window opened late: the more of the wave is done already, the faster the rest
        fast = self._catch_up * max(0.1, 1.0 - share)
        if fast <= 0.5 * ep.catch_up:  # (a re-plan walks every job: only for a real change)
            ep.catch_up = fast
            ep.dirty_at = now if ep.dirty_at is None else min(ep.dirty_at, now)

    def _make_scout(self, job: JobState[K]) -> None:
        job.ep.recruited += 1
        job.scout, job.mode, job.waits = True, Mode.SCOUT, None
        insort(job.ep.scout_starts, job.start)




_SCOUT_UNTIL = 8  # scouts are recruited until the endpoint has this many samples


_CANARY_EVERY = 500  # on a warm endpoint, one job in this many is a scout (a canary) ...


_CANARY_QUIET = 10.0  # ... and so is the first after this many median durations without one


class PollSchedule(ScheduleLearning[K]):
    """The sans-IO poll scheduler (see the module docstring for the contract)."""

    def __init__(
        self,
        rng: random.Random,
        *,
        lag_target: float = 0.25,
        lag_fraction: float = 0.1,
        max_rate: float = 200.0,
        min_rate: float = 1.0,
        burst: float = 0.1,
        start_rate: float | None = None,
        scout_interval: float = 0.2,
        scout_fraction: float = 0.1,
        scout_share: float = 0.01,
        min_scouts: int = 3,
        max_scouts: int = 32,
        prior_first: float = 1.0,
        gate_horizon: float = 720.0,
        tail_cap: float = 30.0,
        tail_fraction: float = 0.25,
        error_base: float = 0.5,
        error_cap: float = 30.0,
        reservoir: int = 1024,
        cold_scale: float = 1.0,
        jitter: Callable[[float], float] | None = None,
    ) -> None:
        if lag_target <= 0 or lag_fraction <= 0 or scout_interval <= 0 or reservoir < 1:
            raise ValueError("lag_target, lag_fraction, scout_interval and reservoir must be positive")
        self._rng = rng
        self._jitter: Callable[[float], float] = jitter or (lambda v: rng.uniform(0.0, v))
        self._abs_spacing = 1.6 * lag_target
        self._rel_spacing = 1.7 * lag_fraction
        self._catch_up = 0.5
        self._catch_slow = 1.5
        self._catch_fast_share = 0.25
        self._catch_min = 12
        self._scout_interval = scout_interval
        self._scout_fraction = scout_fraction
        self._scout_share = scout_share
        self._min_scouts = min_scouts
        self._max_scouts = max_scouts
        self._prior_first = prior_first
        self._gate_horizon = gate_horizon
        self._tail_cap = tail_cap
        self._tail_fraction = tail_fraction
        self._error_base = error_base
        self._error_cap = error_cap
        self._reservoir = reservoir
        self._cold_scale = cold_scale
        self._budget = PollBudget(
            max_rate,
            min_rate=min_rate,
            burst=burst,
            start_rate=START_RATE if start_rate is None else start_rate,
            start_double_every=START_DOUBLE_EVERY,
        )
        self._jobs = {}
        self._endpoints = {}
        self._c = Counters()

    # ------------------------------------------------------------------ public API

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, key: object) -> bool:
        return key in self._jobs

    def add(
        self, key: K, endpoint: str, now: float, *, age: float | None = 0.0, every: float | None = None
    ) -> None:
        """Start scheduling a submitted job; ``age`` = seconds since its submit (``None``: unknown).

        ``every``: poll this job every ``every`` seconds instead (first poll at ``now + every``,
        then ``every`` after each answer); it is not learned into ``endpoint``'s duration model
        (no scout, no model placement, no sample) and does not count among its jobs; errors and
        429s still back off like other jobs.
        """
        if key in self._jobs:
            raise ValueError(f"job {key!r} is already scheduled")
        if every is not None:
            self._add_fixed(key, endpoint, now, age, every)
            return
        ep = self._endpoint(endpoint)
        timed = age is not None
        start = now - max(0.0, age or 0.0)
        share = math.ceil(self._scout_share * (len(ep.jobs) + 1))
        target = min(self._max_scouts, max(self._min_scouts, share))
        scout = timed and len(ep.model) < _SCOUT_UNTIL and len(ep.scout_starts) < target
        ep.adds += 1
        if timed and not scout and len(ep.model) >= _SCOUT_UNTIL:
            # canaries: scouts on a warm endpoint, to notice it got faster or slower
            if now - ep.canary_at >= _CANARY_QUIET * ep.model.median:
                ep.canaries = self._min_scouts  # a batch after a quiet spell starts with a few
            scout = ep.canaries > 0 or ep.adds >= _CANARY_EVERY
            if scout:
                ep.adds, ep.canary_at, ep.canaries = 0, now, max(0, ep.canaries - 1)
        job = JobState(key, ep, start, timed, scout, self._rng.random())
        self._jobs[key] = job
        ep.jobs[key] = job
        if scout:
            self._make_scout(job)
        if timed:
            self._plan(job, now)
        else:
            job.mode = Mode.UNTIMED
            self._push(job, now)

    def _add_fixed(self, key: K, endpoint: str, now: float, age: float | None, every: float) -> None:
        """``add(..., every=)``: a job on its own fixed interval, invisible to the endpoint's learning."""
        if not (math.isfinite(every) and every > 0):
            raise ValueError(f"every must be a positive number of seconds, not {every!r}")
        start = now - max(0.0, age or 0.0)
        job = JobState(key, self._endpoint(endpoint), start, False, False, 0.0, Mode.FIXED, every=every)
        self._jobs[key] = job  # not in ep.jobs: no scout share, no dense scouting, no re-plan
        self._plan(job, now)

    def observe(
        self, key: K, outcome: Observation, now: float, *, inference_time: float | None = None
    ) -> None:
        """Report what the poll of ``key`` found (also fine for a status read outside ``due``).

        ``inference_time``: ``metrics.inference_time`` of a ``DONE`` job, when the gateway gave
        it.  With the ages at which the job was last seen ``IN_QUEUE`` and first seen
        ``IN_PROGRESS`` it narrows the finish to ``(last queued + t, first running + t]``: a job
        found done on its first poll still teaches the model its duration.
        """
        job = self._jobs.get(key)
        if job is None:
            return
        sent = job.sent_at if job.in_flight else now
        job.in_flight = False
        job.version += 1
        if isinstance(outcome, RateLimited):
            self._c.rate_limited += 1
            self._budget.on_rate_limited(now, outcome.retry_after, sent_at=sent)
            wait = min(outcome.retry_after or 0.0, 60.0)  # this job honours Retry-After fully
            self._plan(job, now, not_before=max(self._budget.paused_until, now + wait))
        elif outcome is Outcome.ERROR:
            self._c.errors += 1
            if job.errors is None:
                job.errors = expo(self._error_base)
            cap = min(self._error_cap, max(self._spacing(now - job.start), 0.5 * (now - job.start)))
            wait = self._half_jitter(min(next(job.errors), cap))
            self._plan(job, now, not_before=now + wait)
        elif outcome in PENDING:
            if job.catching:
                self._caught(job, False, now)
            job.known = max(job.known, sent - job.start)
            if outcome is Outcome.QUEUED:  # it starts after the server said so (>= sent)
                job.queued = max(job.queued, sent - job.start)
                if job.mode is not Mode.FIXED:  # a fixed-interval job teaches its endpoint nothing
                    job.ep.queues = True
            elif outcome is Outcome.RUNNING:  # it started before the answer came (<= now)
                job.running = min(job.running, now - job.start)
            job.errors = None
            ep = job.ep
            if ep.rescout and job.timed and not job.scout:
                ep.rescout -= 1
                self._make_scout(job)
            if job.scout:
                ep.frontier = max(ep.frontier, job.known)
                self._recruit_late(ep, now)
            self._plan(job, now)
        else:
            if job.catching:
                self._caught(job, outcome is Outcome.DONE, now)
            if outcome is Outcome.DONE and job.timed:
                self._learn(job, now - job.start, now, inference_time)
            self._forget(job)

    def remove(self, key: K) -> bool:
        """Stop scheduling ``key`` (cancelled, timed out, finished elsewhere); False if unknown."""
        job = self._jobs.get(key)
        if job is None:
            return False
        self._forget(job)
        return True

    def on_rate_limited(self, now: float, retry_after: float | None = None) -> None:
        """A 429 on a request that is not a poll (a submit, a cancel): slow all polling down."""
        self._budget.on_rate_limited(now, retry_after)

    def next_wakeup(self, now: float) -> float | None:
        """When the shell should call ``due`` next (>= ``now``); ``None`` when nothing is scheduled."""
        self._flush(now)
        heap = self._c.heap
        while heap and heap[0][3] != heap[0][2].version:
            heapq.heappop(heap)
        at = heap[0][0] if heap else None
        if at is not None and at <= now:
            at = self._budget.ready_at(now)
        for ep in self._endpoints.values():
            if ep.dirty_at is not None and (at is None or ep.dirty_at < at):
                at = ep.dirty_at
        return None if at is None else max(at, now)

    def due(self, now: float, limit: int | None = None) -> list[K]:
        """Pop the jobs to poll now (at most ``limit``, within the budget); send exactly these."""
        self._flush(now)
        heap: list[tuple[float, int, JobState[Any], int]] = self._c.heap
        out: list[K] = []
        while heap and (limit is None or len(out) < limit):
            at, _, job, version = heap[0]
            if version != job.version:
                heapq.heappop(heap)
                continue
            if at > now:
                break
            if job.mode is Mode.PRIOR and self._gated(job, now):
                heapq.heappop(heap)
                self._c.deferred += 1
                self._push(job, at + self._wait(job, at - job.start))
                continue
            if not self._budget.take(now):
                break
            heapq.heappop(heap)
            job.version += 1
            job.in_flight, job.sent_at = True, now
            self._c.polls += 1
            out.append(job.key)
        return out

    def stats(self, now: float) -> ScheduleStats:
        """Counters and the current rate."""
        budget = self._budget
        budget.refill(now)
        c = self._c
        return ScheduleStats(
            jobs=len(self._jobs),
            in_flight=sum(1 for j in self._jobs.values() if j.in_flight),
            scouts=sum(len(ep.scout_starts) for ep in self._endpoints.values()),
            polls=c.polls,
            deferred=c.deferred,
            errors=c.errors,
            rate_limited=c.rate_limited,
            replans=c.replans,
            rate=budget.rate,
            recent_rate=budget.measured_rate(now),
            paused_until=budget.paused_until if budget.paused_until > now else None,
        )

    def estimate(self, endpoint: str) -> DurationEstimate | None:
        """The learned likely window of ``endpoint`` (``None`` before its first sample)."""
        ep = self._endpoints.get(endpoint)
        if ep is None or not ep.model:
            return None
        return DurationEstimate(len(ep.model), ep.model.lo, ep.model.median, self._hi(ep))

    def seed(
        self, endpoint: str, durations: list[float], now: float, *, early: int = 0, count: int = 8
    ) -> bool:
        """Warm ``endpoint`` with durations from a history (before its first job); False if ignored.

        A seeded endpoint places its first jobs by the history instead of scouting; the seeds
        give way to the first 8 real finishes, and one precise finish far outside them resets
        the endpoint (it scouts again).
        """
        ep = self._endpoint(endpoint)
        if ep.jobs or ep.model or not durations:
            return False
        ep.model.seed(durations, count)
        ep.opened = now
        ep.early = early
        ep.canary_at = now  # no quiet-spell canaries right after a load
        return True

    def snapshot(self, endpoint: str) -> tuple[list[float], int, int, bool] | None:
        """What to keep of ``endpoint`` for the next process: (sorted durations learned here,
        finishes seen, early finishes in a row, whether an older history is contradicted);
        ``None`` when nothing was learned or observed."""
        ep = self._endpoints.get(endpoint)
        if ep is None:
            return None
        real = ep.model.real()
        if not real and not ep.early:
            return None
        return real, ep.model.seen, ep.early, ep.stale

    def endpoints(self) -> list[str]:
        """The endpoints seen so far."""
        return list(self._endpoints)

    def cold_prior(self, endpoint: str) -> Prior:
        """Where a lone job of ``endpoint`` polls while nothing is learned (by endpoint kind)."""
        ep = self._endpoints.get(endpoint)
        return ep.prior if ep is not None else prior_for(endpoint, self._cold_scale)

    # ------------------------------------------------------------------ bookkeeping

    def _endpoint(self, endpoint: str) -> EndpointState:
        ep = self._endpoints.get(endpoint)
        if ep is None:
            model = DurationModel(self._rng, self._spacing, capacity=self._reservoir)
            ep = self._endpoints[endpoint] = EndpointState(model, prior_for(endpoint, self._cold_scale))
            ep.catch_up = self._catch_slow
        return ep

    def _forget(self, job: JobState[K]) -> None:
        ep = job.ep
        job.version += 1
        job.in_flight = False
        del self._jobs[job.key]
        if job.mode is Mode.FIXED:
            return
        del ep.jobs[job.key]
        if job.scout:
            i = bisect_right(ep.scout_starts, job.start) - 1
            if i >= 0 and ep.scout_starts[i] == job.start:
                del ep.scout_starts[i]
