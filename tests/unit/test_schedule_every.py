"""PollSchedule ``add(..., every=)``: a fixed interval, outside the endpoint's learning, still backing off."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async.queue.schedule import Outcome, PollSchedule, RateLimited


def schedule(seed: int = 7, **options: object) -> PollSchedule[str]:
    """A schedule with a fixed seed and no budget in the way unless asked."""
    options.setdefault("max_rate", math.inf)
    options.setdefault("start_rate", math.inf)
    return PollSchedule[str](random.Random(seed), **options)  # type: ignore[arg-type]


def test_every_polls_at_the_interval_from_add_then_after_each_answer() -> None:
    """First poll at add + every, the next one ``every`` after the answer came."""
    sched = schedule()
    sched.add("v", "sora-2", 10.0, every=2.0)
    assert sched.next_wakeup(10.0) == pytest.approx(12.0)
    assert sched.due(11.99) == []
    assert sched.due(12.0) == ["v"]
    sched.observe("v", Outcome.RUNNING, 12.3)
    assert sched.next_wakeup(12.3) == pytest.approx(14.3)
    assert sched.due(14.3) == ["v"]
    sched.observe("v", Outcome.QUEUED, 14.5)
    assert sched.next_wakeup(14.5) == pytest.approx(16.5)


@settings(max_examples=scaled(60), deadline=None)
@given(
    st.floats(0.01, 120.0),
    st.floats(0.0, 50.0),
    st.lists(st.tuples(st.floats(0.0, 3.0), st.sampled_from(list(Outcome)[:3])), max_size=20),
)
def test_every_is_exact_whatever_the_age_and_answers(
    every: float, age: float, answers: list[tuple[float, Outcome]]
) -> None:
    """Whatever the age and the answer latencies, each poll comes exactly ``every`` after the last answer."""
    sched = schedule()
    sched.add("v", "ep", 0.0, age=age, every=every)
    answered = 0.0
    for latency, outcome in answers:
        at = sched.next_wakeup(answered)
        assert at == pytest.approx(answered + every)
        assert at is not None
        assert sched.due(at) == ["v"]
        answered = at + latency
        sched.observe("v", outcome, answered)
    assert sched.estimate("ep") is None


def test_every_job_teaches_its_endpoint_nothing() -> None:
    """A fixed-interval job that finishes (even with an inference_time) is no sample, and never a scout."""
    sched = schedule()
    for i in range(50):
        sched.add(f"v{i}", "ep", 0.0, every=1.0)
    assert sched.stats(0.0).scouts == 0
    now = 1.0
    for i, key in enumerate(sched.due(now)):
        sched.observe(key, Outcome.QUEUED if i % 2 else Outcome.RUNNING, now)
    now = 2.0
    for key in sched.due(now):
        sched.observe(key, Outcome.DONE, now, inference_time=1.5)
    assert len(sched) == 0
    assert sched.estimate("ep") is None
    assert sched.snapshot("ep") is None
    assert sched.seed("ep", [3.0, 3.1], now)  # the endpoint is still untouched: a history applies


def test_every_jobs_do_not_count_as_an_endpoints_jobs() -> None:
    """Fixed jobs neither raise the scout share nor make a small batch's scouts poll densely."""
    sched = schedule()
    for i in range(2000):
        sched.add(f"v{i}", "ep", 0.0, every=5.0)
    for i in range(5):
        sched.add(str(i), "ep", 0.0)
    assert sched.stats(0.0).scouts == 3  # as for 5 jobs alone (not 21 for 2005)
    assert len(sched) == 2005
    assert sched.remove("v7") is True
    assert len(sched) == 2004


