"""Late scouts: a cold batch whose scouts are all still pending recruits more (issue #23).

The first finish of a cold batch opens its window.  With three scouts that finish is the earliest
of three draws, so one run in four opened it seconds after the batch began to finish (the
scatter of 300 x 20 s jobs).  Late recruits, ever sparser in age, make the opening early in
every run at a fraction of a request per job.
"""

from __future__ import annotations

import math
import random
import sys
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async.queue.schedule import Outcome, PollSchedule

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from queue_sim import Scenario, run


def schedule(seed: int = 7) -> PollSchedule[str]:
    """A schedule with a fixed seed and no rate cap."""
    return PollSchedule[str](random.Random(seed), max_rate=math.inf)


def drive(sched: PollSchedule[str], until: float, done: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Answer every poll until ``until`` (``done`` keys finish); return the keys polled."""
    polled: set[str] = set()
    now = 0.0
    while True:
        wake = sched.next_wakeup(now)
        if wake is None or wake > until:
            return polled
        now = wake
        for key in sched.due(now):
            polled.add(key)
            sched.observe(key, Outcome.DONE if key in done else Outcome.RUNNING, now)


@settings(max_examples=scaled(15), deadline=None)
@given(jobs=st.integers(min_value=23, max_value=600), horizon=st.floats(min_value=1.0, max_value=250.0))
def test_recruits_grow_with_the_scouts_age_and_stop_at_the_cap(jobs: int, horizon: float) -> None:
    """A cold batch polls only its scouts; one more joins each time their age grows 1.37x, up to 4 %."""
    sched = schedule()
    for i in range(jobs):
        sched.add(str(i), "ep", 0.0)
    first = sched.stats(0.0).scouts
    polled = drive(sched, horizon)
    scouts = sched.stats(horizon).scouts
    assert len(polled) <= scouts  # only scouts poll
    late = 1 + math.floor(math.log(max(1.0, horizon)) / math.log(1.37))
    cap = max(first, min(32, math.ceil(0.04 * jobs)))  # 4 % of the batch at most
    assert scouts <= min(cap, first + late)
    assert scouts >= min(cap, first + late // 2)  # (the steps drift with the polls' times)


def test_a_small_batch_recruits_no_late_scouts() -> None:
    """Fewer than 20 jobs behind the scouts: no late recruits (the scouts follow the prior)."""
    sched = schedule()
    for i in range(22):
        sched.add(str(i), "ep", 0.0)
    drive(sched, 120.0)
    assert sched.stats(120.0).scouts == 3


def test_no_late_scouts_once_a_finish_was_learned() -> None:
    """The first finish opens the window: the batch stops recruiting."""
    sched = schedule()
    for i in range(300):
        sched.add(str(i), "ep", 0.0)
    drive(sched, 3.0, done={"1"})
    assert sched.estimate("ep") is not None
    before = sched.stats(3.0).scouts
    drive(sched, 200.0)
    assert sched.stats(200.0).scouts <= before


def test_a_late_scout_is_polled_at_the_window_spacing() -> None:
    """A late recruit polls about 17 % of its age apart, as the first scouts do once past 2.35 s."""
    sched = schedule()
    for i in range(300):
        sched.add(str(i), "ep", 0.0)
    times: dict[str, list[float]] = {}
    now = 0.0
    while now < 40.0:
        now = sched.next_wakeup(now) or 40.0
        for key in sched.due(now):
            times.setdefault(key, []).append(now)
            sched.observe(key, Outcome.RUNNING, now)
    late = times["3"]  # recruited at 1 s
    gaps = [(b - a) / a for a, b in pairwise(late) if a > 5.0]
    dense = [(b - a) / a for a, b in pairwise(times["0"]) if a > 5.0]
    assert min(gaps) > 0.14 and max(gaps) < 0.20
    assert min(dense) > 0.14 and max(dense) < 0.20


def test_300_cold_jobs_of_20s_every_seed_finds_jobs_promptly() -> None:
    """300 cold 20 s +-25 % jobs at once: the worst of several seeds keeps the lag near the target."""
    for seed in range(1, 7):
        res = run(
            Scenario("300x20", jobs=300, duration=20.0, seed=seed, options={"max_rate": 10_000.0}, rtt=0.02)
        )
        assert res.lag(0.5) <= 0.125 * 20.0, seed
        assert res.lag(0.99) <= 0.30 * 20.0, seed
        assert res.requests_per_job <= 3.6, seed
