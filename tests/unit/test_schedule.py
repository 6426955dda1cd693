"""PollSchedule: the shell contract, cold start, learning, budget, errors, and properties."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async.queue.schedule import Outcome, PollSchedule, RateLimited


def schedule(**options: object) -> PollSchedule[str]:
    """A schedule with a fixed seed."""
    return PollSchedule[str](random.Random(7), **options)  # type: ignore[arg-type]


def first_poll(sched: PollSchedule[str], key: str, now: float, horizon: float = 1000.0) -> float:
    """Advance simulated time until ``key`` is due (answering nothing else); return that time."""
    while now < horizon:
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        due = sched.due(now)
        if key in due:
            return now
        for other in due:
            sched.observe(other, Outcome.RUNNING, now)
    raise AssertionError(f"{key} never came due")


def test_lone_job_is_polled_soon() -> None:
    """A single cold job is a scout on its endpoint's prior: first poll 0.4-0.75 s after the submit."""
    sched = schedule()
    sched.add("a", "ep", 100.0)
    assert sched.stats(100.0).scouts == 1
    at = first_poll(sched, "a", 100.0)
    assert 100.4 <= at <= 100.75


@pytest.mark.parametrize(
    ("endpoint", "kind", "earliest"),
    [
        ("fal-ai/wan25_i2v", "video", 5.0),
        ("sora-2", "video", 5.0),
        ("wan2x_turbo_v", "video", 5.0),
        ("flux_pro_11", "image", 0.75),
        ("elevenlabs_tts", "audio", 0.8),
        ("my-model", "generic", 0.4),
    ],
)
def test_cold_prior_by_endpoint_kind(endpoint: str, kind: str, earliest: float) -> None:
    """A lone cold video job is first polled seconds later than an image or unknown one."""
    sched = schedule()
    sched.add("a", endpoint, 0.0)
    assert sched.cold_prior(endpoint).kind == kind
    at = first_poll(sched, "a", 0.0)
    assert earliest <= at <= 2.5 * earliest


def test_untimed_job_is_polled_at_once() -> None:
    """A re-attached job of unknown age is polled immediately."""
    sched = schedule()
    sched.add("old", "ep", 5.0, age=None)
    assert sched.next_wakeup(5.0) == 5.0
    assert sched.due(5.0) == ["old"]


def test_add_twice_raises() -> None:
    """A key can be scheduled once."""
    sched = schedule()
    sched.add("a", "ep", 0.0)
    with pytest.raises(ValueError, match="already scheduled"):
        sched.add("a", "ep", 0.0)


def test_unknown_keys_are_ignored() -> None:
    """Observing or removing a key that is not scheduled does nothing."""
    sched = schedule()
    sched.observe("nope", Outcome.DONE, 0.0)
    assert sched.remove("nope") is False
    assert sched.next_wakeup(0.0) is None


def test_done_and_ended_forget_the_job() -> None:
    """DONE and ENDED end the job's schedule; remove does too."""
    sched = schedule()
    for key in "abc":
        sched.add(key, "ep", 0.0)
    at = first_poll(sched, "a", 0.0)
    sched.observe("a", Outcome.DONE, at)
    assert "a" not in sched
    sched.observe("b", Outcome.ENDED, at)
    assert sched.remove("c") is True
    assert len(sched) == 0
    assert sched.next_wakeup(at) is None


def test_scouts_are_about_one_percent() -> None:
    """A cold batch of 1000 has 10 scouts, of 10 000 has 32 (the cap), of 5 has 3."""
    for jobs, scouts in ((5, 3), (1000, 10), (10_000, 32)):
        sched = schedule()
        for i in range(jobs):
            sched.add(str(i), "ep", 0.0)
        assert sched.stats(0.0).scouts == scouts


