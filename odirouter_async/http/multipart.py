"""Streamed ``multipart/form-data`` request bodies: text fields plus file parts read in chunks.

A :class:`MultipartForm` is a *body factory*: the transport calls it once per attempt (a
zero-argument callable ``data``), so every retry sends a fresh ``aiohttp.MultipartWriter``.
Its file parts (:class:`FilePart`) hold no resource between attempts and read their source
only while being written, ``CHUNK`` bytes at a time, in a worker thread:

* a path is opened when the part is written and closed when the write ends, however it ends;
* ``bytes`` are sliced from a ``memoryview`` (no copy);
* a caller's binary file object is read from the position it had when the upload was
  prepared; a seekable one is sought back there on every attempt (so a retry re-sends it
  whole), an unseekable one can be sent once only (``MultipartForm.replayable`` is False and
  the caller must not retry).  The SDK never closes a file object it did not open.

Sizes are known up front for paths, bytes and seekable files, so the request carries a
``Content-Length``; a file that shrinks while it is uploaded fails the attempt instead of
sending a short part.  Field values are strings on the wire: ``str`` as is, ``bool`` as
``true``/``false``, numbers with ``str()``, anything else JSON-encoded; ``None`` is left out.
"""

from __future__ import annotations

import io
import mimetypes
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import aiohttp
import anyio
import msgspec
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

__all__ = (
    "CHUNK",
    "FileContent",
    "FileInput",
    "FilePart",
    "MultipartForm",
    "UploadSource",
    "build_form",
    "form_value",
    "is_file_input",
    "upload_source",
)

#: Bytes read from a file source per step (and so the most a part holds at once).
CHUNK: Final = 256 * 1024

#: What a file part can be made of.
FileContent = os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
#: ``content``, ``(filename, content)`` or ``(filename, content, content_type)``.
FileInput = FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]

_SNIFF: Final = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"GIF8", 0, "image/gif", ".gif"),
    (b"WEBP", 8, "image/webp", ".webp"),
    (b"ftyp", 4, "video/mp4", ".mp4"),
)


@dataclass(frozen=True, slots=True)
class UploadSource:
    """One file to upload, checked and measured, holding no open resource of its own.

    Exactly one of ``path``, ``data`` and ``stream`` is set.  ``start`` is the stream position
    to read from (``None``: the stream cannot seek, so it can be read once only).
    """

    filename: str
    content_type: str
    size: int | None
    path: Path | None = None
    data: memoryview | None = None
    stream: IO[bytes] | None = None
    start: int | None = None

    @property
    def replayable(self) -> bool:
        """Whether the source can be sent again from its beginning (a retry)."""
        return self.stream is None or self.start is not None


def is_file_input(value: object) -> bool:
    """Whether ``value`` is sent as a file part rather than a text field."""
    if isinstance(value, tuple):
        return len(value) in (2, 3) and is_file_input(value[1])
    if isinstance(value, (str, io.TextIOBase)):
        return False
    return isinstance(value, (os.PathLike, bytes, bytearray, memoryview)) or callable(
        getattr(value, "read", None)
    )


