"""Compact column encodings of the sqlite journal (schema 3): keys, hashes, outcomes.

sqlite types values per row, so each encoding falls back to the plain value for anything it does
not recognise, and decoding by type is exact:

- **key**: a content key ``{32 hex}-{n}`` is stored as a BLOB (16 bytes + the digits of ``n``);
  any other key stays TEXT.  A BLOB never equals a TEXT in sqlite, so the two cannot collide.
- **args_hash**: 64 hex digits -> a 32-byte BLOB; anything else stays TEXT.
- **outcome** (the raw result body or error JSON): bodies of ``COMPRESS_FROM`` bytes or more are
  stored as ``b"\\x00"`` + raw deflate with a preset dictionary of the usual result fields; the
  rest as they came.  A body that itself starts with ``\\x00`` is always compressed, so the marker
  is unambiguous and the round trip exact.
"""

from __future__ import annotations

import re
import zlib
from typing import Final

__all__ = ("pack_hash", "pack_key", "pack_outcome", "unpack_hash", "unpack_key", "unpack_outcome")

COMPRESS_FROM: Final = 96
_MARK: Final = b"\x00"
_CONTENT_KEY: Final = re.compile(r"([0-9a-f]{32})-([1-9][0-9]{0,18})")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
#: Preset dictionary: strings common in queue results and error payloads (never change it: stored
#: outcomes are decoded with it).  Most frequent last (the nearest back-references are cheapest).
_ZDICT: Final = (
    b'"error_type":"timings":{"inference":"seed":"has_nsfw_concepts":[false],"status_code":'
    b'"type":"JobFailed","error":"x_request_id":"metadata":{"prompt":"'
    b'"video","url":"https://"content_type":"video/mp4","file_name":"'
    b'.png","file_size":2048,"width":1024,"height":1024}],'
    b'{"request_id":"mmsu_","outputs":[{"type":"image","url":"http://127.0.0.1:'
    b'/files/mmsu_"content_type":"image/png","file_name":"mmsu_'
)


def pack_key(key: str) -> bytes | str:
    """The stored form of a journal key."""
    m = _CONTENT_KEY.fullmatch(key)
    return bytes.fromhex(m[1]) + m[2].encode() if m else key


def unpack_key(value: bytes | str) -> str:
    """The key of a stored value."""
    if isinstance(value, bytes):
        return f"{value[:16].hex()}-{value[16:].decode()}"
    return value


def pack_hash(args_hash: str) -> bytes | str:
    """The stored form of an arguments hash."""
    return bytes.fromhex(args_hash) if _HEX64.fullmatch(args_hash) else args_hash


def unpack_hash(value: bytes | str) -> str:
    """The arguments hash of a stored value."""
    return value.hex() if isinstance(value, bytes) else value


def pack_outcome(payload: bytes | None) -> bytes | None:
    """The stored form of an outcome body."""
    if payload is None or (len(payload) < COMPRESS_FROM and not payload.startswith(_MARK)):
        return payload
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    return _MARK + c.compress(payload) + c.flush()


def unpack_outcome(value: bytes | None) -> bytes | None:
    """The outcome body of a stored value (``JournalError``-free: a corrupt one raises ``zlib.error``)."""
    if value is None or not value.startswith(_MARK):
        return value
    d = zlib.decompressobj(-15, _ZDICT)
    return d.decompress(value[1:]) + d.flush()
