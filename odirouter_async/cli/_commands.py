"""The small ``odirouter`` commands: ``models``, ``chat`` and ``run`` (``emulator``: ``_emulator``).

- ``models``: the model ids, one per line (``--json``: the gateway's body).
- ``chat [PROMPT]``: streams the answer's tokens to stdout as they arrive; without a prompt
  argument the prompt is read from stdin (so ``echo hi | odirouter chat`` works) -- in the main
  thread, before the event loop starts, so Ctrl-C at the prompt exits 130 at once.
- ``run ENDPOINT --json '{...}'``: submits one queue job, waits, prints the result JSON on stdout
  and, with ``--out DIR``, downloads its files.  ``--json @file.json`` reads the arguments from a
  file.  ``--attach REQUEST_ID`` waits for a job submitted earlier instead.  On Ctrl-C the job is
  left running (its id is printed, to re-attach) unless ``--cancel-on-interrupt``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio
import msgspec

from .._exceptions import JobTimeout, OdiRouterError
from ._common import EXIT_OK, UsageError, make_client, parse_json_object, warn

__all__ = ("add_parsers",)

_SUBMIT_GRACE = 30.0  # seconds a submit may still take after Ctrl-C, so its id is not lost


def add_parsers(subparsers: Any) -> None:
    """Register ``models``, ``chat`` and ``run``."""
    p = subparsers.add_parser("models", help="list the gateway's models", description="List model ids.")
    p.add_argument("--json", action="store_true", help="print the gateway's JSON body")
    p.set_defaults(func=models)

    p = subparsers.add_parser(
        "chat",
        help="stream a chat answer to the terminal",
        description="Send one prompt and stream the answer's tokens to stdout. Without PROMPT the "
        "prompt is read from stdin.",
    )
    p.add_argument("prompt", nargs="?", metavar="PROMPT", help="the prompt (default: read stdin)")
    p.add_argument("--model", default="gpt-4.1", help="model id")
    p.add_argument("--system", metavar="TEXT", help="a system message")
    p.add_argument("--max-tokens", type=int, metavar="N", help="max_tokens of the answer")
    p.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    p.set_defaults(func=chat, prepare=read_prompt)

    p = subparsers.add_parser(
        "run",
        help="run one queue job and print its result",
        description="Submit one queue job, wait for it, print the result JSON on stdout and "
        "optionally download its files.",
    )
    p.add_argument("endpoint", metavar="ENDPOINT", help="the queue model id, e.g. nano_banana_2")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--json", metavar="JSON", help="the arguments: a JSON object, or @FILE")
    source.add_argument("--attach", metavar="REQUEST_ID", help="wait for a job submitted earlier")
    p.add_argument("--out", type=Path, metavar="DIR", help="download the outputs into DIR")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="give up waiting after SECONDS")
    p.add_argument("--cancel-on-interrupt", action="store_true", help="cancel the job on Ctrl-C / timeout")
    p.set_defaults(func=run)


async def models(args: argparse.Namespace) -> int:
    """``odirouter models``."""
    async with make_client(args) as client:
        listing = await client.models.list()
    if args.json:
        sys.stdout.write(msgspec.json.encode(listing.raw).decode() + "\n")
    else:
        sys.stdout.write("".join(f"{m.id}\n" for m in listing))
    sys.stdout.flush()
    return EXIT_OK


def read_prompt(args: argparse.Namespace) -> None:
    """Read the prompt of ``chat`` (synchronous: Ctrl-C interrupts the read with KeyboardInterrupt)."""
    if args.prompt is None:
        if sys.stdin.isatty():
            warn("Type the prompt, then Ctrl-D:")
        args.prompt = sys.stdin.read()
    if not args.prompt.strip():
        raise UsageError("the prompt is empty")


async def chat(args: argparse.Namespace) -> int:
    """``odirouter chat``."""
    if args.prompt is None:  # called without ``main`` (tests): read it here
        read_prompt(args)
    prompt: str = args.prompt
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    fields: dict[str, Any] = {}
    if args.max_tokens is not None:
        fields["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        fields["temperature"] = args.temperature
    out = sys.stdout
    async with (
        make_client(args) as client,
        client.chat.completions.stream(
            model=args.model, messages=messages, extra_body=fields or None
        ) as stream,
    ):
        try:
            async for text in stream.text_deltas():
                out.write(text)
                out.flush()
        finally:
            out.write("\n")
            out.flush()
    return EXIT_OK


def _arguments(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {text[1:]}: {exc.strerror or exc}") from None
    return parse_json_object(text, "--json")


async def run(args: argparse.Namespace) -> int:
    """``odirouter run``."""
    arguments = _arguments(args.json) if args.json is not None else None
    async with make_client(args) as client:
        if arguments is not None:
            with anyio.CancelScope(shield=True):  # a Ctrl-C mid-submit still gets the job id
                with anyio.move_on_after(_SUBMIT_GRACE) as scope:
                    job = await client.queue.submit(args.endpoint, arguments)
            if scope.cancelled_caught:
                raise OdiRouterError(
                    f"the submit did not answer within {_SUBMIT_GRACE:.0f} s; a job may or may not exist"
                )
            warn(f"submitted {job.request_id}; waiting for the result")
        else:
            job = client.queue.job(args.endpoint, args.attach)
        try:
            result = await job.result(
                wait_timeout=args.timeout,
                cancel_on_timeout=args.cancel_on_interrupt,
                cancel_on_exit=args.cancel_on_interrupt,
            )
        except JobTimeout:
            warn(f"re-attach with: odirouter run {args.endpoint} --attach {job.request_id}")
            raise
        except anyio.get_cancelled_exc_class():
            if args.cancel_on_interrupt:
                warn(f"job {job.request_id} cancelled")
            else:
                warn(
                    f"job {job.request_id} is still running on the gateway; re-attach with: "
                    f"odirouter run {args.endpoint} --attach {job.request_id}"
                )
            raise
        sys.stdout.write(msgspec.json.encode(result.raw).decode() + "\n")
        sys.stdout.flush()
        if args.out is not None:
            paths = await client.queue.download(result, args.out, overwrite=True)
            for path in paths:
                warn(f"saved {path}")
    return EXIT_OK
