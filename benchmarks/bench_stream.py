"""Stream path A/B: client CPU per chunk/event of this checkout against another one, interleaved.

Run from the repository root::

    git archive HEAD~3 odirouter_async | tar -x -C /tmp/before     # any earlier version
    python -m benchmarks.bench_stream --against /tmp/before --rounds 3 --repeats 7

Without ``--against`` only this checkout is measured.  Each round runs every case once per
checkout, each in a fresh child process with its own emulator process (so neither the server's
CPU nor the other checkout's warm caches count), alternating which checkout goes first; the
machine's noise then hits both sides alike.  Reported: per case and checkout, the median of the
rounds' medians and the best run, in µs of client CPU per chunk (chat) or event (Responses), and
the ratio after/before.  Results: ``benchmarks/out/stream_ab.json``.

Cases (``x-emu-chunks``/``x-emu-per-write``): a 20 000-chunk chat stream at 50 events per write
and a 2 000-chunk one at 1 per write, each via ``create(stream=True)``, ``.stream()`` +
``text_deltas()`` and ``.stream()`` typed events; a 20 000-event Responses stream via
``create(stream=True)`` and ``.stream()`` events.  The workloads are ``bench_llm``'s and
``bench_responses_events``' own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._harness import emulator_process, save

ROOT = Path(__file__).resolve().parents[1]
CHAT_20K = {"x-emu-chunks": "20000", "x-emu-per-write": "50"}
CHAT_2K_1 = {"x-emu-chunks": "2000", "x-emu-per-write": "1"}
RESP_20K = {"x-emu-chunks": "20000", "x-emu-per-write": "50"}


async def _measure_all(url: str, key: str, repeats: int) -> dict[str, dict[str, float]]:
    """Every case once, in this process (the odirouter_async first on sys.path is measured)."""
    from .bench_llm import bench_stream as chat_stream
    from .bench_responses_events import bench_stream as responses_stream

    out: dict[str, dict[str, float]] = {}
    for label, headers in (("chat 20k x50", CHAT_20K), ("chat 2k x1", CHAT_2K_1)):
        for name, r in (await chat_stream(url, key, repeats, False, headers)).items():
            if name.startswith("ours"):
                out[f"{label}: {name[5:]}"] = r["cpu_us_per_item"]
    for name, r in (await responses_stream(url, key, repeats, RESP_20K)).items():
        out[f"responses 20k x50: {name[5:]}"] = r["cpu_us_per_item"]
    return out


def _child(code: str, repeats: int) -> dict[str, dict[str, float]]:
    """Measure the checkout at ``code`` in a child process; its JSON result."""
    env = {**os.environ, "BENCH_STREAM_CODE": code}
    args = [sys.executable, "-m", "benchmarks.bench_stream", "--child", "--repeats", str(repeats)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the table, write ``benchmarks/out/stream_ab.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--against", help="another checkout's root (holding odirouter_async/)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--repeats", type=int, default=7, help="measurements per case per round")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, os.environ["BENCH_STREAM_CODE"])
        with emulator_process() as emu:
            print(json.dumps(asyncio.run(_measure_all(emu.url, emu.api_key, args.repeats))))
        return 0
    sides = {"after": str(ROOT)}
    if args.against:
        sides["before"] = str(Path(args.against).resolve())
    runs: dict[str, list[dict[str, dict[str, float]]]] = {side: [] for side in sides}
    for i in range(args.rounds):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for side in order:
            runs[side].append(_child(sides[side], args.repeats))
    table: dict[str, Any] = {}
    for case in runs["after"][0]:
        row: dict[str, Any] = {}
        for side, results in runs.items():
            row[side] = {
                "median": statistics.median(r[case]["median"] for r in results),
                "best": min(r[case]["best"] for r in results),
            }
        if "before" in row:
            row["ratio_median"] = row["after"]["median"] / row["before"]["median"]
            row["ratio_best"] = row["after"]["best"] / row["before"]["best"]
        table[case] = row
    print(f"{'case (µs CPU per chunk/event)':44} {'before med [best]':>18} {'after med [best]':>18}  ratio")
    for case, row in table.items():
        before = row.get("before")
        b = f"{before['median']:7.2f} [{before['best']:5.2f}]" if before else ""
        a = f"{row['after']['median']:7.2f} [{row['after']['best']:5.2f}]"
        ratio = f"{row['ratio_median']:.2f} [{row['ratio_best']:.2f}]" if before else ""
        print(f"{case:44} {b:>18} {a:>18}  {ratio}")
    command = " ".join(["python -m benchmarks.bench_stream", *(argv or sys.argv[1:])])
    print(f"\nwritten {save('stream_ab', {'command': command, 'sides': sides, 'cases': table})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
