"""DurationModel: interval-censored samples, window, tripwires, seeds from a history."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from odirouter_async.queue.schedule import DurationModel, prior_for


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


def test_seeds_warm_the_model_then_give_way() -> None:
    """History seeds make a window at once; the 8th real finish drops them; real() excludes them."""
    m = model()
    m.seed([10.0] * 17)
    assert m.seeded and len(m) == 17
    assert m.lo <= 10.0 <= m.hi
    assert m.real() == []
    for i in range(7):
        m.add(1.9 + 0.01 * i, 2.0 + 0.01 * i)
    assert m.seeded and len(m.real()) == 7
    m.add(2.0, 2.1)
    assert not m.seeded
    assert len(m) == 8 and max(m.sorted) < 3.0
    assert m.hi < 5.0


def test_seeded_model_is_surprised_at_once() -> None:
    """While seeds are in, a duration far outside them is surprising (no 64-sample wait)."""
    m = model()
    m.seed([2.0] * 17)
    assert m.surprising(20.0)
    assert not m.surprising(2.1)
    m.reset()
    assert not m.seeded and not m.surprising(20.0)


def test_seed_ignored_on_a_model_with_samples() -> None:
    """Seeds never overwrite what this process already learned."""
    m = model()
    m.add(1.0, 1.1)
    m.seed([50.0] * 17)
    assert not m.seeded and m.sorted == [pytest.approx(1.05)]


@given(
    endpoint=st.sampled_from(["ep", "flux_pro_11", "wan25_i2v", "eleven_tts"]),
    scale=st.floats(min_value=0.25, max_value=4.0),
    x=st.floats(min_value=0.0, max_value=80.0),
)
def test_prior_curve_is_monotone_invertible_and_bounded(endpoint: str, scale: float, x: float) -> None:
    """Poll ages grow, index() inverts age(), and the gap is at most 30% (15% late on) of the age."""
    prior = prior_for(endpoint, scale)
    a, b = prior.age(x), prior.age(x + 1.0)
    assert prior.first <= a < b
    assert prior.index(a) == pytest.approx(x, abs=1e-6)
    assert b - a <= max(prior.gap, prior.fraction * a) * (1 + 1e-9) + 1e-9
    if a >= 30 * prior.gap:
        assert b - a <= prior.late_fraction * a * (1 + 1e-9)
