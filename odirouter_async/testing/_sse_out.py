"""Writing streamed bodies: SSE event lists shaped by stream faults, and scripted exact bodies.

A generated stream is a list of complete, pre-encoded SSE events (each ending in a blank line).
``plan_events`` applies a stream fault to that list (cut it, insert an error or a broken line, or
a pause), ``stream_events`` writes it ``per_write`` events per transport write.  Ending with
``abort`` closes the connection without the chunked-encoding terminator, so the client sees a
body that stopped short rather than one that ended.  With ``tokens_per_second`` > 0 the events
are paced: event ``i`` leaves ``i / tokens_per_second`` seconds after the first (on an absolute
schedule, so the rate does not drift), and ``pace_whole`` delays a whole answer by the time its
tokens would have taken to stream.  ``fault_body_answer`` answers a stream
request with a non-SSE body (the ``content_type`` fault); ``stream_script`` sends exact bytes.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web

from ._common import encode
from ._faults import Fault, ScriptedStream

__all__ = (
    "SSE_HEADERS",
    "close_connection",
    "fault_body_answer",
    "pace_whole",
    "plan_events",
    "stream_events",
    "stream_script",
)

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}

# A plan is events to send, with pauses (float seconds) between them.
Plan = list[bytes | float]


def plan_events(
    events: list[bytes], fault: Fault | None, *, error_event: bytes, malformed: bytes
) -> tuple[Plan, bool]:
    """Apply a stream fault to a complete event list; returns (plan, abort at the end)."""
    if fault is None:
        return list(events), False
    sent: list[bytes] = list(events)
    abort = False
    if fault.malformed_after is not None:
        sent.insert(min(fault.malformed_after, len(sent)), malformed)
    if fault.error_event_after is not None:
        sent = [*sent[: fault.error_event_after], error_event]
    if fault.truncate_after is not None:
        sent = sent[: fault.truncate_after]
        abort = fault.drop
    plan: Plan = list(sent)
    if fault.stall_after is not None:
        plan.insert(min(fault.stall_after, len(plan)), float(fault.delay))
    return plan, abort


def close_connection(request: web.BaseRequest) -> None:
    """Close the client's connection now (pending writes are flushed first)."""
    transport = request.transport
    if transport is not None:
        transport.close()


async def pace_whole(tokens: int, tokens_per_second: float) -> None:
    """Wait as long as ``tokens`` would take to generate (nothing when pacing is off)."""
    if tokens_per_second > 0 and tokens > 0:
        await asyncio.sleep(tokens / tokens_per_second)


async def stream_events(
    request: web.Request,
    plan: Plan,
    *,
    per_write: int = 1,
    abort: bool = False,
    status: int = 200,
    tokens_per_second: float = 0.0,
) -> web.StreamResponse:
    """Send a planned SSE body; ``per_write`` events are joined into one transport write."""
    resp = web.StreamResponse(status=status, headers=SSE_HEADERS)
    await resp.prepare(request)
    loop = asyncio.get_running_loop()
    interval = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
    start, sent = loop.time(), 0
    batch: list[bytes] = []
    for item in plan:
        if isinstance(item, float):
            if batch:
                await resp.write(b"".join(batch))
                batch.clear()
            await asyncio.sleep(item)
            start += item
            continue
        batch.append(item)
        if len(batch) >= per_write:
            if interval:
                wait = start + (sent + len(batch) - 1) * interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            sent += len(batch)
            await resp.write(batch[0] if len(batch) == 1 else b"".join(batch))
            batch.clear()
    if batch:
        await resp.write(b"".join(batch))
    if abort:
        close_connection(request)
    else:
        await resp.write_eof()
    return resp


async def stream_script(request: web.Request, script: ScriptedStream) -> web.StreamResponse:
    """Send exactly ``script.body``, in writes of ``script.chunk_sizes`` (cycled; None = whole)."""
    headers = {"Content-Type": script.content_type, "Cache-Control": "no-cache"}
    resp = web.StreamResponse(status=script.status, headers=headers)
    await resp.prepare(request)
    body = script.body
    if not script.chunk_sizes:
        if body:
            await resp.write(body)
    else:
        pos = 0
        for size in itertools.cycle(script.chunk_sizes):
            if pos >= len(body):
                break
            await resp.write(body[pos : pos + size])
            pos += size
    await resp.write_eof()
    return resp


def fault_body_answer(fault: Fault, default: Any) -> web.Response:
    """Answer a stream request with a non-SSE body (the ``content_type`` stream fault)."""
    body = fault.body if fault.body is not None else default
    raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else encode(body)
    resp = web.Response(body=raw, status=fault.status or 200, headers=fault.headers)
    resp.headers["Content-Type"] = fault.content_type or "application/json"
    return resp
