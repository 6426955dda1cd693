"""``Timeout.read`` on an open stream, checked lazily (``StreamResponse.watch_idle``): a silent
server still ends the stream, a slow reader does not, and the connection's next request gets
aiohttp's own read timeout back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hello there"}]
LONG = {"x-emu-chunks": "100000", "x-emu-chunk-text": "tok"}  # far more than a test reads


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[odr.AsyncOdiRouter]:
    """A client with ONE connection: every request after the first reuses the stream's."""
    async with odr.AsyncOdiRouter(
        api_key=emu.api_key, base_url=emu.url, max_retries=0, limits=odr.Limits(max_connections=1)
    ) as c:
        yield c


async def test_a_reader_slower_than_the_read_timeout_gets_every_chunk(client: odr.AsyncOdiRouter) -> None:
    """Bytes that arrived but wait unread are no silence: a slow reader is not timed out."""
    stream = await client.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, stream=True, extra_headers=LONG, timeout=odr.Timeout(read=0.2)
    )
    got = 0
    async with stream:
        async for _ in stream:
            got += 1
            if got == 4:
                break
            await anyio.sleep(1.0)  # the reader is busy for 5x Timeout.read; the server is not silent
    assert got == 4


async def test_silence_after_a_finished_stream_still_times_out(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """On the connection a finished stream gave back, a stalled stream and a stalled call both time out."""
    first = await client.chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True)
    assert len([c async for c in first]) > 1
    emu.faults.add("chat", stall_after=2, delay=5)
    stalled = await client.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, stream=True, timeout=odr.Timeout(read=0.2)
    )
    got = 0
    with pytest.raises(odr.APITimeoutError):
        async for _ in stalled:
            got += 1
    assert got == 2
    emu.faults.add("chat", delay=5)
    with pytest.raises(odr.APITimeoutError):
        await client.chat.completions.create(
            model="gpt-4.1", messages=MESSAGES, timeout=odr.Timeout(read=0.2)
        )
    records = emu.stats.records("chat")
    assert records[0].connection == records[1].connection  # the finished stream's connection, reused
