"""``PollSchedule``: when each queue job is polled next.  Pure: no I/O, ``now`` and ``rng`` are inputs.

A poll is one ``GET`` of the job's ``response_url``: 202 + a status while pending, the result once
done, so the poll that finds a job done is also its result fetch.  The schedule spends its polls
where the job is likely to finish, learned per endpoint.  Its parts, one module each:

- ``schedule_base``: the vocabulary (``Outcome``, ``RateLimited``, stats) and the job / endpoint
  records;
- ``schedule_placement``: where a job's next poll goes (spacing through the likely window, the
  tail, the cold-start priors and scouts' curves, fixed intervals);
- ``schedule_learning``: what a finish teaches the endpoint's ``DurationModel``, and re-plans;
- ``poll_budget.PollBudget``: the token bucket at ``max_rate``; a 429 lowers it to 90% of what
  the server accepted and it recovers fast (see there); the refused job itself waits its
  ``Retry-After``;
- here: the shell's contract below, scout recruitment, history seeds and snapshots.

- **Scouts.**  With no model, the first jobs of an endpoint (``max(min_scouts, scout_share n)``
  capped at ``max_scouts``) are scouts, until it has 8 samples.  On a warm endpoint the first
  ``min_scouts`` jobs after a quiet spell (10 median durations) and one in 500 after that are
  scouts too (*canaries*): their precise durations keep the window honest when the endpoint gets
  faster or slower (see ``duration_model``).
- **History.**  ``seed(endpoint, durations, now)`` warms an endpoint with what a previous process
  learned (``_queue/history.py``): its first jobs are placed by it, no scouts; ``snapshot`` gives
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
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .duration_model import DurationModel, Prior, prior_for
from .poll_budget import START_DOUBLE_EVERY, START_RATE, PollBudget
from .schedule_base import (
    PENDING,
    Counters,
    DurationEstimate,
    EndpointState,
    JobState,
    Mode,
    Observation,
    Outcome,
    RateLimited,
    ScheduleStats,
    expo,
)
from .schedule_learning import ScheduleLearning

__all__ = ("DurationEstimate", "Observation", "Outcome", "PollSchedule", "RateLimited", "ScheduleStats")

K = TypeVar("K", bound=Hashable)

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
        gate_horizon: float = 300.0,
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
