"""300 cold jobs of 20 s +-25 % on the emulator, over emulator seeds, interleaved against another checkout.

The emulator's ``seed`` fixes the jobs' durations, so ``bench_queue --only 20s`` (seed 1) shows one
draw only; issue #23's scatter (the same workload, two outcomes) shows across seeds.  Each run is a
fresh client process on a fresh emulator process (``bench_queue._measure``)::

    python -m benchmarks.bench_queue_cold --against /tmp/perf-base --seeds 2-7

Results: ``benchmarks/out/queue_cold.json``; one line per run (requests per job, lag p50 / p99,
client CPU seconds).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .bench_queue import ROOT, _measure


def main() -> None:
    """Run the rounds and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--against", help="another checkout to run interleaved (e.g. main)")
    parser.add_argument("--seeds", default="2-7", help="emulator seeds, 'A-B'")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--jitter", type=float, default=0.25)
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    sides = [("this", ROOT)] + ([("against", Path(args.against).resolve())] if args.against else [])
    out = []
    for seed in range(int(first), int(last or first) + 1):
        for side, root in sides:
            os.environ["PYTHONPATH"] = str(root)  # the client process imports that checkout
            emu = {"job_duration": args.duration, "job_jitter": args.jitter, "seed": seed}
            res = _measure("ours", args.jobs, emu, root=root)
            row = {
                "seed": seed,
                "side": side,
                **{k: res[k] for k in ("requests_per_job", "lag_p50", "lag_p99", "cpu")},
            }
            out.append(row)
            print(
                f"seed {seed} {side:<8} req/job {row['requests_per_job']:.2f} lag p50 {row['lag_p50']:.3f} "
                f"p99 {row['lag_p99']:.3f} cpu {row['cpu']:.2f}",
                flush=True,
            )
    path = ROOT / "benchmarks" / "out" / "queue_cold.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
