"""The SSE conformance corpus end to end: emulator (exact bytes) -> HTTP -> client stream helpers.

Every ``*.sse`` file in ``tests/data/conformance/sse`` is served by ``emu.serve_sse`` whole and in
small random writes, read with ``client.chat.completions.stream(...)`` or
``client.responses.stream(...)``, and compared with its ``*.expected.json`` (the fields the pure
test ``tests/unit/test_conformance_pure.py`` checks, here through the whole client).  A file whose
``errors`` is non-empty must raise ``StreamEventError`` with that payload, after delivering the
data before it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.responses import Response

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "conformance" / "sse"
NAMES = sorted(p.name[: -len(".expected.json")] for p in CORPUS.glob("*.expected.json"))
assert NAMES, f"conformance corpus missing at {CORPUS}"

pytestmark = pytest.mark.anyio


def load(name: str) -> tuple[bytes, dict[str, Any]]:
    """The body and the expected values of one corpus file."""
    body = (CORPUS / f"{name}.sse").read_bytes()
    return body, json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))


def sizes_for(name: str, chunking: str) -> list[int] | None:
    """Write sizes: None (one write) or small random sizes, reproducible per file."""
    if chunking == "whole":
        return None
    rng = random.Random(name)
    return [rng.randint(1, 48) for _ in range(64)]


async def read_chat(client: odr.AsyncOdiRouter) -> tuple[dict[str, Any], list[Any], int]:
    """Read a served chat stream through the helper: (summary, errors raised, SSE events seen)."""
    raised: list[Any] = []
    async with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as s:
        try:
            async for _ in s:  # the typed events, then the final completion
                pass
            final = await s.get_final_completion()
        except odr.StreamEventError as exc:
            raised.append(exc.error)
            final = s.current_completion_snapshot
    acc = s.accumulator
    choice0 = next((c for c in final.choices if c.index == 0), None)
    calls = choice0.message.tool_calls if choice0 is not None else None
    summary = {
        "text": acc.text(0),
        "refusal": acc.refusal(0),
        "reasoning": acc.reasoning(0),
        "usage": acc.usage_raw,
        "finish_reason": choice0.finish_reason if choice0 is not None else None,
        "choice_count": len(final.choices),
        "text_by_choice": [c.message.content or "" for c in final.choices],
        "tool_calls": [
            {"index": c.index, "id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in calls or []
        ],
    }
    # Every chunk is accumulated (an error chunk too); an `event: error` is raised, not accumulated.
    events = acc.chunks + len(raised) - len(acc.errors)
    return summary, raised, events


async def read_responses(client: odr.AsyncOdiRouter) -> tuple[dict[str, Any], list[Any], int]:
    """Read a served Responses stream through the helper: (summary, errors raised, events)."""
    raised: list[Any] = []
    types: list[str] = []
    final: Response | None
    async with client.responses.stream(model="m", input="x") as s:
        try:
            async for event in s:
                types.append(event.type)
            final = await s.get_final_response()
        except odr.StreamEventError as exc:
            raised.append(exc.error)
            final = s.accumulator.final()
    acc = s.accumulator
    summary = {
        "event_types": types,
        "output_text": s.output_text,
        "refusal": acc.refusal,
        "reasoning": acc.reasoning,
        "usage": final.raw.get("usage") if final is not None else None,
        "final_status": final.status if final is not None else None,
        "tool_calls": [
            {
                "output_index": c.output_index,
                "type": c.type,
                "call_id": c.call_id,
                "name": c.name,
                "arguments": c.arguments,
            }
            for c in s.tool_calls
        ],
        "errors": acc.errors,
    }
    return summary, raised, len(types)


@pytest.mark.parametrize("chunking", ["whole", "random"])
@pytest.mark.parametrize("name", NAMES)
async def test_corpus_file_through_the_client(
    client: odr.AsyncOdiRouter, emu: Emulator, name: str, chunking: str
) -> None:
    """One recording, served by the emulator, read by the client, matches its expected values."""
    body, expected = load(name)
    kind = expected["kind"]
    emu.serve_sse(kind, body, chunk_sizes=sizes_for(name, chunking))
    if kind == "chat":
        got, raised, events = await read_chat(client)
        assert raised == expected["errors"], name  # each chat file has at most one error
    else:
        got, raised, events = await read_responses(client)
        assert raised == [e for e in expected["errors"] if e.get("type") == "error"], name
    assert events == expected["events"], name
    for key, value in got.items():
        assert value == expected[key], f"{name} [{chunking}]: {key}"
    assert emu.stats.count(kind) == 1


async def test_corpus_present() -> None:
    """The corpus has its 29 recordings (18 chat, 11 Responses)."""
    assert len(NAMES) == 29
    assert sum(n.startswith("chat_") for n in NAMES) == 18
