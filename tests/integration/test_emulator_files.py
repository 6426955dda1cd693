"""Emulator image outputs are real PNGs of the exact size; the demo leaves them in an ignored folder."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import aiohttp
import pytest
from hypothesis import example, given, strategies as st

import odirouter_async as odr
from odirouter_async.cli import main_async
from odirouter_async.testing import Emulator, file_bytes
from odirouter_async.testing._png import MIN_PNG_BYTES

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Check a PNG's structure and CRCs, inflate and unfilter it: (width, height, RGB bytes)."""
    assert data[:8] == SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert len(body) == length and zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds.count(b"IEND") == 1
    assert all(k in (b"IHDR", b"IDAT", b"IEND") for k in kinds if k[:1].isupper())  # others: ancillary
    width, height, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, comp, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = width * 3
    assert len(raw) == height * (stride + 1)
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            c = prev[x - 3] if x >= 3 else 0
            pred = (0, a, prev[x], (a + prev[x]) // 2, _paeth(a, prev[x], c))[ftype]
            line[x] = (line[x] + pred) & 0xFF
        out += line
        prev = line
    return width, height, bytes(out)


def colours(rgb: bytes) -> set[bytes]:
    return {rgb[i : i + 3] for i in range(0, len(rgb), 3)}


@given(name=st.text(min_size=1, max_size=40), size=st.integers(MIN_PNG_BYTES, 300_000))
@example(name="req_0.png", size=2048)
@example(name="req_0.png", size=65536 * 3 + 12)
@example(name="req_0.png", size=65536 * 3 + 11)
@example(name="x", size=MIN_PNG_BYTES)
def test_png_outputs_decode_at_their_exact_size(name: str, size: int) -> None:
    """Every .png of >= 81 bytes has exactly the asked size and decodes to a square RGB picture."""
    data = file_bytes(name, "png", size)
    assert len(data) == size
    width, height, rgb = decode_png(data)
    assert width == height and len(rgb) == width * height * 3
    if size >= 2048:
        assert width == 64 and len(colours(rgb)) >= 2


def test_png_tiny_sizes_keep_the_length_contract() -> None:
    """Below 81 bytes a .png still has exactly the asked number of bytes (a PNG prefix)."""
    for size in range(MIN_PNG_BYTES):
        data = file_bytes("tiny_0.png", "png", size)
        assert len(data) == size and data[:8] == SIGNATURE[:size]


def test_png_pictures_differ_by_name_and_are_stable() -> None:
    """Each output name gets its own picture (colours from a hash), the same on every call."""
    pictures = {decode_png(file_bytes(f"req{i}_0.png", "png", 2048))[2] for i in range(24)}
    assert len(pictures) >= 20
    assert file_bytes("req1_0.png", "png", 2048) == file_bytes("req1_0.png", "png", 2048)


async def test_downloaded_queue_outputs_are_valid_pngs(tmp_path: Path) -> None:
    """Queue outputs downloaded by the SDK (small, and a 5 MiB one streamed) are the PNGs file_bytes gives."""
    async with (
        Emulator(job_duration=0.01, job_jitter=0.0) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        emu.set_endpoint("big_images", output_bytes=5 << 20, outputs=1)
        for endpoint in ("nano_banana_2", "big_images"):
            result = await client.queue.run(endpoint, {"prompt": "a red fox in fresh snow"})
            paths = await client.queue.download(result, tmp_path / endpoint)
            assert paths
            for path in paths:
                data = path.read_bytes()
                assert data == file_bytes(path.name, "png", len(data))
                assert decode_png(data)[0] == 64
        async with aiohttp.ClientSession() as http, http.head(f"{emu.cdn_url}/files/{paths[0].name}") as r:
            assert (r.status, r.content_type, r.content_length) == (200, "image/png", 5 << 20)


@pytest.mark.anyio
async def test_demo_writes_openable_images_into_an_ignored_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline demo writes valid PNGs into ./odirouter-demo/ (git-ignored, not in the sdist);
    in-process (``main_async``) on the test's virtual clock."""
    for name in [k for k in os.environ if k.startswith("ODIROUTER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert await main_async(["demo", "--images", "3"]) == 0, capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["odirouter-demo"]
    images = sorted((tmp_path / "odirouter-demo").iterdir())
    assert len(images) == 3
    assert all(decode_png(p.read_bytes())[:2] == (64, 64) for p in images)
    assert "/odirouter-demo/" in (ROOT / ".gitignore").read_text().splitlines()
    pyproject = (ROOT / "pyproject.toml").read_text()
    sdist = pyproject.split("[tool.hatch.build.targets.sdist]", 1)[1].split("\n[", 1)[0]
    assert '"/odirouter-demo"' in sdist
