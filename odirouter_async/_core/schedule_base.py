"""The poll schedule's vocabulary and records.  Pure: no I/O.

What a poll found (``Outcome``, ``RateLimited``, ``Observation``), what the schedule reports
(``ScheduleStats``, ``DurationEstimate``), and the state ``PollSchedule`` keeps: one
``JobState`` per scheduled job, one ``EndpointState`` per endpoint (its duration model, its
scouts and re-plan bookkeeping), the ``Counters`` and the heap of planned polls.  The public
names are re-exported by ``poll_schedule``; the rest is shared by the schedule's modules only.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import backoff

from .duration_model import DurationModel, Prior

__all__ = (
    "PENDING",
    "Counters",
    "DurationEstimate",
    "EndpointState",
    "JobState",
    "Mode",
    "Observation",
    "Outcome",
    "RateLimited",
    "ScheduleStats",
    "expo",
)

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
        "dirty_at",
        "early",
        "frontier",
        "jobs",
        "last_replan",
        "model",
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
        self.planned = (0.0, 0.0)  # the window of the last re-plan
        self.replans = 0


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
