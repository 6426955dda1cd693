"""``AsyncStream`` against the emulator: end detection, faults, closing, connection reuse, scale."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.llm.stream import AsyncStream
from odirouter_async.testing import Emulator
from odirouter_async.types.chat import ChatCompletionChunk

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hello there"}]
LONG = {"x-emu-chunks": "100000", "x-emu-chunk-text": "tok"}  # far more than a test reads


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[odr.AsyncOdiRouter]:
    """A client with ONE connection in its pool: a stream that kept it would block the next call."""
    policy = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)
    limits = odr.Limits(max_connections=1)
    async with odr.AsyncOdiRouter(
        api_key=emu.api_key, base_url=emu.url, retry_policy=policy, limits=limits
    ) as c:
        yield c


async def connection_after(client: odr.AsyncOdiRouter, emu: Emulator) -> str:
    """Send one more call and say, from the server's side, whether it reused the last stream's
    connection ("reused": it went back to the pool) or needed a new one ("new": it was dropped).

    With one connection in the pool the call can only be sent once the stream freed it.
    """
    last = emu.stats.records("chat")[-1].connection
    await client.models.list()
    return "reused" if emu.stats.records("models")[-1].connection == last else "new"


FREED = ("reused", "new")


async def chat_stream(client: odr.AsyncOdiRouter, **kwargs: Any) -> AsyncStream[ChatCompletionChunk]:
    """A chat stream with the default messages."""
    stream: AsyncStream[ChatCompletionChunk] = await client.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, stream=True, **kwargs
    )
    return stream


def content(chunks: list[ChatCompletionChunk]) -> str:
    """The content of choice 0 over some chunks."""
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# -- happy paths ------------------------------------------------------------------------------


async def test_stream_text_chunks(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """create(stream=True) yields typed chunks; the stream exposes the request id and headers."""
    stream = await chat_stream(client, extra_headers={"x-emu-chunks": "50", "x-emu-per-write": "7"})
    async with stream:
        chunks = [chunk async for chunk in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert content(chunks) == "You said: hello there" * 12 + "You said: "
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stream.x_request_id == emu.stats.records("chat")[-1].request_id
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.completed and stream.closed
    assert chunks[0].x_request_id == stream.x_request_id


async def test_stream_usage_chunk(client: odr.AsyncOdiRouter) -> None:
    """stream_options.include_usage adds a final chunk with usage and no choices."""
    stream = await chat_stream(client, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


async def test_stream_tool_call_fragments(client: odr.AsyncOdiRouter) -> None:
    """A streamed tool call arrives as id/name first, then argument fragments."""
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    stream = await chat_stream(
        client, tools=tools, extra_headers={"x-emu-tool-args-bytes": "500", "x-emu-fragment-bytes": "16"}
    )
    fragments = [
        tc for chunk in [c async for c in stream] for ch in chunk.choices for tc in ch.delta.tool_calls or []
    ]
    assert fragments[0].id and fragments[0].function and fragments[0].function.name == "get_weather"
    args = "".join(f.function.arguments or "" for f in fragments if f.function)
    assert len(json.loads(args)["data"]) == 500 - len('{"data":""}')


async def test_manual_anext(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream can be driven with __anext__ and closed with aclose()."""
    stream = await chat_stream(client, extra_headers=LONG)
    first = await stream.__anext__()
    second = await stream.__anext__()
    assert first.choices[0].delta.role == "assistant" and second.choices[0].delta.content == "tok"
    await stream.aclose()
    assert stream.closed and not stream.completed
    assert await connection_after(client, emu) in FREED


async def test_iterating_again(client: odr.AsyncOdiRouter) -> None:
    """After its end a stream yields nothing more; after an early close it refuses to iterate."""
    stream = await chat_stream(client)
    assert len([c async for c in stream]) > 0
    assert [c async for c in stream] == []
    early = await chat_stream(client, extra_headers=LONG)
    async for _ in early:
        break
    with pytest.raises(RuntimeError, match="closed before its end"):
        async for _ in early:
            pass


async def test_two_loops_at_once_refused(client: odr.AsyncOdiRouter) -> None:
    """A second iterator while the first is active raises RuntimeError instead of interleaving."""
    async with await chat_stream(client, extra_headers=LONG) as stream:
        first = stream.__aiter__()
        await first.__anext__()
        with pytest.raises(RuntimeError, match="already being iterated"):
            async for _ in stream:
                pass
        await first.__anext__()  # the first one is unaffected