def test_cold_batch_polls_only_scouts_until_one_finishes() -> None:
    """While every scout is pending, the rest of a cold batch costs no polls but its scouts'."""
    sched = schedule()
    for i in range(200):
        sched.add(str(i), "ep", 0.0)
    polled: set[str] = set()
    now = 0.0
    while now < 60.0:
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        for key in sched.due(now):
            polled.add(key)
            sched.observe(key, Outcome.RUNNING, now)
    # the first three, then one late recruit each time the scouts' age grew 1.37x (1 s .. 60 s)
    assert polled == {str(i) for i in range(len(polled))}
    assert 4 <= len(polled) == sched.stats(now).scouts <= 3 + 1 + math.floor(math.log(60.0) / math.log(1.37))
    assert sched.stats(now).deferred > 0


def test_model_learns_from_scouts() -> None:
    """Finished scouts give the endpoint an estimate around their durations."""
    sched = schedule()
    for i in range(300):
        sched.add(str(i), "ep", 0.0)
    assert sched.estimate("ep") is None
    now = 0.0
    while len(sched) > 290:
        now = sched.next_wakeup(now) or now
        for key in sched.due(now):
            sched.observe(key, Outcome.DONE if now >= 5.0 else Outcome.RUNNING, now)
    estimate = sched.estimate("ep")
    assert estimate is not None
    assert estimate.low <= 5.0 <= estimate.high
    assert 4.5 <= estimate.median <= 5.5  # midpoints of (last pending, done]


def test_rate_limited_pauses_everyone_and_lowers_the_rate() -> None:
    """A 429 with a long Retry-After pauses all polls; the rate drops to 90% of what was accepted."""
    sched = schedule(max_rate=100.0)
    for i in range(50):
        sched.add(str(i), "ep", 0.0, age=None)
    sent = sched.due(0.0)
    assert len(sent) == 10  # the burst: 0.1 s of 100 polls/s
    sched.observe(sent[0], RateLimited(retry_after=2.0), 0.01)
    assert sched.due(1.0) == []
    assert sched.next_wakeup(1.0) == pytest.approx(2.01)
    stats = sched.stats(1.0)
    assert stats.rate == pytest.approx(0.9 * 9)  # 10 sent, 1 refused: 9 accepted in the last second
    assert stats.rate_limited == 1
    assert stats.paused_until == pytest.approx(2.01)
    assert sched.due(2.01) != []


def test_short_retry_after_delays_only_the_refused_job() -> None:
    """A 1 s Retry-After: the refused job waits 1 s, the others are still polled (at a lower rate)."""
    sched = schedule(max_rate=100.0)
    for i in range(50):
        sched.add(str(i), "ep", 0.0, age=None)
    now, refused, limited_at = 0.0, "", 0.0
    while not refused:  # polls spread over two seconds, then one is refused
        wake = sched.next_wakeup(now)
        now = 10.0 if wake is None else wake
        for key in sched.due(now):
            if now >= 2.0 and not refused:
                refused, limited_at = key, now + 0.01
                sched.observe(key, RateLimited(retry_after=1.0), limited_at)
            else:
                sched.observe(key, Outcome.RUNNING, now)
    assert sched.stats(limited_at).paused_until is None
    now, polled = limited_at, []
    while now < 10.0:
        now = sched.next_wakeup(now) or 10.0
        for key in sched.due(now):
            polled.append((now, key))
            sched.observe(key, Outcome.RUNNING, now)
    assert any(t < limited_at + 1.0 for t, _ in polled)  # the others went on
    assert min(t for t, key in polled if key == refused) >= limited_at + 1.0


def test_burst_of_429s_is_one_decrease() -> None:
    """429s for polls sent before the first one arrived lower the rate once, then by one poll each."""
    sched = schedule(max_rate=1000.0, start_rate=math.inf)  # no slow start: all 100 at once
    for i in range(100):
        sched.add(str(i), "ep", 0.0, age=None)
    sent = sched.due(0.0)
    for key in sent:
        sched.observe(key, RateLimited(None), 0.05)
    stats = sched.stats(0.05)
    assert stats.rate_limited == 100
    assert stats.rate == pytest.approx(0.9 * 50)  # nothing was accepted: half of what was sent


