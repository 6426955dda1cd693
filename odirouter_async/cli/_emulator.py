"""``odirouter emulator``: the command.

Its options live in ``testing/_options.py`` (argparse only), so building the tool's parser (every
``odirouter`` run) does not import the emulator: only running it does (``testing._cli``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..testing._options import DESCRIPTION, add_emulator_options
from ._common import EXIT_OK, UsageError

__all__ = ("add_parser", "emulator")


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
