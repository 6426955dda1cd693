# pyright: strict
"""A Responses tool-call loop: the model asks for a function, we run it and send the result back.

The loop ends when the model answers with text (or after ``MAX_TURNS`` rounds).  Each round sends
the whole conversation so far: the user's message, the model's ``function_call`` items and our
``function_call_output`` items, matched by ``call_id``.

    ODIROUTER_API_KEY=... python examples/responses_tools.py "How warm is it in Lisbon?"
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import odirouter_async as odr

MODEL = os.environ.get("ODIROUTER_MODEL", "gpt-4.1")
MAX_TURNS = 5

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "get_temperature",
        "description": "The current temperature of a city, in degrees Celsius.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city's name"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }
]


def get_temperature(city: str) -> dict[str, Any]:
    """Our side of the tool (a real app would call a weather service here)."""
    return {"city": city, "celsius": 10 + len(city) % 15}


FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {"get_temperature": get_temperature}


def call_tool(name: str, arguments: str) -> str:
    """Run one function call; errors go back to the model as text instead of ending the loop."""
    function = FUNCTIONS.get(name)
    if function is None:
        return json.dumps({"error": f"unknown tool {name!r}"})
    try:
        parsed = json.loads(arguments or "{}")
        return json.dumps(function(**parsed))
    except (ValueError, TypeError) as exc:
        return json.dumps({"error": f"bad arguments: {exc}"})


async def ask(client: odr.AsyncOdiRouter, question: str) -> tuple[str, int]:
    """Run the loop; return the final text and the number of tool calls made."""
    conversation: list[dict[str, Any]] = [{"role": "user", "content": question}]
    calls = 0
    for turn in range(MAX_TURNS):
        response = await client.responses.create(
            model=MODEL,
            input=conversation,
            tools=TOOLS,
            tool_choice="required" if turn == 0 else "auto",  # look it up first, then answer
        )
        function_calls = [item for item in response.output if item.type == "function_call"]
        if not function_calls:
            return response.output_text, calls
        for item in function_calls:  # narrowed: ResponseFunctionToolCall, its fields are str
            conversation.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
            output = call_tool(item.name, item.arguments)
            conversation.append({"type": "function_call_output", "call_id": item.call_id, "output": output})
            calls += 1
    raise RuntimeError(f"no answer after {MAX_TURNS} turns")


async def main(argv: list[str] | None = None) -> int:
    """Ask the question from the command line (or a default one)."""
    args = sys.argv[1:] if argv is None else argv
    question = " ".join(args) or "How warm is it in Lisbon right now?"
    async with odr.AsyncOdiRouter() as client:
        text, calls = await ask(client, question)
    print(text)
    print(f"[{calls} tool call(s)]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
