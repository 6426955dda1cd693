"""One batch, many workers: ``odirouter batch --journal postgresql://...`` against a real PostgreSQL.

Workers are real ``odirouter batch`` processes, the emulator runs in its own process, and the
counts come from the emulator (jobs created, identical submits) and from the database.  Each input
is a distinct JSON object, so "submitted exactly once" is: one emulator job per input and no
submit with an already seen body.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pg_fixtures
import psycopg
from pg_fixtures import EmulatorProcess, Workers, by_owner, states, wait_until

# The fixtures (a PostgreSQL server per test process, a database per test, the emulator process).
pg = pg_fixtures.pg
dsn = pg_fixtures.dsn
emulator = pg_fixtures.emulator
workers_factory = pg_fixtures.workers_factory

WorkersFactory = Callable[..., Workers]


def assert_exactly_once(emu: EmulatorProcess, n: int) -> None:
    stats = emu.stats()
    assert stats["duplicate_submits"] == 0
    assert len(stats["jobs"]) == n
    assert stats["routes"].get("queue.submit") == n


def test_three_workers_share_3000_inputs_each_submitted_once(
    workers_factory: WorkersFactory, emulator: EmulatorProcess, dsn: str
) -> None:
    """Three workers on one batch of 3000 inputs: every input done, each submitted exactly once."""
    w = workers_factory(3000, "--concurrency", "96", "--no-download")
    for _ in range(3):
        w.start()
    assert w.wait_all() == [0, 0, 0], w.log(0)
    assert states(dsn) == {"done": 3000}
    assert_exactly_once(emulator, 3000)
    per_worker = [w.results(n) for n in range(3)]
    keys = [r["key"] for rows in per_worker for r in rows]
    assert len(keys) == len(set(keys)) == 3000
    assert all(len(rows) > 100 for rows in per_worker)  # all three did a share
    assert {r["status"] for rows in per_worker for r in rows} == {"ok"}


def test_a_sigkilled_worker_is_taken_over_by_the_others(
    workers_factory: WorkersFactory, emulator: EmulatorProcess, dsn: str
) -> None:
    """Worker 0 is SIGKILLed mid-run: the others re-attach its jobs and finish the batch; nothing is
    submitted twice; its submits in flight (if any) are reported uncertain, never resent."""
    w = workers_factory(400, "--concurrency", "32", "--lease", "1.5")
    victim = w.start()
    wait_until("worker 0 has 20 jobs submitted", lambda: states(dsn)["submitted"] >= 20, [victim])
    w.start()
    w.start()
    wait_until("the others run too", lambda: len(by_owner(dsn, "submitted")) >= 2, w.procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    codes = [p.wait(300) for p in w.procs[1:]]
    final = states(dsn)
    assert final["done"] + final["uncertain"] == 400, final
    stats = emulator.stats()
    assert stats["duplicate_submits"] == 0
    assert final["done"] <= len(stats["jobs"]) <= 400
    reattached = sum(int("re-attached" in w.log(n)) for n in (1, 2))
    assert reattached >= 1, w.log(1) + w.log(2)
    # A survivor exits 1 when it reports uncertain inputs; the other may have finished its share first.
    assert set(codes) <= {0, 1} and (1 in codes) == bool(final["uncertain"]), codes
    # Downloads went to the surviving workers' own directories.
    for n in (1, 2):
        for row in w.results(n):
            assert all((w.tmp / f"w{n}" / p).is_file() for p in row["outputs"])
    if final["uncertain"]:  # only an explicit resubmit sends them again, with the same request id
        last = w.start("--resubmit-uncertain")
        assert last.wait(300) == 0, w.log(3)
        assert states(dsn) == {"done": 400}


def test_a_late_worker_joins_a_running_batch(
    workers_factory: WorkersFactory, emulator: EmulatorProcess, dsn: str
) -> None:
    """A worker started while two others run takes a share; each input is submitted exactly once."""
    w = workers_factory(900, "--concurrency", "32", "--no-download")
    w.start()
    w.start()
    wait_until("100 inputs done", lambda: states(dsn)["done"] >= 100, w.procs)
    w.start()
    assert w.wait_all() == [0, 0, 0], w.log(2)
    assert states(dsn) == {"done": 900}
    assert_exactly_once(emulator, 900)
    assert len(w.results(2)) > 0
    assert len({r["key"] for n in range(3) for r in w.results(n)}) == 900


def test_database_restart_mid_run(
    workers_factory: WorkersFactory, emulator: EmulatorProcess, dsn: str, pg: object
) -> None:
    """The database crashes and restarts mid-run: workers reconnect and finish; nothing paid twice."""
    w = workers_factory(900, "--concurrency", "48", "--no-download", "--lease", "20")
    for _ in range(3):
        w.start()
    wait_until("200 inputs done", lambda: states(dsn)["done"] >= 200, w.procs)
    pg.restart("immediate")  # type: ignore[attr-defined]
    assert w.wait_all() == [0, 0, 0], w.log(0)
    assert states(dsn) == {"done": 900}
    assert_exactly_once(emulator, 900)
    assert all("reconnect attempts" in w.log(n) for n in range(3)), w.log(0)


def test_batch_init_then_status(workers_factory: WorkersFactory, dsn: str) -> None:
    """``batch-init`` loads the inputs once; ``batch-status`` shows overall and per-worker counts."""
    import subprocess
    import sys

    w = workers_factory(50, "--no-download")
    run = [sys.executable, "-m", "odirouter_async"]
    init = subprocess.run([*run, "batch-init", dsn, "nano_banana_2", str(w.inputs)], capture_output=True,
                          text=True, env=w.env)  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "50 inputs loaded" in init.stderr
    again = subprocess.run([*run, "batch-init", dsn, "nano_banana_2", str(w.inputs)], capture_output=True,
                           text=True, env=w.env)  # fmt: skip
    assert "0 inputs loaded" in again.stderr
    assert states(dsn) == {"pending": 50}
    assert w.start().wait(120) == 0, w.log(0)
    status = subprocess.run([*run, "batch-status", dsn], capture_output=True, text=True, env=w.env)
    assert status.returncode == 0, status.stderr
    assert "50 done, 0 failed, 0 running, 0 uncertain, 0 pending" in status.stdout
    assert "worker " in status.stdout and "gone" in status.stdout
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM odirouter_workers WHERE NOT stopped").fetchone() == (0,)
