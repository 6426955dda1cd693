"""Saving a job's outputs to disk: streamed, bounded, atomic, size-checked, key-safe (I/O shell).

``await result.download(dir)`` (or ``client.queue.download(result, dir)``) saves every output:

- **Streamed**: each ``url`` is read with ``Transport.open_stream`` + ``iter_chunks`` and written
  in blocks of at most 1 MiB (in a worker thread), so memory stays flat whatever the file size.
  At most ``concurrency`` files at once; the first failure cancels the others and is raised.
- **Atomic**: bytes go to a hidden temporary file next to the target (``.NAME.XXXXXXXX.part``),
  renamed into place only when complete and checked; on any failure or cancellation it is removed.
  Without ``overwrite`` an existing target is a ``FileExistsError``: checked before anything is
  downloaded, and again at the rename (a hard link, which cannot clobber).
- **Checked**: the size written must equal ``file_size`` when the gateway gave one, and the
  Content-Length when the body was not content-encoded; otherwise ``ResponseValidationError``.
- **Key-safe**: the API key goes only to the client's own origin.  Output hosts elsewhere (a CDN)
  are fetched without it, whatever ``strict_origins`` says (output files are expected to live
  elsewhere); a redirect from our origin is followed by hand, without the key once it leaves.
- **Retried**: a body cut short, a timeout or a size mismatch is tried again twice (full-jitter
  backoff); HTTP errors were already retried by the transport and are raised typed.
- ``data:`` URLs are decoded locally (base64 or percent-encoded).  Text outputs (``text`` and no
  ``url``) are written as UTF-8 ``.txt`` files; outputs with neither are skipped.

File names: ``file_name``, else the URL's last path segment, else ``output_<i>``; reduced to a
plain name (no directories, no leading dots, no control or reserved characters, at most 200
bytes), so no output can be written outside ``dir``.  An extension from ``content_type`` is added
when the name has none; a name used twice in one result gets ``_<i>``.  Note that many results of
one model may share a ``file_name``: give each its own directory, or pass ``overwrite=True``.
"""

from __future__ import annotations

import binascii
import mimetypes
import os
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

import anyio

from ._exceptions import APIConnectionError, ResponseValidationError
from ._transport import StreamResponse, Transport

if TYPE_CHECKING:
    from .types.queue import JobOutput, JobResult

__all__ = ("download_outputs", "download_result", "safe_file_name")

_ATTEMPTS: Final = 3
_BACKOFF: Final = 0.25
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_HOPS: Final = 5
_WRITE_BLOCK: Final = 1 << 20
_MAX_NAME_BYTES: Final = 200
_ACCEPT_ANY: Final = {"Accept": "*/*"}
_FORBIDDEN: Final = frozenset('<>:"|?*')
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)


