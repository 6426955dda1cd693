"""Short streams and plain calls: client CPU of ours against the bare aiohttp + msgspec loop.

Run from the repository root::

    python -m benchmarks.bench_short_streams --rounds 5                  # ours / bare
    git worktree add /tmp/before <commit>                                # or any earlier checkout
    python -m benchmarks.bench_short_streams --rounds 5 --against /tmp/before

One emulator process (``--tokens-per-second 20``, as issue #23 measures); every measurement runs
in a fresh client process (so the emulator's CPU and the other side's warm caches never count),
and each round runs every side once per workload, alternating the order, so a shared machine's
noise falls on all sides alike.  Reported per workload and side: the median of the rounds and
their spread (min-max), in ms of client CPU (``time.process_time()`` around the workload, after a
warm-up call; the child's garbage collections per generation and the time spent in them are
reported too, from ``gc.callbacks``), the ratio of the medians to the bare loop (and to
``--against``) and the median of the per-round ratios to the bare loop ("paired": the rounds'
noise cancels).

Workloads:

* ``streams``: 2 000 concurrent chat streams (``create(stream=True)``, iterated to the end; the
  emulator's default answer, ~42 chunks, paced at 20 tokens/s);
* ``calls``: 2 000 plain chat calls (``create()``), 100 at a time.

The bare loop (``bench_llm``'s): one ``aiohttp.ClientSession`` (``TCPConnector(limit=1000)``, as
our default ``Limits``), ``session.post`` with the body pre-encoded, stream lines read with
``async for line in resp.content`` and each ``data:`` line decoded into a minimal chunk Struct;
whole answers read with ``resp.read()`` and decoded into a minimal completion Struct.  No retries,
request ids, error mapping or SSE rules: the floor.  Results: ``benchmarks/out/short_streams.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
N = 2000
CONCURRENCY = 100
MESSAGES = [{"role": "user", "content": "hello there my friend"}]
WORKLOADS = ("streams", "calls")


# The bare loop's minimal Structs (``bench_llm``'s; not imported from there: it imports the SDK).
class _Delta(msgspec.Struct):
    role: str | None = None
    content: str | None = None


class _ChunkChoice(msgspec.Struct):
    index: int = 0
    delta: _Delta = msgspec.field(default_factory=_Delta)
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    id: str = ""
    model: str = ""
    created: int = 0
    choices: list[_ChunkChoice] = msgspec.field(default_factory=list)


class _Message(msgspec.Struct):
    role: str = "assistant"
    content: str | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    message: _Message = msgspec.field(default_factory=_Message)
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class _Completion(msgspec.Struct):
    id: str = ""
    model: str = ""
    created: int = 0
    choices: list[_Choice] = msgspec.field(default_factory=list)
    usage: _Usage | None = None


_CHUNK = msgspec.json.Decoder(_Chunk)
_COMPLETION = msgspec.json.Decoder(_Completion)


async def _bare(url: str, key: str, what: str, n: int) -> tuple[float, int]:
    import aiohttp

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    stream_body = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
    call_body = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES})
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)) as session:

        async def stream() -> int:
            count = 0
            async with session.post(url + "/v1/chat/completions", data=stream_body, headers=headers) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                        _CHUNK.decode(line[6:])
                        count += 1
            return count

        async def call() -> int:
            async with session.post(url + "/v1/chat/completions", data=call_body, headers=headers) as resp:
                _COMPLETION.decode(await resp.read())
            return 1

        return await _run(stream if what == "streams" else call, what, n)


async def _ours(url: str, key: str, what: str, n: int) -> tuple[float, int]:
    import odirouter_async as odr

    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:
        completions = client.chat.completions

        async def stream() -> int:
            count = 0
            s = await completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
            async for _ in s:
                count += 1
            return count

        async def call() -> int:
            await completions.create(model="gpt-4.1", messages=MESSAGES)
            return 1

        return await _run(stream if what == "streams" else call, what, n)


async def _run(one: Any, what: str, n: int) -> tuple[float, int]:
    """``(client CPU seconds, items)`` of ``n`` calls of ``one``: all at once for streams, else
    ``CONCURRENCY`` workers; after one warm-up call."""
    await one()
    gc.callbacks.append(_gc_callback)
    started = time.process_time()
    if what == "streams":
        counts = await asyncio.gather(*(one() for _ in range(n)))
    else:
        remaining = iter(range(n))

        async def worker() -> int:
            return sum([await one() for _ in remaining])

        counts = await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    cpu = time.process_time() - started
    gc.callbacks.remove(_gc_callback)
    return cpu, sum(counts)


#: the child's garbage collections during the workload: count per generation, seconds in all
_GC: dict[str, Any] = {"collections": [0, 0, 0], "seconds": 0.0, "started": 0.0}


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC["collections"][info["generation"]] += 1
        _GC["started"] = time.perf_counter()
    else:
        _GC["seconds"] += time.perf_counter() - _GC["started"]


def _child(side: str, code: str | None, url: str, key: str, what: str, n: int) -> dict[str, float]:
    env = dict(os.environ)
    if code is not None:
        env["BENCH_SHORT_CODE"] = code
    args = [sys.executable, "-m", "benchmarks.bench_short_streams", "--child", side, what, url, key, str(n)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{side} {what} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the table, write ``benchmarks/out/short_streams.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--n", type=int, default=N, help="streams / calls per measurement")
    parser.add_argument("--against", help="another checkout's root (holding odirouter_async/)")
    parser.add_argument("--only", choices=WORKLOADS, help="one workload")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        side, what, url, key, n = args.child
        if "BENCH_SHORT_CODE" in os.environ:
            sys.path.insert(0, os.environ["BENCH_SHORT_CODE"])
        run = _bare if side == "bare" else _ours
        cpu, items = asyncio.run(run(url, key, what, int(n)))
        print(json.dumps({"cpu_s": cpu, "items": items, "gc": _GC["collections"], "gc_s": _GC["seconds"]}))
        return 0

    from ._harness import emulator_process, save

    sides: dict[str, str | None] = {"bare": None, "ours": str(ROOT)}
    if args.against:
        sides["before"] = str(Path(args.against).resolve())
    workloads = (args.only,) if args.only else WORKLOADS
    runs: dict[str, dict[str, list[float]]] = {w: {s: [] for s in sides} for w in workloads}
    gcs: dict[str, dict[str, list[tuple[list[int], float]]]] = {w: {s: [] for s in sides} for w in workloads}
    with emulator_process(tokens_per_second=20) as emu:
        for i in range(args.rounds):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for what in workloads:
                for side in order:
                    r = _child(
                        "bare" if side == "bare" else "ours", sides[side], emu.url, emu.api_key, what, args.n
                    )
                    runs[what][side].append(r["cpu_s"] * 1000)
                    gcs[what][side].append((r.get("gc", [0, 0, 0]), r.get("gc_s", 0.0) * 1000))
                    print(f"round {i + 1} {what:8} {side:7} {r['cpu_s'] * 1000:8.1f} ms ({r['items']} items)")
    table: dict[str, Any] = {}
    print(f"\n{'workload':10} {'side':8} {'median ms':>10} {'spread':>17}  vs bare  paired  vs before")
    for what, by_side in runs.items():
        med = {side: statistics.median(values) for side, values in by_side.items()}
        for side, values in by_side.items():
            vs_bare = med[side] / med["bare"]
            vs_before = med[side] / med["before"] if "before" in med else None
            paired = statistics.median(v / b for v, b in zip(values, by_side["bare"], strict=True))
            gen = [statistics.median(c[g] for c, _ in gcs[what][side]) for g in range(3)]
            gc_ms = statistics.median(ms for _, ms in gcs[what][side])
            table.setdefault(what, {})[side] = {
                "median_ms": med[side],
                "gc_collections": gen,
                "gc_ms": gc_ms,
                "paired_vs_bare": paired,
                "min_ms": min(values),
                "max_ms": max(values),
                "runs_ms": values,
                "vs_bare": vs_bare,
                "vs_before": vs_before,
            }
            spread = f"{min(values):7.1f}-{max(values):7.1f}"
            before = f"{vs_before:.3f}x" if vs_before is not None else ""
            ratios = f"{vs_bare:.3f}x  {paired:.3f}x  {before}"
            print(f"{what:10} {side:8} {med[side]:10.1f} {spread:>17}  {ratios}")
            print(f"{'':10} {'':8} gc collections per generation {gen}, {gc_ms:.1f} ms in gc (medians)")
    command = " ".join(["python -m benchmarks.bench_short_streams", *(argv or sys.argv[1:])])
    print(f"\nwritten {save('short_streams', {'command': command, 'sides': sides, 'results': table})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
