"""How many of the package's modules one call walks through, and how often control changes module.

``python -m benchmarks.trace_modules`` runs, against the embedded emulator, one ``client.queue.run``
and one chat stream (after a warm-up of each, so first-use imports and setup are not counted) under
``sys.setprofile`` and prints, for each, the package modules whose functions ran and the *hops*:
the sequence of new function frames of the package (a resumed coroutine is not a new frame) in time
order, with consecutive frames of one module collapsed; every change of module is one hop.  The
emulator (``odirouter_async.testing``) is not counted.  ``--show`` prints the walk.

``tests/integration/test_walks.py`` holds the limits (issue #22: a ``queue.run`` through at most 14
modules with at most 60 hops, a chat stream through at most 12).
"""

from __future__ import annotations

import argparse
import asyncio
import dis
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

PKG = "odirouter_async"
SKIP = ("odirouter_async.testing",)


@dataclass
class Walk:
    """The package modules one traced call entered, in the order control reached them."""

    sequence: list[str] = field(default_factory=list)

    @property
    def modules(self) -> set[str]:
        return set(self.sequence)

    @property
    def hops(self) -> int:
        return max(len(self.sequence) - 1, 0)


def _module_of(frame: FrameType) -> str | None:
    name = frame.f_globals.get("__name__", "")
    if not isinstance(name, str) or not name.startswith(PKG) or name.startswith(SKIP):
        return None
    if frame.f_code.co_name == "<module>":  # an import running, not the call
        return None
    return name


@functools.cache
def _first_resume(code: CodeType) -> int:
    """Where a fresh frame of ``code`` stands at its ``call`` event (3.11+: its first RESUME)."""
    for ins in dis.get_instructions(code):
        if ins.opname == "RESUME":
            return ins.offset
    return 0


async def trace(call: Callable[[], Awaitable[Any]]) -> Walk:
    """Run ``call()`` once under ``sys.setprofile`` (other tasks of the loop included)."""
    walk = Walk()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or frame.f_lasti != _first_resume(frame.f_code):
            return  # a coroutine or generator resumed, not a new call
        module = _module_of(frame)
        if module is not None and (not walk.sequence or walk.sequence[-1] != module):
            walk.sequence.append(module)

    sys.setprofile(profile)
    try:
        await call()
    finally:
        sys.setprofile(None)
    return walk


async def walks(*, tokens: int = 8) -> dict[str, Walk]:
    """One ``queue.run`` and one chat stream against a fresh emulator, each after a warm-up."""
    from odirouter_async import AsyncOdiRouter
    from odirouter_async.testing import Emulator

    async with (
        Emulator(job_duration=0.05, job_jitter=0.0) as emu,
        AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):

        async def run() -> None:
            await client.queue.run("nano_banana_2", {"prompt": "a cat"})

        async def stream() -> None:
            s = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_headers={"x-emu-chunks": str(tokens)},
            )
            async with s:
                async for _ in s:
                    pass

        await run()
        await stream()
        return {"queue.run": await trace(run), "chat stream": await trace(stream)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print the walk, module by module")
    args = parser.parse_args(argv)
    for name, walk in asyncio.run(walks()).items():
        print(f"{name}: {len(walk.modules)} modules, {walk.hops} hops")
        for module in sorted(walk.modules):
            print(f"    {module}")
        if args.show:
            print("    walk: " + " -> ".join(m.removeprefix(PKG + ".") for m in walk.sequence))


if __name__ == "__main__":
    main()
