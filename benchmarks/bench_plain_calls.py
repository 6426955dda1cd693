"""Client CPU per plain call (``models.list``) against an emulator in another process.

    odirouter emulator --port 18777 &
    BENCH_PATH=<checkout> python benchmarks/bench_plain_calls.py http://127.0.0.1:18777 3000

Prints microseconds of this process's CPU per call (concurrency 100), for the checkout named by
``BENCH_PATH``; run two checkouts alternately for an A/B.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

sys.path.insert(0, os.environ.get("BENCH_PATH", os.getcwd()))
import odirouter_async as odr


async def run(url: str, n: int, concurrency: int) -> float:
    """CPU microseconds per call over ``n`` calls, after one warm-up call."""
    key = os.environ.get("ODIROUTER_API_KEY", "emu-test-key")
    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:
        await client.models.list()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await client.models.list()

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return (time.process_time() - started) / n * 1e6


if __name__ == "__main__":
    print(f"{asyncio.run(run(sys.argv[1], int(sys.argv[2]), 100)):.1f}")
