# pyright: strict
"""Structured output into msgspec Structs, and a tool loop whose arguments arrive typed.

``extract``: ``chat.completions.parse(response_format=Trip)`` sends ``Trip``'s strict JSON schema
and returns ``message.parsed`` as a ``Trip`` (``None`` when the model refused).  ``agent``:
``odr.function_tool(GetWeather)`` is a strict tool whose calls come back with
``parsed_arguments`` already a ``GetWeather``; we answer each call and ask again until the model
writes text.

    ODIROUTER_API_KEY=... python examples/structured_output.py "A weekend in Lisbon, then Porto"
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import msgspec

import odirouter_async as odr

MODEL = os.environ.get("ODIROUTER_MODEL", "gpt-4.1")
MAX_TURNS = 4


class Stop(msgspec.Struct):
    """One stop of a trip."""

    city: str
    nights: int


class Trip(msgspec.Struct):
    """A trip plan extracted from free text."""

    title: str
    stops: list[Stop]
    budget_eur: float | None = None  # optional: the model may write null


class GetWeather(msgspec.Struct):
    """The current weather of a city."""

    city: str


WEATHER = odr.function_tool(GetWeather, name="get_weather")


async def extract(client: odr.AsyncOdiRouter, text: str) -> Trip | None:
    """The trip described in ``text``, as a ``Trip`` (``None`` if the model refused)."""
    completion = await client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "system", "content": "Extract the trip."}, {"role": "user", "content": text}],
        response_format=Trip,
    )
    message = completion.choices[0].message
    if message.refusal:
        print(f"refused: {message.refusal}", file=sys.stderr)
    return message.parsed


def get_weather(args: GetWeather) -> dict[str, Any]:
    """Our side of the tool (a real app would call a weather service)."""
    return {"city": args.city, "celsius": 10 + len(args.city) % 15}


async def agent(client: odr.AsyncOdiRouter, question: str) -> tuple[str, list[GetWeather]]:
    """A chat tool loop with typed arguments: the final answer and the calls made."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    calls: list[GetWeather] = []
    for _ in range(MAX_TURNS):
        completion = await client.chat.completions.parse(model=MODEL, messages=messages, tools=[WEATHER])
        message = completion.choices[0].message
        if not message.tool_calls:
            return message.content or "", calls
        sent = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": sent})
        for call in message.tool_calls:
            args = call.function.parsed_arguments  # a GetWeather: decoded and checked by parse()
            if not isinstance(args, GetWeather):
                raise TypeError(f"unexpected tool {call.function.name!r}")
            calls.append(args)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(get_weather(args))}
            )
    raise RuntimeError(f"no answer after {MAX_TURNS} turns")


async def main(argv: list[str] | None = None) -> int:
    """Extract a trip from the command line text, then ask about the weather of its first stop."""
    args = sys.argv[1:] if argv is None else argv
    text = " ".join(args) or "Three nights in Lisbon, then two in Porto, about 900 euros."
    async with odr.AsyncOdiRouter() as client:
        trip = await extract(client, text)
        if trip is None:
            return 1
        print(msgspec.json.encode(trip).decode())
        city = trip.stops[0].city if trip.stops else "Lisbon"
        answer, calls = await agent(client, f"What is the weather in {city}?")
    print(answer)
    print(f"[{len(calls)} tool call(s): {', '.join(c.city for c in calls)}]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
