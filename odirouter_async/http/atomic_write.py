"""The one atomic streaming writer: an HTTP body to a file, whole or not at all (I/O shell).

Used by the queue's ``result.download`` (``http/download.py``) and ``client.videos.download_content``.

- **Streamed**: ``write_atomic`` writes blocks of at most ``WRITE_BLOCK`` (1 MiB) from a worker
  thread, so memory stays flat whatever the file size.
- **Atomic**: bytes go to a hidden temporary file next to the target (``.NAME.XXXXXXXX.part``,
  created exclusively with mode ``0o666`` minus the umask, so concurrent downloads to one target
  never share it), are checked, flushed and fsynced, then renamed into place.  On any failure or
  cancellation -- a full disk included, when even closing the file fails -- it is removed and the
  target is left as it was.  With ``overwrite`` the rename
  replaces an existing target (``os.replace``); without it the rename is a hard link, which
  cannot clobber (``FileExistsError``).
- **Checked**: the byte count must equal every expected size given (e.g. a job output's
  ``file_size``) and, in ``fetch_to_file``, the Content-Length when the body was not
  content-encoded; otherwise ``SizeMismatch``, raised as soon as the body runs over.  Each caller
  turns a final ``SizeMismatch`` into its own public error.
- **Refetched**: ``fetch_to_file`` downloads the body again from the start when it was cut short
  or stalled (``APIConnectionError`` / ``APITimeoutError`` while reading) or its size was wrong,
  up to ``refetches`` more times, after the client's ``RetryPolicy`` backoff delays.  Errors
  opening the response were already retried (or not) by the transport and are raised typed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, cast

import anyio

from .._exceptions import APIConnectionError
from .response import StreamResponse
from .transport import logger

if TYPE_CHECKING:
    from .retry import RetryPolicy

__all__ = (
    "WRITE_BLOCK",
    "SizeMismatch",
    "content_length",
    "fetch_to_file",
    "refuse_existing",
    "write_atomic",
)

#: Bytes buffered in memory before one write to disk.
WRITE_BLOCK: Final = 1 << 20


class SizeMismatch(Exception):
    """The body's byte count differs from an expected size; each caller says what it means."""

    def __init__(self, size: int, expected: int, source: str) -> None:
        super().__init__(f"got {size} bytes, {source} says {expected}")
        self.size = size
        self.expected = expected
        self.source = source
        self.request_id: str | None = None  # of the response, when it came from one


def content_length(sresp: StreamResponse) -> int | None:
    """The body size the headers promise, or ``None`` when it cannot be checked."""
    encoding = sresp.headers.get("Content-Encoding", "identity").strip().lower()
    length = sresp.headers.get("Content-Length", "").strip()
    if encoding not in ("", "identity") or not (length.isascii() and length.isdigit()):
        return None  # decompressed bytes cannot be checked against the encoded length
    return int(length)


def _create(path: Path) -> IO[bytes]:
    return open(path, "xb")  # O_EXCL: concurrent downloads to one target never share it


def refuse_existing(target: Path, overwrite: bool) -> None:
    """The one overwrite rule of every download: an existing ``target`` is a ``FileExistsError``
    naming the ``overwrite=True`` flag, unless ``overwrite``."""
    if not overwrite and target.exists():
        raise _exists(target)


def _exists(target: Path) -> FileExistsError:
    return FileExistsError(f"{target} exists; pass overwrite=True to replace it")


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the target exists: never clobbers
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # no hard links on this file system
        refuse_existing(target, overwrite)
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _finish(f: IO[bytes], tmp: Path, target: Path, overwrite: bool) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()
    _publish(tmp, target, overwrite)


def _check_sizes(size: int, expected: Sequence[tuple[int, str]]) -> None:
    for value, source in expected:
        if size != value:
            raise SizeMismatch(size, value, source)


async def write_atomic(
    target: Path,
    chunks: AsyncIterable[bytes],
    expected: Sequence[tuple[int, str]] = (),
    *,
    overwrite: bool,
) -> int:
    """Write ``chunks`` to ``target`` atomically (module docstring); returns the byte count.

    ``expected`` holds ``(size, source)`` pairs the count must match (else ``SizeMismatch``).
    ``target``'s directory must exist.
    """
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    limit = min((value for value, _ in expected), default=None)
    f: IO[bytes] = await anyio.to_thread.run_sync(_create, tmp)
    try:
        buf = bytearray()
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                _check_sizes(size, expected)
            buf += chunk
            if len(buf) >= WRITE_BLOCK:
                await anyio.to_thread.run_sync(f.write, buf)
                buf.clear()
        if buf:
            await anyio.to_thread.run_sync(f.write, buf)
        _check_sizes(size, expected)
        await anyio.to_thread.run_sync(_finish, f, tmp, target, overwrite)
    except BaseException:
        _discard(f, tmp)  # no await here: safe under cancellation
        raise
    return size


def _discard(f: IO[bytes], tmp: Path) -> None:
    """Close and remove the temporary file after a failure, whatever else fails now: closing
    flushes what is buffered, which raises again on a full disk (``ENOSPC``) or past a file-size
    limit (``EFBIG``) -- the file is removed all the same, and the first error is the one raised."""
    try:
        f.close()
    except OSError:
        pass
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("cannot remove the temporary file %s: %s", tmp, exc)


async def fetch_to_file(
    open_body: Callable[[], Awaitable[StreamResponse]],
    target: Path,
    *,
    retry: RetryPolicy,
    refetches: int,
    expected: Sequence[tuple[int, str]] = (),
    overwrite: bool,
) -> int:
    """Open a response with ``open_body`` and ``write_atomic`` its body; returns the byte count.

    A body cut short, stalled or of the wrong size is fetched again, whole, up to ``refetches``
    more times after ``retry``'s backoff delays; then the last ``APIConnectionError`` or
    ``SizeMismatch`` (with ``.request_id``) is raised.  The Content-Length joins ``expected``.
    """
    delays = retry.delays()
    attempt = 0
    while True:
        sresp = await open_body()
        try:
            length = content_length(sresp)
            sizes = [*expected, (length, "Content-Length")] if length is not None else expected
            chunks = cast(AsyncGenerator[bytes, None], sresp.iter_chunks())
            async with contextlib.aclosing(chunks):
                return await write_atomic(target, chunks, sizes, overwrite=overwrite)
        except (APIConnectionError, SizeMismatch) as exc:
            if isinstance(exc, SizeMismatch):
                exc.request_id = sresp.request_id
            if attempt >= refetches:
                raise
            delay = next(delays)
            logger.info("download cut short, fetching %s again in %.3fs: %s", target.name, delay, exc)
        finally:
            sresp.close()  # no await here: safe under cancellation
        attempt += 1
        await anyio.sleep(delay)
