"""Responses stream events: client CPU per event, end to end and in the decoder alone.

Run from the repository root: ``python -m benchmarks.bench_responses_events`` (``--repeats N``,
``--events N``).  Results: ``benchmarks/out/responses_events.json``.

Scenarios (the emulator runs in a child process, see ``bench_llm``):

1. one Responses stream of ``--events`` ``response.output_text.delta`` events (``x-emu-chunks``,
   50 events per write): client CPU per event via ``responses.create(stream=True)`` and via
   ``responses.stream()`` typed events narrowed on ``event.type``;
2. ``decode_responses_event`` alone (no I/O) over the SSE events of that same stream, recorded
   once: known types only, and with one event in ten of a type this SDK does not know (the
   ``UnknownEvent`` fallback path).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp
import msgspec

import odirouter_async as odr
from odirouter_async.http.sse import SSEDecoder, SSEEvent
from odirouter_async.llm.stream_decode import decode_responses_event

from ._harness import emulator_process, save
from .bench_llm import measure, summary


async def bench_stream(url: str, key: str, repeats: int, headers: dict[str, str]) -> dict[str, Any]:
    """Client CPU per event of one Responses stream."""
    out: dict[str, Any] = {}
    async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:

        async def ours_create() -> int:
            n = 0
            stream = await client.responses.create(model="m", input="hi", stream=True, extra_headers=headers)
            async with stream:
                async for _ in stream:
                    n += 1
            return n

        async def ours_events() -> int:
            n = 0
            async with client.responses.stream(model="m", input="hi", extra_headers=headers) as s:
                async for event in s:
                    n += 1
                    if event.type == "response.output_text.delta":
                        _ = event.delta
            return n

        out["ours create(stream=True)"] = await measure(ours_create, repeats)
        out["ours .stream() events"] = await measure(ours_events, repeats)
    return out


async def record(url: str, key: str, headers: dict[str, str]) -> list[SSEEvent]:
    """The SSE events of one stream, as the client's SSE decoder splits them."""
    body = msgspec.json.encode({"model": "m", "input": "hi", "stream": True})
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url + "/v1/responses",
            data=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
        ) as resp,
    ):
        async for chunk in resp.content.iter_any():
            events.extend(decoder.feed(chunk))
    return events


def bench_decode(events: list[SSEEvent], repeats: int) -> dict[str, Any]:
    """CPU per event of ``decode_responses_event`` alone, known types and 10% unknown."""
    unknown = [
        SSEEvent(data=b'{"type":"response.future_thing.delta","sequence_number":%d,"delta":"x"}' % i)
        for i in range(len(events))
    ]
    mixed = [unknown[i] if i % 10 == 5 else ev for i, ev in enumerate(events)]
    out: dict[str, Any] = {}
    for name, evs in (("known types", events), ("10% unknown types", mixed)):
        runs: list[float] = []
        for _ in range(repeats + 1):
            c0 = time.process_time()
            for ev in evs:
                decode_responses_event(ev)
            runs.append((time.process_time() - c0) / len(evs) * 1e6)
        out[name] = {"items": len(evs), "cpu_us_per_item": summary(runs[1:])}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print µs/event, write ``benchmarks/out/responses_events.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="measurements per case (median reported)")
    parser.add_argument("--events", type=int, default=20000, help="output_text.delta events per stream")
    args = parser.parse_args(argv)
    headers = {"x-emu-chunks": str(args.events), "x-emu-per-write": "50"}
    results: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.bench_responses_events", *(argv or sys.argv[1:])])
    }
    with emulator_process() as emu:
        results["stream"] = asyncio.run(bench_stream(emu.url, emu.api_key, args.repeats, headers))
        recorded = asyncio.run(record(emu.url, emu.api_key, headers))
    results["decode_only"] = bench_decode(recorded, args.repeats)
    for section in ("stream", "decode_only"):
        print(section)
        for name, r in results[section].items():
            cpu = r["cpu_us_per_item"]
            med, best = cpu["median"], cpu["best"]
            print(f"   {name:28} {med:7.2f} µs/event  (best {best:.2f}, {r['items']} events)")
    print(f"\nwritten {save('responses_events', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
