"""DurationModel (interval-censored samples, window, tripwires) and PollBudget (token bucket + AIMD)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, strategies as st

from odirouter_async._duration_model import DurationModel
from odirouter_async._poll_budget import PollBudget


def spacing(age: float) -> float:
    """The schedule's default spacing."""
    return max(0.4, 0.17 * age)


def model(capacity: int = 1024) -> DurationModel:
    """A model with a fixed seed."""
    return DurationModel(random.Random(1), spacing, capacity=capacity)


def test_narrow_interval_gives_its_midpoint() -> None:
    """A finish seen pending at 1.8 and done at 2.0 is the sample 1.9."""
    m = model()
    assert m.add(1.8, 2.0) == pytest.approx(1.9)
    assert m.sorted == [pytest.approx(1.9)]


def test_wide_interval_is_imputed_from_precise_durations() -> None:
    """A job found done on its first poll takes a precise (scout) duration inside its interval."""
    m = model()
    for lower, upper in ((1.5, 1.6), (1.9, 2.0), (2.9, 3.0)):
        m.add(lower, upper, precise=True)
    sample = m.add(0.0, 2.5)
    assert sample in (pytest.approx(1.55), pytest.approx(1.95))


def test_wide_interval_without_support() -> None:
    """Without precise support a very wide interval is no sample; a half-age wide one is its midpoint."""
    m = model()
    assert m.add(0.0, 2.0) is None
    assert len(m) == 0
    assert m.add(10.0, 14.0) == pytest.approx(12.0)


def test_window_bounds_and_margins() -> None:
    """The window holds the samples, and is wider while samples are few."""
    m = model()
    m.add(1.9, 2.1)
    one = (m.lo, m.hi)
    assert one[0] < 2.0 < one[1]
    rng = random.Random(2)
    for _ in range(500):
        d = rng.uniform(1.5, 2.5)
        m.add(d - 0.05, d + 0.05)
    assert m.lo <= 1.5 <= 2.5 <= m.hi
    assert m.hi - m.lo < (one[1] - one[0]) + 1.0
    assert m.lo <= m.median <= m.hi


def test_precise_durations_bound_the_window() -> None:
    """A scout faster than anything in the reservoir moves the window's start at once."""
    m = model()
    for _ in range(200):
        m.add(19.9, 20.1)
    assert m.lo > 15.0
    m.add(4.9, 5.1, precise=True)
    assert m.lo < 5.0


def test_reservoir_is_bounded() -> None:
    """The reservoir never holds more than its capacity."""
    m = model(capacity=64)
    for i in range(1000):
        m.add(i * 0.01, i * 0.01 + 0.01)
    assert len(m) == 64
    assert m.seen == 1000


def test_surprising_needs_a_mature_model() -> None:
    """A precise duration far outside the window trips only a model with enough samples."""
    m = model()
    for _ in range(10):
        m.add(1.9, 2.1)
    assert not m.surprising(20.0)
    for _ in range(100):
        m.add(1.9, 2.1)
    assert m.surprising(20.0)
    assert m.surprising(0.1)
    assert not m.surprising(2.3)


def test_tail_tripwire() -> None:
    """Four of the last 32 finishes past the window trip the model."""
    m = model()
    for _ in range(100):
        m.add(1.9, 2.1)
    assert not any(m.check(False) for _ in range(40))
    assert [m.check(True) for _ in range(4)] == [False, False, False, True]


def test_reset_forgets() -> None:
    """After reset the model is empty."""
    m = model()
    m.add(1.0, 1.1, precise=True)
    m.reset()
    assert len(m) == 0
    assert not m.precise
    assert m.seen == 0


@given(st.lists(st.tuples(st.floats(0.0, 100.0), st.floats(0.0, 50.0), st.booleans()), max_size=200))
def test_sorted_view_matches_the_reservoir(finishes: list[tuple[float, float, bool]]) -> None:
    """The sorted view is always the reservoir sorted, and the window contains its quantiles."""
    m = model(capacity=16)
    for lower, width, precise in finishes:
        m.add(lower, lower + width, precise=precise)
        assert m.sorted == sorted(m._samples)
        if m.sorted:
            assert m.lo <= m.median <= m.hi


# ----------------------------------------------------------------------------------------------
# PollBudget
# ----------------------------------------------------------------------------------------------


def test_budget_burst_then_rate() -> None:
    """A fresh bucket allows its burst, then one poll per 1/rate seconds."""
    budget = PollBudget(100.0, burst=0.1)
    assert sum(budget.take(0.0) for _ in range(20)) == 10
    assert budget.ready_at(0.0) == pytest.approx(0.01)
    assert budget.take(0.01)
    assert not budget.take(0.01)


def test_budget_aimd() -> None:
    """A 429 halves the measured rate and pauses; the rate then grows back additively."""
    budget = PollBudget(100.0, burst=0.1, recovery=0.05)
    now = 0.0
    while now < 1.0:
        budget.take(now)
        now += 0.001
    measured = budget.measured_rate(now)
    assert 95 <= measured <= 111
    assert budget.on_rate_limited(now, 2.0, sent_at=now - 0.01)
    assert budget.rate == pytest.approx(min(100.0, measured) / 2)
    assert not budget.take(now + 1.0)
    assert budget.ready_at(now + 1.0) == pytest.approx(now + 2.0)
    assert not budget.on_rate_limited(now + 0.01, None, sent_at=now - 0.005)  # sent before the decrease
    budget.refill(now + 7.0)  # 5 s of recovery after the 2 s pause
    assert budget.rate == pytest.approx(min(100.0, measured) / 2 + 5 * 0.05 * measured)
    budget.refill(now + 100.0)
    assert budget.rate == 100.0


def test_budget_unlimited_until_told() -> None:
    """With no cap every take succeeds, until a 429 sets a rate from what was measured."""
    budget = PollBudget(math.inf)
    assert all(budget.take(0.5) for _ in range(5000))
    assert budget.on_rate_limited(0.6)
    assert budget.rate == pytest.approx(2500.0)
    assert budget.take(0.6) is False
    assert budget.ready_at(0.6) == pytest.approx(0.6 + 1 / 2500)


def test_budget_rejects_nonsense() -> None:
    """Rates must be positive and the decrease a fraction."""
    with pytest.raises(ValueError, match="max_rate"):
        PollBudget(0.0)
    with pytest.raises(ValueError, match="decrease"):
        PollBudget(10.0, decrease=1.5)
