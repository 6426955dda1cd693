"""Fixtures of the PostgreSQL journal tests: a throwaway cluster, an emulator process, workers.

The cluster (``tests/pg_cluster.py``) is started once per test process and every test gets its
own database; the emulator runs in its own process (``odirouter emulator``) and is asked for its
counters over HTTP (``GET /_emu/stats``); workers are ``python -m odirouter_async batch``
processes.  Tests skip with the reason when no PostgreSQL can be run here.
"""

from __future__ import annotations

import json
import os
import signal
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg_cluster

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


class EmulatorProcess:
    """``odirouter emulator`` in a child process."""

    def __init__(self, tmp: Path, *options: str) -> None:
        self.log = tmp / "emulator.log"
        cmd = [sys.executable, "-m", "odirouter_async", "emulator", "--port", "0", *options]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
        )
        assert self.proc.stdout is not None
        self.url = self.key = ""
        for line in self.proc.stdout:
            if "listening on" in line:
                self.url = line.split("listening on", 1)[1].strip()
            if "api key:" in line:
                self.key = line.split("api key:", 1)[1].strip()
            if "Press Ctrl-C" in line:
                break
        assert self.url and self.key, "the emulator did not start"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_emu/stats") as resp:
            body: dict[str, Any] = json.loads(resp.read())
        return body

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """The emulator in its own process: jobs of 0.5 s (+-20 %)."""
    emu = EmulatorProcess(tmp_path, "--job-duration", "0.5", "--job-jitter", "0.2")
    try:
        yield emu
    finally:
        emu.stop()


def write_inputs(path: Path, n: int) -> None:
    path.write_text("".join(json.dumps({"prompt": f"image {i}", "seed": i}) + "\n" for i in range(n)))


class Workers:
    """``odirouter batch ... --journal DSN`` worker processes of one batch."""

    def __init__(self, emu: EmulatorProcess, dsn: str, tmp: Path, n_inputs: int, *options: str) -> None:
        self.dsn = dsn
        self.tmp = tmp
        self.inputs = tmp / "inputs.jsonl"
        self.n_inputs = n_inputs
        write_inputs(self.inputs, n_inputs)
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
def workers_factory(emulator: EmulatorProcess, dsn: str, tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    """Makes the worker set of a test (killed at the end if still running)."""
    made: list[Workers] = []

    def make(n_inputs: int, *options: str) -> Workers:
        w = Workers(emulator, dsn, tmp_path, n_inputs, *options)
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
    """Rows in ``state`` per owning worker."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT owner, count(*) FROM odirouter_inputs WHERE state = %s GROUP BY owner", (state,)
        ).fetchall()
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
