# pyright: strict
"""Token streams with ``async for``, and stopping early.

Prints an answer as it arrives, then asks for a long one and stops after ``--max-words`` words:
breaking out of the loop closes the HTTP response at once, so the gateway stops generating (and
you stop paying for tokens nobody reads).

    ODIROUTER_API_KEY=... python examples/stream_tokens.py --max-words 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import odirouter_async as odr

MODEL = os.environ.get("ODIROUTER_MODEL", "gpt-4.1-mini")


async def print_answer(client: odr.AsyncOdiRouter, prompt: str) -> str:
    """Stream one whole answer to stdout; return it (the helper accumulates it for you)."""
    async with client.chat.completions.stream(
        model=MODEL, messages=[{"role": "user", "content": prompt}]
    ) as s:
        async for text in s.text_deltas():
            print(text, end="", flush=True)
        final = await s.get_final_completion()
    print()
    return final.choices[0].message.content or ""


async def first_words(
    client: odr.AsyncOdiRouter, prompt: str, max_words: int, *, extra_headers: dict[str, str] | None = None
) -> tuple[str, odr.AsyncStream[odr.ChatCompletionChunk]]:
    """Read raw chunks until ``max_words`` words arrived, then stop; return the text and the stream."""
    words = 0
    parts: list[str] = []
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}], stream=True, extra_headers=extra_headers
    )
    async with stream:  # leaving the block (break, exception, cancellation) closes the response
        async for chunk in stream:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                parts.append(delta)
                words += len(delta.split())
            if words >= max_words:
                break
    return "".join(parts), stream


async def main(argv: list[str] | None = None) -> int:
    """Stream a short answer whole, then the first words of a long one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--max-words", type=int, default=20, help="words to read before stopping (default: 20)"
    )
    args = parser.parse_args(argv)
    async with odr.AsyncOdiRouter() as client:
        await print_answer(client, "Explain server-sent events in one sentence.")
        text, stream = await first_words(
            client, "Write a very long story about a lighthouse.", args.max_words
        )
        print(text)
        print(f"[stopped after {args.max_words} words; stream closed: {stream.closed}]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
