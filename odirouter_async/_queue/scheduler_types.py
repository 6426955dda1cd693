"""What the job scheduler (``scheduler.py``) is handed and hands out: the ``Target`` protocol a
registered job satisfies, the poll function's and callbacks' signatures, and ``SchedulerStats``
(``client.queue.stats()``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from .._core.observation import PollResult
from .._core.poll_schedule import ScheduleStats

__all__ = ("Callback", "Poll", "SchedulerStats", "Target", "UpdateSink")

Callback = Callable[[object, "BaseException | None"], None]
UpdateSink = Callable[[object], None]


class Target(Protocol):
    """What the scheduler reads of a registered job (``poll.PollTarget``)."""

    @property
    def key(self) -> Hashable: ...

    @property
    def label(self) -> str: ...

    @property
    def age(self) -> float | None: ...

    @property
    def every(self) -> float | None: ...


#: The scheduler's one poll function (``run_poll``; tests inject a scripted one).
Poll = Callable[[Any], Awaitable[PollResult]]


@dataclass(frozen=True, slots=True)
class SchedulerStats:
    """A snapshot of the scheduler: the schedule's counters plus the shell's."""

    jobs: int
    in_flight: int
    polls: int
    errors: int
    rate_limited: int
    rate: float
    recent_rate: float
    schedule: ScheduleStats
