"""``odirouter demo``: the SDK's main jobs in a few seconds, offline by default.

Without ``ODIROUTER_API_KEY`` (or with ``--emulator``) it starts the embedded gateway emulator
in-process (jobs of 0.5-1.5 s) and points the client at it: nothing leaves the machine and nothing
is billed.  With a key it uses the real gateway, which spends credits, so it asks first (``--yes``
skips the question).  Steps:

1. list the models;
2. stream a chat answer to the terminal;
3. generate a batch of images concurrently (``client.queue.map``) with a progress display, and
   download each as soon as it is done;
4. print a summary: jobs, HTTP requests by kind and per job, wall time, where the files are.

HTTP requests are counted from the SDK's own debug log lines (one per attempt, ``HTTP ...``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from .._client import AsyncOdiRouter
from ._common import EXIT_FAILED, EXIT_OK, UsageError, describe_error, make_client, warn
from ._progress import Progress, format_duration

__all__ = ("add_parser", "run")

DESCRIPTION = """\
Show the SDK's main jobs in a few seconds. Without ODIROUTER_API_KEY (or with --emulator) it
starts the embedded gateway emulator in-process and points the client at it: nothing leaves
the machine and nothing is billed. With a key it uses the real gateway, which spends credits,
so it asks first (--yes skips the question).

Steps:
  1. list the models;
  2. stream a chat answer to the terminal;
  3. generate a batch of images concurrently (client.queue.map) with a progress display,
     and download each as soon as it is done;
  4. print a summary: jobs, HTTP requests by kind and per job, wall time, where the files are."""

SUBJECTS = (
    "a red fox in fresh snow",
    "a lighthouse at dusk",
    "a bowl of ramen, top view",
    "a vintage bicycle against a blue wall",
    "a hummingbird near a hibiscus flower",
    "a misty pine forest at dawn",
    "a cup of coffee with latte art",
    "a paper boat on a puddle",
    "a desert road under the milky way",
    "an old library with tall shelves",
    "a koi pond seen from above",
    "a mountain cabin in autumn",
)


def add_parser(subparsers: Any) -> None:
    """Register ``demo``."""
    p = subparsers.add_parser(
        "demo",
        help="list models, stream a chat answer, generate and download a batch of images",
        description=DESCRIPTION,
    )
    p.add_argument("--out", type=Path, default=Path("odirouter-demo"), metavar="DIR", help="where images go")
    p.add_argument("--images", type=int, default=12, metavar="N", help="images to generate")
    p.add_argument("--endpoint", default="nano_banana_2", metavar="ENDPOINT", help="image model")
    p.add_argument("--model", default="gpt-4.1", metavar="MODEL", help="chat model")
    p.add_argument("--emulator", action="store_true", help="use the embedded emulator even with a key")
    p.add_argument("--yes", action="store_true", help="do not ask before spending credits")
    p.set_defaults(func=run)


class RequestCounter(logging.Handler):
    """Counts the transport's ``HTTP ...`` debug lines by kind; passes warnings on to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.kinds: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            print(f"warning: {record.getMessage()}", file=sys.stderr)
            return
        if not (isinstance(record.msg, str) and record.msg.startswith("HTTP ")):
            return
        args = record.args if isinstance(record.args, tuple) else ()
        method, path = (str(args[0]), str(args[1])) if len(args) >= 2 else ("", "")
        if path.startswith("/model/v1/queue/"):
            kind = "submit" if method == "POST" else "cancel" if method == "PUT" else "poll"
        elif path.startswith("/v1/"):
            kind = path.split("/")[2]
        else:
            kind = "download"
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


def _confirm(args: argparse.Namespace) -> None:
    if args.yes:
        return
    question = (
        f"ODIROUTER_API_KEY is set: the demo will use the real gateway and spend credits "
        f"(1 chat answer, {args.images} images on {args.endpoint}). Continue? [y/N] "
    )
    if not sys.stdin.isatty():
        raise UsageError("the demo would spend credits; pass --yes, or --emulator to stay offline")
    if input(question).strip().lower() not in ("y", "yes"):
        raise UsageError("cancelled (use --emulator to run offline)")


