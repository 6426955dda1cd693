"""Warm start through the CLI: ``odirouter run`` twice, the second reading the history of the first.

Run from the repository root: ``python -m benchmarks.bench_cli_warm [--rounds N]`` (or
``python -m benchmarks.bench_queue --only cli_warm``).  Results: ``benchmarks/out/cli_warm.json``.

Each round: a fresh emulator child process (``_harness.emulator_process``; 2 s jobs, no jitter) and
a fresh, empty ``XDG_CACHE_HOME``; then ``python -m odirouter_async run flux_pro_11 --json ...``
twice as subprocesses, exactly as a user runs it (the CLI keeps its poll history under the user
cache directory by default).  Run 1 is cold (no history file), run 2 is warm (the file run 1 left).
Per run the emulator's ``GET /_emu/stats`` gives the job's requests after the submit (status,
result and cancel requests that named it) and its lag (the first answer that said done minus the
job's finish).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._harness import RunningEmulator, emu_stats, emulator_process, save

ROOT = Path(__file__).resolve().parent.parent
EP = "flux_pro_11"
HISTORY = Path("odirouter_async") / "poll-history.json"  # under XDG_CACHE_HOME


def _job_rows(emu: RunningEmulator) -> dict[str, dict[str, Any]]:
    stats = emu_stats(emu)
    rows = [dict(zip(stats["job_fields"], row, strict=True)) for row in stats["jobs"]]
    return {row["request_id"]: row for row in rows}


def cli_run(emu: RunningEmulator, cache_home: str, prompt: str) -> dict[str, Any]:
    """One ``odirouter run`` subprocess; its job's requests after the submit and its lag."""
    before = _job_rows(emu)
    env = {
        **os.environ,
        "ODIROUTER_API_KEY": emu.api_key,
        "ODIROUTER_BASE_URL": emu.url,
        "XDG_CACHE_HOME": cache_home,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "odirouter_async", "run", EP, "--json", json.dumps({"prompt": prompt})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"odirouter run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    [row] = [row for key, row in _job_rows(emu).items() if key not in before]
    return {
        "requests": row["requests"],
        "lag": row["first_seen_done_at"] - row["finished_at"],
        "history_bytes": (Path(cache_home) / HISTORY).stat().st_size
        if (Path(cache_home) / HISTORY).exists()
        else 0,
    }


def cli_warm(rounds: int) -> dict[str, Any]:
    """``rounds`` x (cold run, warm run), each round on a fresh emulator and cache directory."""
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for i in range(rounds):
        with (
            emulator_process(job_duration=2.0, job_jitter=0.0, seed=i + 1) as emu,
            tempfile.TemporaryDirectory() as cache_home,
        ):
            for kind in ("cold", "warm"):
                runs[kind].append(cli_run(emu, cache_home, f"{kind} {i}"))
    summary: dict[str, Any] = {"rounds": rounds, "runs": runs}
    for kind, samples in runs.items():
        reqs = [s["requests"] for s in samples]
        lags = [s["lag"] for s in samples]
        summary[kind] = {
            "requests_mean": statistics.fmean(reqs),
            "requests_max": max(reqs),
            "lag_p50": statistics.median(lags),
            "lag_max": max(lags),
        }
        print(
            f"odirouter run, {kind} x{rounds}: requests after submit mean {statistics.fmean(reqs):.2f} "
            f"max {max(reqs)}; lag p50 {statistics.median(lags):.3f} max {max(lags):.3f}",
            flush=True,
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the summary, write ``benchmarks/out/cli_warm.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    path = save("cli_warm", cli_warm(args.rounds))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
