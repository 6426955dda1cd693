"""PollBudget: token bucket, the 429 ceiling, holds and pauses, fast recovery, and its properties."""

from __future__ import annotations

import math
from collections import deque

import pytest
from hypothesis import example, given, settings, strategies as st
from property_budget import scaled

from odirouter_async.queue.budget import PollBudget


def fill(budget: PollBudget, start: float, seconds: float, step: float = 0.001) -> float:
    """Take a poll every ``step`` seconds (as the bucket allows) for ``seconds``; returns the end."""
    now = start
    while now < start + seconds:
        budget.take(now)
        now += step
    return now


def test_budget_burst_then_rate() -> None:
    """A fresh bucket allows its burst, then one poll per 1/rate seconds."""
    budget = PollBudget(100.0, burst=0.1)
    assert sum(budget.take(0.0) for _ in range(20)) == 10
    assert budget.ready_at(0.0) == pytest.approx(0.01)
    assert budget.take(0.01)
    assert not budget.take(0.01)


def test_rate_limited_sets_the_ceiling_to_what_was_accepted() -> None:
    """A 429 sets the ceiling to the polls accepted in the last second; the rate to 90% of it."""
    budget = PollBudget(1000.0, burst=0.1)
    now = fill(budget, 0.0, 1.0)
    sent = budget.measured_rate(now)
    assert sent > 900
    assert budget.on_rate_limited(now, None, sent_at=now - 0.002)
    # the polls sent after the refused one have no answer yet: not counted as accepted
    assert sent - 4 <= budget.ceiling <= sent - 2
    assert budget.rate == pytest.approx(0.9 * budget.ceiling)


def test_short_retry_after_holds_the_rate_without_pausing_everyone() -> None:
    """A 1 s Retry-After: others keep polling at the decreased rate, which does not grow meanwhile."""
    budget = PollBudget(200.0, burst=0.1)
    now = fill(budget, 0.0, 1.0)
    assert budget.on_rate_limited(now, 1.0, sent_at=now - 0.002)
    held = budget.rate
    assert budget.paused_until == -math.inf
    end = fill(budget, now, 0.9)
    assert budget.rate == pytest.approx(held)
    fill(budget, end, 2.0)  # the rate binds: it grows again after the hold
    assert budget.rate > held


def test_long_retry_after_pauses_everyone() -> None:
    """A Retry-After of 2 s or more stops every poll until it has passed."""
    budget = PollBudget(100.0, burst=0.1)
    now = fill(budget, 0.0, 1.0)
    assert budget.on_rate_limited(now, 3.0, sent_at=now - 0.005)
    assert not budget.take(now + 2.9)
    assert budget.ready_at(now + 1.0) == pytest.approx(now + 3.0)


def test_a_burst_far_past_the_limit_pauses_everyone() -> None:
    """When most polls of the last second were refused the server is full: honour Retry-After for all."""
    budget = PollBudget(math.inf)
    sent = [0.5 + i * 1e-4 for i in range(1000)]
    for t in sent:
        assert budget.take(t)
    assert budget.on_rate_limited(0.61, 1.0, sent_at=sent[200])  # 200 accepted, 799 in flight
    assert budget.paused_until == pytest.approx(1.61)
    assert budget.ceiling == pytest.approx(200.0, abs=1.5)


def test_burst_of_429s_is_one_decrease() -> None:
    """429s for polls sent before the decrease lower the ceiling by one each, never halve again."""
    budget = PollBudget(1000.0)
    now = fill(budget, 0.0, 1.0)
    assert budget.on_rate_limited(now, None, sent_at=now - 0.05)
    first = budget.ceiling
    for i in range(10):
        assert not budget.on_rate_limited(now + 0.001 * i, None, sent_at=now - 0.06 - 0.001 * i)
    assert budget.ceiling == pytest.approx(first - 10)
    assert budget.rate == pytest.approx(0.9 * (first - 10))


def test_halving_recovers_by_doubling() -> None:
    """With decrease=0.5 the rate doubles back to 90% of the ceiling in well under a second."""
    budget = PollBudget(1000.0, decrease=0.5, double_every=0.1)
    now = fill(budget, 0.0, 1.0)
    budget.on_rate_limited(now, None, sent_at=now - 0.002)
    ceiling = budget.ceiling
    assert budget.rate == pytest.approx(0.5 * ceiling)
    fill(budget, now, 0.2)
    assert budget.rate >= 0.89 * ceiling
    assert budget.rate <= 0.9 * ceiling + 0.2 * 0.02 * ceiling + 1e-6


def test_no_growth_while_idle() -> None:
    """A rate that does not bind does not grow: an idle spell cannot build up a burst past the ceiling."""
    budget = PollBudget(1000.0)
    now = fill(budget, 0.0, 1.0)
    budget.on_rate_limited(now, None, sent_at=now - 0.002)
    rate = budget.rate
    budget.refill(now + 60.0)
    assert budget.rate == pytest.approx(rate)


def test_budget_unlimited_until_told() -> None:
    """With no cap every take succeeds, until a 429 sets a rate from what was accepted."""
    budget = PollBudget(math.inf)
    assert all(budget.take(0.5) for _ in range(5000))
    assert budget.on_rate_limited(0.6)
    assert budget.rate == pytest.approx(0.9 * 5000)
    assert budget.take(0.6) is False
    # the server's window still holds the 5000 of t=0.5: nothing until they age out
    assert budget.ready_at(0.6) == pytest.approx(1.5)


def test_budget_rejects_nonsense() -> None:
    """Rates must be positive, the decrease a fraction, probe in (0, 1]."""
    with pytest.raises(ValueError, match="max_rate"):
        PollBudget(0.0)
    with pytest.raises(ValueError, match="decrease"):
        PollBudget(10.0, decrease=1.5)
    with pytest.raises(ValueError, match="probe"):
        PollBudget(10.0, probe=0.0)


