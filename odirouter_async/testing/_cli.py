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
    p = argparse.ArgumentParser(prog=prog, description="Run the OdiRouter gateway emulator.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="API port (0: any free port)")
    p.add_argument("--cdn-port", type=int, default=0, help="output-file port (default: any free port)")
    p.add_argument("--api-key", default="emu-test-key", help="the key to accept")
    p.add_argument("--job-duration", type=float, default=2.0, help="seconds a queue job runs")
    p.add_argument("--job-jitter", type=float, default=0.25, help="relative jitter of job durations")
    p.add_argument("--queue-delay", type=float, default=0.0, help="seconds a job waits IN_QUEUE")
    p.add_argument("--poll-rate-limit", type=float, default=None, help="status+result polls per second")
    p.add_argument("--balance", type=float, default=None, help="credits (default: unlimited)")
    p.add_argument("--video-duration", type=float, default=2.0, help="seconds a video takes")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--tokens-per-second", type=float, default=60.0, help="LLM stream pace (default 60; 0: all at once)"
    )
    p.add_argument("--permissive", action="store_true", help="accept any LLM model id (default: 404)")
    p.add_argument("--foreign-urls", action="store_true", help="job URLs on the second origin")
    p.add_argument("--accept-key-scheme", action="store_true", help="also accept 'Authorization: Key'")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA (needs trustme)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = vars(args)
    host, port, api_key = options.pop("host"), options.pop("port"), options.pop("api_key")
    try:
        run_emulator(host, port, api_key, **options)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
