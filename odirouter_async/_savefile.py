"""Saving a streamed response body to a file atomically: the destination is whole or untouched.

``download_file`` GETs a URL through the transport and saves it with ``save_stream``; a body cut
short (or stalled past the read timeout) is fetched again from the start, up to the call's retry
budget, after a backoff delay from the client's ``RetryPolicy``.  HTTP errors were already
retried (or not) by the transport and are raised typed.

``save_stream`` writes to a temporary ``<name>.<random>.part`` file in the destination's
directory (created ``O_EXCL`` with mode ``0o666`` minus the umask, so concurrent downloads to one
path never share it), in blocks of up to ``FLUSH`` bytes written from a worker thread, checks
the byte count against ``Content-Length`` (when the body is not content-encoded), flushes and
fsyncs, then ``os.replace``-s it over the destination.  On any error or cancellation the
temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import IO, Any, Final, cast

import anyio

from ._config import NotGiven, RequestOptions
from ._exceptions import APIConnectionError
from ._transport import StreamResponse, Transport, logger

__all__ = ("FLUSH", "download_file", "expected_size", "save_stream")

#: Bytes buffered in memory before one write to disk.
FLUSH: Final = 1 << 20
_NO_OPTIONS: Final = RequestOptions()


def expected_size(sresp: StreamResponse) -> int | None:
    """The body size the headers promise, or ``None`` when it cannot be checked."""
    encoding = sresp.headers.get("Content-Encoding", "identity").strip().lower()
    length = sresp.headers.get("Content-Length")
    if encoding not in ("", "identity") or length is None or not length.strip().isdigit():
        return None  # decompressed bytes cannot be checked against the encoded length
    return int(length)


def _create_part(dest: Path) -> tuple[Path, IO[bytes]]:
    tmp = dest.with_name(f"{dest.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    return tmp, os.fdopen(fd, "wb")


def _finish(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())


async def save_stream(sresp: StreamResponse, dest: Path) -> int:
    """Write the body of ``sresp`` to ``dest`` atomically; returns the number of bytes.

    The caller opens and closes ``sresp``; ``dest``'s directory must exist.

    Raises:
        APIConnectionError: the body was cut short (fewer bytes than ``Content-Length``, or the
            connection broke); ``APITimeoutError`` when it stalled past the read timeout.
        OSError: the file could not be written or renamed.
    """
    expected = expected_size(sresp)
    tmp, f = _create_part(dest)
    done = False
    try:
        written = 0
        buf = bytearray()
        chunks = cast(AsyncGenerator[bytes, None], sresp.iter_chunks())
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                buf += chunk
                if len(buf) >= FLUSH:
                    await anyio.to_thread.run_sync(f.write, buf)
                    written += len(buf)
                    buf.clear()
        if buf:
            await anyio.to_thread.run_sync(f.write, buf)
            written += len(buf)
        if expected is not None and written != expected:
            raise APIConnectionError(
                f"download incomplete: got {written} of {expected} bytes", request_id=sresp.request_id
            )
        await anyio.to_thread.run_sync(_finish, f)
        f.close()
        os.replace(tmp, dest)
        done = True
    finally:
        if not done:
            f.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return written


async def download_file(
    transport: Transport,
    url: str,
    dest: Path,
    *,
    query: Mapping[str, Any] | None = None,
    options: RequestOptions = _NO_OPTIONS,
    headers: Mapping[str, str] | None = None,
) -> int:
    """``GET url`` saved to ``dest`` atomically (see ``save_stream``); returns the byte count.

    A body cut short is downloaded again, whole, up to ``options.max_retries`` (else the
    client's) more times; the last ``APIConnectionError`` is raised when none succeeds.
    """
    policy = transport.retry
    budget = policy.max_retries if isinstance(options.max_retries, NotGiven) else options.max_retries
    delays = policy.delays()
    retries = 0
    while True:
        sresp = await transport.open_stream("GET", url, query=query, options=options, headers=headers)
        try:
            return await save_stream(sresp, dest)
        except APIConnectionError as exc:
            if retries >= budget:
                raise
            delay = next(delays)
            logger.info("download cut short, fetching %s again in %.3fs: %s", dest.name, delay, exc)
        finally:
            await sresp.aclose()
        retries += 1
        await anyio.sleep(delay)
