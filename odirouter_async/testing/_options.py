"""The emulator's command-line options, shared by ``odirouter emulator`` and ``testing._cli``.

Light on purpose: argparse only.  The ``odirouter`` tool builds its parser (every run, every
command) with these options, so this module imports no emulator, no aiohttp: only running the
``emulator`` command imports ``testing._cli`` and the server behind it.
"""

from __future__ import annotations

import argparse

__all__ = ("DESCRIPTION", "add_emulator_options")

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
