"""Peak client memory against two hostile servers, with the default ``Limits``.

``sse``: one chat-stream event made of ``data: xy`` lines without end (the event bound must fire
before the line overhead fills memory).  ``gzip``: ``GET /v1/models`` answered by ~1 MiB of gzip
that inflates to 1 GiB (the body cap must stop the reading).  The server runs in a child process
so the peak RSS (``ru_maxrss``) is the client's alone.

    python -m benchmarks.bench_hostile_memory sse
    python -m benchmarks.bench_hostile_memory gzip
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MiB = 1 << 20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def _serve(case: str) -> None:
    from aiohttp import web
    from hostile_http import WebServer, endless_sse, gzip_bomb, serve

    bomb = gzip_bomb(1024 * MiB) if case == "gzip" else b""

    async def handler(request: web.Request, state: WebServer) -> web.StreamResponse:
        if case == "sse":
            return await endless_sse(request, state, b"data: xy\n", limit=4096 * MiB)
        return web.Response(body=bomb, content_type="application/json", headers={"Content-Encoding": "gzip"})

    async with serve(handler) as server:
        print(json.dumps({"url": server.url, "gzip_bytes": len(bomb)}), flush=True)
        await asyncio.Event().wait()


async def _client(case: str, url: str) -> dict[str, object]:
    import odirouter_async as odr

    async with odr.AsyncOdiRouter(api_key="sk-bench", base_url=url) as client:
        await asyncio.sleep(0)
        before = _rss_mib()
        started = time.perf_counter()
        try:
            if case == "sse":
                async for _ in await client.chat.completions.create(model="m", messages=[], stream=True):
                    pass
            else:
                await client.models.list()
            outcome = "no error"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
    return {
        "case": case,
        "rss_before_mib": round(before, 1),
        "rss_peak_mib": round(_rss_mib(), 1),
        "seconds": round(time.perf_counter() - started, 2),
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("case", choices=["sse", "gzip"])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.case))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_hostile_memory", args.case, "--serve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        result = asyncio.run(_client(args.case, info["url"]))
        result["gzip_bytes"] = info["gzip_bytes"]
        print(json.dumps(result))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
