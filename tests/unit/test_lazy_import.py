"""``import odirouter_async`` loads only what a chat call needs (issue #23); every name still resolves."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import odirouter_async
heavy = [m for m in sys.modules if m.startswith(("odirouter_async.queue", "odirouter_async.batch",
    "odirouter_async.cli", "odirouter_async.videos", "odirouter_async.http.multipart", "opentelemetry"))]
print(heavy)
"""

_RESOLVE = """
import odirouter_async
from odirouter_async import Job, JobMap, Journal, SchedulerStats, Video, JobState  # noqa: F401
missing = [n for n in odirouter_async.__all__ if getattr(odirouter_async, n, None) is None]
assert "Job" in dir(odirouter_async)
print(missing)
"""


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_import_loads_no_queue_videos_cli_or_opentelemetry() -> None:
    """A fresh ``import odirouter_async`` loads no queue, schedule, videos, CLI, multipart, OTel."""
    assert _run(_PROBE) == "[]"


def test_every_public_name_still_resolves() -> None:
    """Every name in ``__all__`` resolves, and ``from odirouter_async import Job`` works."""
    assert _run(_RESOLVE) == "[]"


def test_client_builds_queue_and_videos_on_first_use() -> None:
    """``client.queue`` / ``client.videos`` are built (and the queue imported) on first access, once."""
    code = """
import sys
import odirouter_async
client = odirouter_async.AsyncOdiRouter(api_key="k", base_url="http://127.0.0.1:9")
before = "odirouter_async.queue.jobs" in sys.modules
same = client.queue is client.queue, client.videos is client.videos
print(before, *same, "odirouter_async.queue.jobs" in sys.modules)
"""
    assert _run(code) == "False True True True"


#: modules a plain chat call (``create``, ``create(stream=True)``, ``.stream()``) never needs
_NOT_FOR_CHAT = (
    "odirouter_async.llm.responses",
    "odirouter_async.llm.structured",
    "odirouter_async.llm.strict_schema",
    "odirouter_async.types.responses",
    "odirouter_async.types.response_events",
    "odirouter_async.types.queue",
    "odirouter_async.types.videos",
    "odirouter_async.queue",
    "odirouter_async.videos",
    "odirouter_async.batch",
)

# A subprocess: a canned chat server (aiohttp.web, none of the SDK's modules), then the calls.
_CHAT_CALLS = """
import asyncio, json, sys
from aiohttp import web

NOT_FOR_CHAT = %r
COMPLETION = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
CHUNKS = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": f}]}
    for t, f in (("h", None), ("i", "stop"))]

async def chat(request):
    body = await request.json()
    if not body.get("stream"):
        return web.json_response(COMPLETION)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for chunk in CHUNKS:
        await resp.write(b"data: " + json.dumps(chunk).encode() + b"\\n\\n")
    await resp.write(b"data: [DONE]\\n\\n")
    return resp

def loaded():
    return sorted(m for m in sys.modules if m.startswith(NOT_FOR_CHAT))

async def main():
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    import odirouter_async
    after_import = loaded()
    async with odirouter_async.AsyncOdiRouter(api_key="k", base_url=f"http://127.0.0.1:{port}") as client:
        msgs = [{"role": "user", "content": "hello"}]
        done = await client.chat.completions.create(model="m", messages=msgs)
        stream = await client.chat.completions.create(model="m", messages=msgs, stream=True)
        text = "".join([c.choices[0].delta.content async for c in stream])
        async with client.chat.completions.stream(model="m", messages=msgs) as s:
            final = await s.get_final_completion()
    await runner.cleanup()
    print(json.dumps([after_import, loaded(), done.choices[0].message.content, text,
        final.choices[0].message.content]))

asyncio.run(main())
"""


def test_chat_calls_load_no_responses_structured_queue_or_video_modules() -> None:
    """A chat call (plain, ``stream=True``, ``.stream()``) loads no Responses, structured-output,
    queue, batch or video module, before or after the calls."""
    import json

    after_import, after_calls, *answers = json.loads(_run(_CHAT_CALLS % (_NOT_FOR_CHAT,)))
    assert after_import == []
    assert after_calls == []
    assert answers == ["hi", "hi", "hi"]


def test_responses_and_structured_names_resolve_on_first_use() -> None:
    """``client.responses`` and the Responses / structured-output names import their modules when
    first used, and are the same objects each time."""
    code = """
import sys
import odirouter_async
from odirouter_async import Response, ResponseStream, FunctionTool, function_tool, StrictSchemaError
from odirouter_async.types.responses import Response as R2
client = odirouter_async.AsyncOdiRouter(api_key="k", base_url="http://127.0.0.1:9")
before = "odirouter_async.llm.responses" in sys.modules
print(Response is R2, before, client.responses is client.responses,
      "odirouter_async.llm.responses" in sys.modules,
      client.with_raw_response.responses is not None)
"""
    assert _run(code) == "True False True True True"


def test_types_package_names_match_its_modules() -> None:
    """``odirouter_async.types`` lists each module's public names (queue and videos without their
    decoders), every name resolves lazily to its module's object, and ``import *`` works."""
    code = """
import importlib
import odirouter_async.types as t
bad = []
for module, names in t._NAMES.items():
    mod = importlib.import_module("odirouter_async.types." + module)
    public = mod.__all__
    if set(names) != set(public):
        bad.append((module, sorted(set(names) ^ set(public))))
    bad += [n for n in names if getattr(t, n) is not getattr(mod, n)]
ns = {}
exec("from odirouter_async.types import *", ns)
bad += [n for n in t.__all__ if n not in ns]
print(bad, len(t.__all__) == len(set(t.__all__)))
"""
    assert _run(code) == "[] True"


def test_stream_decoders_are_built_once_on_first_use() -> None:
    """Importing the package builds no stream decoder; the first use builds each once, and the
    strict fast paths are then the decoders' own ``decode``."""
    code = """
from odirouter_async.llm import stream_decode as sd
print(sd._chunk_decoder is None, sd._event_decoder is None, end=" ")
c = sd.chunk_decoder()
e = sd.event_decoder()
print(c is sd.chunk_decoder(), e is sd.event_decoder(),
      sd.strict_chunk_decode == c.decode, sd.strict_event_decode == e.decode)
"""
    assert _run(code) == "True True True True True True"
