"""Where a long batch's requests go (issue #23): the window's spacing, catch-ups, the cold wave.

Simulated with ``benchmarks/queue_sim.py`` in virtual time (the real ``PollSchedule``, the client's
``max_rate``, 20 ms round trips): requests per job and lags as a caller would count them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from odirouter_async.queue.schedule import PollSchedule

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from queue_sim import Scenario, run, warm_then

OPTS = {"max_rate": 10_000.0}


def test_300_cold_jobs_of_20s_cost_about_three_requests_each() -> None:
    """300 cold 20 s +-25 % jobs at once: at most ~3 requests per job on every seed, lag on target."""
    runs = [run(Scenario("c", jobs=300, duration=20.0, seed=s, options=OPTS, rtt=0.02)) for s in range(1, 11)]
    for seed, res in enumerate(runs, 1):
        assert res.requests_per_job <= 3.15, seed
        assert res.lag(0.5) <= 0.105 * 20.0, seed
        assert res.lag(0.99) <= 0.25 * 20.0, seed
    assert sum(r.requests_per_job for r in runs) / len(runs) <= 2.8


def test_a_warm_batch_polls_its_young_jobs_at_the_median_spacing() -> None:
    """A second batch of 300 x 20 s +-25 %: fewer than 3 requests per job at a 10 % median lag."""
    for seed in range(1, 5):
        first = Scenario("w", jobs=300, duration=20.0, seed=seed + 100, options=OPTS)
        res = warm_then(first, Scenario("x", jobs=300, duration=20.0, seed=seed, options=OPTS, rtt=0.02))
        assert res.requests_per_job <= 2.9, seed
        assert res.lag(0.5) <= 0.10 * 20.0, seed
        assert res.lag(0.99) <= 0.25 * 20.0, seed


def test_a_window_that_opens_late_catches_up_fast() -> None:
    """When the scouts are the batch's slowest jobs, the catch-ups find the finished rest quickly."""
    durations = [25.0] * 15 + [15.0 + i / 285 for i in range(285)]  # the first 15 are the scouts

    def lags(fast_share: float) -> float:
        sched = PollSchedule[str](random.Random(1), **OPTS)
        sched._catch_fast_share = fast_share  # 2.0: never speed up (for comparison)
        return run(Scenario("late", durations=durations, options=OPTS, rtt=0.02), sched).lag(0.99)

    assert lags(0.25) <= 13.5  # ~10 s of it is the scouts' own lateness
    assert lags(0.25) + 2.0 <= lags(2.0)


def test_a_cold_wave_does_not_reset_its_own_model() -> None:
    """A cold batch's finishes past its (censored) early window do not trip the model's reset."""
    for seed in range(10001, 10021):
        sched = PollSchedule[str](random.Random(seed), **OPTS)
        run(Scenario("c", jobs=300, duration=20.0, seed=seed, options=OPTS), sched)
        snap = sched.snapshot("ep")
        assert snap is not None and not snap[3], seed  # snap[3]: the model was reset


def test_ten_minute_cold_jobs_wait_for_their_scouts() -> None:
    """300 cold 10 min jobs: the others are not polled from the prior before the scouts finish."""
    res = run(Scenario("long", jobs=300, duration=600.0, spread=0.0, options=OPTS, rtt=0.02))
    assert res.requests_per_job <= 2.6
    assert res.lag(0.5) <= 0.10 * 600.0
    assert res.lag(0.99) <= 0.25 * 600.0
