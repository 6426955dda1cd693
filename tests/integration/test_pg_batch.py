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
import pytest
from pg_fixtures import ServedEmulator, Workers, by_owner, states, wait_until

from odirouter_async.cli import main

# The fixtures (a PostgreSQL server per test process, a database per test, the emulator process).
pg = pg_fixtures.pg
dsn = pg_fixtures.dsn
emulator = pg_fixtures.emulator
workers_factory = pg_fixtures.workers_factory

WorkersFactory = Callable[..., Workers]


def assert_exactly_once(emu: ServedEmulator, n: int) -> None:
    stats = emu.stats()
    assert stats["duplicate_submits"] == 0
    assert len(stats["jobs"]) == n
    assert stats["routes"].get("queue.submit") == n


def test_three_workers_share_300_inputs_each_submitted_once(
    workers_factory: WorkersFactory, emulator: ServedEmulator, dsn: str
) -> None:
    """Three workers on one batch of 300 inputs: every input done, each submitted exactly once, each
    worker did a share (300 is three windows of 32 per worker: more inputs show nothing more).

    Scripted: the first 96 inputs (three windows of 32) run until the test finishes them, so each
    worker holds a window of them, however late the machine starts it."""
    w = workers_factory(300, "--concurrency", "32", "--no-download", long=range(96))
    for _ in range(3):
        w.start()
    wait_until("each worker runs jobs", lambda: len(by_owner(dsn, "submitted")) == 3, w.procs)
    w.finish_long_jobs(emulator)
    assert w.wait_all() == [0, 0, 0], w.log(0)
    assert states(dsn) == {"done": 300}
    assert_exactly_once(emulator, 300)
    per_worker = [w.results(n) for n in range(3)]
    keys = [r["key"] for rows in per_worker for r in rows]
    assert len(keys) == len(set(keys)) == 300
    assert all(len(rows) > 10 for rows in per_worker)  # all three did a share
    assert {r["status"] for rows in per_worker for r in rows} == {"ok"}


def test_a_sigkilled_worker_is_taken_over_by_the_others(
    workers_factory: WorkersFactory, emulator: ServedEmulator, dsn: str
) -> None:
    """Worker 0 is SIGKILLed mid-run: the others re-attach its jobs and finish the batch; nothing is
    submitted twice; its submits in flight (if any) are reported uncertain, never resent.

    Scripted: the first 96 inputs (three windows of 32) run until the test finishes them, so each
    worker holds running jobs when worker 0 is killed, however slow the machine."""
    w = workers_factory(200, "--concurrency", "32", "--lease", "1.5", long=range(96))
    victim = w.start()
    wait_until("worker 0 has 20 jobs submitted", lambda: states(dsn)["submitted"] >= 20, [victim])
    w.start()
    w.start()
    wait_until("the others run too", lambda: len(by_owner(dsn, "submitted")) == 3, w.procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    w.finish_long_jobs(emulator)
    codes = [p.wait(300) for p in w.procs[1:]]
    final = states(dsn)
    assert final["done"] + final["uncertain"] == 200, final
    stats = emulator.stats()
    assert stats["duplicate_submits"] == 0
    assert final["done"] <= len(stats["jobs"]) <= 200
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
        assert states(dsn) == {"done": 200}


def test_a_late_worker_joins_a_running_batch(
    workers_factory: WorkersFactory, emulator: ServedEmulator, dsn: str
) -> None:
    """A worker started while two others run takes a share; each input is submitted exactly once.

    Scripted: inputs 100-163 (the two early windows of 32) run until the test finishes them, so the
    early workers stop claiming and inputs are still pending when the late one starts, however slow
    the machine."""
    w = workers_factory(300, "--concurrency", "32", "--no-download", long=range(100, 164))
    w.start()
    w.start()
    wait_until("100 inputs done", lambda: states(dsn)["done"] >= 100, w.procs)
    w.start()
    wait_until("the late worker runs jobs", lambda: len(by_owner(dsn, "submitted")) == 3, w.procs)
    w.finish_long_jobs(emulator)
    assert w.wait_all() == [0, 0, 0], w.log(2)
    assert states(dsn) == {"done": 300}
    assert_exactly_once(emulator, 300)
    assert len(w.results(2)) > 0
    assert len({r["key"] for n in range(3) for r in w.results(n)}) == 300


def test_database_restart_mid_run(
    workers_factory: WorkersFactory, emulator: ServedEmulator, dsn: str, pg: object
) -> None:
    """The database crashes and restarts mid-run: workers reconnect and finish; nothing paid twice."""
    w = workers_factory(450, "--concurrency", "48", "--no-download", "--lease", "20")
    for _ in range(3):
        w.start()
    wait_until("100 inputs done", lambda: states(dsn)["done"] >= 100, w.procs)
    pg.restart("immediate")  # type: ignore[attr-defined]
    assert w.wait_all() == [0, 0, 0], w.log(0)
    assert states(dsn) == {"done": 450}
    assert_exactly_once(emulator, 450)
    assert all("reconnect attempts" in w.log(n) for n in range(3)), w.log(0)


def test_batch_init_then_status(
    workers_factory: WorkersFactory,
    dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``batch-init`` loads the inputs once; ``batch-status`` shows overall and per-worker counts
    (the commands in-process: ``main``; what a worker process adds is the tests above)."""
    w = workers_factory(50, "--no-download")
    for name in ("ODIROUTER_API_KEY", "ODIROUTER_BASE_URL"):
        monkeypatch.setenv(name, w.env[name])
    assert main(["batch-init", dsn, "nano_banana_2", str(w.inputs)]) == 0, capsys.readouterr().err
    assert "50 inputs loaded" in capsys.readouterr().err
    assert main(["batch-init", dsn, "nano_banana_2", str(w.inputs)]) == 0
    assert "0 inputs loaded" in capsys.readouterr().err
    assert states(dsn) == {"pending": 50}
    worker = ["batch", "nano_banana_2", str(w.inputs), "--out", str(w.tmp / "w0"), "--journal", dsn, "-q"]
    assert main([*worker, "--no-download"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["batch-status", dsn]) == 0, capsys.readouterr().err
    status = capsys.readouterr().out
    assert "50 done, 0 failed, 0 running, 0 uncertain, 0 pending" in status
    assert "worker " in status and "gone" in status
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM odirouter_workers WHERE NOT stopped").fetchone() == (0,)
