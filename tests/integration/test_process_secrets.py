"""The key never appears in a traceback rendered with its locals, nor in any repr of what it holds.

Every error kind is provoked against a real server (the emulator, or small servers in tests/),
then its traceback is rendered as Sentry or ``rich.traceback(show_locals=True)`` would
(``traceback.TracebackException(..., capture_locals=True)``), and ``repr()`` of every local of
every frame (of the error and of its ``__cause__``/``__context__``), one level into their
attributes, items and slots, is searched for the key: no hit anywhere.  (A key the caller passes
in its own ``extra_headers`` dict stays in the caller's arguments: that dict is the caller's.)
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hostile_http import RawServer, http_response, writes
from stall_http import SSE_EVENT, Stage, StallServer

import odirouter_async as odr
from odirouter_async._config import RequestOptions, Timeout
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

SECRET = "sk-proc-7f3a9c51e2d84b06"
NO_RETRY = {"max_retries": 0}
MESSAGES = [{"role": "user", "content": "hi"}]


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # a repr that raises is a finding of its own (see the half-built client)
        return f"<repr raised {type(exc).__name__}>"


def _children(obj: object) -> Iterator[object]:
    """What one level below ``obj`` holds: items of a mapping or sequence, attributes, slots."""
    if isinstance(obj, Mapping):
        yield from obj.keys()
        yield from obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    if isinstance(obj, type):
        return
    yield from getattr(obj, "__dict__", {}).values()
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if not isinstance(slot, str) or slot in ("__dict__", "__weakref__"):
                continue
            mangled = f"_{cls.__name__.lstrip('_')}{slot}" if slot.startswith("__") else slot
            try:
                yield getattr(obj, mangled)
            except AttributeError:
                continue


def _errors(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [x for x in (e.__cause__, e.__context__) if x is not None]


def leaks(exc: BaseException, secret: str = SECRET) -> list[str]:
    """Where the key shows: the rendered traceback, a local's repr, one level below a local."""
    found: list[str] = []
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    if secret in text:
        found.append("traceback rendered with capture_locals=True")
    for err in _errors(exc):
        if secret in str(err) or secret in _safe_repr(err):
            found.append(f"{type(err).__name__} str/repr")
        for child in _children(err):
            if secret in _safe_repr(child):
                found.append(f"{type(err).__name__} attribute {type(child).__name__}")
        tb = err.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            where = f"{frame.f_code.co_name}:{tb.tb_lineno}"
            for name, value in frame.f_locals.items():
                if secret in _safe_repr(value):
                    found.append(f"{where} local {name}")
                    continue
                for child in _children(value):
                    if secret in _safe_repr(child):
                        found.append(f"{where} local {name} -> {type(child).__name__}")
            tb = tb.tb_next
    return found


async def provoke(call: Callable[[], Awaitable[Any]]) -> BaseException:
    """Run ``call``, which must fail; the error (caught here: no secret in this frame)."""
    try:
        await call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


STATUSES = {
    400: odr.BadRequestError,
    401: odr.AuthenticationError,
    402: odr.InsufficientBalanceError,
    403: odr.PermissionDeniedError,
    404: odr.NotFoundError,
    409: odr.ConflictError,
    422: odr.UnprocessableEntityError,
    429: odr.RateLimitError,
    500: odr.InternalServerError,
}


@pytest.mark.parametrize("status", sorted(STATUSES))
async def test_status_errors_keep_the_key_out_of_frames(status: int) -> None:
    """Every APIStatusError subclass, rendered with its locals, never shows the key."""
    body = b'{"error":{"message":"no","type":"t","code":"c"}}'
    async with (
        RawServer(writes(http_response(status, body, headers={"Connection": "close"}))) as server,
        odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, **NO_RETRY) as client,
    ):
        exc = await provoke(lambda: client.models.list())
        exc2 = await provoke(
            lambda: client.chat.completions.create(model="m", messages=MESSAGES, extra_headers={"X-T": "t"})
        )
    assert isinstance(exc, STATUSES[status]) and isinstance(exc2, STATUSES[status])
    assert leaks(exc) == [] and leaks(exc2) == []


async def test_connection_timeout_and_validation_errors() -> None:
    """APIConnectionError, APITimeoutError and ResponseValidationError keep the key out of frames."""
    errors = []
    async with (
        RawServer(writes(b"")) as server,  # hangs up without an answer
        odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, **NO_RETRY) as client,
    ):
        errors.append(await provoke(lambda: client.models.list()))
    async with (
        StallServer("headers") as stall,
        odr.AsyncOdiRouter(
            api_key=SECRET, base_url=stall.url, timeout=Timeout(read=0.05), **NO_RETRY
        ) as client,
    ):
        errors.append(await provoke(lambda: client.models.list()))
    async with (
        RawServer(writes(http_response(200, b"{not json"))) as server,
        odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, **NO_RETRY) as client,
    ):
        errors.append(await provoke(lambda: client.models.list()))
    kinds = [type(e) for e in errors]
    assert kinds == [odr.APIConnectionError, odr.APITimeoutError, odr.ResponseValidationError], kinds
    assert [leaks(e) for e in errors] == [[], [], []]