@pytest.mark.slow
@settings(max_examples=scaled(60), deadline=None)
@given(
    limit=st.integers(min_value=20, max_value=500),
    demand=st.floats(min_value=50.0, max_value=5000.0),
    rtt=st.floats(min_value=0.001, max_value=0.1),
    retry_after=st.one_of(st.none(), st.floats(min_value=0.1, max_value=3.0)),
    max_rate=st.sampled_from([math.inf, 10_000.0, 300.0]),
)
@example(limit=20, demand=988.0, rtt=0.078125, retry_after=None, max_rate=math.inf)  # rate at min_rate
def test_rate_stays_near_the_last_429(
    limit: int, demand: float, rtt: float, retry_after: float | None, max_rate: float
) -> None:
    """Against a sliding-window limit: after a 429 the rate stays under 0.9 x its ceiling plus 2%
    of it (at least 0.5) per second since, the ceiling is at most the real limit plus what was in
    flight, and once settled (3 s after the first 429) fewer than 3% of polls are refused."""
    budget = PollBudget(max_rate)
    accepted: deque[float] = deque()
    answers: deque[tuple[float, float, bool]] = deque()
    step, now, last_decrease, ceiling = 1.0 / demand, 0.0, None, math.inf
    first_429: float | None = None
    settled = refused = 0
    while now < 12.0:
        while answers and answers[0][0] <= now:
            at, sent, ok = answers.popleft()
            if not ok and budget.on_rate_limited(at, retry_after, sent_at=sent):
                last_decrease, ceiling = at, budget.ceiling
                first_429 = at if first_429 is None else first_429
                assert ceiling <= limit + demand * rtt + 2
        if budget.take(now):
            seen = now + rtt / 2
            while accepted and accepted[0] <= seen - 1.0:
                accepted.popleft()
            ok = len(accepted) < limit
            if ok:
                accepted.append(seen)
            answers.append((now + rtt, now, ok))
            if first_429 is not None and now > first_429 + 3.0:
                settled += 1
                refused += not ok
        if last_decrease is not None:
            growth = max(0.5, 0.02 * ceiling)  # polls/s gained per second, at least 0.5
            grown = growth * (now - last_decrease) + 1e-6
            # 1.0: min_rate, the floor a tiny ceiling's decrease stops at (it grows from there)
            assert budget.rate <= max(0.9 * ceiling, 1.0) + grown
        assert budget.rate <= max_rate
        now += step
    if settled > 500:
        assert refused <= 0.03 * settled


def test_slow_start_doubles_only_while_the_rate_binds() -> None:
    """Before any 429 the rate starts low and doubles every ``start_double_every`` while polls wait
    for it; an idle spell does not grow it, and ``max_rate`` caps it."""
    budget = PollBudget(10_000.0, start_rate=100.0, start_double_every=0.15)
    assert budget.rate == 100.0
    now = fill(budget, 0.0, 0.6)  # demand 1000/s: the rate binds
    assert budget.rate == pytest.approx(100.0 * 2 ** (0.6 / 0.15), rel=0.1)
    budget.refill(now + 5.0)  # nobody polled: no growth
    assert budget.rate == pytest.approx(100.0 * 2 ** (0.6 / 0.15), rel=0.1)
    fill(budget, now + 5.0, 2.0, step=0.00005)  # 20 000/s wanted: grows to the cap, not past it
    assert budget.rate == 10_000.0
    assert PollBudget(50.0, start_rate=100.0).rate == 50.0
    assert PollBudget(math.inf, start_rate=100.0).rate == math.inf  # no cap: no slow start either


def test_after_a_burst_no_second_holds_more_than_the_rate() -> None:
    """After a 429, polls wait until the burst that drew it has aged out of the last second."""
    budget = PollBudget(10_000.0, start_rate=10_000.0)
    sent = [0.5] * 500
    assert all(budget.take(0.5) for _ in range(500))
    assert budget.on_rate_limited(0.51, None, sent_at=0.5)  # a server limit of ~450 per second
    now = 0.51
    while now < 3.0:
        if budget.take(now):
            sent.append(now)
            assert sum(1 for t in sent if now - 1.0 < t <= now) <= budget.rate + 1
        now += 0.0005
    assert len(sent) > 500 + 450  # and it goes on at the decreased rate once it has


@settings(max_examples=scaled(40), deadline=None)
@given(
    limit=st.integers(50, 1000),
    demand_over=st.floats(1.5, 20.0),
    rtt=st.floats(0.001, 0.01),
)
def test_first_contact_draws_few_429s(limit: int, demand_over: float, rtt: float) -> None:
    """With the defaults (slow start), a client that wants far more than a sliding-window limit
    allows has at most 3% of its polls refused over 8 s, the first contact included."""
    budget = PollBudget(10_000.0, start_rate=100.0)
    accepted: deque[float] = deque()
    answers: deque[tuple[float, float, bool]] = deque()
    demand = min(20_000.0, limit * demand_over)
    step, now, sent, refused = 1.0 / demand, 0.0, 0, 0
    while now < 8.0:
        while answers and answers[0][0] <= now:
            at, sent_at, ok = answers.popleft()
            if not ok:
                budget.on_rate_limited(at, 1.0, sent_at=sent_at)
        if budget.take(now):
            seen = now + rtt / 2
            while accepted and accepted[0] <= seen - 1.0:
                accepted.popleft()
            ok = len(accepted) < limit
            if ok:
                accepted.append(seen)
            answers.append((now + rtt, now, ok))
            sent += 1
            refused += not ok
        now += step
    assert refused <= 0.03 * sent