class _SizeMismatch(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Plan:
    index: int
    output: JobOutput
    target: Path
    kind: str  # "url" | "data" | "text"


# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------


def safe_file_name(raw: str | None) -> str | None:
    """A plain file name from an untrusted one (``None`` when nothing usable is left)."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in _FORBIDDEN)
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return None
    if name.split(".", 1)[0].upper() in _RESERVED:
        name = "_" + name
    suffix = os.path.splitext(name)[1]
    if len(suffix.encode()) > 16:
        suffix = ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return (stem + suffix) or None


def _media_type(output: JobOutput, kind: str) -> str | None:
    if kind == "data" and output.url:
        head = output.url[5:].split(",", 1)[0].split(";", 1)[0].strip()
        if head:
            return head
    return output.content_type


def _name_for(output: JobOutput, index: int, kind: str) -> str:
    name = safe_file_name(output.file_name)
    if name is None and kind == "url" and output.url:
        name = safe_file_name(unquote(urlsplit(output.url).path))
    name = name or f"output_{index}"
    if kind == "text":
        return name if name.lower().endswith(".txt") else name + ".txt"
    if not os.path.splitext(name)[1]:
        media = _media_type(output, kind)
        ext = mimetypes.guess_extension(media.split(";", 1)[0].strip()) if media else None
        if ext:
            name += ext
    return name


def _plan(outputs: Sequence[JobOutput], directory: Path) -> list[_Plan]:
    plans: list[_Plan] = []
    used: set[str] = set()
    for index, output in enumerate(outputs):
        if output.url:
            kind = "data" if output.url[:5].lower() == "data:" else "url"
        elif output.text is not None:
            kind = "text"
        else:
            continue
        name = _name_for(output, index, kind)
        if name.lower() in used:
            stem, ext = os.path.splitext(name)
            name = f"{stem}_{index}{ext}"
        used.add(name.lower())
        plans.append(_Plan(index, output, directory / name, kind))
    return plans


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def _create(path: Path) -> IO[bytes]:
    return open(path, "xb")


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the target exists: never clobbers
    except FileExistsError:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it") from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it") from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _check_sizes(size: int, expected: Sequence[tuple[int, str]]) -> None:
    for value, source in expected:
        if size != value:
            raise _SizeMismatch(f"got {size} bytes, {source} says {value}")


async def _write_atomic(
    target: Path, chunks: AsyncIterator[bytes], expected: Sequence[tuple[int, str]], overwrite: bool
) -> None:
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
            if len(buf) >= _WRITE_BLOCK:
                await anyio.to_thread.run_sync(f.write, buf)
                buf.clear()
        if buf:
            await anyio.to_thread.run_sync(f.write, buf)
        await anyio.to_thread.run_sync(f.close)
        _check_sizes(size, expected)
        await anyio.to_thread.run_sync(_publish, tmp, target, overwrite)
    except BaseException:
        f.close()  # no await here: safe under cancellation
        tmp.unlink(missing_ok=True)
        raise


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


# ----------------------------------------------------------------------------------------------
# Fetching
# ----------------------------------------------------------------------------------------------


def _decode_data_url(url: str) -> bytes:
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise ResponseValidationError(f"malformed data: URL ({url[:60]!r}...)")
    if any(p.strip().lower() == "base64" for p in header.split(";")[1:]):
        try:
            return binascii.a2b_base64(unquote_to_bytes(payload))
        except (binascii.Error, ValueError) as exc:
            raise ResponseValidationError(f"data: URL is not valid base64: {exc}") from None
    return unquote_to_bytes(payload)


def _absolute(transport: Transport, url: str) -> str:
    full = urljoin(transport.base_url + "/", url)
    if urlsplit(full).scheme.lower() not in ("http", "https"):
        raise ResponseValidationError(f"cannot download an output URL of this scheme: {url[:80]!r}")
    return full


async def _open(transport: Transport, url: str) -> StreamResponse:
    """GET the file; the key only on our origin; redirects from our origin followed by hand."""
    for _ in range(_MAX_HOPS + 1):
        own = transport.is_own_origin(url)
        resp = await transport.open_stream(
            "GET", url, auth=own, headers=_ACCEPT_ANY, ok_statuses=_REDIRECTS if own else frozenset()
        )
        if resp.status not in _REDIRECTS:
            return resp
        location = resp.headers.get("Location")
        resp.close()
        if not location:
            raise ResponseValidationError("a redirect without a Location header", request_id=resp.request_id)
        url = _absolute(transport, urljoin(url, location))
    raise ResponseValidationError(f"more than {_MAX_HOPS} redirects downloading an output")


async def _fetch(transport: Transport, plan: _Plan, overwrite: bool) -> None:
    output = plan.output
    expected: list[tuple[int, str]] = []
    if isinstance(output.file_size, (int, float)) and output.file_size >= 0:
        expected.append((int(output.file_size), "file_size"))
    if plan.kind == "text":
        data = (output.text or "").encode()
        await _write_atomic(plan.target, _once(data), (), overwrite)
        return
    assert output.url is not None
    if plan.kind == "data":
        data = _decode_data_url(output.url)
        try:
            await _write_atomic(plan.target, _once(data), expected, overwrite)
        except _SizeMismatch as exc:
            raise ResponseValidationError(f"output {plan.index}: {exc.message}") from None
        return
    url = _absolute(transport, output.url)
    for attempt in range(_ATTEMPTS):
        try:
            resp = await _open(transport, url)
            try:
                sizes = list(expected)
                length = resp.headers.get("Content-Length")
                encoding = resp.headers.get("Content-Encoding", "identity").lower()
                if length is not None and length.isdigit() and encoding == "identity":
                    sizes.append((int(length), "Content-Length"))
                await _write_atomic(plan.target, resp.iter_chunks(), sizes, overwrite)
            finally:
                resp.close()
            return
        except (APIConnectionError, _SizeMismatch) as exc:  # noqa: PERF203  (a retry loop)
            if attempt + 1 >= _ATTEMPTS:
                if isinstance(exc, _SizeMismatch):
                    raise ResponseValidationError(
                        f"output {plan.index} ({plan.target.name}): {exc.message}"
                    ) from None
                raise
            await anyio.sleep(random.uniform(0.0, _BACKOFF * 2**attempt))


async def download_outputs(
    transport: Transport,
    outputs: Sequence[JobOutput],
    dest: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    overwrite: bool = False,
    request_id: str | None = None,
) -> list[Path]:
    """Save ``outputs`` under ``dest`` (see the module docstring); the paths, in output order."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be a positive integer")
    directory = Path(dest)
    await anyio.to_thread.run_sync(partial(directory.mkdir, parents=True, exist_ok=True))
    plans = _plan(outputs, directory)
    if not overwrite:
        for plan in plans:
            if plan.target.exists():
                raise FileExistsError(f"{plan.target} exists; pass overwrite=True to replace it")
    errors: list[BaseException] = []
    limiter = anyio.Semaphore(concurrency)

    async def one(plan: _Plan) -> None:
        async with limiter:
            try:
                await _fetch(transport, plan, overwrite)
            except Exception as exc:
                if not errors:
                    errors.append(exc)
                tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        for plan in plans:
            tg.start_soon(one, plan)
    if errors:
        error = errors[0]
        if request_id is not None and isinstance(error, ResponseValidationError) and not error.request_id:
            error.request_id = request_id
        raise error
    return [plan.target for plan in plans]


async def download_result(
    result: JobResult, dest: str | os.PathLike[str], *, concurrency: int = 8, overwrite: bool = False
) -> list[Path]:
    """``JobResult.download``: the result must come from a client (``job.result()``, ``run``, ``map``)."""
    client = result.__dict__.get("_client")
    if client is None:
        raise RuntimeError(
            "this JobResult is not bound to a client; use `await client.queue.download(result, dir)`"
        )
    return await download_outputs(
        client._transport,
        result.outputs,
        dest,
        concurrency=concurrency,
        overwrite=overwrite,
        request_id=result.request_id,
    )