def test_every_job_backs_off_on_errors() -> None:
    """Transient errors on a fixed job wait at least ``every`` and grow like any job's, capped."""
    sched = schedule(max_rate=200.0, start_rate=None)
    sched.add("v", "ep", 0.0, every=0.1)
    now, gaps = 0.0, []
    for _ in range(14):
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        assert sched.due(now) == ["v"]
        sched.observe("v", Outcome.ERROR, now)
        nxt = sched.next_wakeup(now)
        assert nxt is not None
        gaps.append(nxt - now)
    assert min(gaps) >= 0.1 - 1e-9
    assert max(gaps) <= 30.0
    assert max(gaps[7:]) > 2.0  # backed off well past the interval
    assert sched.stats(now).errors == 14
    sched.observe("v", Outcome.RUNNING, now)  # an answer resets the interval
    assert sched.next_wakeup(now) == pytest.approx(now + 0.1)


def test_every_job_honours_retry_after_and_slows_everyone() -> None:
    """A 429 on a fixed job waits its Retry-After and pauses all polling, like any job's 429."""
    sched = schedule(max_rate=100.0, start_rate=None)
    sched.add("v", "ep", 0.0, every=1.0)
    sched.add("other", "ep", 0.0, age=None)
    assert sched.due(0.0) == ["other"]
    sched.observe("other", Outcome.RUNNING, 0.0)
    due = sched.due(1.0)
    assert "v" in due
    for key in due:
        if key != "v":
            sched.observe(key, Outcome.RUNNING, 1.0)
    sched.observe("v", RateLimited(retry_after=5.0), 1.05)
    stats = sched.stats(1.05)
    assert stats.rate_limited == 1
    assert stats.paused_until == pytest.approx(6.05)
    assert sched.due(6.0) == []
    assert sched.next_wakeup(6.0) == pytest.approx(6.05)


@pytest.mark.parametrize("every", [0.0, -1.0, math.nan, math.inf])
def test_every_must_be_a_positive_number(every: float) -> None:
    """A zero, negative or non-finite interval is refused and nothing is scheduled."""
    sched = schedule()
    with pytest.raises(ValueError, match="every"):
        sched.add("v", "ep", 0.0, every=every)
    assert len(sched) == 0


def run(
    seed: int, normal: list[tuple[float, float]], fixed: list[tuple[float, int]]
) -> list[tuple[float, str]]:
    """Drive a schedule until every normal job is done; return the normal jobs' polls (time, key)."""
    sched = schedule(seed)
    for i, (age, _) in enumerate(normal):
        sched.add(f"n{i}", "ep", 0.0, age=age)
    answers_left = {}
    for i, (every, answers) in enumerate(fixed):
        sched.add(f"f{i}", "ep", 0.0, every=every)
        answers_left[f"f{i}"] = answers
    polls: list[tuple[float, str]] = []
    pending = {f"n{i}" for i in range(len(normal))}
    now = 0.0
    while pending:
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        assert now < 10_000.0
        for key in sched.due(now):
            if key.startswith("f"):
                answers_left[key] -= 1
                sched.observe(key, Outcome.RUNNING if answers_left[key] else Outcome.DONE, now)
                continue
            polls.append((now, key))
            age, duration = normal[int(key[1:])]
            done = now + age >= duration
            sched.observe(key, Outcome.DONE if done else Outcome.RUNNING, now)
            if done:
                pending.discard(key)
    return polls


@settings(max_examples=scaled(40), deadline=None)
@given(
    st.integers(0, 2**16),
    st.lists(st.tuples(st.sampled_from([0.0, 0.0, 1.0]), st.floats(0.2, 20.0)), min_size=1, max_size=40),
    st.lists(st.tuples(st.floats(0.05, 10.0), st.integers(1, 30)), min_size=1, max_size=30),
)
def test_every_jobs_leave_the_other_jobs_polls_unchanged(
    seed: int, normal: list[tuple[float, float]], fixed: list[tuple[float, int]]
) -> None:
    """Fixed-interval jobs on the same endpoint change nothing about when its other jobs are polled."""
    assert run(seed, normal, fixed) == run(seed, normal, [])