def test_errors_back_off_and_never_fail() -> None:
    """Transient errors retry with growing, capped, jittered delays and keep the job."""
    sched = schedule()
    sched.add("a", "ep", 0.0, age=None)
    now, gaps = 0.0, []
    for _ in range(12):
        assert sched.due(now) == ["a"]
        sched.observe("a", Outcome.ERROR, now)
        wake = sched.next_wakeup(now)
        assert wake is not None
        gaps.append(wake - now)
        now = wake
    assert "a" in sched
    assert gaps[0] < 1.0
    assert max(gaps) <= 30.0
    assert sum(gaps[6:]) > sum(gaps[:6])
    assert sched.stats(now).errors == 12


def test_replan_only_moves_polls_earlier() -> None:
    """When the model changes, a planned poll of a warm job may move earlier, never later."""
    sched = schedule(max_rate=math.inf)
    rng = random.Random(3)
    now = 0.0
    for i in range(40):  # learn 2 s jobs
        sched.add(f"w{i}", "ep", 0.0)
    finish = {f"w{i}": rng.uniform(1.5, 2.5) for i in range(40)}
    while len(sched):
        now = sched.next_wakeup(now) or now
        for key in sched.due(now):
            sched.observe(key, Outcome.DONE if now >= finish[key] else Outcome.RUNNING, now)
    start = now + 100.0
    for i in range(200):
        sched.add(f"j{i}", "ep", start)
    jobs = sched._jobs  # white box: the planned time of every pending job
    planned = {key: job.due for key, job in jobs.items()}
    now = start
    while len(sched):
        now = sched.next_wakeup(now) or now
        for key in sched.due(now):
            planned.pop(key, None)
            age = now - start
            sched.observe(key, Outcome.DONE if age >= 1.0 + 0.01 * int(key[1:]) else Outcome.RUNNING, now)
        for key, job in jobs.items():
            if key in planned and not job.in_flight:
                assert job.due <= planned[key] + 1e-9
                planned[key] = job.due


# ----------------------------------------------------------------------------------------------
# Properties: a random shell drives the schedule
# ----------------------------------------------------------------------------------------------

OUTCOMES = st.one_of(st.sampled_from(Outcome), st.sampled_from([RateLimited(None), RateLimited(0.5)]))
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(["a", "b"]), st.sampled_from([0.0, 0.0, 3.0, None])),
        st.tuples(st.just("tick"), st.floats(0.0, 3.0), st.sampled_from([None, 0, 1, 5])),
        st.tuples(st.just("answer"), st.integers(0, 50), OUTCOMES),
        st.tuples(st.just("remove"), st.integers(0, 50), st.none()),
    ),
    max_size=60,
)


@settings(max_examples=scaled(60), deadline=None)
@given(ACTIONS, st.integers(0, 2**16))
def test_shell_contract_properties(actions: list[tuple[str, object, object]], seed: int) -> None:
    """due() hands out only scheduled, idle jobs within the budget; wakeups are never in the past."""
    max_rate = 20.0
    sched = PollSchedule[str](random.Random(seed), max_rate=max_rate)
    now, count = 0.0, 0
    live: set[str] = set()
    in_flight: list[str] = []
    sent_at: list[float] = []
    paused_until = -math.inf
    for action, arg, extra in actions:
        if action == "add":
            key = f"k{count}"
            count += 1
            sched.add(key, str(arg), now, age=extra if extra is None else float(extra))  # type: ignore[arg-type]
            live.add(key)
        elif action == "tick":
            now += float(arg)  # type: ignore[arg-type]
            limit = extra if isinstance(extra, int) else None
            keys = sched.due(now, limit)
            assert limit is None or len(keys) <= limit
            assert len(set(keys)) == len(keys)
            for key in keys:
                assert key in live
                assert key not in in_flight
            if keys:
                assert now >= paused_until
            in_flight.extend(keys)
            sent_at.extend([now] * len(keys))
        elif action == "answer" and in_flight:
            key = in_flight.pop(int(arg) % len(in_flight))  # type: ignore[call-overload]
            sched.observe(key, extra, now)  # type: ignore[arg-type]
            if extra in (Outcome.DONE, Outcome.ENDED):
                live.discard(key)
            if isinstance(extra, RateLimited) and extra.retry_after:
                paused_until = max(paused_until, now + extra.retry_after)
        elif action == "remove" and live:
            key = sorted(live)[int(arg) % len(live)]  # type: ignore[call-overload]
            assert sched.remove(key)
            live.discard(key)
            if key in in_flight:
                in_flight.remove(key)
        wake = sched.next_wakeup(now)
        assert wake is None or wake >= now
        if live - set(in_flight):
            assert wake is not None
        assert len(sched) == len(live)
    # the budget: polls in any window of T seconds <= burst + max_rate * T
    for i, t0 in enumerate(sent_at):
        in_window = sum(1 for t in sent_at[i:] if t - t0 <= 1.0)
        assert in_window <= max_rate * 0.1 + max_rate * 1.0 + 1


