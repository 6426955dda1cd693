"""Shared benchmark plumbing: the emulator in its own process, CPU and memory readings, results.

The emulator runs in a separate process so the client's CPU time (``time.process_time()`` in the
benchmark process) excludes the server's work.  Results are written as JSON under
``benchmarks/out/`` and summarised in ``BENCHMARKS.md`` by hand.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


@dataclass
class RunningEmulator:
    """A started emulator process: where it listens and how to stop it."""

    url: str
    cdn_url: str
    api_key: str
    ca_cert_path: str | None
    process: subprocess.Popen[str]

    def cpu_seconds(self) -> float | None:
        """The emulator process's CPU time so far (user + system; Linux ``/proc`` only)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process(api_key: str = "bench-key", **options: Any) -> Iterator[RunningEmulator]:
    """Start ``odirouter_async.testing`` in a child process (any ``Emulator`` option as keyword)."""
    options = {"tokens_per_second": 0, "permissive": True, **options}  # full speed, any model id
    args = ["--port", "0", "--api-key", api_key]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not None and value is not False:
            args += [flag, str(value)]
    code = "import sys; from odirouter_async.testing._cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    url = cdn = ca = None
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            url = line.rsplit(" ", 1)[-1].strip()
        elif "output files" in line:
            cdn = line.rsplit(" ", 1)[-1].strip()
        elif "CA certificate" in line:
            ca = line.split(":", 1)[1].strip()
        elif line.startswith("Press Ctrl-C"):
            break
    if url is None or cdn is None:
        proc.kill()
        raise RuntimeError("the emulator process did not start")
    try:
        yield RunningEmulator(url, cdn, api_key, ca, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()


def emu_stats(emu: RunningEmulator, jobs: bool = True) -> dict[str, Any]:
    """The emulator's ``GET /_emu/stats`` (``jobs=False``: without the per-job rows)."""
    ctx = ssl.create_default_context(cafile=emu.ca_cert_path) if emu.ca_cert_path else None
    url = f"{emu.url}/_emu/stats" + ("" if jobs else "?jobs=0")
    with urllib.request.urlopen(url, context=ctx, timeout=60) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


class GCTimer:
    """Wall time spent in the cyclic garbage collector while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self.by_generation = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            spent = time.perf_counter() - self._started
            self.seconds += spent
            self.collections[info["generation"]] += 1
            self.by_generation[info["generation"]] += spent


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def save(name: str, results: dict[str, Any]) -> Path:
    """Write ``benchmarks/out/<name>.json`` and return its path."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    return path
