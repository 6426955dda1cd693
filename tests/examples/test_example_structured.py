"""examples/structured_output.py runs against the emulator: a parsed Struct, then a typed tool loop."""

from __future__ import annotations

import msgspec
import pytest
from examples_support import load_example, run_example

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def test_extract_returns_the_struct(env: Emulator) -> None:
    """``extract`` gets a Trip decoded from JSON that fits its strict schema."""
    example = load_example("structured_output")
    async with odr.AsyncOdiRouter() as client:
        trip = await example.extract(client, "A week in Kyoto")
    assert isinstance(trip, example.Trip)
    assert all(isinstance(stop, example.Stop) for stop in trip.stops)


async def test_agent_calls_the_typed_tool_once_then_answers(env: Emulator) -> None:
    """The tool loop gets GetWeather(city=...) from the prompt, sends the result, and ends with text."""
    example = load_example("structured_output")
    async with odr.AsyncOdiRouter() as client:
        answer, calls = await example.agent(client, "What is the weather in Nairobi?")
    assert calls == [example.GetWeather(city="Nairobi")]
    assert "Nairobi" in answer
    assert [r.status for r in env.stats.records("chat")] == [200, 200]


@pytest.mark.realtime  # the example runs in a real-time process against the in-loop emulator
async def test_structured_example_runs_as_a_script(emu: Emulator) -> None:
    """``python examples/structured_output.py TEXT`` prints the trip as JSON, then the answer."""
    out = await run_example(emu, "structured_output", "Two", "nights", "in", "Lima")
    assert out.returncode == 0, out.stderr
    first, answer = out.stdout.splitlines()[:2]
    assert isinstance(msgspec.json.decode(first), dict) and answer
    assert "[1 tool call(s):" in out.stderr
