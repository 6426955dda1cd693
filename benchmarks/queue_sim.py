"""Discrete-event simulation of ``PollSchedule`` against a made-up queue gateway.  No I/O, no sleeping.

Jobs are submitted (all at once, or ``submit_rate`` per second), each runs a random duration
``d x U(1 - spread, 1 + spread)``, and the simulated shell does what the real one does: wake at
``next_wakeup``, send exactly ``due(now, limit)``, and report each answer with ``observe`` one
round trip later.  The fake gateway answers a poll with DONE once the job has finished (that answer
*is* the result fetch), RUNNING before, ERROR with probability ``error_rate``, and 429
(``RateLimited``) above ``server_limit`` polls per sliding second.

Measured: requests per job after the submit (every poll sent, result fetch included), the lag
between a job finishing and the client receiving the answer that says so, and polls per second.

``python benchmarks/queue_sim.py`` prints the scenario table and requests-vs-lag curves (``--worst
[--seeds N]``: the worst seed per scenario of a grid, see ``worst_table``); the unit
tests (``tests/unit/test_schedule_sim.py``) import this module and assert the targets.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the package importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odirouter_async.queue.schedule import Observation, Outcome, PollSchedule, RateLimited

__all__ = (
    "Scenario",
    "SimResult",
    "cold_curve",
    "durations_of",
    "limit_floor",
    "run",
    "single_job_lags",
    "warm_single_job_lags",
    "worst_seed",
    "worst_table",
)


@dataclass
class Scenario:
    """One simulated batch."""

    name: str = "batch"
    jobs: int = 1000
    duration: float = 2.0
    spread: float = 0.25
    submit_rate: float = math.inf  # submits per second; inf = all at once
    server_limit: float | None = None  # K: polls accepted per sliding second, 429 above
    retry_after: float | None = 1.0  # what the 429 says
    error_rate: float = 0.0  # probability that a poll fails transiently (5xx / connection)
    rtt: float = 0.01  # seconds per poll round trip; the gateway answers at mid-flight
    max_in_flight: int | None = None  # connection slots of the shell
    endpoint: str = "ep"
    seed: int = 1
    options: dict[str, Any] = field(default_factory=lambda: {"max_rate": math.inf})
    durations: Sequence[float] | None = None  # explicit durations (overrides jobs/duration/spread)


@dataclass
class SimResult:
    """What one run measured."""

    name: str
    jobs: int
    requests: int
    rate_limited: int
    errors: int
    lags: list[float]
    per_second: dict[int, int]
    first_429: float | None
    end: float
    stats: Any = None
    stats_spacing: tuple[float, float] = (0.0, 0.0)  # the schedule's (absolute s, fraction of the age)

    @property
    def requests_per_job(self) -> float:
        """Polls sent per job after its submit, the result fetch included."""
        return self.requests / self.jobs

    def lag(self, q: float) -> float:
        """The ``q`` quantile of the detection lag (seconds)."""
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def peak_rate(self) -> int:
        """Most polls sent in one second of the run."""
        return max(self.per_second.values(), default=0)

    def steady_rate(self, settle: float = 5.0) -> tuple[float, int]:
        """Mean and max polls/s after the first 429 + ``settle`` s, the last two seconds excluded."""
        if self.first_429 is None:
            return 0.0, 0
        first, last = int(self.first_429 + settle), max(self.per_second) - 2
        counts = [self.per_second.get(s, 0) for s in range(first, last)]
        return (statistics.fmean(counts), max(counts)) if counts else (0.0, 0)

    def row(self) -> str:
        """One line of the results table."""
        return (
            f"{self.name:<34} {self.jobs:>6} {self.requests_per_job:>7.2f} {self.lag(0.5):>8.3f} "
            f"{self.lag(0.99):>8.3f} {max(self.lags):>8.3f} {self.peak_rate:>7} {self.rate_limited:>5}"
        )


HEADER = (
    f"{'scenario':<34} {'jobs':>6} {'req/job':>7} {'lag p50':>8} {'lag p99':>8} {'lag max':>8} "
    f"{'peak/s':>7} {'429s':>5}"
)


def run(scn: Scenario, schedule: PollSchedule[str] | None = None, *, start: float = 0.0) -> SimResult:
    """Simulate ``scn``; pass ``schedule`` (and a later ``start``) to run on a warm schedule."""
    sched = schedule if schedule is not None else PollSchedule[str](random.Random(scn.seed), **scn.options)
    rng = random.Random(scn.seed * 7919 + 1)
    durations = durations_of(scn)
    if scn.durations is None:
        for _ in range(scn.jobs):  # the same draws as durations_of: keep rng's sequence
            rng.random()
    n = len(durations)
    keys = [f"{scn.name}-{start}-{i}" for i in range(n)]
    index = {k: i for i, k in enumerate(keys)}
    submit_at = [start + (i / scn.submit_rate if math.isfinite(scn.submit_rate) else 0.0) for i in range(n)]
    finish = [s + d for s, d in zip(submit_at, durations, strict=True)]
    answers: list[tuple[float, int, str, Observation]] = []
    accepted: deque[float] = deque()
    per_second: dict[int, int] = {}
    lags: list[float] = []
    requests = rate_limited = errors = seq = in_flight = submitted = 0
    first_429: float | None = None
    now = start
    horizon = start + 50 * max(durations) + 3600
    while len(lags) < n:
        candidates = []
        if submitted < n:
            candidates.append(submit_at[submitted])
        if answers:
            candidates.append(answers[0][0])
        if scn.max_in_flight is None or in_flight < scn.max_in_flight:
            wake = sched.next_wakeup(now)
            if wake is not None:
                candidates.append(wake)
        now = max(now, min(candidates))
        if now > horizon:
            raise RuntimeError(f"{scn.name}: {n - len(lags)} jobs never noticed")
        while submitted < n and submit_at[submitted] <= now:
            sched.add(keys[submitted], scn.endpoint, now)
            submitted += 1
        while answers and answers[0][0] <= now:
            at, _, key, answer = heapq.heappop(answers)
            in_flight -= 1
            sched.observe(key, answer, at)
            if answer is Outcome.DONE:
                lags.append(at - finish[index[key]])
        limit = None if scn.max_in_flight is None else scn.max_in_flight - in_flight
        for key in sched.due(now, limit):
            requests += 1
            in_flight += 1
            second = int(now - start)
            per_second[second] = per_second.get(second, 0) + 1
            seen = now + scn.rtt / 2
            outcome: Observation
            if scn.error_rate and rng.random() < scn.error_rate:
                outcome, errors = Outcome.ERROR, errors + 1
            elif scn.server_limit is not None:
                while accepted and accepted[0] <= seen - 1.0:
                    accepted.popleft()
                if len(accepted) >= scn.server_limit:
                    outcome, rate_limited = RateLimited(scn.retry_after), rate_limited + 1
                    first_429 = now - start if first_429 is None else first_429
                else:
                    accepted.append(seen)
                    outcome = Outcome.DONE if seen >= finish[index[key]] else Outcome.RUNNING
            else:
                outcome = Outcome.DONE if seen >= finish[index[key]] else Outcome.RUNNING
            seq += 1
            heapq.heappush(answers, (now + scn.rtt, seq, key, outcome))
    spacing = (sched._abs_spacing, sched._rel_spacing)  # what the schedule really uses
    stats = sched.stats(now)
    return SimResult(
        scn.name, n, requests, rate_limited, errors, lags, per_second, first_429, now, stats, spacing
    )


def single_job_lags(
    duration: float, runs: int, *, endpoint: str = "ep", schedule: Any = None, **options: Any
) -> tuple[list[float], list[int]]:
    """Lags and request counts of ``runs`` independent lone jobs (``client.queue.run``).

    ``schedule``: a callable ``seed -> PollSchedule`` (e.g. one warmed from a history store).
    """
    lags, counts = [], []
    for seed in range(runs):
        scn = Scenario(name="single", durations=[duration], seed=seed + 1, endpoint=endpoint, options=options)
        result = run(scn, schedule(seed + 1) if schedule is not None else None)
        lags.append(result.lags[0])
        counts.append(result.requests)
    return lags, counts


def warm_single_job_lags(
    history: Scenario, duration: float, runs: int, **options: Any
) -> tuple[list[float], list[int]]:
    """Lone jobs in *new* processes that load the history a previous run (``history``) saved."""
    from odirouter_async.queue.history import MemoryHistory, restore, store_snapshot

    first = PollSchedule[str](random.Random(history.seed), **{"max_rate": math.inf, **options})
    run(history, first)
    store = MemoryHistory()
    store_snapshot(store, first)

    def warm(seed: int) -> PollSchedule[str]:
        sched = PollSchedule[str](random.Random(seed), **{"max_rate": math.inf, **options})
        restore(store, sched, history.endpoint, 0.0)
        return sched

    return single_job_lags(duration, runs, endpoint=history.endpoint, schedule=warm)


def cold_curve(
    scales: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    *,
    duration: float = 2.0,
    runs: int = 200,
    endpoint: str = "ep",
) -> list[tuple[float, float, float, float]]:
    """Requests after submit vs detection lag of a LONE cold job, by ``cold_scale``.

    Rows: ``(cold_scale, mean requests, lag p50, lag p95)`` over ``runs`` seeds (phases).
    """
    rows = []
    for scale in scales:
        lags, counts = single_job_lags(duration, runs, endpoint=endpoint, max_rate=math.inf, cold_scale=scale)
        ordered = sorted(lags)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        rows.append((scale, statistics.fmean(counts), statistics.median(lags), p95))
    return rows


def durations_of(scn: Scenario) -> list[float]:
    """The job durations ``run(scn)`` simulates (same seed, same draws)."""
    if scn.durations is not None:
        return list(scn.durations)
    rng = random.Random(scn.seed * 7919 + 1)
    return [scn.duration * rng.uniform(1 - scn.spread, 1 + scn.spread) for _ in range(scn.jobs)]


def limit_floor(scn: Scenario) -> float:
    """The median lag a server limit of ``scn.server_limit`` polls/s imposes on ``scn`` by itself.

    An oracle that knows every finish polls each job exactly once, in finish order, no faster than
    the limit: the k-th is seen at ``max(finish_k, seen_{k-1} + 1/K)``.  No client does better.
    """
    assert scn.server_limit is not None and math.isinf(scn.submit_rate)
    seen, lags = -math.inf, []
    for finish in sorted(durations_of(scn)):
        seen = max(finish, seen + 1.0 / scn.server_limit)
        lags.append(seen - finish)
    return statistics.median(lags)


def warm_then(first: Scenario, second: Scenario) -> SimResult:
    """Run ``first`` cold, then ``second`` on the same (now warm) schedule."""
    sched = PollSchedule[str](random.Random(first.seed), **first.options)
    done = run(first, sched)
    return run(second, sched, start=done.end + 1.0)


def scenarios() -> list[tuple[str, SimResult]]:
    """The scenarios of the report (the tests run the same ones)."""
    out = []
    for jobs in (1000, 10_000):
        out.append(("cold 2s", run(Scenario(f"cold {jobs} x 2s at once", jobs=jobs, duration=2.0))))
    out.append(("spread", run(Scenario("cold 10000 x 2s @3000/s", jobs=10_000, submit_rate=3000))))
    for jobs in (1000, 10_000):
        out.append(("cold 20s", run(Scenario(f"cold {jobs} x 20s at once", jobs=jobs, duration=20.0))))
    out.append(("warm", warm_then(Scenario("w", jobs=1000), Scenario("warm 1000 x 2s (2nd batch)"))))
    out.append(
        (
            "warm20",
            warm_then(Scenario("w", jobs=1000, duration=20), Scenario("warm 1000 x 20s", duration=20)),
        )
    )
    limited = Scenario(
        "2000 x 20s, server K=100/s", jobs=2000, duration=20.0, server_limit=100, options={"max_rate": 1000}
    )
    out.append(("limit", run(limited)))
    out.append(("errors", run(Scenario("1000 x 2s, 20% poll errors", error_rate=0.2))))
    out.append(
        (
            "default",
            run(Scenario("10000 x 2s @3000/s, max_rate=200", jobs=10_000, submit_rate=3000, options={})),
        )
    )
    out.append(("hour", run(Scenario("single 3600s job", durations=[3600.0]))))
    out.append(("single20", run(Scenario("single 20s job", durations=[20.0]))))
    out.append(
        (
            "longer",
            warm_then(
                Scenario("w", jobs=1000), Scenario("200 x 60s after learning 2s", jobs=200, duration=60)
            ),
        )
    )
    out.append(
        (
            "hour-after",
            warm_then(Scenario("w", jobs=1000), Scenario("1 x 3600s after learning 2s", durations=[3600.0])),
        )
    )
    return out


@dataclass
class Worst:
    """The worst seed of one scenario: lags as fractions of the nominal duration."""

    name: str
    seeds: int
    p50: float  # worst seed's lag p50 / duration
    p99: float  # worst seed's lag p99 / duration
    requests: float  # worst seed's requests per job
    mean_requests: float
    misses: int  # seeds over p50 10 %, p99 25 % or 3 requests per job

    def row(self) -> str:
        """One line of the worst-seed table."""
        return (
            f"{self.name:<30} {self.seeds:>5} {100 * self.p50:>8.1f} {100 * self.p99:>8.1f} "
            f"{self.requests:>7.2f} {self.mean_requests:>8.2f} {self.misses:>6}"
        )


WORST_HEADER = (
    f"{'scenario (worst seed)':<30} {'seeds':>5} {'p50 %':>8} {'p99 %':>8} {'req max':>7} {'req mean':>8} "
    f"{'misses':>6}"
)


def worst_seed(
    name: str,
    jobs: int,
    duration: float,
    spread: float,
    seeds: Sequence[int],
    *,
    warm: bool = False,
    **kw: Any,
) -> Worst:
    """Run one scenario over ``seeds`` with the client's defaults; report the worst seed.

    ``warm``: the batch runs on a schedule that first learned a batch of the same workload (a
    second batch in one process).  The shell is the real one's: ``max_rate`` 10 000/s, 256 polls in
    flight, 20 ms round trips.  Lags are fractions of ``duration`` (the nominal job length).
    """
    rows = []
    for seed in seeds:
        opts = {"max_rate": 10_000.0}
        scn = Scenario(
            name,
            jobs=jobs,
            duration=duration,
            spread=spread,
            seed=seed,
            options=opts,
            rtt=0.02,
            max_in_flight=256,
            **kw,
        )
        if warm:
            first = Scenario(
                "w", jobs=jobs, duration=duration, spread=spread, seed=seed + 10_000, options=opts
            )
            res = warm_then(first, scn)
        else:
            res = run(scn)
        rows.append((res.lag(0.5) / duration, res.lag(0.99) / duration, res.requests_per_job))
    misses = sum(1 for p50, p99, req in rows if p50 > 0.10 or p99 > 0.25 or req > 3.0)
    return Worst(
        name,
        len(rows),
        max(r[0] for r in rows),
        max(r[1] for r in rows),
        max(r[2] for r in rows),
        statistics.fmean(r[2] for r in rows),
        misses,
    )


def worst_table(seeds: int = 20) -> Iterator[Worst]:
    """The worst-seed grid: job lengths 2 s .. 10 min, jitter 0-50 %, 1 to 10 000 jobs, cold and warm.

    ``seeds`` seeds per cold scenario up to 300 jobs; a fifth of them for warm ones, 2 for 10 000.
    """
    few = range(1, 1 + max(1, seeds // 5))
    for duration in (2.0, 20.0, 60.0, 600.0):
        for spread in (0.0, 0.25, 0.5):
            for jobs in (1, 300, 10_000):
                if jobs == 10_000 and duration > 20.0:
                    continue  # minutes of simulation for a regime the 20 s row already shows
                span = range(1, 3) if jobs == 10_000 else range(1, seeds + 1)
                label = f"{jobs} x {duration:g}s +-{100 * spread:.0f}%"
                yield worst_seed(f"cold {label}", jobs, duration, spread, span)
                if 1 < jobs < 10_000:
                    yield worst_seed(f"warm {label}", jobs, duration, spread, few, warm=True)


def main() -> None:
    """Print the scenario table and the requests-vs-lag curves."""
    if "--worst" in sys.argv:
        seeds = int(sys.argv[sys.argv.index("--seeds") + 1]) if "--seeds" in sys.argv else 20
        print(WORST_HEADER, flush=True)
        for worst in worst_table(seeds):
            print(worst.row(), flush=True)
        return
    print(HEADER)
    for _, result in scenarios():
        print(result.row())
    lags, counts = single_job_lags(2.0, 200)
    print(
        f"{'single 2s job x200 (median/max)':<34} {1:>6} {statistics.median(counts):>7.1f} "
        f"{statistics.median(lags):>8.3f} {'':>8} {max(lags):>8.3f}"
    )
    for endpoint in ("ep", "flux_pro_11"):
        print(f"\ncurve: a LONE cold 2 s job of {endpoint!r}, by cold_scale (default 1.0), 200 phases")
        print(f"{'cold_scale':>10} {'req mean':>8} {'lag p50':>8} {'lag p95':>8}")
        for scale, req, p50, p95 in cold_curve(endpoint=endpoint):
            print(f"{scale:>10} {req:>8.2f} {p50:>8.3f} {p95:>8.3f}")
    print("\npoll limit K=200/s, 1000 x 2 s +-25% at once (lag vs. the floor the limit imposes)")
    print(
        f"{'max_rate':>9} {'rtt':>5} {'floor p50':>9} {'lag p50':>8} {'ratio':>6} {'429 %':>6} {'req/job':>8}"
    )
    for max_rate in (200.0, 10_000.0):
        for rtt in (0.01, 0.05):
            scn = Scenario("K", jobs=1000, server_limit=200, rtt=rtt, options={"max_rate": max_rate})
            res, floor = run(scn), limit_floor(scn)
            share = 100 * res.rate_limited / res.requests
            print(
                f"{max_rate:>9.0f} {rtt:>5} {floor:>9.3f} {res.lag(0.5):>8.3f} {res.lag(0.5) / floor:>6.2f} "
                f"{share:>6.1f} {res.requests_per_job:>8.2f}"
            )
    limited = next(r for name, r in scenarios() if name == "limit")
    mean, peak = limited.steady_rate()
    print(f"\nserver K=100/s: steady polls/s mean {mean:.1f}, max {peak}; all {limited.jobs} completed")
    # The curves vary the schedule's own spacing (``PollSchedule(lag_target=, lag_fraction=)`` set
    # its attributes ``_abs_spacing = 1.6 lag_target`` and ``_rel_spacing = 1.7 lag_fraction``; the
    # client's ``PollingOptions`` knobs of the same names are deprecated).
    print("\ncurve: 1000 x 2s +-25%, cold (and warm), by the absolute spacing (s); relative = 0.425x it")
    print(f"{'spacing':>10} {'req/job':>8} {'p50':>7} {'p99':>7} | {'warm req':>8} {'p50':>7} {'p99':>7}")
    for target in (0.05, 0.1, 0.25, 0.5, 1.0):
        opts = {"max_rate": math.inf, "lag_target": target, "lag_fraction": 0.4 * target}
        cold = run(Scenario("c", options=opts))
        warm = warm_then(Scenario("w", options=opts), Scenario("w2", options=opts))
        spacing = cold.stats_spacing[0]
        print(
            f"{spacing:>10.2f} {cold.requests_per_job:>8.2f} {cold.lag(0.5):>7.3f} {cold.lag(0.99):>7.3f} | "
            f"{warm.requests_per_job:>8.2f} {warm.lag(0.5):>7.3f} {warm.lag(0.99):>7.3f}"
        )
    print("\ncurve: 1000 x 20s +-25%, cold (and warm), by the window spacing (% of the age; lag % of 20 s)")
    head = f"{'req/job':>8} {'p50 %':>7} {'p99 %':>7}"
    print(f"{'spacing %':>10} {head} | {'warm req':>8} {'p50 %':>7} {'p99 %':>7}")
    for frac in (0.025, 0.05, 0.1, 0.15, 0.2):
        opts = {"max_rate": math.inf, "lag_fraction": frac}
        cold = run(Scenario("c", duration=20, options=opts))
        warm = warm_then(Scenario("w", duration=20, options=opts), Scenario("w2", duration=20, options=opts))
        pct = [r.lag(q) / 0.2 for r in (cold, warm) for q in (0.5, 0.99)]  # % of 20 s
        spacing = 100 * cold.stats_spacing[1]
        print(
            f"{spacing:>10.1f} {cold.requests_per_job:>8.2f} {pct[0]:>7.1f} {pct[1]:>7.1f} | "
            f"{warm.requests_per_job:>8.2f} {pct[2]:>7.1f} {pct[3]:>7.1f}"
        )


if __name__ == "__main__":
    main()
