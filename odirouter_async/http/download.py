"""Saving a job's outputs to disk: streamed, bounded, atomic, size-checked, key-safe (I/O shell).

``await result.download(dir)`` (or ``client.queue.download(result, dir)``) saves every output:

- **Streamed and atomic**: each ``url`` is read with ``Transport.open_stream`` and written by the
  one atomic writer (``http/atomic_write.py``): 1 MiB blocks from a worker thread, a hidden temporary
  file next to the target (``.NAME.XXXXXXXX.part``), fsynced and renamed into place only when
  complete and checked; on any failure or cancellation it is removed.  At most ``concurrency``
  files at once; the first failure cancels the others and is raised.
- Without ``overwrite`` an existing target is a ``FileExistsError``: checked before anything is
  downloaded, and again at the rename (a hard link, which cannot clobber).
- **Checked**: the size written must equal ``file_size`` when the gateway gave one, and the
  Content-Length when the body was not content-encoded; otherwise ``ResponseValidationError``.
- **Key-safe**: the API key goes only to the client's own origin.  Output hosts elsewhere (a CDN)
  are fetched without it, whatever ``strict_origins`` says (output files are expected to live
  elsewhere); a redirect from our origin is followed by hand, without the key once it leaves.
- **Refetched**: a body cut short, a stall past the read timeout or a size mismatch is fetched
  again from the start within the client's retry budget (``max_retries``, backoff from its
  ``RetryPolicy``); HTTP and connection errors were already retried by the transport and are
  raised typed.
- ``data:`` URLs are decoded locally (base64 or percent-encoded).  Text outputs (``text`` and no
  ``url``) are written as UTF-8 ``.txt`` files; outputs with neither are skipped.

File names: ``file_name``, else the URL's last path segment, else ``output_<i>``; reduced to a
plain name (no directories, no leading dots, no control or reserved characters, at most 200
bytes), so no output can be written outside ``dir``.  An extension from ``content_type`` is added
when the name has none; a name already planned in one result gets ``_<i>`` (the output's index),
and ``_<i>_2``, ``_<i>_3``... while that is taken too: one set of used names (case-insensitive), so
no two outputs are ever written to one path.  Note that many results of
one model may share a ``file_name``: give each its own directory, or pass ``overwrite=True``.
"""

from __future__ import annotations

import binascii
import mimetypes
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

import anyio

from .._config import RequestOptions
from .._exceptions import ResponseValidationError
from .atomic_write import SizeMismatch, fetch_to_file, refuse_existing, write_atomic
from .response import StreamResponse
from .status_rules import REDIRECTS
from .transport import Transport

if TYPE_CHECKING:
    from ..types.queue import JobOutput, JobResult

__all__ = ("bind_downloads", "download_outputs", "download_result", "open_following", "safe_file_name")

_MAX_HOPS: Final = 5
_MAX_NAME_BYTES: Final = 200
_ACCEPT_ANY: Final = {"Accept": "*/*"}
_FORBIDDEN: Final = frozenset('<>:"|?*')
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)


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
        name = _unique(_name_for(output, index, kind), index, used)
        used.add(name.lower())
        plans.append(_Plan(index, output, directory / name, kind))
    return plans


def _unique(name: str, index: int, used: set[str]) -> str:
    """``name``, or the first of ``stem_<index>``, ``stem_<index>_2``, ... not in ``used`` (lower
    case: one file on a case-insensitive file system).  Never two plans for one path."""
    if name.lower() not in used:
        return name
    stem, ext = os.path.splitext(name)
    candidate, n = f"{stem}_{index}{ext}", 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}_{index}_{n}{ext}"
    return candidate


# ----------------------------------------------------------------------------------------------
# Fetching
# ----------------------------------------------------------------------------------------------


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


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


async def open_following(
    transport: Transport,
    url: str,
    *,
    headers: Mapping[str, str] = _ACCEPT_ANY,
    query: Mapping[str, Any] | None = None,
    options: RequestOptions | None = None,
) -> StreamResponse:
    """GET a file; the key only on our origin; redirects from our origin followed by hand.

    ``query`` and ``options`` go with the first request; a ``Location`` is used as given, with
    only the timeout and retry budget of ``options``.  More than ``_MAX_HOPS`` redirects raise
    ``ResponseValidationError`` naming the last URL (without its query).
    """
    extra: dict[str, Any] = {"query": query} if query else {}
    hops: dict[str, Any] = {}
    if options is not None:
        extra["options"] = options
        hops["options"] = RequestOptions.of(timeout=options.timeout, max_retries=options.max_retries)
    for _ in range(_MAX_HOPS + 1):
        own = transport.is_own_origin(url)
        resp = await transport.open_stream(
            "GET", url, auth=own, headers=headers, ok_statuses=REDIRECTS if own else frozenset(), **extra
        )
        extra = hops
        if resp.status not in REDIRECTS:
            return resp
        location = resp.headers.get("Location")
        resp.close()
        if not location:
            raise ResponseValidationError(
                f"HTTP {resp.status} redirect without a Location header from {_where(url)}",
                x_request_id=resp.request_id,
                status_code=resp.status,
            )
        url = _absolute(transport, urljoin(url, location))
    raise ResponseValidationError(f"too many redirects (more than {_MAX_HOPS}), the last to {_where(url)}")


def _where(url: str) -> str:
    """A URL for a message: without its query (a presigned URL's signature stays out)."""
    return url.split("?", 1)[0]


async def _open(transport: Transport, url: str) -> StreamResponse:
    """GET an output file (``open_following``)."""
    return await open_following(transport, url)


async def _fetch(transport: Transport, plan: _Plan, overwrite: bool) -> None:
    output = plan.output
    expected: list[tuple[int, str]] = []
    if isinstance(output.file_size, (int, float)) and output.file_size >= 0:
        expected.append((int(output.file_size), "file_size"))
    try:
        if plan.kind == "text":
            await write_atomic(plan.target, _once((output.text or "").encode()), overwrite=overwrite)
        elif plan.kind == "data":
            assert output.url is not None
            data = _decode_data_url(output.url)
            await write_atomic(plan.target, _once(data), expected, overwrite=overwrite)
        else:
            assert output.url is not None
            url = _absolute(transport, output.url)
            await fetch_to_file(
                partial(_open, transport, url),
                plan.target,
                retry=transport.retry,
                refetches=transport.retry.max_retries,
                expected=expected,
                overwrite=overwrite,
            )
    except SizeMismatch as exc:
        where = f" ({plan.target.name})" if plan.kind == "url" else ""
        raise ResponseValidationError(f"output {plan.index}{where}: {exc}") from None


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
    for plan in plans:
        refuse_existing(plan.target, overwrite)
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
        if request_id is not None and isinstance(error, ResponseValidationError):
            error.message = f"{error.message} (job {request_id})"  # the queue job's id
        raise error
    return [plan.target for plan in plans]


async def download_result(
    requester: Transport,
    result: JobResult,
    dest: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    overwrite: bool = False,
) -> list[Path]:
    """``client.queue.download`` / ``job.download``: every output of ``result`` under ``dest``."""
    return await download_outputs(
        requester,
        result.outputs,
        dest,
        concurrency=concurrency,
        overwrite=overwrite,
        request_id=result.request_id,
    )


def bind_downloads(result: JobResult, requester: Transport) -> JobResult:
    """Let ``result.download(dir)`` work: the result keeps ``download_result`` bound to the requester
    that produced it (a function, not the client: wire types hold data, the I/O stays here)."""
    result.__dict__["_downloader"] = partial(download_result, requester)
    return result
