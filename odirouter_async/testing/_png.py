"""Real, decodable PNG files of an exact byte size, made with zlib only (no imaging library).

``png_parts(name, size)`` plans the file the CDN serves for an output called ``name``: a small RGB
image (64x64 when it fits; 32, 16, 8 or 1 pixels square for smaller sizes) whose colours and
pattern (diagonal stripes, checkerboard, disc or gradient) come from a hash of the name, then as
many private ancillary ``emPd`` chunks as it takes to reach exactly ``size`` bytes, then ``IEND``.
Decoders skip unknown ancillary chunks, so every file of at least ``MIN_PNG_BYTES`` (81) bytes
opens as an image; a smaller size gets the 1x1 image cut short or followed by stray bytes.

A padding chunk is at most ``len(filler)`` + 12 bytes on the wire and its data is a prefix of the file's
repeating pattern, so the full chunks of one file are one cached ``bytes`` object, whatever the
file's size: a multi-gigabyte PNG costs one 1 MiB CRC.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
import zlib
from collections.abc import Iterator

__all__ = ("MIN_PNG_BYTES", "PNG_SIGNATURE", "chunk", "iter_png", "png_image")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIDES = (64, 32, 16, 8, 1)
_PAD_TYPE = b"emPd"  # ancillary (e), private (m), reserved bit clear (P), safe to copy (d)
_OVERHEAD = 12  # length + type + CRC


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type + data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_IEND = chunk(b"IEND", b"")


def _rows(digest: bytes, side: int) -> Iterator[bytes]:
    """The image's scanlines (RGB, without filter bytes)."""
    bg, fg = digest[0:3], digest[3:6]
    if sum(abs(a - b) for a, b in zip(bg, fg, strict=True)) < 96:  # keep the two colours apart
        fg = bytes(255 - c for c in bg)
    pattern = digest[6] % 4
    band = max(side // 8, 1)
    if pattern == 0:  # diagonal stripes: one row, rotated by a pixel per row
        base = ((fg * band + bg * band) * side)[: 3 * side * 2]
        for y in range(side):
            shift = 3 * (y % (2 * band))
            yield (base[shift:] + base[:shift])[: 3 * side]
    elif pattern == 1:  # checkerboard
        a = ((fg * band + bg * band) * side)[: 3 * side]
        b = ((bg * band + fg * band) * side)[: 3 * side]
        for y in range(side):
            yield a if (y // band) % 2 == 0 else b
    elif pattern == 2:  # a disc on the background
        r = side * 0.35
        c = (side - 1) / 2
        for y in range(side):
            dy = y - c
            half = math.sqrt(r * r - dy * dy) if abs(dy) <= r else -1.0
            if half < 0:
                yield bg * side
                continue
            x0, x1 = max(0, math.ceil(c - half)), min(side, math.floor(c + half) + 1)
            yield bg * x0 + fg * (x1 - x0) + bg * (side - x1)
    else:  # vertical gradient from bg to fg
        for y in range(side):
            t = y / max(side - 1, 1)
            yield bytes(round(p + (q - p) * t) for p, q in zip(bg, fg, strict=True)) * side


@functools.lru_cache(maxsize=1024)
def png_image(name: str, side: int = 64) -> bytes:
    """A complete ``side`` x ``side`` RGB PNG for ``name`` (signature, IHDR, IDAT, IEND)."""
    digest = hashlib.sha256(name.encode()).digest()
    raw = b"".join(b"\x00" + row for row in _rows(digest, side))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + _IEND


#: Every size from this one up is a decodable PNG (the 1x1 image plus an empty padding chunk).
MIN_PNG_BYTES = len(png_image("", 1)) + _OVERHEAD


@functools.lru_cache(maxsize=16)
def _full_pad(filler: bytes) -> bytes:
    """A padding chunk exactly ``len(filler)`` bytes long on the wire."""
    return chunk(_PAD_TYPE, filler[: len(filler) - _OVERHEAD])


def iter_png(name: str, size: int, filler: bytes) -> Iterator[bytes]:
    """The PNG for ``name`` of exactly ``size`` bytes, padded with chunks of at most ``len(filler)``.

    Pass the same ``filler`` object for the same name (it is a cache key).
    """
    for side in _SIDES:
        image = png_image(name, side)
        pad = size - len(image)
        if pad == 0 or pad >= _OVERHEAD:
            break
    else:  # too small for any image plus a padding chunk
        yield (image + filler[: max(size - len(image), 0)])[:size]
        return
    yield image[: -len(_IEND)]
    if pad:
        full, last = divmod(pad - _OVERHEAD, len(filler))
        if full:
            whole = _full_pad(filler)
            for _ in range(full):
                yield whole
        yield chunk(_PAD_TYPE, filler[:last])
    yield _IEND
