"""Output bytes: deterministic file contents, served with a Content-Length (the CDN, video content).

A file's bytes depend only on its name, extension and size.  A ``.png`` is a real image that
opens in any viewer (``_png``: a small pattern coloured from a hash of the name, padded with an
ancillary chunk to exactly ``size`` bytes; every size from 81 bytes up decodes).  Other types
are a magic header (MP4, WebP, JPEG, MP3) then a 64 KiB pattern derived from the name, repeated.
``file_bytes`` gives tests the exact bytes a download must produce.  Large files are written in
blocks of at most 1 MiB, never held whole.  Stream faults on the route apply in bytes:
``truncate_after=N`` sends N bytes of the declared length then closes the connection,
``stall_after=N`` pauses ``delay`` seconds after N bytes, ``content_type`` changes the
Content-Type.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable, Iterator

from aiohttp import web

from ._common import Shared, detail_error
from ._faults import Fault
from ._png import iter_png
from ._sse_out import close_connection

__all__ = ("CONTENT_TYPES", "FileInfo", "FileService", "file_bytes", "iter_file", "serve_bytes")

MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "mp4": b"\x00\x00\x00\x18ftypmp42",
    "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "mp3": b"ID3\x04\x00\x00",
}
CONTENT_TYPES = {
    "png": "image/png",
    "mp4": "video/mp4",
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "mp3": "audio/mpeg",
}
_PATTERN = 1 << 16
_BLOCK = 1 << 20
_WHOLE_LIMIT = 4 << 20

# (extension, size in bytes) of a servable file name, or None when there is no such file.
FileInfo = tuple[str, int]


@functools.lru_cache(maxsize=512)
def _pattern(name: str) -> bytes:
    seed = hashlib.sha256(name.encode()).digest()
    return seed * (_PATTERN // len(seed))


def iter_file(name: str, ext: str, size: int) -> Iterator[bytes]:
    """The file's bytes in blocks of at most 1 MiB."""
    if ext == "png":
        yield from iter_png(name, size, _pattern(name))
        return
    magic = MAGIC.get(ext, b"")[:size]
    if magic:
        yield magic
    remaining = size - len(magic)
    if remaining <= 0:
        return
    block = _pattern(name) * (_BLOCK // _PATTERN)
    while remaining > 0:
        n = min(remaining, _BLOCK)
        yield block if n == _BLOCK else block[:n]
        remaining -= n


def file_bytes(name: str, ext: str, size: int) -> bytes:
    """The exact bytes the emulator serves for a file (``name`` is the file name on the CDN).

    ``size`` is the exact length; a ``.png`` of at least 81 bytes is a valid, decodable PNG.
    """
    return b"".join(iter_file(name, ext, size))


async def serve_bytes(
    request: web.Request,
    *,
    name: str,
    ext: str,
    size: int,
    fault: Fault | None = None,
    content_type: str | None = None,
) -> web.StreamResponse:
    """Answer with a file's bytes (GET) or just its headers (HEAD)."""
    ctype = (fault.content_type if fault else None) or content_type or CONTENT_TYPES.get(ext)
    ctype = ctype or "application/octet-stream"
    head = request.method == "HEAD"
    if fault is None and not head and size <= _WHOLE_LIMIT:
        return web.Response(body=file_bytes(name, ext, size), content_type=ctype)
    resp = web.StreamResponse(headers={"Content-Type": ctype})
    resp.content_length = size
    await resp.prepare(request)
    if head:
        await resp.write_eof()
        return resp
    truncate = fault.truncate_after if fault else None
    stall = fault.stall_after if fault else None
    pos = 0
    for block in iter_file(name, ext, size):
        if stall is not None and fault is not None and pos <= stall < pos + len(block):
            cut = stall - pos
            if cut:
                await resp.write(block[:cut])
            await asyncio.sleep(fault.delay)
            block, pos, stall = block[cut:], stall, None
        if truncate is not None and pos + len(block) >= truncate:
            if truncate > pos:
                await resp.write(block[: truncate - pos])
            close_connection(request)
            return resp
        await resp.write(block)
        pos += len(block)
    await resp.write_eof()
    return resp


class FileService:
    """``GET|HEAD /files/{name}`` on the CDN listener: queue job outputs (no auth needed)."""

    def __init__(self, shared: Shared, lookup: Callable[[str], FileInfo | None]) -> None:
        self.shared = shared
        self.lookup = lookup

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one output file."""
        name = request.match_info["name"]
        info = self.lookup(name)
        if info is None:
            return detail_error("Not Found", 404)
        ext, size = info
        fault = self.shared.take_fault("files", stream=True)
        return await serve_bytes(request, name=name, ext=ext, size=size, fault=fault)