async def run(args: argparse.Namespace) -> int:
    """The ``demo`` command."""
    if args.images < 1:
        raise UsageError("--images must be at least 1")
    offline = args.emulator or not os.environ.get("ODIROUTER_API_KEY")
    if not offline:
        await anyio.to_thread.run_sync(_confirm, args)
    counter = RequestCounter()
    sdk_logger = logging.getLogger("odirouter_async")
    old_level = sdk_logger.level
    sdk_logger.addHandler(counter)
    sdk_logger.setLevel(logging.DEBUG)
    try:
        async with AsyncExitStack() as stack:
            if offline:
                from ..testing import Emulator

                emu = await stack.enter_async_context(
                    Emulator(job_duration=1.0, job_jitter=0.5, keep_log=False, tokens_per_second=60)
                )
                why = "--emulator" if args.emulator else "ODIROUTER_API_KEY is not set"
                warn(f"{why}: using the embedded gateway emulator at {emu.url} (offline, free)")
                client = AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
            else:
                client = make_client(args)
            await stack.enter_async_context(client)
            return await _steps(args, client, counter)
    finally:
        sdk_logger.removeHandler(counter)
        sdk_logger.setLevel(old_level)


async def _steps(args: argparse.Namespace, client: AsyncOdiRouter, counter: RequestCounter) -> int:
    out = sys.stdout
    started = time.monotonic()
    listing = await client.models.list()
    ids = [m.id for m in listing]
    out.write(f"1. models: {len(ids)} available: {', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''}\n")
    out.write(f"2. chat ({args.model}, streamed):\n   ")
    out.flush()
    async with client.chat.completions.stream(
        model=args.model,
        messages=[{"role": "user", "content": "In two sentences: why does async help with many API calls?"}],
    ) as stream:
        async for text in stream.text_deltas():
            out.write(text)
            out.flush()
    out.write(f"\n3. images: {args.images} jobs on {args.endpoint}, all at once, downloaded as they finish\n")
    out.flush()
    prompts = [{"prompt": SUBJECTS[i % len(SUBJECTS)] + ", studio photo"} for i in range(args.images)]
    progress = Progress(args.images, label=args.endpoint)
    files: list[Path] = []
    failures: list[str] = []
    jobs_started = time.monotonic()
    async with client.queue.map(args.endpoint, prompts, concurrency=args.images) as results:

        async def ticker() -> None:
            while True:
                progress.in_flight = results.snapshot().in_flight
                progress.tick()
                await anyio.sleep(progress.interval)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            async for done in results:
                if done.result is not None:
                    files += await client.queue.download(done.result, args.out, overwrite=True)
                    progress.done += 1
                else:
                    failures.append(f"image {done.index}: {describe_error(done.error or Exception())}")
                    progress.failed += 1
                progress.in_flight = results.snapshot().in_flight
                progress.tick()
            tg.cancel_scope.cancel()
    progress.close()
    _summary(args, counter, files, failures, time.monotonic() - jobs_started, time.monotonic() - started)
    return EXIT_FAILED if failures else EXIT_OK


def _summary(
    args: argparse.Namespace,
    counter: RequestCounter,
    files: list[Path],
    failures: list[str],
    batch_wall: float,
    wall: float,
) -> None:
    kinds = counter.kinds
    jobs = args.images
    queue_requests = kinds.get("submit", 0) + kinds.get("poll", 0)
    size = sum(p.stat().st_size for p in files if p.exists())
    lines = [
        f"4. summary: {jobs - len(failures)}/{jobs} images in {format_duration(batch_wall)} "
        f"(whole demo {format_duration(wall)})",
        "   HTTP requests: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
        f"   queue requests per job: {queue_requests / jobs:.1f} "
        f"({kinds.get('submit', 0) / jobs:.1f} submit + {kinds.get('poll', 0) / jobs:.1f} polls), "
        f"plus {kinds.get('download', 0) / jobs:.1f} downloads",
        f"   files: {len(files)} in {args.out}/ ({size / 1024:.0f} KiB)",
    ]
    lines += [f"   failed: {f}" for f in failures]
    print("\n".join(lines), flush=True)
