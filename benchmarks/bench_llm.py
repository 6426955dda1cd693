"""LLM call benchmarks: client CPU per streamed chunk, accumulation cost, small calls, import time.

Run from the repository root: ``python -m benchmarks.bench_llm`` (``--repeats N``, ``--skip-openai``).
The emulator runs in a child process (``_harness.emulator_process``), so ``time.process_time()``
around the client workload is the client's CPU only.  Every measurement is repeated and the
median is reported (best in brackets).  Results: ``benchmarks/out/llm.json``.

Peers, same server, same run:

* **bare aiohttp**: one ``aiohttp.ClientSession``; streams read with ``async for line in
  resp.content`` and each ``data:`` line decoded with ``msgspec.json.decode`` into a minimal chunk
  Struct (id, model, created, choices[index, delta{role, content}, finish_reason]); whole answers
  read with ``await resp.read()`` and decoded into a minimal completion Struct.  No retries,
  request ids, error mapping or SSE rules: the floor, not a like-for-like SDK.
* **openai**: openai-python ``AsyncOpenAI(base_url=emu.url + "/v1")`` with its default httpx
  transport, and with ``DefaultAioHttpClient()``.

Scenarios:

1. one 20 000-chunk chat stream (``x-emu-chunks: 20000``, ``x-emu-per-write: 50``; and 1b., 2 000
   chunks one per write, as a model streaming in real time sends them): client CPU
   per chunk; ours via ``create(stream=True)``, via ``.stream()`` + ``text_deltas()``, and via
   ``.stream()`` typed events;
2. ``.stream()`` + ``get_final_completion()`` over tool-call arguments of 100 KB, 1 MB and 4 MB
   in 64-byte fragments: CPU per chunk overall and over the first and last 10% of chunks (flat
   means O(1) per chunk); openai's ``.stream()`` at 1 MB for comparison;
3. 2000 small non-stream chat calls at concurrency 100: wall time and client CPU;
4. ``python -X importtime -c "import X"``: the sum of the self times, best of 5.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec

import odirouter_async as odr

from ._harness import emulator_process, save

MESSAGES = [{"role": "user", "content": "hello there my friend"}]
STREAM_HEADERS = {"x-emu-chunks": "20000", "x-emu-per-write": "50"}
#: Token by token: one SSE event per write, as a model streaming in real time sends them.
STREAM_HEADERS_1 = {"x-emu-chunks": "2000", "x-emu-per-write": "1"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


# -- the bare aiohttp peer's types --------------------------------------------------------------


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


# -- helpers ----------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    """Median and best of repeated measurements."""
    return {"median": statistics.median(values), "best": min(values), "runs": len(values)}


async def measure(work: Callable[[], Awaitable[int]], repeats: int) -> dict[str, Any]:
    """Client CPU per item (µs) and wall time of ``work`` (which returns its item count)."""
    cpu: list[float] = []
    wall: list[float] = []
    items = 0
    await work()  # warm-up: connections, imports, caches
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        items = await work()
        cpu.append((time.process_time() - c0) / items * 1e6)
        wall.append(time.perf_counter() - w0)
    return {"items": items, "cpu_us_per_item": summary(cpu), "wall_s": summary(wall)}


def openai_clients(url: str, key: str) -> dict[str, Callable[[], Any]]:
    """openai-python clients to compare with (empty when openai is not installed)."""
    try:
        import openai
    except ImportError:
        return {}
    clients: dict[str, Callable[[], Any]] = {
        "openai (httpx)": lambda: openai.AsyncOpenAI(base_url=url + "/v1", api_key=key)
    }
    if hasattr(openai, "DefaultAioHttpClient"):
        clients["openai (aiohttp)"] = lambda: openai.AsyncOpenAI(
            base_url=url + "/v1", api_key=key, http_client=openai.DefaultAioHttpClient()
        )
    return clients


# -- 1. one long stream ---------------------------------------------------------------------


async def bench_stream(
    url: str, key: str, repeats: int, with_openai: bool, stream_headers: dict[str, str]
) -> dict[str, Any]:
    """Client CPU per chunk of one stream shaped by ``stream_headers``."""
    out: dict[str, Any] = {}
    body = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES, "stream": True})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **stream_headers}
    async with aiohttp.ClientSession() as session:

        async def bare() -> int:
            n = 0
            async with session.post(url + "/v1/chat/completions", data=body, headers=headers) as resp:
                async for line in resp.content:
                    if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                        _CHUNK.decode(line[6:])
                        n += 1
            return n

        out["bare aiohttp"] = await measure(bare, repeats)

    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:
        completions = client.chat.completions

        async def ours_create() -> int:
            n = 0
            stream = await completions.create(
                model="gpt-4.1", messages=MESSAGES, stream=True, extra_headers=stream_headers
            )
            async for _ in stream:
                n += 1
            return n

        async def ours_text() -> int:
            n = 0
            async with completions.stream(
                model="gpt-4.1", messages=MESSAGES, extra_headers=stream_headers
            ) as s:
                async for _ in s.text_deltas():
                    n += 1
            return n + 2  # + the role chunk and the finish chunk, which carry no text

        async def ours_events() -> int:
            n = 0
            async with completions.stream(
                model="gpt-4.1", messages=MESSAGES, extra_headers=stream_headers
            ) as s:
                async for event in s:
                    n += event.type == "chunk"
            return n

        out["ours create(stream=True)"] = await measure(ours_create, repeats)
        out["ours .stream() text_deltas()"] = await measure(ours_text, repeats)
        out["ours .stream() events"] = await measure(ours_events, repeats)

    for name, make in openai_clients(url, key).items() if with_openai else ():
        async with make() as oc:

            async def openai_create(oc: Any = oc) -> int:
                n = 0
                stream = await oc.chat.completions.create(
                    model="gpt-4.1", messages=MESSAGES, stream=True, extra_headers=stream_headers
                )
                async for _ in stream:
                    n += 1
                return n

            out[name] = await measure(openai_create, max(1, repeats - 2))
    return out


# -- 2. accumulation over growing tool-call arguments -------------------------------------


async def _tool_args_run(
    open_stream: Callable[[], Any], chunks_of: Callable[[Any], Any], total: int
) -> dict[str, float]:
    """CPU per chunk: overall (request included), and over the first and last 10% of the chunks
    (counted from the first chunk, so the request setup is not in the first tenth)."""
    marks: dict[str, float] = {}
    n = 0
    tenth = total // 10
    c0 = time.process_time()
    async with open_stream() as s:
        async for _ in chunks_of(s):
            n += 1
            if n == 1:
                marks["first"] = time.process_time()
            elif n == tenth + 1:
                marks["a"] = time.process_time()
            elif n == total - tenth:
                marks["b"] = time.process_time()
        final = await s.get_final_completion()
    c1 = time.process_time()
    args = final.choices[0].message.tool_calls[0].function.arguments
    assert len(args) >= total * 60, "the stream did not carry the expected arguments"
    return {
        "chunks": n,
        "all": (c1 - c0) / n * 1e6,
        "first_10pct": (marks["a"] - marks["first"]) / tenth * 1e6,
        "last_10pct": (c1 - marks["b"]) / (n - (total - tenth)) * 1e6,
    }


async def bench_tool_args(url: str, key: str, repeats: int, with_openai: bool) -> dict[str, Any]:
    """Per-chunk accumulation cost as tool-call arguments grow (O(1) per chunk = flat)."""
    out: dict[str, Any] = {}
    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:
        for size in (100_000, 1_000_000, 4_000_000):
            headers = {"x-emu-tool-args-bytes": str(size), "x-emu-per-write": "50"}
            total = size // 64 + 4  # ~ argument fragments + role, tool-call head and finish chunks

            def open_ours(headers: dict[str, str] = headers) -> Any:
                return client.chat.completions.stream(
                    model="m", messages=MESSAGES, tools=TOOLS, extra_headers=headers
                )

            runs = [await _tool_args_run(open_ours, lambda s: s.stream, total) for _ in range(repeats)]
            out[f"ours {size // 1000} KB"] = {
                k: statistics.median(r[k] for r in runs)
                for k in ("chunks", "all", "first_10pct", "last_10pct")
            }
    if with_openai:
        try:
            import openai
        except ImportError:
            return out
        async with openai.AsyncOpenAI(base_url=url + "/v1", api_key=key) as oc:
            headers = {"x-emu-tool-args-bytes": "1000000", "x-emu-per-write": "50"}

            def open_openai() -> Any:
                return oc.chat.completions.stream(
                    model="m", messages=MESSAGES, tools=TOOLS, extra_headers=headers
                )

            async def openai_chunks(s: Any) -> Any:
                async for event in s:
                    if event.type == "chunk":
                        yield event

            out["openai .stream() 1000 KB"] = await _tool_args_run(
                open_openai, openai_chunks, 1_000_000 // 64 + 4
            )
    return out


# -- 3. many small calls ------------------------------------------------------------------------


async def bench_calls(url: str, key: str, repeats: int, with_openai: bool) -> dict[str, Any]:
    """2000 small non-stream chat calls at concurrency 100."""
    calls, concurrency = 2000, 100
    out: dict[str, Any] = {}

    async def run(one: Callable[[], Awaitable[object]]) -> int:
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await one()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return calls

    body = msgspec.json.encode({"model": "gpt-4.1", "messages": MESSAGES})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def bare_one() -> object:
            async with session.post(url + "/v1/chat/completions", data=body, headers=headers) as resp:
                return _COMPLETION.decode(await resp.read())

        out["bare aiohttp"] = await measure(lambda: run(bare_one), repeats)

    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:

        def ours_one() -> Awaitable[object]:
            return client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)

        out["ours"] = await measure(lambda: run(ours_one), repeats)

    for name, make in openai_clients(url, key).items() if with_openai else ():
        async with make() as oc:

            def openai_one(oc: Any = oc) -> Awaitable[object]:
                return oc.chat.completions.create(model="gpt-4.1", messages=MESSAGES)

            out[name] = await measure(lambda f=openai_one: run(f), max(1, repeats - 2))
    for result in out.values():
        result["cpu_ms_total"] = result["cpu_us_per_item"]["median"] * calls / 1000
    return out


# -- 4. import time -----------------------------------------------------------------------------


def import_ms(module: str, best_of: int = 5) -> float:
    """Sum of ``-X importtime`` self times for ``import module`` in a fresh interpreter (ms)."""
    times = []
    for _ in range(best_of):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        total = 0
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "self" not in line:
                total += int(line.split(":", 1)[1].split("|")[0])
        times.append(total / 1000)
    return min(times)


# -- main -----------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of the libraries compared."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("odirouter_async", "aiohttp", "msgspec", "openai", "httpx2", "httpx", "pydantic"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def print_tables(results: dict[str, Any]) -> None:
    """The human-readable summary."""
    for key, title in (
        ("stream_20k", "1. One 20 000-chunk chat stream (50 events per write): client CPU per chunk"),
        (
            "stream_2k_1_per_write",
            "1b. One 2 000-chunk chat stream (1 event per write): client CPU per chunk",
        ),
    ):
        stream = results[key]
        bare = stream["bare aiohttp"]["cpu_us_per_item"]["median"]
        print(f"\n{title}")
        print(f"   {'client':34} {'µs/chunk median [best]':>24} {'vs bare':>8}")
        for name, r in stream.items():
            cpu = r["cpu_us_per_item"]
            print(
                f"   {name:34} {cpu['median']:>13.2f} [{cpu['best']:6.2f}] {_ratio(cpu['median'], bare):>8}"
            )
    print("\n2. .stream() + get_final_completion() over tool-call arguments: CPU µs per chunk")
    print(f"   {'run':28} {'chunks':>7} {'all':>8} {'first 10%':>10} {'last 10%':>10}")
    for name, r in results["tool_args"].items():
        first, last = r["first_10pct"], r["last_10pct"]
        print(f"   {name:28} {r['chunks']:>7.0f} {r['all']:>8.2f} {first:>10.2f} {last:>10.2f}")
    calls = results["calls_2000x100"]
    bare_wall = calls["bare aiohttp"]["wall_s"]["median"]
    print("\n3. 2000 non-stream chat calls, concurrency 100")
    print(f"   {'client':20} {'wall s median':>14} {'CPU ms':>8} {'µs CPU/call':>12} {'wall vs bare':>13}")
    for name, r in calls.items():
        wall = r["wall_s"]["median"]
        print(
            f"   {name:20} {wall:>14.3f} {r['cpu_ms_total']:>8.0f} "
            f"{r['cpu_us_per_item']['median']:>12.1f} {_ratio(wall, bare_wall):>13}"
        )
    imp = results["import_ms"]
    print("\n4. Import time (sum of -X importtime self times, best of 5)")
    for name, ms in imp.items():
        print(f"   import {name:18} {ms:8.1f} ms")


def main(argv: list[str] | None = None) -> int:
    """Run every scenario, print the tables, write ``benchmarks/out/llm.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="measurements per client (median reported)")
    parser.add_argument("--skip-openai", action="store_true", help="do not run the openai-python peers")
    args = parser.parse_args(argv)
    with_openai = not args.skip_openai
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.bench_llm", *(argv or sys.argv[1:])]),
        "versions": versions(),
    }
    with emulator_process() as emu:
        results["stream_20k"] = asyncio.run(
            bench_stream(emu.url, emu.api_key, args.repeats, with_openai, STREAM_HEADERS)
        )
        results["stream_2k_1_per_write"] = asyncio.run(
            bench_stream(emu.url, emu.api_key, args.repeats, with_openai, STREAM_HEADERS_1)
        )
        results["tool_args"] = asyncio.run(bench_tool_args(emu.url, emu.api_key, 3, with_openai))
        results["calls_2000x100"] = asyncio.run(bench_calls(emu.url, emu.api_key, args.repeats, with_openai))
    modules = ["odirouter_async", "openai"] if with_openai else ["odirouter_async"]
    results["import_ms"] = {m: import_ms(m) for m in modules}
    results["elapsed_s"] = time.perf_counter() - started
    print_tables(results)
    print(f"\nwritten {save('llm', results)} in {results['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
