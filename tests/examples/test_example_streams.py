"""examples/stream_tokens.py and examples/responses_tools.py run against the emulator."""

from __future__ import annotations

import pytest
from endless_chat import endless_chat
from examples_support import load_example, run_example

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

LONG = {"x-emu-chunks": "5000"}  # a 5000-word answer: reading it all would take the paced emulator ~25 s


async def test_stream_stops_early_and_closes() -> None:
    """Breaking out after 20 words closes the response: not pooled, and the emulator never finished it."""
    example = load_example("stream_tokens")
    async with (
        Emulator(tokens_per_second=200) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        text, stream = await example.first_words(client, "a long story", 20, extra_headers=LONG)
        assert 20 <= len(text.split()) < 40
        assert stream.closed and not stream.completed
        await client.models.list()  # a kept-alive connection would carry this request
        (record,) = emu.stats.records("chat")
        (after,) = emu.stats.records("models")
    assert record.status == 0  # the emulator's log: the answer was never completed
    assert after.connection != record.connection  # the connection was dropped, not kept for reuse


async def test_the_server_sees_the_connection_close() -> None:
    """Against a server that never stops, stopping after 20 words hangs up the TCP connection."""
    example = load_example("stream_tokens")
    async with (
        endless_chat() as endless,
        odr.AsyncOdiRouter(api_key="k", base_url=endless.server.url) as client,
    ):
        text, _ = await example.first_words(client, "go on forever", 20)
        assert text.split() == ["word"] * 20
        await endless.hung_up.wait()  # set by the server when its next write fails
        assert endless.chunks < 1000


@pytest.mark.realtime  # the example runs in a real-time process against the in-loop emulator
async def test_stream_example_runs_as_a_script(emu: Emulator) -> None:
    """``python examples/stream_tokens.py`` prints a whole answer, then stops a long one after N words."""
    out = await run_example(emu, "stream_tokens", "--max-words", "7")
    assert out.returncode == 0, out.stderr
    whole, first = out.stdout.splitlines()[:2]
    assert len(whole.split()) > 7 and 7 <= len(first.split()) < 20
    assert "stream closed: True" in out.stderr
    assert [r.status for r in emu.stats.records("chat")] == [200, 200]


async def test_tool_loop_calls_the_tool_then_answers(env: Emulator) -> None:
    """The Responses loop runs the requested function, sends its output back, and ends with text."""
    example = load_example("responses_tools")
    async with odr.AsyncOdiRouter() as client:
        text, calls = await example.ask(client, "How warm is it in Lisbon?")
    assert calls == 1 and text
    first, second = env.stats.records("responses")
    assert (first.status, second.status) == (200, 200)


def test_tool_errors_go_back_to_the_model() -> None:
    """A bad tool name or arguments become a JSON error for the model, not an exception."""
    example = load_example("responses_tools")
    assert "unknown tool" in example.call_tool("nope", "{}")
    assert "bad arguments" in example.call_tool("get_temperature", '{"town": "x"}')
    assert '"celsius"' in example.call_tool("get_temperature", '{"city": "Lisbon"}')


@pytest.mark.realtime  # the example runs in a real-time process against the in-loop emulator
async def test_tool_example_runs_as_a_script(emu: Emulator) -> None:
    """``python examples/responses_tools.py QUESTION`` prints the answer and one tool call."""
    out = await run_example(emu, "responses_tools", "How", "warm", "is", "Oslo?")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() and "[1 tool call(s)]" in out.stderr
