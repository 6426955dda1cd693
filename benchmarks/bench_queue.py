"""Queue benchmarks: requests per job, detection lag, client CPU and memory, against peers.

Run from the repository root: ``python -m benchmarks.bench_queue`` (``--quick`` for smaller N,
``--skip-fal``, ``--only NAME[,NAME]``: 2s (= 2s1k + 2s10k), 20s, fal, limit, lone, warm,
cli_warm (``odirouter run`` twice, ``bench_cli_warm.py``), 2s10kj (10 000 through map + a journal,
concurrency 8 000) and scale100k (2s10kj, then the same with 100 000, in one session).
Results: ``benchmarks/out/queue.json`` (``queue_<names>.json`` with ``--only``).

Each scenario gets a fresh emulator in a child process (``_harness.emulator_process``), and each
client run is a fresh ``python -m benchmarks.bench_queue --child SPEC`` process, so CPU time
(``time.process_time()`` around the run) is the client's only and the peak RSS is this
scenario's.  The emulator is read afterwards through ``GET /_emu/stats``:

- **requests per job**: status + result + cancel requests that named the job (the submit is not
  counted; the poll that found a job done *is* its result fetch for ours);
- **lag**: ``first_seen_done_at - finished_at`` per job: from the job's end to the first answer
  that said it was done (for the two-step peers the result GET follows one round trip later);
- **errors**: jobs that did not end with a result on the client side.

Clients, same jobs:

- **ours**: ``client.queue.map(endpoint, inputs, concurrency=N)`` (all N submitted at once).
- **bare aiohttp**: one ``ClientSession`` (1000 connections, as ours); per job: POST, then
  ``GET status_url`` every 0.25 s until ``COMPLETED``, then ``GET response_url``; all at once.
- **fal-client 1.0.3**: ``AsyncClient.submit`` + ``handle.get()`` (status every 0.1 s, then the
  result), all at once, over TLS (``FAL_QUEUE_RUN_HOST`` + ``SSL_CERT_FILE``, ``Authorization:
  Key``); ours is run on the same TLS emulator for the side-by-side.

Scenarios: 2 s +-25% jobs x 1000 and x 10 000 (cold start), 20 s +-25% x 1000, fal side by side
(200 and 1000 x 2 s), a server poll limit of K=200/s (1000 x 2 s; poll rate over time), and
``lone`` / ``warm``: one 2 s job per client process, cold and then warm from a
``PollingOptions(history=...)`` file a first run wrote.  The requests-vs-lag curves by the
schedule's spacing are ``benchmarks/queue_sim.py``'s (``PollingOptions``' ``lag_target`` /
``lag_fraction`` are deprecated).  The machine is shared and small (2 cores): numbers are noisy,
and the emulator competes with the client for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._harness import GCTimer, RunningEmulator, emu_stats, emulator_process, save
from .bench_cli_warm import cli_warm

ROOT = Path(__file__).resolve().parent.parent
EP = "flux_pro_11"
CHILD_TIMEOUT = 600


# ----------------------------------------------------------------------------------------------
# Child side: one client run, printed as one JSON line
# ----------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def _ours(spec: dict[str, Any]) -> dict[str, Any]:
    import odirouter_async as odr
    from odirouter_async import PollingOptions
    from odirouter_async.queue.scheduler import get_scheduler

    ctx = ssl.create_default_context(cafile=spec["ca"]) if spec.get("ca") else None
    client = odr.AsyncOdiRouter(
        api_key=spec["key"], base_url=spec["url"], ssl=ctx, polling=PollingOptions(**spec.get("polling", {}))
    )
    n = spec["n"]
    rates: list[tuple[float, float, float]] = []
    errors = 0
    async with client:
        sched = get_scheduler(client)
        base_rss = _rss_mb()
        cpu0, t0 = time.process_time(), time.monotonic()

        async def sample() -> None:
            while True:
                await asyncio.sleep(0.5)
                s = sched.stats()
                rates.append((round(time.monotonic() - t0, 2), round(s.rate, 1), s.recent_rate))

        sampler = asyncio.create_task(sample())
        census: dict[str, Any] = {}

        async def take_census(at: float) -> None:  # what the collector traverses, mid-run
            await asyncio.sleep(at)
            objects = gc.get_objects()
            counts: dict[str, int] = {}
            for obj in objects:
                name = type(obj).__qualname__
                if name in ("coroutine", "function", "cell", "Context") and spec.get("census_detail"):
                    code = getattr(obj, "cr_code", None) or getattr(obj, "__code__", None)
                    name = f"{name}:{code.co_qualname}" if code is not None else name
                counts[name] = counts.get(name, 0) + 1
            census["tracked"] = len(objects)
            census["top"] = sorted(counts.items(), key=lambda kv: -kv[1])[:30]

        helpers = [sampler]
        if spec.get("census"):  # {"census": seconds}: count the live tracked objects by type then
            helpers.append(asyncio.create_task(take_census(spec["census"])))
        inputs = ({"prompt": f"job {i}"} for i in range(n))
        concurrency = spec.get("concurrency") or n
        gc_timer = GCTimer()
        if spec.get("gc_threshold"):  # an experiment: the collector's thresholds for this run
            gc.set_threshold(*spec["gc_threshold"])
        if spec.get("gc_batch"):  # what ``odirouter batch`` does for its duration (``cli/_gc.py``)
            from odirouter_async.cli._gc import BATCH_THRESHOLDS

            gc.freeze()
            gc.set_threshold(*BATCH_THRESHOLDS)
        profiler = None
        if spec.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        journal = spec.get("journal")
        async with client.queue.map(EP, inputs, concurrency=concurrency, journal=journal) as results:
            async for done in results:
                if done.error is not None:
                    errors += 1
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(spec["profile"])
        for helper in helpers:
            helper.cancel()
        stats = sched.stats()
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_base_mb": base_rss,
        "rss_peak_mb": _rss_mb(),
        "errors": errors,
        "client_polls": stats.polls,
        "client_429s": stats.rate_limited,
        "client_poll_errors": stats.errors,
        "rate_samples": rates if spec.get("sample") else None,
        "gc_seconds": gc_timer.seconds,
        "gc_collections": gc_timer.collections,
        "gc_seconds_by_generation": [round(x, 3) for x in gc_timer.by_generation],
        "census": census or None,
    }


async def _bare(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    ctx = ssl.create_default_context(cafile=spec["ca"]) if spec.get("ca") else True
    headers = {"Authorization": f"Bearer {spec['key']}"}
    n = spec["n"]
    errors = 0
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1000, ssl=ctx), headers=headers
    ) as session:
        base_rss = _rss_mb()
        cpu0, t0 = time.process_time(), time.monotonic()
        gc_timer = GCTimer()

        async def one(i: int) -> None:
            async with session.post(f"{spec['url']}/model/v1/queue/{EP}", json={"prompt": f"job {i}"}) as r:
                r.raise_for_status()
                sub = await r.json()
            while True:
                async with session.get(sub["status_url"]) as r:
                    r.raise_for_status()
                    status = await r.json()
                if status["status"] == "COMPLETED":
                    break
                await asyncio.sleep(0.25)
            async with session.get(sub["response_url"]) as r:
                r.raise_for_status()
                await r.read()

        outcomes = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
        errors = sum(isinstance(o, BaseException) for o in outcomes)
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_base_mb": base_rss,
        "rss_peak_mb": _rss_mb(),
        "errors": errors,
        "gc_seconds": gc_timer.seconds,
        "gc_collections": gc_timer.collections,
        "gc_seconds_by_generation": [round(x, 3) for x in gc_timer.by_generation],
    }


async def _fal(spec: dict[str, Any]) -> dict[str, Any]:
    import fal_client  # reads FAL_QUEUE_RUN_HOST at import: the parent set it in our environment

    client = fal_client.AsyncClient(key=spec["key"])
    n = spec["n"]
    base_rss = _rss_mb()
    cpu0, t0 = time.process_time(), time.monotonic()

    async def one(i: int) -> None:
        handle = await client.submit(EP, {"prompt": f"job {i}"})
        await handle.get()

    outcomes = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    http = await client._client
    await http.aclose()
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_base_mb": base_rss,
        "rss_peak_mb": _rss_mb(),
        "errors": len(errors),
        "first_error": repr(errors[0]) if errors else None,
    }


def child(spec_json: str) -> int:
    """Run one client (``--child``) and print its measurements as JSON."""
    spec = json.loads(spec_json)
    runner = {"ours": _ours, "bare": _bare, "fal": _fal}[spec["kind"]]
    print(json.dumps(asyncio.run(runner(spec))))
    return 0


# ----------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _run_client(
    kind: str, emu: RunningEmulator, n: int, *, root: Path = ROOT, **extra: Any
) -> dict[str, Any]:
    spec = {"kind": kind, "url": emu.url, "key": emu.api_key, "ca": emu.ca_cert_path, "n": n, **extra}
    env = dict(os.environ)
    if kind == "fal":
        host = emu.url.split("://", 1)[1]
        env.update(FAL_KEY=emu.api_key, FAL_QUEUE_RUN_HOST=f"{host}/model/v1/queue")
        if emu.ca_cert_path:
            env["SSL_CERT_FILE"] = emu.ca_cert_path
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_queue", "--child", json.dumps(spec)],
        cwd=root,  # the checkout whose client runs (``bench_queue_ab --against``)
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} client failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _measure(
    kind: str, n: int, emu_options: dict[str, Any], *, root: Path = ROOT, **extra: Any
) -> dict[str, Any]:
    """One client run on a fresh emulator: the client's readings plus the emulator's."""
    with emulator_process(**emu_options) as emu:
        emu_cpu0 = emu.cpu_seconds()
        result = _run_client(kind, emu, n, root=root, **extra)
        emu_cpu1 = emu.cpu_seconds()
        stats = emu_stats(emu)
    if emu_cpu0 is not None and emu_cpu1 is not None:
        stats["cpu"] = emu_cpu1 - emu_cpu0
    fields = stats["job_fields"]
    rows = [dict(zip(fields, row, strict=True)) for row in stats["jobs"]]
    lags = [r["first_seen_done_at"] - r["finished_at"] for r in rows if r["first_seen_done_at"] is not None]
    requests = sum(r["requests"] for r in rows)
    result.update(
        jobs=len(rows),
        requests_per_job=requests / max(1, len(rows)),
        lag_p50=_quantile(lags, 0.5),
        lag_p99=_quantile(lags, 0.99),
        lag_max=max(lags, default=float("nan")),
        unseen=len(rows) - len(lags),
        server_429=stats["rate_limited"],
        server_5xx=sum(v for k, v in stats["statuses"].items() if int(k.rsplit(" ", 1)[1]) >= 500),
        cpu_ms_per_job=1000 * result["cpu"] / max(1, n),
        cpu_us_per_request=1e6 * result["cpu"] / max(1, requests + n),
        emu_cpu=stats.get("cpu"),
    )
    if rows:  # per second since the first submit: jobs created, jobs finished, their lag p50
        first = min(r["created_at"] for r in rows)
        created: dict[int, int] = {}
        finished: dict[int, list[float]] = {}
        for r in rows:
            c = int(r["created_at"] - first)
            created[c] = created.get(c, 0) + 1
            if r["first_seen_done_at"] is not None:
                lag = r["first_seen_done_at"] - r["finished_at"]
                finished.setdefault(int(r["finished_at"] - first), []).append(lag)
        last = max([*created, *finished])
        result["timeline"] = [
            {
                "t": t,
                "created": created.get(t, 0),
                "finished": len(finished.get(t, [])),
                "lag_p50": round(_quantile(finished[t], 0.5), 3) if t in finished else None,
            }
            for t in range(last + 1)
        ]
    limit = emu_options.get("poll_rate_limit")
    if limit:  # the floor: an oracle polls each job once, in finish order, at most K per second
        seen, floor_lags = -float("inf"), []
        for finish in sorted(r["finished_at"] for r in rows):
            seen = max(finish, seen + 1.0 / limit)
            floor_lags.append(seen - finish)
        result["lag_floor_p50"] = statistics.median(floor_lags)
    if extra.get("sample"):
        polls = {int(k): v for k, v in stats["poll_seconds"].items()}
        limited = {int(k): v for k, v in stats["limited_seconds"].items()}
        if polls:
            first, last = min(polls), max(polls)
            result["per_second"] = [
                {
                    "t": s - first,
                    "polls": polls.get(s, 0),
                    "accepted": polls.get(s, 0) - limited.get(s, 0),
                    "429": limited.get(s, 0),
                }
                for s in range(first, last + 1)
            ]
    return result


ROW = (
    "{name:<34} {jobs:>6} {rpj:>8} {p50:>8} {p99:>8} {lmax:>8} {wall:>7} {cpu:>7} {cpuj:>8} {rss:>7} {err:>4}"
)


def _row(name: str, r: dict[str, Any]) -> str:
    return ROW.format(
        name=name,
        jobs=r["jobs"],
        rpj=f"{r['requests_per_job']:.2f}",
        p50=f"{r['lag_p50']:.3f}",
        p99=f"{r['lag_p99']:.3f}",
        lmax=f"{r['lag_max']:.3f}",
        wall=f"{r['wall']:.1f}",
        cpu=f"{r['cpu']:.2f}",
        cpuj=f"{r['cpu_ms_per_job']:.3f}",
        rss=f"{r['rss_peak_mb']:.0f}",
        err=r["errors"],
    )


HEADER = ROW.format(
    name="scenario / client",
    jobs="jobs",
    rpj="req/job",
    p50="lag p50",
    p99="lag p99",
    lmax="lag max",
    wall="wall s",
    cpu="cpu s",
    cpuj="cpu ms/j",
    rss="rss MB",
    err="err",
)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios, print the tables, write ``benchmarks/out/queue.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller N (a smoke run)")
    parser.add_argument("--skip-fal", action="store_true", help="do not run fal-client")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    quick = args.quick
    only = {s for s in args.only.split(",") if s}
    big = 2000 if quick else 10_000
    mid = 300 if quick else 1000
    two = {"job_duration": 2.0, "job_jitter": 0.25, "seed": 1}
    results: dict[str, Any] = {"command": "python -m benchmarks.bench_queue" + (" --quick" if quick else "")}
    rows: list[tuple[str, dict[str, Any]]] = []
    started = time.monotonic()

    def want(name: str) -> bool:
        return not only or name in only

    def record(group: str, name: str, result: dict[str, Any]) -> None:
        results.setdefault(group, {})[name] = result
        rows.append((f"{group}: {name}", result))
        print(_row(f"{group}: {name}", result), flush=True)

    print(HEADER, flush=True)
    for n, name in ((mid, "2s1k"), (big, "2s10k")):
        if want("2s") or want(name):
            record(f"2s x {n}", "ours", _measure("ours", n, two))
            record(f"2s x {n}", "bare aiohttp 0.25s", _measure("bare", n, two))
    if want("20s"):
        twenty = {**two, "job_duration": 20.0}
        record(f"20s x {mid}", "ours", _measure("ours", mid, twenty))
        if not quick:
            record(f"20s x {mid}", "bare aiohttp 0.25s", _measure("bare", mid, twenty))
    if want("fal") and not args.skip_fal:
        tls = {**two, "tls": True, "accept_key_scheme": True}
        for n in (200,) if quick else (200, 1000):
            record(f"tls 2s x {n}", "ours", _measure("ours", n, tls))
            record(f"tls 2s x {n}", "fal-client 1.0.3", _measure("fal", n, tls))
    if want("limit"):
        k = 200
        limited = _measure("ours", mid, {**two, "poll_rate_limit": k}, sample=True)
        record(f"K={k}/s 2s x {mid}", "ours", limited)
        series = limited.get("per_second") or []
        first_429 = next((p["t"] for p in series if p["429"]), None)
        steady = [p["accepted"] for p in series[:-2] if first_429 is not None and p["t"] >= first_429 + 3]
        limited["steady_accepted_per_s"] = statistics.fmean(steady) if steady else None
        print(f"    K={k}: polls/s over time (accepted/429): ", end="")
        print(" ".join(f"{p['accepted']}/{p['429']}" for p in series))
        print(f"    client's allowed rate over time: {[r[1] for r in limited['rate_samples'] or []]}")
        capped = _measure("ours", mid, {**two, "poll_rate_limit": k}, polling={"max_rate": k})
        record(f"K={k}/s 2s x {mid}", "ours max_rate=200", capped)
        for name, r in (("ours", limited), ("ours max_rate=200", capped)):
            share = 100 * r["server_429"] / max(1, r["requests_per_job"] * r["jobs"])
            r["share_429_pct"] = share
            floor = r.get("lag_floor_p50") or float("nan")
            print(
                f"    {name}: 429s {r['server_429']} = {share:.1f}% of polls; lag p50 {r['lag_p50']:.3f} = "
                f"{r['lag_p50'] / floor:.2f}x the floor {floor:.3f} the limit imposes"
            )
    if want("lone") or want("warm"):
        # a LONE job per client process (queue.run-like), cold vs. warm from a history file
        runs = 5 if quick else 20
        exact = {**two, "job_jitter": 0.0}
        lone: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp:
            history = str(Path(tmp) / "poll-history.json")
            for kind in ("cold", "warm"):
                if not want("lone") and kind == "cold":
                    continue
                samples = []
                for i in range(runs):
                    polling: dict[str, Any] = {"seed": 1000 + i}
                    if kind == "warm":
                        polling["history"] = history
                        if i == 0 and not Path(history).exists():  # one cold run writes the history
                            _measure("ours", 1, exact, polling=polling)
                    samples.append(_measure("ours", 1, {**exact, "seed": i + 1}, polling=polling))
                lags = [r["lag_p50"] for r in samples]
                reqs = [r["requests_per_job"] for r in samples]
                lone[kind] = {"runs": runs, "requests": reqs, "lags": lags}
                print(
                    f"lone 2 s job, {kind} x{runs}: requests mean {statistics.fmean(reqs):.2f} "
                    f"max {max(reqs):.0f}; lag p50 {statistics.median(lags):.3f} max {max(lags):.3f}",
                    flush=True,
                )
        results["lone_2s"] = lone
    if want("2s10kj") or want("scale100k"):  # map + a journal, one process: 10 000 (then 100 000)
        for n in [big] + ([20_000 if quick else 100_000] if want("scale100k") else []):
            with tempfile.TemporaryDirectory() as tmp:
                journal = str(Path(tmp) / "scale.journal")
                r = _measure("ours", n, two, concurrency=8000, journal=journal)
                r["journal_mb"] = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
            record(f"scale 2s x {n} map+journal c=8000", "ours", r)
            emu_cpu = r.get("emu_cpu") or float("nan")
            print(f"    journal file {r['journal_mb']:.1f} MB; emulator CPU {emu_cpu:.1f} s", flush=True)
    if want("cli_warm"):
        results["cli_warm"] = cli_warm(2 if quick else 10)
    checks = results.setdefault("checks", {})
    bare_name = "bare aiohttp 0.25s"
    for group, by_client in list(results.items()):
        if not isinstance(by_client, dict) or "ours" not in by_client or bare_name not in by_client:
            continue
        ours, bare = by_client["ours"], by_client[bare_name]
        checks[group] = {"cpu_ours_over_bare": ours["cpu"] / bare["cpu"]}
        print(f"{group}: client CPU ours / bare aiohttp = {ours['cpu'] / bare['cpu']:.2f}")
    results["elapsed_s"] = time.monotonic() - started
    path = save("queue_" + "_".join(sorted(only)) if only else "queue", results)  # --only: its own file
    print(f"\nwrote {path} in {results['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