@settings(max_examples=scaled(30), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.floats(0.0, 5.0), st.booleans()), min_size=1, max_size=25
    ),
    st.integers(0, 2**16),
)
def test_every_job_is_eventually_polled(jobs: list[tuple[str, float, bool]], seed: int) -> None:
    """Every scheduled job comes due within bounded simulated time, even if nothing ever finishes."""
    sched = PollSchedule[str](random.Random(seed), max_rate=50.0)
    now = 0.0
    for i, (endpoint, gap, timed) in enumerate(jobs):
        now += gap
        sched.add(str(i), endpoint, now, age=0.0 if timed else None)
    unpolled = {str(i) for i in range(len(jobs))}
    horizon = now + 1000.0
    while unpolled:
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        assert now < horizon, f"never polled: {sorted(unpolled)}"
        for key in sched.due(now, 8):
            unpolled.discard(key)
            sched.observe(key, Outcome.RUNNING, now)


def test_inference_time_narrows_a_late_finish() -> None:
    """Queued until 0.4 s, running by 1.0 s, 1.5 s of inference: learned as about 2.2 s, not 3.7 s."""
    sched = schedule(max_rate=math.inf)
    sched.add("a", "ep", 0.0)
    sched.observe("a", Outcome.QUEUED, 0.4)
    sched.observe("a", Outcome.RUNNING, 1.0)
    sched.observe("a", Outcome.DONE, 5.0, inference_time=1.5)
    estimate = sched.estimate("ep")
    assert estimate is not None
    assert 1.9 <= estimate.median <= 2.5


def test_inference_time_reveals_a_faster_endpoint() -> None:
    """History says 20 s; a job found done on its first poll reports 2 s of inference: the endpoint
    never queues, so the history is dropped and the next job is a scout again."""
    sched = schedule(max_rate=math.inf)
    assert sched.seed("ep", [20.0] * 17, 0.0)
    sched.add("a", "ep", 0.0)
    at = first_poll(sched, "a", 0.0)
    assert at > 15.0
    sched.observe("a", Outcome.DONE, at, inference_time=2.0)
    estimate = sched.estimate("ep")
    assert estimate is not None and estimate.median < 3.0
    snap = sched.snapshot("ep")
    assert snap is not None and snap[3]  # the old history is contradicted


def test_inference_time_that_contradicts_the_polls_is_ignored() -> None:
    """A hint outside what the polls bound (seen running at 3 s, done at 4 s, 'inference 10 s') is dropped."""
    sched = schedule(max_rate=math.inf)
    sched.add("a", "ep", 0.0)
    sched.observe("a", Outcome.RUNNING, 3.0)
    sched.observe("a", Outcome.DONE, 4.0, inference_time=10.0)
    estimate = sched.estimate("ep")
    assert estimate is not None and 3.0 <= estimate.median <= 4.0
