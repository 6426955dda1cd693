"""Learning: what a finished job teaches its endpoint, and the re-plans that follow.  Pure.

- **Model.**  Every job that finishes (``DONE``) adds its duration to the endpoint's
  ``duration_model.DurationModel``: a uniform reservoir of interval-censored samples (between the
  last poll that saw the job pending and the one that saw it done) and the *likely window*
  ``[lo, hi]`` derived from it (see there).  The window is kept open past the age of any scout
  still pending while the model is young.  ``IN_QUEUE`` and ``IN_PROGRESS`` are not told apart:
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
  already past ``lo`` catch up within half a spacing (spread by their phase).  Later material
  changes (the count doubles, the window moves by a fraction of a spacing) re-plan the endpoint
  again, at most once per half a spacing; a re-plan only ever moves a planned poll earlier.

``ScheduleLearning`` holds these rules as methods of the schedule, on top of its placement.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Hashable
from typing import TypeVar

from .schedule_base import EndpointState, JobState, Mode
from .schedule_placement import SchedulePlacement

__all__ = ("ScheduleLearning",)

K = TypeVar("K", bound=Hashable)

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
            ep.dirty_at = now
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
            target = self._model_target(job, now - job.start, planned=True, window=window)
            if target is not None and job.start + target < job.due - 1e-9:
                job.mode, job.waits = Mode.MODEL, None
                self._push(job, max(job.start + target, now))

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

    def _make_scout(self, job: JobState[K]) -> None:
        job.ep.recruited += 1
        job.scout, job.mode, job.waits = True, Mode.SCOUT, None
        insort(job.ep.scout_starts, job.start)