# -- end detection ----------------------------------------------------------------------------

CHUNK = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":%s}]}\n\n'
)


async def test_eof_after_every_choice_finished_is_complete(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """No [DONE], but every choice has a finish_reason: a complete stream (Writer)."""
    emu.serve_sse("chat", CHUNK % b"null" + CHUNK % b'"stop"')
    chunks = [c async for c in await chat_stream(client)]
    assert content(chunks) == "hihi"


async def test_last_event_without_blank_line_is_kept(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A body whose final [DONE] lacks its blank line still ends cleanly."""
    emu.serve_sse("chat", CHUNK % b"null" + b"data: [DONE]")
    chunks = [c async for c in await chat_stream(client)]
    assert content(chunks) == "hi"


async def test_eof_before_the_end_is_interrupted(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """EOF with an unfinished choice and no [DONE] raises StreamInterrupted after the data."""
    emu.serve_sse("chat", CHUNK % b"null" * 2)
    got: list[ChatCompletionChunk] = []
    with pytest.raises(odr.StreamInterrupted) as info:
        async for chunk in await chat_stream(client):
            got.append(chunk)
    assert content(got) == "hihi"
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id


async def test_eof_inside_an_event_is_interrupted(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A body cut inside an event's JSON raises StreamInterrupted, not a JSON error."""
    emu.serve_sse("chat", CHUNK % b"null" + (CHUNK % b'"stop"')[:40])
    with pytest.raises(odr.StreamInterrupted, match="inside an event"):
        async for _ in await chat_stream(client):
            pass


async def test_truncated_stream(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """truncate_after: the events sent are delivered, then StreamInterrupted; the connection is freed."""
    emu.faults.add("chat", truncate_after=3)
    got: list[ChatCompletionChunk] = []
    with pytest.raises(odr.StreamInterrupted):
        async for chunk in await chat_stream(client):
            got.append(chunk)
    assert len(got) == 3
    assert await connection_after(client, emu) in FREED


async def test_connection_cut_mid_stream(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A connection dropped mid-body is StreamInterrupted caused by APIConnectionError, with the id."""
    emu.faults.add("chat", truncate_after=2, drop=True)
    got = 0
    with pytest.raises(odr.StreamInterrupted) as info:
        async for _ in await chat_stream(client):
            got += 1
    assert got == 2
    assert isinstance(info.value.__cause__, odr.APIConnectionError)
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id
    assert emu.stats.count("chat") == 1 and await connection_after(client, emu) == "new"
    # The transport error's own cause is aiohttp's words only: no request (headers, key) inside.
    detail = info.value.__cause__.__cause__
    assert type(detail).__name__ == "NetworkErrorDetail" and detail.__context__ is None
    assert info.value.__cause__.__context__ is None


async def test_idle_timeout_mid_stream(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A silence longer than Timeout.read between bytes raises APITimeoutError, not retried."""
    emu.faults.add("chat", stall_after=2, delay=5)
    got = 0
    with pytest.raises(odr.APITimeoutError) as info:
        async for _ in await chat_stream(client, timeout=odr.Timeout(read=0.2)):
            got += 1
    assert got == 2
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id
    assert emu.stats.count("chat") == 1 and await connection_after(client, emu) == "new"


async def test_error_chunk_raises_with_payload(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An in-band error object raises StreamEventError carrying it, after the chunks before it."""
    emu.faults.add("chat", error_event_after=3)
    got = 0
    with pytest.raises(odr.StreamEventError) as info:
        async for _ in await chat_stream(client):
            got += 1
    assert got == 3
    assert info.value.code == "upstream_error" and info.value.error_type == "server_error"
    assert isinstance(info.value.error, dict) and info.value.error["message"] == "Emulated upstream error"
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id


async def test_malformed_event_is_validation_error(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Broken JSON in an event raises ResponseValidationError with the payload; the stream closes."""
    emu.faults.add("chat", malformed_after=2)
    with pytest.raises(odr.ResponseValidationError) as info:
        async for _ in await chat_stream(client):
            pass
    assert "chatcmpl-broken" in str(info.value.body)
    assert info.value.status_code == 200
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id
    assert await connection_after(client, emu) in FREED


async def test_non_sse_answer_raises(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A JSON body to a stream request raises SSEProtocolError with an excerpt, not an empty stream."""
    emu.faults.add("chat", content_type="application/json")
    with pytest.raises(odr.SSEProtocolError) as info:
        await chat_stream(client)
    assert "application/json" in str(info.value)
    assert "chat.completion" in str(info.value.body)
    assert info.value.x_request_id == emu.stats.records("chat")[-1].request_id
    assert await connection_after(client, emu) in FREED


async def test_stream_status_errors_raise_before_streaming(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A 429 before the stream starts is retried; a 400 raises at create(stream=True)."""
    emu.faults.add("chat", status=429, headers={"Retry-After": "0"}, times=1)
    chunks = [c async for c in await chat_stream(client)]
    assert content(chunks) == "You said: hello there"
    assert [r.status for r in emu.stats.records("chat")] == [429, 200]
    with pytest.raises(odr.BadRequestError):
        await client.chat.completions.create(model="m", messages=[], stream=True)


# -- closing ---------------------------------------------------------------------------------


async def test_break_closes_without_async_with(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Leaving `async for` by break frees the connection at once, without `async with`."""
    stream = await chat_stream(client, extra_headers=LONG)
    async for chunk in stream:
        assert chunk.choices
        break
    assert await connection_after(client, emu) == "new"  # dropped: the body was not read to its end
    assert stream.closed and not stream.completed


async def test_leaving_async_with_early_closes(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Leaving `async with` in the middle of a stream closes it at once."""
    async with await chat_stream(client, extra_headers=LONG) as stream:
        await stream.__anext__()
        assert not stream.closed
    assert stream.closed and await connection_after(client, emu) == "new"


async def test_exception_in_the_loop_closes(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An exception raised by the loop body frees the connection at once."""
    with pytest.raises(KeyError):
        async for _ in await chat_stream(client, extra_headers=LONG):
            raise KeyError("boom")
    assert await connection_after(client, emu) in FREED


async def test_cancel_scope_around_the_loop_closes(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Cancelling the consuming code (a cancel scope around the loop) closes the response."""
    stream = await chat_stream(client, extra_headers=LONG)
    with anyio.CancelScope() as scope:
        async for _ in stream:
            scope.cancel()
            await anyio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert stream.closed and await connection_after(client, emu) in FREED


async def test_cancelling_a_task_waiting_for_data_closes(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A task cancelled while the stream waits for bytes closes the response in its cleanup."""
    emu.faults.add("chat", stall_after=1, delay=5)
    stream = await chat_stream(client)
    first = anyio.Event()

    async def consume() -> None:
        async for _ in stream:
            first.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await first.wait()
        tg.cancel_scope.cancel()
    assert stream.closed and await connection_after(client, emu) in FREED


async def test_sequential_streams_reuse_one_connection(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream read to its end is drained and its connection goes back to the pool."""
    for _ in range(3):
        async for _ in await chat_stream(client, extra_headers={"x-emu-chunks": "200"}):
            pass
    assert len({r.connection for r in emu.stats.records("chat")}) == 1
    assert await connection_after(client, emu) == "reused"
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as s:
        await s.get_final_completion()
    assert len({r.connection for r in emu.stats.log}) == 1


async def test_many_concurrent_streams(emu: Emulator) -> None:
    """200 streams at once over 50 connections all arrive whole and in order, each freeing its own."""
    texts: dict[int, str] = {}
    limits = odr.Limits(max_connections=50)
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, limits=limits) as client:

        async def one(i: int) -> None:
            async with client.chat.completions.stream(
                model="m",
                messages=[{"role": "user", "content": f"stream {i}"}],
                extra_headers={"x-emu-chunks": "40"},
            ) as s:
                texts[i] = "".join([t async for t in s.text_deltas()])

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)

        async def follow_up() -> None:
            await client.models.list()

        async with anyio.create_task_group() as tg:  # all 50 connections free again
            for _ in range(50):
                tg.start_soon(follow_up)
    for i in range(200):
        assert texts[i] == f"You said: stream {i}" * 10
    assert emu.stats.count("chat", 200) == 200
    assert len({r.connection for r in emu.stats.log}) <= 50
