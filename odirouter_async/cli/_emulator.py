"""``odirouter emulator``: its options (shared with ``odirouter_async.testing._cli``) and command.

The options live here, not in the testing package, so that building the tool's parser (every
``odirouter`` run) does not import the emulator: only running it does.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import EXIT_OK, UsageError

__all__ = ("add_emulator_options", "add_parser", "emulator")

DESCRIPTION = """\
Run the OdiRouter gateway emulator (an offline OdiRouter API for development) in the
foreground until Ctrl-C. It prints its URL, its key and the environment a client reads.
With --tls it serves HTTPS with a throwaway CA; SSL_CERT_FILE=<the printed CA path> makes
the odirouter CLI (and aiohttp) trust it."""


def add_emulator_options(p: argparse.ArgumentParser) -> None:
    """The emulator's options (``Emulator`` keyword arguments plus host, port and key)."""
    p.add_argument("--host", default="127.0.0.1", help="address to bind")
    p.add_argument("--port", type=int, default=8080, metavar="PORT", help="API port (0: any free port)")
    p.add_argument(
        "--cdn-port", type=int, default=0, metavar="PORT", help="output-file port (0: any free port)"
    )
    p.add_argument("--api-key", default="emu-test-key", metavar="KEY", help="the key to accept")
    p.add_argument(
        "--job-duration", type=float, default=2.0, metavar="SECONDS", help="how long a queue job runs"
    )
    p.add_argument(
        "--job-jitter", type=float, default=0.25, metavar="FRACTION", help="relative jitter of job durations"
    )
    p.add_argument(
        "--queue-delay", type=float, default=0.0, metavar="SECONDS", help="how long a job waits IN_QUEUE"
    )
    p.add_argument(
        "--poll-rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="status+result polls per second (default: no limit)",
    )
    p.add_argument(
        "--balance", type=float, default=None, metavar="CREDITS", help="credits (default: unlimited)"
    )
    p.add_argument(
        "--video-duration", type=float, default=2.0, metavar="SECONDS", help="how long a video takes"
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    p.add_argument(
        "--tokens-per-second", type=float, default=60.0, metavar="N", help="LLM stream pace (0: all at once)"
    )
    p.add_argument(
        "--permissive",
        action="store_true",
        help="accept any model id and queue endpoint (otherwise: 404, as the gateway)",
    )
    p.add_argument("--foreign-urls", action="store_true", help="job URLs on the second origin")
    p.add_argument("--accept-key-scheme", action="store_true", help="also accept 'Authorization: Key'")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA (needs trustme)")


def add_parser(subparsers: Any) -> None:
    """Register ``emulator`` (no ``--base-url``: it builds no client)."""
    p = subparsers.add_parser(
        "emulator",
        client=False,
        help="run the gateway emulator (offline OdiRouter API for development)",
        description=DESCRIPTION,
    )
    add_emulator_options(p)
    p.set_defaults(func=None, sync_func=emulator)


def emulator(args: argparse.Namespace) -> int:
    """``odirouter emulator``: serve until Ctrl-C (synchronous: it owns its event loop)."""
    from ..testing._cli import run_emulator  # the emulator is imported only to run it

    defaults = argparse.ArgumentParser(add_help=False)
    add_emulator_options(defaults)
    options = {k: getattr(args, k) for k in vars(defaults.parse_args([]))}
    host, port, api_key = options.pop("host"), options.pop("port"), options.pop("api_key")
    try:
        run_emulator(host, port, api_key, **options)
    except (RuntimeError, ValueError) as exc:  # bad option values, trustme missing
        raise UsageError(str(exc)) from None
    return EXIT_OK  # an OSError (port in use) is reported by the caller, exit 1
