"""Placement: when a scheduled job's next poll goes, from what its endpoint has learned.  Pure.

- **Placement.**  ``spacing(a) = max(1.6 lag_target, 1.7 lag_fraction a)``: the median lag is then
  about ``0.8 lag_target`` for short jobs and ``0.85 lag_fraction`` of the duration for long ones.
  A job's first poll lands at ``lo + (0.5 + u) spacing`` (``u`` its own uniform phase: ten
  thousand jobs never poll in lockstep), then every ``spacing`` through the window; past ``hi``
  (a job far from what was learned) it backs off: ``backoff.expo`` from one spacing, capped at
  ``max(tail_cap, tail_fraction age)``, half fixed and half jittered (``jitter``, full jitter with
  ``rng`` by default, applied to the upper half: a poll right after the last one is a waste).
  Past a window seeded from a history a job follows its endpoint's prior curve instead.
- **Cold start.**  With no model, the first jobs of an endpoint are *scouts* (``poll_schedule``
  recruits them), polled every ``max(scout_interval, scout_fraction age)`` when at least 20 jobs
  wait behind them.  A scout with fewer behind it (a lone ``queue.run``, a small batch) follows its
  endpoint's *prior* (``duration_model.prior_for``: by kind from the name, video / audio / image /
  generic): first poll at ``first``, then ``max(gap, fraction age)`` apart (15% of the age late
  on), at its own phase (generic: 0.4 s, 0.35 s, 30%: a lone 2 s job costs about 5 polls at a
  median lag of 0.27 s; ``cold_scale`` stretches the curve, see ``queue_sim.cold_curve``).  The
  others are on a sparse prior (``backoff.expo`` from ``prior_first``) whose polls are *skipped*
  while at least two older scouts are still pending (they would have finished first) and the job
  is younger than ``gate_horizon``: a cold batch costs no polls but the scouts' until 8% of the
  scouts have finished (``_ready``).
- **Fixed interval.**  A job added with ``every=`` polls ``every`` seconds after each answer.

``SchedulePlacement`` holds these rules as methods of the schedule (``PollSchedule`` sets the
tuning attributes declared here); each plan is an entry on the heap of ``Counters``.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .schedule_base import Counters, EndpointState, JobState, Mode, expo

__all__ = ("SchedulePlacement",)

K = TypeVar("K", bound=Hashable)

_MIN_GAP = 0.05  # no two polls of one job closer than this (seconds)
_GATE_MIN = 2  # pending older scouts needed to skip a cold job's prior poll
_GATE_SLACK = 0.05  # a scout submitted this much later still counts as "older"
_BATCH = 20  # a scout with at least this many non-scouts behind it polls densely
_OPEN_SHARE = 0.08  # non-scouts wait on the scouts until this share of them has finished
_FRONTIER_UNTIL = 32  # pending scouts keep the window open until this many samples


class SchedulePlacement(Generic[K]):
    """Where each job's next poll goes (the placement half of ``PollSchedule``)."""

    _rng: random.Random
    _jitter: Callable[[float], float]
    _abs_spacing: float
    _rel_spacing: float
    _catch_up: float
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
        if ep.scout_starts and len(ep.model) < _FRONTIER_UNTIL:
            return max(ep.model.hi, ep.frontier + self._spacing(ep.frontier))
        return ep.model.hi

    def _ready(self, ep: EndpointState) -> bool:
        """Non-scouts are placed by the model once 8% of the scouts have finished."""
        return len(ep.model) >= max(1, math.ceil(_OPEN_SHARE * ep.recruited))

    def _window(self, ep: EndpointState) -> tuple[float, float, float] | None:
        """``(lo, hi, spacing(lo))`` of the endpoint's likely window; ``None`` until it is ready."""
        if not self._ready(ep):
            return None
        lo = ep.model.lo
        return lo, self._hi(ep), self._spacing(lo)

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
        if window is None:
            window = self._window(job.ep)
        if window is None or known >= window[1]:
            return None
        lo, _, spacing_lo = window
        if known >= lo:
            return known + self._spacing(known)
        first = lo + (0.5 + job.phase) * spacing_lo
        if age_now <= lo or (planned and first >= age_now):
            return first
        return age_now + self._catch_up * job.phase * self._spacing(age_now)

    def _plan(self, job: JobState[K], now: float, not_before: float = -math.inf) -> None:
        """Plan the next poll from what is known now."""
        age_now, known, ep = now - job.start, job.known, job.ep
        if job.mode is Mode.FIXED:  # ``every`` after this answer (or after the add)
            self._push(job, max(now + job.every, not_before))
            return
        if job.mode is Mode.SCOUT:
            if len(ep.jobs) - len(ep.scout_starts) >= _BATCH:  # others wait on this scout: dense
                step = (
                    self._spacing(known)
                    if job.late
                    else max(self._scout_interval, self._scout_fraction * known)
                )
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
