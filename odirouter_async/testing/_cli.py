"""Running the emulator as a stand-alone server: ``run_emulator(...)`` and ``main(argv)``.

``odirouter emulator --port 8080`` (the SDK's CLI) calls ``run_emulator``; ``main(argv)`` parses the
same options itself.  Both serve until interrupted (Ctrl-C / SIGTERM) and print the URLs, the key
and the environment variables a client reads.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._options import DESCRIPTION, add_emulator_options
from ._server import Emulator

__all__ = ("build_parser", "main", "run_emulator", "serve_emulator")


async def serve_emulator(
    host: str = "127.0.0.1",
    port: int = 8080,
    api_key: str = "emu-test-key",
    *,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    **options: Any,
) -> None:
    """Serve until ``stop`` is set (or SIGINT / SIGTERM arrives), printing where to ``out``."""
    out = out or sys.stdout
    options.setdefault("keep_log", False)  # a long-running server must not grow a request log
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = [sig for sig in (signal.SIGINT, signal.SIGTERM) if _on_signal(loop, sig, stop)]
    try:
        async with Emulator(api_key, host=host, port=port, **options) as emu:
            print(f"OdiRouter emulator listening on {emu.url}", file=out)
            print(f"  output files (second origin): {emu.cdn_url}", file=out)
            print(f"  api key: {emu.api_key}", file=out)
            if emu.ca_cert_path:
                print(f"  CA certificate: {emu.ca_cert_path}", file=out)
                print(f"  to trust it from the CLI: export SSL_CERT_FILE={emu.ca_cert_path}", file=out)
            print(f"  export ODIROUTER_BASE_URL={emu.url} ODIROUTER_API_KEY={emu.api_key}", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _on_signal(loop: asyncio.AbstractEventLoop, sig: int, stop: asyncio.Event) -> bool:
    try:
        loop.add_signal_handler(sig, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
        return False
    return True


def run_emulator(
    host: str = "127.0.0.1", port: int = 8080, api_key: str = "emu-test-key", **options: Any
) -> None:
    """Serve the emulator in the foreground until interrupted (``Emulator`` keyword options)."""
    try:
        asyncio.run(serve_emulator(host, port, api_key, **options))
    except KeyboardInterrupt:
        pass


def build_parser(prog: str = "odirouter emulator") -> argparse.ArgumentParser:
    """The command-line options (usable as a sub-parser template)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_emulator_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = vars(args)
    host, port, api_key = options.pop("host"), options.pop("port"), options.pop("api_key")
    try:
        run_emulator(host, port, api_key, **options)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"odirouter: error: {exc}", file=sys.stderr)
        return 1
    return 0
