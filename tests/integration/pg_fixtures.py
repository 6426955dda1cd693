"""Fixtures of the PostgreSQL journal tests: a throwaway cluster, an emulator, worker processes.

The cluster (``tests/pg_cluster.py``) is started once per test process and every test gets its
own database; the emulator is served from a thread (its own real-time loop) and is asked for its
counters over HTTP (``GET /_emu/stats``); workers are ``python -m odirouter_async batch``
processes.  Tests skip with the reason when no PostgreSQL can be run here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg_cluster

from odirouter_async.testing import Emulator

ENDPOINT = "nano_banana_2"


@pytest.fixture(scope="session")
def pg() -> Iterator[pg_cluster.Cluster]:
    """A PostgreSQL server for this test process."""
    reason = pg_cluster.available()
    if reason is not None:
        pytest.skip(reason)
    cluster = pg_cluster.Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def dsn(pg: pg_cluster.Cluster) -> str:
    """A fresh database on the test server."""
    return pg.create_db()


class ServedEmulator:
    """The emulator served from a thread of this process on its own real-time loop (the workers
    are other processes, in real time); counters over HTTP (``GET /_emu/stats``) as any client
    would read them, and :meth:`finish_long_jobs` to script it."""

    def __init__(self, portal: BlockingPortal, emulator: Emulator) -> None:
        self._portal = portal
        self._emu = emulator
        self.url = emulator.url
        self.key = emulator.api_key

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_emu/stats") as resp:
            body: dict[str, Any] = json.loads(resp.read())
        return body

    def finish_long_jobs(self) -> None:
        """Make every job of an input marked long (:data:`LONG`) complete now."""

        def finish() -> None:
            now = time.monotonic()  # the serving loop is asyncio's own: its clock is monotonic
            for job in self._emu.jobs.values():
                if job.duration >= LONG and job.finished_at > now:
                    job.started_at = min(job.started_at, now)
                    job.finished_at = now

        self._portal.call(finish)


#: The duration of an input marked long (``Workers(..., long=range(...))``): it ends when the test says.
LONG = 1000.0


@pytest.fixture
def emulator() -> Iterator[ServedEmulator]:
    """The emulator for the worker processes: jobs of 0.5 s (+-20 %)."""
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(Emulator(job_duration=0.5, job_jitter=0.2, keep_log=False)) as e,
    ):
        yield ServedEmulator(portal, e)


def write_inputs(path: Path, n: int, long: range = range(0)) -> None:
    """``n`` distinct inputs; those in ``long`` run until the test finishes them (:data:`LONG`)."""
    rows: list[dict[str, Any]] = [{"prompt": f"image {i}", "seed": i} for i in range(n)]
    for i in long:
        rows[i]["_emu"] = {"duration": LONG}
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


class Workers:
    """``odirouter batch ... --journal DSN`` worker processes of one batch."""

    def __init__(
        self,
        emu: ServedEmulator,
        dsn: str,
        tmp: Path,
        n_inputs: int,
        *options: str,
        long: range = range(0),
    ) -> None:
        self.dsn = dsn
        self.tmp = tmp
        self.inputs = tmp / "inputs.jsonl"
        self.n_inputs = n_inputs
        write_inputs(self.inputs, n_inputs, long)
        self.options = options
        self.env = {
            **os.environ,
            "ODIROUTER_API_KEY": emu.key,
            "ODIROUTER_BASE_URL": emu.url,
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        out = self.tmp / f"w{n}"
        cmd = [sys.executable, "-m", "odirouter_async", "batch", ENDPOINT, str(self.inputs)]
        cmd += ["--out", str(out), "--journal", self.dsn, "-q", *self.options, *extra]
        with (self.tmp / f"w{n}.log").open("wb") as log:
            proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def log(self, n: int) -> str:
        return (self.tmp / f"w{n}.log").read_text()

    def finish_long_jobs(self, emu: ServedEmulator) -> None:
        """Finish the long jobs as they come until every worker has exited."""
        while any(proc.poll() is None for proc in self.procs):
            emu.finish_long_jobs()
            time.sleep(0.05)

    def wait_all(self) -> list[int]:
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(300))
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        return codes

    def results(self, n: int) -> list[dict[str, Any]]:
        path = self.tmp / f"w{n}" / "results.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers_factory(emulator: ServedEmulator, dsn: str, tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    """Makes the worker set of a test (killed at the end if still running)."""
    made: list[Workers] = []

    def make(n_inputs: int, *options: str, long: range = range(0)) -> Workers:
        w = Workers(emulator, dsn, tmp_path, n_inputs, *options, long=long)
        made.append(w)
        return w

    try:
        yield make
    finally:
        for w in made:
            w.kill_all()


def states(dsn: str) -> Counter[str]:
    """Rows by state (empty before the tables exist)."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute("SELECT state, count(*) FROM odirouter_inputs GROUP BY state").fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return Counter()
    return Counter({state: int(n) for state, n in rows})


def by_owner(dsn: str, state: str) -> Counter[str]:
    """Rows in ``state`` per owning worker (empty before the tables exist)."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT owner, count(*) FROM odirouter_inputs WHERE state = %s GROUP BY owner", (state,)
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        return Counter()
    return Counter({str(owner): int(n) for owner, n in rows})


def wait_until(what: str, condition: Callable[[], bool], procs: list[subprocess.Popen[bytes]]) -> None:
    """Poll ``condition`` (a database or emulator query) until true; fail if a worker exits first."""
    for _ in range(6000):
        if condition():
            return
        for proc in procs:
            assert proc.poll() is None, f"a worker ended before {what}"
        time.sleep(0.02)
    raise AssertionError(f"never reached: {what}")
