"""Issue #23's table in one command: ours against a bare aiohttp + msgspec loop and openai-python.

Run from the repository root (openai-python comes with the ``bench`` extra)::

    python -m benchmarks.compare                 # 5 interleaved rounds
    python -m benchmarks.compare --rounds 9      # more rounds, tighter medians
    python -m benchmarks.compare --quick         # 2 rounds of smaller workloads (~3 min)

Two emulator processes are started: one paced at ``--tokens-per-second 20`` (as a model streams)
for the concurrent short streams, one unpaced for the plain calls and the long stream (at 20
tokens/s a 20 000-chunk stream would take 17 minutes; the client's CPU per call or chunk does not
depend on the pacing).  Every measurement runs in a fresh client process (``--child``), so the
server's CPU, the other clients' imports and warm caches never count; each round runs every
workload once per client, the clients' order rotating from round to round, so the machine's noise
hits all of them alike.  The workloads:

(a) ``streams``: N concurrent chat streams of 42 chunks (``x-emu-chunks: 40`` + the role and
    finish chunks), every chunk decoded: client CPU (``time.process_time``) for all of them;
(b) in the same run, RSS per open stream: each stream waits after its first chunk until all N
    have one (a barrier, so even a client too slow to keep N streams going has them all open at
    once); (RSS when the last one arrives - RSS before the streams) / N (``/proc/self/statm``);
(c) ``calls``: N plain chat calls at concurrency 100: client CPU;
(d) ``import``: CPU time around ``import odirouter_async`` (or ``openai``) against ``import
    aiohttp, msgspec, anyio, backoff``, each in a fresh interpreter with a warm bytecode cache
    (``PYTHONPYCACHEPREFIX``, as an installed package has its ``.pyc`` files);
(e) ``long``: one 20 000-chunk stream (50 events per write): client CPU per chunk.

The bare loop is ``bench_llm``'s: one ``aiohttp.ClientSession`` (no connection limit), ``data:``
lines decoded with ``msgspec`` into minimal Structs; no retries, request ids or error mapping.
openai-python is ``AsyncOpenAI`` with its default httpx transport and retries, its pool raised
to N connections and its timeouts to 600 s (the 5 s connect limit fails thousands of connects at
once).  A child that fails (a connection error on a loaded machine) is run again, once.

Printed: per workload and client the median over rounds, the spread (min-max) and the ratios to
the bare loop and to openai-python; written: ``benchmarks/out/compare.json`` and
``benchmarks/out/compare.md`` (the markdown table for BENCHMARKS.md).
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
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from ._harness import OUT, emulator_process, machine, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("bare", "ours", "openai")
MESSAGES = [{"role": "user", "content": "hello there my friend"}]
SHORT = {"x-emu-chunks": "40"}  # + the role chunk and the finish chunk: 42 chunks
LONG = {"x-emu-chunks": "20000", "x-emu-per-write": "50"}
IMPORTS = {
    "deps": "aiohttp, msgspec, anyio, backoff",
    "ours": "odirouter_async",
    "openai": "openai",
}

# -- the clients (in the child process) ----------------------------------------------------------


async def _no_wait() -> None:
    return None


#: a stream's hook after its first chunk (``streams``: wait until all are open)
First = Callable[[], Awaitable[None]]


# -- the bare loop's types: bench_llm's minimal Structs (defined here: the bare client process
# must not import the SDK) ---------------------------------------------------------------------


class Delta(msgspec.Struct):
    role: str | None = None
    content: str | None = None


class ChunkChoice(msgspec.Struct):
    index: int = 0
    delta: Delta = msgspec.field(default_factory=Delta)
    finish_reason: str | None = None


class Chunk(msgspec.Struct):
    id: str = ""
    model: str = ""
    created: int = 0
    choices: list[ChunkChoice] = msgspec.field(default_factory=list)


class Message(msgspec.Struct):
    role: str = "assistant"
    content: str | None = None


class Choice(msgspec.Struct):
    index: int = 0
    message: Message = msgspec.field(default_factory=Message)
    finish_reason: str | None = None


class Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Completion(msgspec.Struct):
    id: str = ""
    model: str = ""
    created: int = 0
    choices: list[Choice] = msgspec.field(default_factory=list)
    usage: Usage | None = None


_CHUNK = msgspec.json.Decoder(Chunk)
_COMPLETION = msgspec.json.Decoder(Completion)


async def _client(kind: str, url: str, key: str, connections: int) -> tuple[Any, Any, Any]:
    """``(stream_one, call_one, close)`` for ``kind``: open one chat stream and count its chunks;
    make one plain call; close the client."""
    if kind == "bare":
        import aiohttp

        chunk_decoder, completion_decoder = _CHUNK, _COMPLETION
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        body_stream = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
        body_plain = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES})
        endpoint = url + "/v1/chat/completions"

        async def bare_stream(extra: dict[str, str], first: First = _no_wait) -> int:
            n = 0
            async with session.post(endpoint, data=body_stream, headers={**headers, **extra}) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                        chunk_decoder.decode(line[6:])
                        n += 1
                        if n == 1:
                            await first()
            return n

        async def bare_call() -> object:
            async with session.post(endpoint, data=body_plain, headers=headers) as resp:
                return completion_decoder.decode(await resp.read())

        return bare_stream, bare_call, session.close
    if kind == "ours":
        import odirouter_async as odr

        client = odr.AsyncOdiRouter(api_key=key, base_url=url, limits=odr.Limits(max_connections=connections))
        completions = client.chat.completions

        async def ours_stream(extra: dict[str, str], first: First = _no_wait) -> int:
            n = 0
            stream = await completions.create(
                model="gpt-4.1", messages=MESSAGES, stream=True, extra_headers=extra
            )
            async for _ in stream:
                n += 1
                if n == 1:
                    await first()
            return n

        def ours_call() -> Awaitable[object]:
            return completions.create(model="gpt-4.1", messages=MESSAGES)

        return ours_stream, ours_call, client.aclose
    import httpx
    import openai

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    oc = openai.AsyncOpenAI(
        base_url=url + "/v1",
        api_key=key,
        http_client=openai.DefaultAsyncHttpxClient(limits=limits),
        timeout=httpx.Timeout(600.0),  # its 5 s connect limit fails thousands of connects at once
    )

    async def openai_stream(extra: dict[str, str], first: First = _no_wait) -> int:
        n = 0
        stream = await oc.chat.completions.create(
            model="gpt-4.1", messages=MESSAGES, stream=True, extra_headers=extra
        )
        async for _ in stream:
            n += 1
            if n == 1:
                await first()
        return n

    def openai_call() -> Awaitable[object]:
        return oc.chat.completions.create(model="gpt-4.1", messages=MESSAGES)

    return openai_stream, openai_call, oc.close


def _rss_kb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


class _AllOpen:
    """A barrier: each stream waits after its first chunk until all ``n`` have one; the RSS is
    read when the last one arrives (all ``n`` open at once, whatever the client's speed)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.rss_kb = 0.0
        self.event = asyncio.Event()

    async def __call__(self) -> None:
        self.count += 1
        if self.count == self.n:
            self.rss_kb = _rss_kb()
            self.event.set()
        await self.event.wait()


async def child(workload: str, kind: str, url: str, key: str, n: int) -> dict[str, Any]:
    """One measurement of one client, in this (fresh) process."""
    stream_one, call_one, close = await _client(kind, url, key, max(n, 100))
    try:
        if workload == "streams":
            await asyncio.gather(*(stream_one(SHORT) for _ in range(10)))  # warm-up: imports, pool
            gc.collect()
            rss0 = _rss_kb()
            barrier = _AllOpen(n)
            c0 = time.process_time()
            counts = await asyncio.gather(*(stream_one(SHORT, barrier) for _ in range(n)))
            cpu = time.process_time() - c0
            return {
                "cpu_s": cpu,
                "chunks": sum(counts),
                "streams": n,
                "rss_per_stream_kb": (barrier.rss_kb - rss0) / n,
                "peak_rss_mb": peak_rss_mb(),
            }
        if workload == "calls":
            await asyncio.gather(*(call_one() for _ in range(10)))
            remaining = iter(range(n))

            async def worker() -> None:
                for _ in remaining:
                    await call_one()

            c0 = time.process_time()
            await asyncio.gather(*(worker() for _ in range(100)))
            return {"cpu_s": time.process_time() - c0, "calls": n}
        if workload == "long":
            await stream_one({"x-emu-chunks": "200", "x-emu-per-write": "50"})
            c0 = time.process_time()
            chunks = await stream_one(LONG)
            return {"cpu_us_per_chunk": (time.process_time() - c0) / chunks * 1e6, "chunks": chunks}
        raise ValueError(workload)
    finally:
        await close()


# -- the parent ------------------------------------------------------------------------------


def _run_child(workload: str, kind: str, url: str, key: str, n: int) -> dict[str, Any]:
    """One child run; a failed one (a connection error on a loaded machine) is run again, once."""
    args = [sys.executable, "-m", "benchmarks.compare", "--child", workload, kind, url, key, str(n)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        print(f"{workload}/{kind} failed, run again: {proc.stderr[-300:]}", file=sys.stderr)
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{workload}/{kind} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _import_ms(modules: str, env: dict[str, str]) -> float:
    code = f"import time; t = time.process_time(); import {modules}; print(time.process_time() - t)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout) * 1000


def _spread(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


#: workload -> (label, the child's result key, unit shown, scale to that unit)
TABLE = {
    "streams": ("{n} concurrent chat streams of 42 chunks, client CPU", "cpu_s", "s", 1.0),
    "rss": ("peak RSS per open stream", "rss_per_stream_kb", "KB", 1.0),
    "calls": ("{n} plain chat calls, concurrency 100, client CPU", "cpu_s", "s", 1.0),
    "import": ("`import` (fresh process, CPU; deps = aiohttp + msgspec + anyio + backoff)", "", "ms", 1.0),
    "long": ("one 20 000-chunk stream, client CPU per chunk", "cpu_us_per_chunk", "µs", 1.0),
}


def measure(
    rounds: int, n_streams: int, n_calls: int, import_runs: int, clients: tuple[str, ...]
) -> dict[str, Any]:
    """Every workload, ``rounds`` interleaved rounds; the raw values per workload and client."""
    raw: dict[str, dict[str, list[float]]] = {w: {c: [] for c in clients} for w in TABLE}
    raw["import"] = {"deps": [], **{c: [] for c in clients if c != "bare"}}
    extra: dict[str, list[Any]] = {"chunks": []}
    pyc = tempfile.mkdtemp(prefix="odr-bench-pyc-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pyc
    for modules in IMPORTS.values():  # fill the bytecode cache once
        subprocess.run([sys.executable, "-c", f"import {modules}"], env=env, capture_output=True)
    with emulator_process(tokens_per_second=20) as paced, emulator_process() as fast:
        for r in range(rounds):
            order = clients[r % len(clients) :] + clients[: r % len(clients)]
            for kind in order:
                res = _run_child("streams", kind, paced.url, paced.api_key, n_streams)
                raw["streams"][kind].append(res["cpu_s"])
                raw["rss"][kind].append(res["rss_per_stream_kb"])
                extra["chunks"].append((kind, res["chunks"]))
            for kind in order:
                raw["calls"][kind].append(_run_child("calls", kind, fast.url, fast.api_key, n_calls)["cpu_s"])
            for kind in order:
                raw["long"][kind].append(
                    _run_child("long", kind, fast.url, fast.api_key, 1)["cpu_us_per_chunk"]
                )
            for _ in range(import_runs):
                for name in ("deps", *(c for c in order if c != "bare")):
                    raw["import"][name].append(_import_ms(IMPORTS[name], env))
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return {"raw": raw, "checks": extra}


def summarize(raw: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, Any]]:
    """Median, spread and ratios per workload and client."""
    out: dict[str, dict[str, Any]] = {}
    for workload, per_client in raw.items():
        base_name = "deps" if workload == "import" else "bare"
        rows = {c: _spread(v) for c, v in per_client.items() if v}
        base = rows.get(base_name, {}).get("median")
        peer = rows.get("openai", {}).get("median")
        for row in rows.values():
            row["vs_bare"] = row["median"] / base if base else None
            row["vs_openai"] = row["median"] / peer if peer else None
        out[workload] = rows
    return out


def _fmt(row: dict[str, Any] | None, unit: str) -> str:
    if row is None:
        return "-"
    digits = 2 if unit in ("s", "µs") else 0
    return f"{row['median']:.{digits}f} {unit} ({row['min']:.{digits}f}-{row['max']:.{digits}f})"


def markdown(summary: dict[str, dict[str, Any]], n_streams: int, n_calls: int, rounds: int) -> str:
    """The table to paste into BENCHMARKS.md: medians (spread) and ratios."""
    lines = [
        f"Medians of {rounds} interleaved rounds (min-max in brackets); ratios of the medians.",
        "",
        "| work | bare aiohttp + msgspec | ours | openai-python | ours / bare | ours / openai |",
        "|---|---|---|---|---|---|",
    ]
    for workload, (label, _, unit, _) in TABLE.items():
        rows = summary[workload]
        base = rows.get("deps" if workload == "import" else "bare")
        ours = rows.get("ours")
        vs_bare = f"{ours['vs_bare']:.2f}x" if ours and ours["vs_bare"] else "-"
        vs_openai = f"{ours['vs_openai']:.2f}x" if ours and ours["vs_openai"] else "-"
        title = label.format(n=n_streams if workload in ("streams", "rss") else n_calls)
        lines.append(
            f"| {title} | {_fmt(base, unit)} | {_fmt(ours, unit)} | {_fmt(rows.get('openai'), unit)} "
            f"| {vs_bare} | {vs_openai} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments; run a child measurement or the whole comparison."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        workload, kind, url, key, n = argv[1:6]
        print(json.dumps(asyncio.run(child(workload, kind, url, key, int(n)))))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 500 streams, 500 calls")
    parser.add_argument("--streams", type=int, default=2000, help="concurrent streams (default 2000)")
    parser.add_argument("--calls", type=int, default=2000, help="plain calls (default 2000)")
    parser.add_argument("--import-runs", type=int, default=3, help="import measurements per round")
    parser.add_argument("--skip-openai", action="store_true", help="without openai-python")
    parser.add_argument("--name", default="compare", help="benchmarks/out/<name>.json and .md")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.streams, args.calls = min(args.rounds, 2), 500, 500
    clients = ("bare", "ours") if args.skip_openai else CLIENTS
    started = time.perf_counter()
    measured = measure(args.rounds, args.streams, args.calls, args.import_runs, clients)
    summary = summarize(measured["raw"])
    table = markdown(summary, args.streams, args.calls, args.rounds)
    OUT.mkdir(exist_ok=True)
    result = {
        "machine": machine(),
        "command": " ".join(["python -m benchmarks.compare", *argv]),
        "load_average": os.getloadavg(),
        "summary": summary,
        **measured,
        "elapsed_s": time.perf_counter() - started,
    }
    (OUT / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (OUT / f"{args.name}.md").write_text(table)
    print(table)
    print(f"written {OUT / args.name}.json and .md in {result['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
