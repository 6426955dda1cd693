"""Fault soak: ``client.queue.map`` with a journal against an emulator that misbehaves on purpose.

Run from the repository root::

    python -m benchmarks.soak --jobs 10000 --seed 1            # JSON summary on stdout
    python -m benchmarks.soak --jobs 300 --concurrency 64      # the size the test suite runs

The emulator serves on its own event loop in a thread, so the client's loop holds only the
client's tasks.  Jobs last 0.05-0.5 s (``--min-duration`` / ``--max-duration``).  On each of the
submit, status and response routes, faults are drawn from the emulator's seed: 503 with
probability ``--p503`` (5%), a dropped connection with probability ``--pdrop`` (1%), and a burst
of ``--burst`` consecutive 429s (``Retry-After: 1``) closing every ``--burst-every`` requests
(``--burst-first``: opening them, so the map's first requests are rate limited;
``--burst-routes``: which routes get bursts).

Checks (``ok`` is their conjunction; the exit code is 0 when ok, 1 otherwise):

- every input's outcome delivered exactly once (counted by ``index``): ``lost``, ``duplicated``;
- each delivered result is the job made from that input (``misattributed``);
- no duplicate submit: at most one gateway job per input (``duplicate_jobs``), and no submit sent
  again after a connection dropped under it (``resent_after_drop``: the gateway may have started
  that one; the SDK must not pay twice);
- no leaked asyncio task on the client's loop (``leaked_tasks``, by name) and no open connection
  (``session_closed``, ``resource_warnings``, ``server_connections_left``).

``--variant NAME`` is passed to ``Emulator(variant=NAME)`` when given (queue gateway variants).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import odirouter_async as odr
from odirouter_async.testing import Emulator

__all__ = ("EmulatorThread", "SoakConfig", "main", "run_soak")

EP = "soak_model"
FAULT_ROUTES = ("queue.submit", "queue.status", "queue.response")
_T = TypeVar("_T")


@dataclass
class SoakConfig:
    """One soak run (the CLI flags, one for one)."""

    jobs: int = 10_000
    seed: int = 1
    concurrency: int = 512
    min_duration: float = 0.05
    max_duration: float = 0.5
    p503: float = 0.05
    pdrop: float = 0.01
    burst: int = 5
    burst_every: int = 400
    burst_first: bool = False
    burst_routes: tuple[str, ...] = FAULT_ROUTES
    journal: bool = True
    variant: str | None = None


class EmulatorThread:
    """An ``Emulator`` serving on its own event loop in a daemon thread.

    ``call(fn)`` runs ``fn(emu)`` on the emulator's loop and returns its result (so the emulator's
    state is only touched from its own thread).
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="soak-emulator", daemon=True)
        self.emu: Emulator | None = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def call(self, fn: Callable[[Emulator], _T]) -> _T:
        """``fn(emu)`` on the emulator's thread."""
        assert self.emu is not None
        emu = self.emu
        done: Future[_T] = Future()

        def run() -> None:
            try:
                done.set_result(fn(emu))
            except BaseException as exc:  # handed back to the caller
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return done.result()

    def __enter__(self) -> EmulatorThread:
        self._thread.start()

        async def start() -> Emulator:
            return await Emulator(**self._options).start()

        self.emu = self._run(start())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.emu is not None:
            self._run(self.emu.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _add_faults(emu: Emulator, config: SoakConfig) -> dict[str, Any]:
    faults: dict[str, Any] = {}
    for route in FAULT_ROUTES:
        if config.burst and route in config.burst_routes:
            faults[f"{route} 429 burst"] = emu.faults.add(
                route,
                status=429,
                headers={"Retry-After": "1"},
                burst=config.burst,
                every=config.burst_every,
                offset=0 if config.burst_first else None,
                times=None,
            )
        if config.p503:
            faults[f"{route} 503"] = emu.faults.add(route, status=503, probability=config.p503, times=None)
        if config.pdrop:
            faults[f"{route} drop"] = emu.faults.add(route, drop=True, probability=config.pdrop, times=None)
    return faults


def _server_connections(emu: Emulator) -> int:
    runners = getattr(emu, "_runners", [])
    return sum(len(r.server.connections) for r in runners if r.server is not None)


def _gateway_view(emu: Emulator) -> dict[str, Any]:
    """What the emulator saw, for the checks (read on the emulator's thread)."""
    jobs_per_input = Counter(job.arguments.get("i") for job in emu.jobs.values())
    index_of_job = {rid: job.arguments.get("i") for rid, job in emu.jobs.items()}
    dropped: set[str] = set()
    resent_after_drop = 0
    for record in emu.stats.records("queue.submit"):
        key = record.request_id
        if key in dropped:
            resent_after_drop += 1
        if record.status == 0:
            dropped.add(key)
    return {
        "jobs_per_input": jobs_per_input,
        "index_of_job": index_of_job,
        "resent_after_drop": resent_after_drop,
        "requests": emu.stats.total,
        "routes": dict(emu.stats.routes),
        "statuses": {f"{route} {status}": n for (route, status), n in sorted(emu.stats.statuses.items())},
        "duplicate_submit_bodies": emu.stats.duplicate_submits,
    }


def _inputs(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"prompt": f"soak input {i}", "i": i}


async def _drive(config: SoakConfig, url: str, api_key: str, journal: Path | None) -> dict[str, Any]:
    """Run the map; count outcomes; close the client; check tasks and connections."""
    loop_tasks_before = asyncio.all_tasks()
    delivered: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    outcomes: list[tuple[int, str | None, bool]] = []
    wrong_input = 0
    client = odr.AsyncOdiRouter(api_key=api_key, base_url=url)
    session = None
    async with client:
        async with client.queue.map(
            EP, _inputs(config.jobs), concurrency=config.concurrency, journal=journal
        ) as results:
            async for done in results:
                delivered[done.index] += 1
                wrong_input += done.input["i"] != done.index
                outcomes.append((done.index, done.request_id, done.ok))
                if done.error is not None:
                    errors[type(done.error).__name__] += 1
        session = client._transport.pool.session
    for _ in range(5):  # let finished tasks be reaped
        await asyncio.sleep(0)
    current = asyncio.current_task()
    leaked = [
        t.get_name() + " " + repr(t.get_coro())[:120]
        for t in asyncio.all_tasks()
        if t not in loop_tasks_before and t is not current and not t.done()
    ]
    return {
        "delivered": delivered,
        "errors": errors,
        "outcomes": outcomes,
        "wrong_input": wrong_input,
        "leaked_tasks": leaked,
        "session_closed": session is None or session.closed,
    }


def run_soak(config: SoakConfig) -> dict[str, Any]:
    """Run one soak (blocking: the client gets a fresh event loop) and return the summary."""
    span = config.min_duration + config.max_duration
    options: dict[str, Any] = {
        "job_duration": span / 2,
        "job_jitter": (config.max_duration - config.min_duration) / span if span else 0.0,
        "seed": config.seed,
        "permissive": True,  # the soak's own endpoint id, outside the emulator's catalogue
    }
    if config.variant is not None:
        options["variant"] = config.variant
    with warnings.catch_warnings(record=True) as caught, tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("always")
        with EmulatorThread(**options) as server:
            assert server.emu is not None
            faults = server.call(lambda emu: _add_faults(emu, config))
            journal = Path(tmp) / "soak.journal" if config.journal else None
            t0 = time.monotonic()
            client_side = asyncio.run(_drive(config, server.emu.url, server.emu.api_key, journal))
            wall = time.monotonic() - t0
            open_connections = server.call(_server_connections)
            for _ in range(100):  # the server notices the client's closes a moment later
                if not open_connections:
                    break
                time.sleep(0.02)
                open_connections = server.call(_server_connections)
            gateway = server.call(_gateway_view)
            fault_hits = {name: f.hits for name, f in faults.items()}
        gc.collect()
    resource_warnings = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    delivered: Counter[int] = client_side["delivered"]
    index_of_job = gateway["index_of_job"]
    misattributed = (
        sum(1 for index, rid, ok in client_side["outcomes"] if ok and index_of_job.get(rid) != index)
        + client_side["wrong_input"]
    )
    summary = {
        "config": asdict(config),
        "tried": config.jobs,
        "delivered": len(delivered),
        "lost": config.jobs - len(delivered),
        "duplicated": sum(n - 1 for n in delivered.values() if n > 1),
        "ok_results": sum(1 for _, _, ok in client_side["outcomes"] if ok),
        "errors": dict(client_side["errors"]),
        "misattributed": misattributed,
        "duplicate_jobs": sum(n - 1 for n in gateway["jobs_per_input"].values() if n > 1),
        "resent_after_drop": gateway["resent_after_drop"],
        "duplicate_submit_bodies": gateway["duplicate_submit_bodies"],
        "faults_injected": fault_hits,
        "requests": gateway["requests"],
        "requests_per_job": round(gateway["requests"] / config.jobs, 3) if config.jobs else 0.0,
        "routes": gateway["routes"],
        "statuses": gateway["statuses"],
        "leaked_tasks": client_side["leaked_tasks"],
        "session_closed": client_side["session_closed"],
        "server_connections_left": open_connections,
        "resource_warnings": resource_warnings,
        "wall_seconds": round(wall, 2),
    }
    summary["ok"] = (
        summary["lost"] == 0
        and summary["duplicated"] == 0
        and misattributed == 0
        and summary["duplicate_jobs"] == 0
        and summary["resent_after_drop"] == 0
        and not summary["leaked_tasks"]
        and summary["session_closed"]
        and not resource_warnings
        and open_connections == 0
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.soak``: run, print the JSON summary, exit 0 when every check held."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n")[0])
    defaults = SoakConfig()
    parser.add_argument("--jobs", type=int, default=defaults.jobs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--min-duration", type=float, default=defaults.min_duration)
    parser.add_argument("--max-duration", type=float, default=defaults.max_duration)
    parser.add_argument("--p503", type=float, default=defaults.p503, help="503 probability per request")
    parser.add_argument("--pdrop", type=float, default=defaults.pdrop, help="drop probability per request")
    parser.add_argument(
        "--burst", type=int, default=defaults.burst, help="consecutive 429s per burst (0: none)"
    )
    parser.add_argument("--burst-every", type=int, default=defaults.burst_every)
    parser.add_argument(
        "--burst-first", action="store_true", help="bursts open each window (the first requests are 429s)"
    )
    parser.add_argument(
        "--burst-routes",
        type=lambda text: tuple(text.split(",")),
        default=defaults.burst_routes,
        help="comma-separated routes that get the 429 bursts (default: submit, status, response)",
    )
    parser.add_argument("--no-journal", dest="journal", action="store_false")
    parser.add_argument("--variant", default=None, help="Emulator(variant=...) when given")
    args = parser.parse_args(argv)
    summary = run_soak(SoakConfig(**vars(args)))
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