def form_value(value: object) -> str | None:
    """The wire text of a form field (``None``: leave the field out)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"form field value is not encodable: {exc}") from None


def _sniff(head: bytes) -> tuple[str, str] | None:
    for magic, offset, ctype, ext in _SNIFF:
        if head[offset : offset + len(magic)] == magic:
            return ctype, ext
    return None


def _stat_file(path: Path) -> int:
    st = path.stat()  # FileNotFoundError / PermissionError are the caller's to see
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"not a regular file: {path}")
    return st.st_size


def _measure(stream: IO[bytes]) -> tuple[int | None, int | None]:
    """``(start, size)`` of a seekable stream from its current position, else ``(None, None)``."""
    try:
        if not stream.seekable():
            return None, None
        start = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(start)
    except (OSError, ValueError, AttributeError):
        return None, None
    return start, max(end - start, 0)


def upload_source(value: FileInput, *, default_name: str) -> UploadSource:
    """Check and measure a file input (no bytes of a file are read here).

    Raises:
        TypeError: not a path, bytes or binary file object (a ``str`` is refused: pass a
            ``Path`` for a file name).
        FileNotFoundError / ValueError: the path does not name a readable regular file.
    """
    filename: str | None = None
    content_type: str | None = None
    content: object = value
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise TypeError("a file tuple is (filename, content) or (filename, content, content_type)")
        filename, content = value[0], value[1]
        content_type = value[2] if len(value) == 3 else None
    if isinstance(content, str):
        raise TypeError("file content must be a Path, bytes or a binary file object, not str")
    if isinstance(content, os.PathLike):
        path = Path(os.fspath(content))
        size = _stat_file(path)
        name = filename or path.name
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return UploadSource(name, ctype, size, path=path)
    if isinstance(content, (bytes, bytearray, memoryview)):
        view = memoryview(content).cast("B")
        sniffed = _sniff(bytes(view[:16]))
        name = filename or default_name + (sniffed[1] if sniffed else "")
        guessed = mimetypes.guess_type(name)[0] if filename else None
        ctype = content_type or guessed or (sniffed[0] if sniffed else "application/octet-stream")
        return UploadSource(name, ctype, len(view), data=view)
    if isinstance(content, io.TextIOBase):
        raise TypeError("open the file in binary mode ('rb') to upload it")
    read = getattr(content, "read", None)
    if not callable(read):
        raise TypeError(f"cannot upload a {type(content).__name__}: pass a Path, bytes or a binary file")
    stream: IO[bytes] = content  # type: ignore[assignment]
    own_name = getattr(stream, "name", None)
    name = filename or (os.path.basename(own_name) if isinstance(own_name, str) else "") or default_name
    ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    start, length = _measure(stream)
    return UploadSource(name, ctype, length, stream=stream, start=start)


_PARAM_ESCAPES: Final = {ord('"'): "%22", ord("\r"): "%0D", ord("\n"): "%0A"}


def _param(value: str) -> str:
    """A Content-Disposition parameter as browsers and httpx send it: UTF-8, quotes escaped."""
    return value.translate(_PARAM_ESCAPES)


def _disposition(payload: Payload, name: str, filename: str | None = None) -> None:
    params = {"name": _param(name)}
    if filename is not None:
        params["filename"] = _param(filename)
    payload.set_content_disposition("form-data", quote_fields=False, **params)


def _open(path: Path) -> IO[bytes]:
    return path.open("rb")


class FilePart(Payload):
    """One file part; reads its source only while written, and may be written again (a retry)."""

    _autoclose = True  # no resource is held between writes

    def __init__(self, name: str, source: UploadSource) -> None:
        super().__init__(None, content_type=source.content_type, filename=source.filename)
        self._source = source
        self._size = source.size
        _disposition(self, name, source.filename)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not supported: the content is streamed, never held."""
        raise TypeError("a streamed file part cannot be decoded")

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """Not supported: the content is streamed, never held."""
        raise TypeError("a streamed file part cannot be read whole")

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Stream the whole source into ``writer``."""
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        """Stream the source, at most ``content_length`` bytes (``None``: all of it)."""
        src = self._source
        if src.data is not None:
            view = src.data if content_length is None else src.data[:content_length]
            for i in range(0, len(view), CHUNK):
                await writer.write(view[i : i + CHUNK])
            return
        if src.path is not None:
            f = _open(src.path)
            try:
                await self._copy(f, writer, content_length)
            finally:
                f.close()
            return
        assert src.stream is not None
        if src.start is not None:
            src.stream.seek(src.start)
        await self._copy(src.stream, writer, content_length)

    async def _copy(self, f: IO[bytes], writer: AbstractStreamWriter, limit: int | None) -> None:
        remaining = self._size
        if limit is not None:
            remaining = limit if remaining is None else min(limit, remaining)
        while remaining is None or remaining > 0:
            n = CHUNK if remaining is None else min(CHUNK, remaining)
            chunk = await anyio.to_thread.run_sync(f.read, n)
            if not chunk:
                if remaining:
                    raise OSError(f"{self._source.filename} ended {remaining} bytes early (changed?)")
                return
            await writer.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)


class MultipartForm:
    """A ``multipart/form-data`` body factory: each call builds a fresh ``MultipartWriter``.

    Args:
        fields: ``(name, value)`` text fields, in order (values already strings).
        files: ``(name, source)`` file parts, after the fields.
    """

    def __init__(self, fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, UploadSource]]) -> None:
        self.fields = list(fields)
        self.files = list(files)
        self._calls = 0

    @property
    def replayable(self) -> bool:
        """Whether every file can be sent again from its start (else: no retries)."""
        return all(src.replayable for _, src in self.files)

    @property
    def size(self) -> int | None:
        """Total bytes of the file parts (``None`` when one is unknown)."""
        sizes = [src.size for _, src in self.files]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    def __call__(self) -> aiohttp.MultipartWriter:
        """The body of one attempt."""
        self._calls += 1
        if self._calls > 1 and not self.replayable:
            raise RuntimeError("this upload reads an unseekable stream and cannot be sent twice")
        writer = aiohttp.MultipartWriter("form-data")
        for name, value in self.fields:
            _disposition(writer.append(value), name)
        for name, src in self.files:
            writer.append_payload(FilePart(name, src))
        return writer

    def __repr__(self) -> str:
        names = [n for n, _ in self.fields] + [n for n, _ in self.files]
        return f"MultipartForm(parts={names!r}, file_bytes={self.size})"


def build_form(values: Mapping[str, Any], file_fields: frozenset[str] = frozenset()) -> MultipartForm:
    """A ``MultipartForm`` from field values.

    File inputs (and any value under a name in ``file_fields``) become file parts, anything else
    a text field (``form_value``); ``None`` values are left out.
    """
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, UploadSource]] = []
    for name, value in values.items():
        if value is None:
            continue
        if name in file_fields or is_file_input(value):
            files.append((name, upload_source(value, default_name=name)))
            continue
        text = form_value(value)
        if text is not None:
            fields.append((name, text))
    return MultipartForm(fields, files)
