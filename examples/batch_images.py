# pyright: strict
"""1000 images with ``queue.map()``: a progress line, downloads, and resume after a crash.

Every submit is journaled in ``<out>/journal.sqlite``.  Kill the run (Ctrl-C, a crash, a reboot)
and start the same command again: finished inputs are replayed from the journal, running jobs are
re-attached and only inputs never submitted are submitted, so nothing is paid twice.  Outputs go
to ``<out>/<index>/``; an input whose folder is already there is not downloaded again.

    ODIROUTER_API_KEY=... python examples/batch_images.py --count 1000 --out cats/
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import odirouter_async as odr

ENDPOINT = os.environ.get("ODIROUTER_ENDPOINT", "nano_banana_2")


@dataclass
class Summary:
    """What one run did."""

    done: int = 0
    failed: int = 0
    downloaded: int = 0  # inputs whose outputs were fetched by this run (not by an earlier one)


def prompts(count: int) -> Iterator[dict[str, Any]]:
    """The inputs, in a stable order (resume matches inputs by position and content)."""
    styles = ("watercolor", "pixel art", "ink", "oil painting", "low poly")
    for i in range(count):
        yield {"prompt": f"a cat, {styles[i % len(styles)]}, variation {i}"}


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def show(progress: odr.MapProgress, total: int) -> None:
    """One progress line on stderr, rewritten in place."""
    finished = progress.done + progress.failed
    line = (
        f"\r{finished:>6}/{total} done  {progress.failed} failed  {progress.in_flight} running"
        f"  {progress.rate:6.1f}/s  {progress.polls} polls"
    )
    print(line, end="", file=sys.stderr, flush=True)


async def run_batch(client: odr.AsyncOdiRouter, count: int, out: Path) -> Summary:
    """Generate ``count`` images into ``out``; safe to run again after an interruption.

    ``queue.map`` keeps 64 jobs in flight by default (``concurrency=``), reads the inputs lazily and
    yields outcomes as jobs finish; all jobs share the client's one polling scheduler.
    """
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    summary = Summary()
    results = client.queue.map(
        ENDPOINT,
        prompts(count),
        journal=out / "journal.sqlite",
        progress=lambda p: show(p, count),  # at most 4 times a second
    )
    async with results:
        async for done in results:
            if done.result is None:
                summary.failed += 1
                print(f"\ninput {done.index} ({done.request_id}): {done.error!r}", file=sys.stderr)
                continue
            summary.done += 1
            target = out / f"{done.index:05d}"
            if _has_files(target):
                continue  # downloaded by an earlier run
            await client.queue.download(
                done.result, target, overwrite=True
            )  # a half-written folder is redone
            summary.downloaded += 1
    print(file=sys.stderr)
    return summary


async def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the batch, print a summary; exit 1 when some input failed."""
    parser = argparse.ArgumentParser(description="Generate many images with queue.map(), resumable.")
    parser.add_argument("--count", type=int, default=1000, help="how many images (default: 1000)")
    parser.add_argument(
        "--out", type=Path, default=Path("batch-out"), help="output folder (default: batch-out)"
    )
    args = parser.parse_args(argv)
    async with odr.AsyncOdiRouter() as client:
        summary = await run_batch(client, args.count, args.out)
    print(f"{summary.done} done, {summary.failed} failed, {summary.downloaded} downloaded now")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
