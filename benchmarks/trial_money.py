"""Repeated trial of the batch user's money (#19), against the emulator: RELIABILITY.md's counts.

``python -m benchmarks.trial_money [--runs 20] [--inputs 100]``

- *interrupt*: a journaled ``queue.map`` of ``--inputs`` jobs (0.2-0.6 s each, concurrency 16) is
  left after 30 % of its outcomes -- by a cancel scope (Ctrl-C), an exception, or ``break``, in
  turn -- then resumed with the same call; counted: jobs created per input (paid), remote cancels.
- *credit*: credit for 40 % of the inputs, the map halts (``BatchHalted``); a top-up, the same
  call; counted: paid twice, failed outcomes, refused submits (at most ``concurrency``).

Prints one JSON object with the totals.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

import odirouter_async as odr
from odirouter_async.testing import Emulator

EP = "nano_banana_2"
CONCURRENCY = 16


def _inputs(n: int) -> list[dict[str, Any]]:
    return [{"prompt": f"p {i}", "_emu": {"duration": 0.2 + (i % 5) * 0.1}} for i in range(n)]


def _paid(emu: Emulator) -> Counter[str]:
    return Counter(str(job.arguments["prompt"]) for job in emu.jobs.values())


async def _interrupted(run: int, n: int, path: Path) -> dict[str, int]:
    how = ("cancel", "exception", "break")[run % 3]
    inputs = _inputs(n)
    async with (
        Emulator(job_duration=0.2) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c,
    ):
        taken = 0
        with anyio.CancelScope() as scope:
            try:
                async with c.queue.map(EP, inputs, concurrency=CONCURRENCY, journal=path) as results:
                    async for _ in results:
                        taken += 1
                        if taken == n * 3 // 10:
                            if how == "break":
                                break
                            if how == "exception":
                                raise KeyboardInterrupt
                            scope.cancel()
            except KeyboardInterrupt:
                pass
        async with c.queue.map(EP, inputs, concurrency=CONCURRENCY, journal=path) as results:
            outcomes = [o async for o in results]
        paid = _paid(emu)
        return {
            "submits": emu.stats.count("queue.submit"),
            "paid_twice": sum(1 for v in paid.values() if v > 1),
            "unpaid": n - len(paid),
            "cancels": emu.stats.count("queue.cancel"),
            "failed": sum(1 for o in outcomes if not o.ok),
        }


async def _credit(n: int, path: Path) -> dict[str, int]:
    inputs = _inputs(n)
    async with (
        Emulator(job_duration=0.2) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c,
    ):
        emu.queue_credit = n * 4 // 10
        halted = 0
        try:
            async with c.queue.map(EP, inputs, concurrency=CONCURRENCY, journal=path) as results:
                async for _ in results:
                    pass
        except odr.BatchHalted:
            halted = 1
        refused = emu.stats.count("queue.submit", 403)
        emu.queue_credit = None
        async with c.queue.map(EP, inputs, concurrency=CONCURRENCY, journal=path) as results:
            outcomes = [o async for o in results]
        paid = _paid(emu)
        return {
            "halted": halted,
            "refused": refused,
            "paid_twice": sum(1 for v in paid.values() if v > 1),
            "results": sum(1 for o in outcomes if o.ok),
            "failed": sum(1 for o in outcomes if not o.ok),
        }


async def _main(runs: int, n: int) -> dict[str, Any]:
    interrupt: Counter[str] = Counter()
    credit: Counter[str] = Counter()
    max_refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            interrupt.update(await _interrupted(run, n, Path(tmp) / f"i{run}.sqlite"))
            got = await _credit(n, Path(tmp) / f"c{run}.sqlite")
            max_refused = max(max_refused, got["refused"])
            credit.update(got)
    return {
        "runs": runs,
        "inputs": n,
        "concurrency": CONCURRENCY,
        "interrupt": dict(interrupt),
        "credit": dict(credit),
        "credit_max_refused_per_run": max_refused,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--inputs", type=int, default=100)
    a = p.parse_args()
    print(json.dumps(anyio.run(_main, a.runs, a.inputs), indent=2))


if __name__ == "__main__":
    main()
