"""Queue A/B: ``queue.map`` of this checkout against another one (and the bare loop), interleaved.

Run from the repository root::

    git worktree add /tmp/before <commit>          # a whole checkout (its benchmarks/ run its client)
    python -m benchmarks.bench_queue_ab --against /tmp/before --rounds 5 --bare

Each round runs 2 s +-25 % x ``--n`` jobs (default 10 000, all at once) once per checkout,
alternating which goes first, each client in a fresh child process on a fresh emulator process
(this checkout's emulator for both), plus the bare aiohttp loop with ``--bare``.  The machine's
noise then falls on every side alike; per side the medians of the rounds are reported: client
CPU, GC seconds, µs of client CPU per request, ms per job, requests per job, lag p50 / p99.
Results: ``benchmarks/out/queue_ab.json`` (``--name`` for another file).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from ._harness import save
from .bench_queue import ROOT, _measure

FIELDS = (
    "cpu",
    "gc_seconds",
    "cpu_us_per_request",
    "cpu_ms_per_job",
    "requests_per_job",
    "lag_p50",
    "lag_p99",
)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the medians, write ``benchmarks/out/queue_ab.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--against", help="another whole checkout (its benchmarks/ and odirouter_async/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000, help="jobs per run")
    parser.add_argument("--bare", action="store_true", help="the bare aiohttp loop too, once per round")
    parser.add_argument("--name", default="queue_ab", help="results file: benchmarks/out/NAME.json")
    args = parser.parse_args(argv)
    two = {"job_duration": 2.0, "job_jitter": 0.25, "seed": 1}
    sides: dict[str, tuple[str, Path]] = {"after": ("ours", ROOT)}
    if args.against:
        sides["before"] = ("ours", Path(args.against).resolve())
    if args.bare:
        sides["bare"] = ("bare", ROOT)
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for i in range(args.rounds):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for side in order:
            kind, root = sides[side]
            result = _measure(kind, args.n, two, root=root)
            runs[side].append({k: result.get(k) for k in (*FIELDS, "wall", "emu_cpu", "errors", "timeline")})
            shown = " ".join(
                f"{k}={result.get(k, float('nan')):.3f}" for k in FIELDS if result.get(k) is not None
            )
            print(f"round {i} {side:6} {shown}", flush=True)
    medians = {
        side: {
            k: statistics.median(r[k] for r in results if r.get(k) is not None)
            for k in FIELDS
            if any(r.get(k) is not None for r in results)
        }
        for side, results in runs.items()
    }
    print()
    for side, row in medians.items():
        print(f"median {side:6} " + " ".join(f"{k}={v:.3f}" for k, v in row.items()))
    command = " ".join(["python -m benchmarks.bench_queue_ab", *(argv if argv is not None else sys.argv[1:])])
    sides_out = {side: str(root) for side, (_, root) in sides.items()}
    path = save(args.name, {"command": command, "sides": sides_out, "runs": runs, "medians": medians})
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
