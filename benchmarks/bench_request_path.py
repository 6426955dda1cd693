"""The request path alone: client CPU per GET, ours (``Transport.request``) against bare aiohttp.

Run from the repository root: ``python -m benchmarks.bench_request_path [--n N] [--rounds R]``.
Results: ``benchmarks/out/request_path.json``.

One emulator child process; one job is submitted, then its status URL is fetched, 100 at a time,
by four clients in one client process, interleaved in batches of ``n`` requests for ``rounds``
rounds (so that the load of a shared machine falls on all four alike):

- ``bare``: a bare ``aiohttp.ClientSession`` (``Authorization`` as a session header,
  ``session.get`` + ``read``), the bare loop's way;
- ``bare+h``: the same with headers like ours per request (four, one a fresh ``X-Request-Id``);
- ``bare+ht``: and our poll timeout (``sock_read`` 30 s, ``connect`` 70 s, no total);
- ``ours``: ``client.requester.request("GET", ...)`` with ``max_retries=0`` and a 30 s timeout,
  as a poll is sent.

CPU per request is ``time.process_time()`` over each batch: what our request path adds to
aiohttp's (headers, the origin rule, timeouts, retries, bounded reads, error mapping) apart from
the scheduler and the job bookkeeping, which ``bench_queue`` measures with them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

from ._harness import emulator_process, save

CONCURRENCY = 100
KINDS = ("bare", "bare+h", "bare+ht", "ours")


async def measure(base: str, url: str, key: str, n: int, rounds: int) -> dict[str, list[float]]:
    """µs per request of each kind, one value per round."""
    import aiohttp

    import odirouter_async as odr
    from odirouter_async._config import RequestOptions

    sem = asyncio.Semaphore(CONCURRENCY)
    auth = {"Authorization": f"Bearer {key}"}
    base_headers = {"User-Agent": "odirouter-async/0", "Accept": "application/json", **auth}
    ids = itertools.count()
    timeout = aiohttp.ClientTimeout(total=None, connect=70, sock_connect=10, sock_read=30)
    options = RequestOptions(max_retries=0, timeout=30.0)
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000), headers=auth) as bare,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)) as plain,
        odr.AsyncOdiRouter(api_key=key, base_url=base) as client,
    ):
        requester = client.requester

        async def bare_get() -> None:
            async with sem, bare.get(url) as r:
                r.raise_for_status()
                await r.read()

        async def bare_h(**extra: Any) -> None:
            headers = {**base_headers, "X-Request-Id": f"req_{next(ids):08x}"}
            async with sem, plain.get(url, headers=headers, **extra) as r:
                r.raise_for_status()
                await r.read()

        async def bare_ht() -> None:
            await bare_h(timeout=timeout)

        async def ours() -> None:
            async with sem:
                await requester.request("GET", url, options=options)

        clients: dict[str, Callable[[], Awaitable[None]]] = {
            "bare": bare_get,
            "bare+h": bare_h,
            "bare+ht": bare_ht,
            "ours": ours,
        }
        for one in clients.values():  # connect (up to 100 connections) outside the measurement
            await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
        out: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(rounds):
            for kind in KINDS:
                one = clients[kind]
                cpu0 = time.process_time()
                await asyncio.gather(*(one() for _ in range(n)))
                out[kind].append(1e6 * (time.process_time() - cpu0) / n)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the medians and the ratios, write ``benchmarks/out/request_path.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    with emulator_process(job_duration=3600.0) as emu:
        req = urllib.request.Request(
            f"{emu.url}/model/v1/queue/flux_pro_11",
            data=b'{"prompt": "x"}',
            headers={"Authorization": f"Bearer {emu.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            status_url = json.loads(resp.read())["status_url"]
        per_kind = asyncio.run(measure(emu.url, status_url, emu.api_key, args.n, args.rounds))
    medians = {kind: statistics.median(values) for kind, values in per_kind.items()}
    ratios = [o / b for o, b in zip(per_kind["ours"], per_kind["bare"], strict=True)]
    for kind in KINDS:
        print(f"{kind:8} median {medians[kind]:6.1f} µs/request  rounds {[round(v) for v in per_kind[kind]]}")
    print(f"ours / bare: median {statistics.median(ratios):.2f}x (per round {[round(r, 2) for r in ratios]})")
    save("request_path", {"n": args.n, "rounds": args.rounds, "us_per_request": per_kind, "median": medians})
    return 0


if __name__ == "__main__":
    sys.exit(main())
