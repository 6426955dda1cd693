"""What the batch journal costs: event-loop CPU per job and wall time per 10 000 jobs.

``python -m benchmarks.bench_journal [--jobs N] [--dir DIR]``

Each simulated job does what ``map`` with ``JournalHooks`` does: ``await record_intents`` (durable,
group-committed), ``record_submitted`` and ``record_outcome`` (queued).  The event-loop thread's
CPU time (``time.thread_time``) is compared with the same loop without a journal, so the figure is
the journal's own cost on the loop; the sqlite work happens on the journal's worker thread.
Concurrency 1 is the worst case (every intent pays its own fsync); 256 is a typical map window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from odirouter_async.batch.journal import Journal

_RESULT = b'{"request_id":"mmsu_x","outputs":[{"url":"https://cdn.example/x.png","file_size":2048}]}'


async def _jobs(n: int, concurrency: int, journal: Journal | None) -> tuple[float, float]:
    sem = asyncio.Semaphore(concurrency)

    async def job(i: int) -> None:
        async with sem:
            args = {"prompt": f"image {i}", "seed": i}
            digest = Journal.hash_arguments(args)
            key = Journal.keys_for([args])[0]
            if journal is not None:
                await journal.record_intents([(key, i, digest)])
                journal.record_submitted(key, f"mmsu_{i}", "https://s", "https://r", "https://c")
            else:
                await asyncio.sleep(0)
            await asyncio.sleep(0)  # the job runs
            if journal is not None:
                journal.record_outcome(key, True, _RESULT)

    cpu, wall = time.thread_time(), time.perf_counter()
    await asyncio.gather(*(job(i) for i in range(n)))
    if journal is not None:
        await journal.flush()
    return time.thread_time() - cpu, time.perf_counter() - wall


async def measure(directory: Path, n: int, concurrency: int) -> dict[str, float]:
    base_cpu, _ = await _jobs(n, concurrency, None)
    path = directory / f"bench-{concurrency}.sqlite"
    async with await Journal.open(path, endpoint="bench") as journal:
        cpu, wall = await _jobs(n, concurrency, journal)
        stats = journal.stats
    return {
        "jobs": n,
        "concurrency": concurrency,
        "loop_us_per_job": round((cpu - base_cpu) / n * 1e6, 2),
        "wall_s": round(wall, 3),
        "wall_s_per_10k": round(wall / n * 10_000, 3),
        "commits": stats["commits"],
        "fsynced_commits": stats["synced_commits"],
        "worker_us_per_job": round(stats["thread_seconds"] / n * 1e6, 2),
        "file_kib": round(path.stat().st_size / 1024),
    }


async def main_async(n: int, directory: Path) -> list[dict[str, float]]:
    return [await measure(directory, n if c > 1 else min(n, 2000), c) for c in (256, 32, 1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--dir", type=Path, help="where the journal files go (default: a temporary dir)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = asyncio.run(main_async(args.jobs, Path(tmp)))
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
