"""The ``odirouter`` command line (also ``python -m odirouter_async``).

::

    odirouter demo                                   # offline on the embedded emulator without a key
    odirouter models
    odirouter chat "Explain SSE in one line" [--model gpt-4.1] [--system TEXT]
    odirouter run nano_banana_2 --json '{"prompt": "a red apple"}' [--out DIR]
    odirouter batch nano_banana_2 inputs.jsonl --out DIR [--journal FILE|DSN] [--concurrency N]
    odirouter batch-init postgresql://... nano_banana_2 inputs.jsonl      # a batch shared by workers
    odirouter batch-status postgresql://...
    odirouter videos create --prompt "a paper boat" --wait --out clip.mp4
    odirouter emulator --port 8080

The client reads ``ODIROUTER_API_KEY`` and ``ODIROUTER_BASE_URL`` (or ``--base-url``; a trailing
``/v1`` is accepted); ``--allow-insecure-http`` permits plain ``http://`` to a non-loopback host.
Exit codes: 0 success; 1 the gateway or a job failed (with the request id); 2 bad usage or
configuration; 130 interrupted (Ctrl-C).  Every error is one line ``odirouter: error: <message>``
on stderr.  Every command has ``--help``.  Only ``demo`` (without a key) and ``emulator`` import
the emulator (``odirouter_async.testing``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    HelpFormatter,
    Parser,
    exit_code,
    run_command,
    run_command_async,
)

__all__ = ("build_parser", "main", "main_async")

_EPILOG = """\
environment:
  ODIROUTER_API_KEY   the API key (not needed by 'demo' and 'emulator')
  ODIROUTER_BASE_URL  the gateway (default https://odirouter.ai; a trailing /v1 is accepted)
  SSL_CERT_FILE       a CA bundle to trust (e.g. the one 'odirouter emulator --tls' prints)

exit codes: 0 success, 1 API or job failure, 2 usage error, 130 interrupted (Ctrl-C)
"""


def _common_options(defaults: bool, client: bool = True) -> argparse.ArgumentParser:
    """``--base-url``, ``--allow-insecure-http`` (commands with a client) and ``-v``, accepted
    before or after the command name."""
    p = argparse.ArgumentParser(add_help=False)
    suppress: Any = argparse.SUPPRESS
    if client:
        p.add_argument(
            "--base-url",
            default=None if defaults else suppress,
            metavar="URL",
            help="the gateway's base URL; a trailing /v1 is accepted "
            "(default: $ODIROUTER_BASE_URL or https://odirouter.ai)",
        )
        p.add_argument(
            "--allow-insecure-http",
            action="store_true",
            default=False if defaults else suppress,
            help="allow a plain http:// base URL to a non-loopback host (the key travels in clear)",
        )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else suppress,
        help="log every HTTP request to stderr; show tracebacks",
    )
    return p


class _Subparsers:
    """Wraps ``add_subparsers()`` so every command also takes the common options."""

    def __init__(self, actions: Any) -> None:
        self._actions = actions
        self._common = _common_options(defaults=False)
        self._no_client = _common_options(defaults=False, client=False)

    def add_parser(self, name: str, *, client: bool = True, **kwargs: Any) -> argparse.ArgumentParser:
        """A command; ``client=False``: it builds no client (no ``--base-url``)."""
        kwargs["parents"] = [*kwargs.get("parents", []), self._common if client else self._no_client]
        kwargs.setdefault("formatter_class", HelpFormatter)
        parser: argparse.ArgumentParser = self._actions.add_parser(name, **kwargs)
        return parser


def _videos_unavailable(subparsers: _Subparsers, error: ImportError) -> None:
    p = subparsers.add_parser("videos", help="Sora-style videos (not available in this build)", add_help=True)
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def unavailable(args: argparse.Namespace) -> int:
        print(f"odirouter: error: videos are not available ({error})", file=sys.stderr)
        return EXIT_FAILED

    p.set_defaults(func=None, sync_func=unavailable)


def build_parser() -> argparse.ArgumentParser:
    """The ``odirouter`` argument parser with every subcommand."""
    from .. import __version__
    from . import _batch, _batch_pg, _commands, _demo, _emulator

    parser = Parser(
        prog="odirouter",
        description="Command-line tool of odirouter_async: the OdiRouter Model API from the shell.",
        epilog=_EPILOG,
        parents=[_common_options(defaults=True)],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"odirouter_async {__version__}")
    subparsers = _Subparsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    _demo.add_parser(subparsers)
    _commands.add_parsers(subparsers)
    _emulator.add_parser(subparsers)
    _batch.add_parser(subparsers).set_defaults(func=_batch_pg.run_batch)
    _batch_pg.add_parsers(subparsers)
    try:
        from . import _videos
    except ImportError as exc:
        _videos_unavailable(subparsers, exc)
    else:
        _videos.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``odirouter`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = _parse(argv)
    if isinstance(args, int):
        return args
    return run_command(args.func, args)


async def main_async(argv: Sequence[str]) -> int:
    """:func:`main` on the running event loop (the tests run the CLI on their virtual clock)."""
    args = _parse(argv)
    if isinstance(args, int):
        return args
    return await run_command_async(args.func, args)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed arguments of an async command, or the exit code of one already done (``--help``,
    a usage error, a synchronous command)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.argv = arguments
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        sdk_logger = logging.getLogger("odirouter_async")
        sdk_logger.addHandler(handler)
        sdk_logger.setLevel(logging.DEBUG)
    prepare = getattr(args, "prepare", None)
    if prepare is not None:  # synchronous input (chat's prompt), before any event loop
        try:
            prepare(args)
        except BaseException as exc:
            early = exit_code(exc)
            if early is None:
                raise
            return early
    sync_func = getattr(args, "sync_func", None)
    if sync_func is not None:
        try:
            code: int = sync_func(args)
        except BaseException as exc:
            handled = exit_code(exc)
            if handled is None:
                raise
            return handled
        return code
    return args