async def test_stream_errors_mid_stream() -> None:
    """StreamInterrupted (a cut stream) and StreamEventError keep the key out of frames."""
    cut = http_response(200, SSE_EVENT * 2, content_type="text/event-stream")[:-10]
    event = b'data: {"error":{"message":"boom","type":"server_error"}}\n\n'
    errors = []
    for raw in (cut, http_response(200, SSE_EVENT + event, content_type="text/event-stream")):
        async with (
            RawServer(writes(raw)) as server,
            odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, **NO_RETRY) as client,
        ):

            async def consume(client: odr.AsyncOdiRouter = client) -> None:
                stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
                async for _ in stream:
                    pass

            errors.append(await provoke(consume))
    assert isinstance(errors[0], odr.StreamInterrupted) and isinstance(errors[1], odr.StreamEventError)
    assert [leaks(e) for e in errors] == [[], []]


async def test_job_and_video_errors(tmp_path: Path) -> None:
    """JobFailed, JobCancelled, JobTimeout, a failed video and a missing video's download."""
    async with (
        Emulator(api_key=SECRET, job_duration=0.1, video_duration=0.1, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=SECRET, base_url=emu.url) as client,
    ):
        ep = "flux_pro_11"
        failing = {"prompt": "p", "_emu": {"duration": 0.05, "fail": "INFERENCE_FAILURE", "error": "x"}}
        failed = await provoke(lambda: client.queue.run(ep, failing))
        job = await client.queue.submit(ep, {"prompt": "slow", "_emu": {"duration": 60}})
        await job.cancel()
        cancelled = await provoke(lambda: job.result())
        timed_out = await provoke(
            lambda: client.queue.run(ep, {"prompt": "slow", "_emu": {"duration": 60}}, wait_timeout=0.05)
        )
        video = await client.videos.create(model="sora-2", prompt="this one will fail")
        video_failed = await provoke(lambda: client.videos.wait(video, poll_interval=0.02))
        missing = await provoke(lambda: client.videos.download_content("video_nope", tmp_path / "v.mp4"))
    errors = [failed, cancelled, timed_out, video_failed, missing]
    kinds = [type(e) for e in errors]
    assert kinds == [odr.JobFailed, odr.JobCancelled, odr.JobTimeout, odr.JobFailed, odr.NotFoundError], kinds
    assert [leaks(e) for e in errors] == [[]] * 5


async def test_client_closed_and_insecure_url_errors() -> None:
    """ClientClosedError (waiting for headers, mid-body) and a half-built client's InsecureURLError."""
    closed = []
    stages: tuple[Stage, ...] = ("headers", "body")
    for stage in stages:
        async with StallServer(stage) as stall:
            client = odr.AsyncOdiRouter(api_key=SECRET, base_url=stall.url, **NO_RETRY)
            task = asyncio.ensure_future(client.models.list())
            await stall.reached.wait()
            await client.aclose()
            closed.append(await provoke(lambda task=task: task))
    insecure = await provoke(_build_insecure)
    assert all(isinstance(e, odr.ClientClosedError) for e in closed), closed
    assert isinstance(insecure, odr.InsecureURLError)
    assert [leaks(e) for e in closed] == [[], []] and leaks(insecure) == []


async def _build_insecure() -> None:
    odr.AsyncOdiRouter(api_key=SECRET, base_url="http://gateway.example.com")


async def test_reprs_of_everything_that_holds_the_key() -> None:
    """The client, a view, the transport, options, streams and resources: no key in repr or one level down."""
    async with RawServer(writes(http_response(200, SSE_EVENT, content_type="text/event-stream"))) as server:
        client = odr.AsyncOdiRouter(
            api_key=SECRET, base_url=server.url, default_headers={"X-Api-Key": SECRET}, **NO_RETRY
        )
        async with client:
            view = client.with_options(timeout=3, default_headers={"Authorization": f"Bearer {SECRET}"})
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            options = RequestOptions.of(extra_headers={"Authorization": f"Bearer {SECRET}"})
            held: dict[str, object] = {
                "client": client,
                "view": view,
                "transport": client.requester,
                "headers": client.requester.headers,  # type: ignore[attr-defined]
                "options": options,
                "stream": stream,
                "response": stream.response,
                "models": client.models,
                "queue": client.queue,
            }
            found = [
                name
                for name, obj in held.items()
                if SECRET in _safe_repr(obj) or any(SECRET in _safe_repr(c) for c in _children(obj))
            ]
            await stream.aclose()
    assert found == []
