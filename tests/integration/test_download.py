"""client.queue.download(result, dir) and job.download(dir): streamed, atomic, size-checked, key-safe."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import odirouter_async as odr
from odirouter_async.http.download import safe_file_name
from odirouter_async.testing import Emulator, file_bytes
from odirouter_async.types.queue import JobOutput, JobResult

pytestmark = pytest.mark.anyio

EP = "seedream_v4"


def no_parts(directory: Path) -> bool:
    """No temporary file was left behind."""
    return not [p for p in directory.iterdir() if p.name.endswith(".part")]


async def test_download_saves_every_output(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """Each output is streamed to its file, byte for byte; the CDN never sees the key."""
    result = await client.queue.run(
        EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 3, "output_bytes": 300_000}}
    )
    paths = await client.queue.download(result, tmp_path / "out")
    assert [p.name for p in paths] == [o.file_name for o in result.outputs]
    for path in paths:
        assert path.read_bytes() == file_bytes(path.name, "png", 300_000)
    assert no_parts(tmp_path / "out")
    files = emu.stats.records("files")
    assert len(files) == 3 and not any(r.has_auth for r in files)
    assert emu.stats.auth_sent_to_cdn == 0


async def test_download_refuses_to_clobber(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """An existing file is a FileExistsError (nothing downloaded) unless overwrite=True."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05}})
    name = result.outputs[0].file_name
    assert name is not None
    (tmp_path / name).write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        await client.queue.download(result, tmp_path)
    assert (tmp_path / name).read_bytes() == b"mine"
    assert emu.stats.count("files") == 0
    (path,) = await client.queue.download(result, tmp_path, overwrite=True)
    assert path.read_bytes() == file_bytes(name, "png", 2048)


async def test_cut_download_is_retried(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """A body cut short is retried; the file is complete and no temporary file is left."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "output_bytes": 100_000}})
    emu.faults.add("files", truncate_after=5000, times=2)
    (path,) = await client.queue.download(result, tmp_path)
    assert path.stat().st_size == 100_000
    assert emu.stats.count("files") == 3
    assert no_parts(tmp_path)


async def test_always_cut_download_fails_cleanly(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A body that is always cut short raises; no file and no temporary file remain."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "output_bytes": 100_000}})
    emu.faults.add("files", truncate_after=5000, times=None)
    with pytest.raises(odr.APIConnectionError):
        await client.queue.download(result, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_size_mismatch_is_an_error(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """A file whose size differs from file_size is refused (ResponseValidationError), nothing kept."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 2}})
    result.outputs[1].file_size = 999
    with pytest.raises(odr.ResponseValidationError, match="file_size"):
        await client.queue.download(result, tmp_path)
    assert no_parts(tmp_path)
    assert not (tmp_path / str(result.outputs[1].file_name)).exists()


async def test_names_are_sanitised(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """Hostile or missing file names never escape the directory; duplicates get a suffix."""
    real = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05}})
    url = real.outputs[0].url
    outputs = [
        JobOutput(url=url, file_name="../../evil.png"),
        JobOutput(url=url, file_name="..\\..\\evil.png"),
        JobOutput(url=url, file_name="...", content_type="image/png"),
        JobOutput(url=url, file_name="NUL.png"),
    ]
    paths = await client.queue.download(JobResult(outputs=outputs), tmp_path / "d")
    assert [p.name for p in paths] == ["evil.png", "evil_1.png", real.outputs[0].file_name, "_NUL.png"]
    assert all(p.parent == tmp_path / "d" for p in paths)
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_safe_file_name() -> None:
    """safe_file_name keeps plain names and strips everything that could escape or hide."""
    assert safe_file_name("image.png") == "image.png"
    assert safe_file_name("/etc/passwd") == "passwd"
    assert safe_file_name("a\x00b<c>.png") == "abc.png"
    assert safe_file_name(".hidden") == "hidden"
    assert safe_file_name("..") is None
    assert safe_file_name("") is None
    long = safe_file_name("x" * 500 + ".png")
    assert long is not None and long.endswith(".png") and len(long.encode()) <= 200


async def test_data_urls_and_text_outputs(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """data: URLs are decoded locally; text outputs become .txt; empty outputs are skipped."""
    payload = b"\x89PNG fake image"
    outputs = [
        JobOutput(type="image", url="data:image/png;base64," + base64.b64encode(payload).decode()),
        JobOutput(type="text", text="la la la", file_name="lyrics"),
        JobOutput(type="file", url="data:,hello%20world", file_name="note.txt", file_size=11),
        JobOutput(type="image"),
    ]
    paths = await client.queue.download(JobResult(outputs=outputs), tmp_path)
    assert [p.name for p in paths] == ["output_0.png", "lyrics.txt", "note.txt"]
    assert paths[0].read_bytes() == payload
    assert paths[1].read_text() == "la la la"
    assert paths[2].read_bytes() == b"hello world"
    assert emu.stats.total == 0


async def test_job_download_waits_and_saves(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """job.download(dir) waits for the result and saves its outputs through the job's client."""
    job = await client.queue.submit(EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 2}})
    paths = await job.download(tmp_path)
    assert len(paths) == 2 and all(p.stat().st_size == 2048 for p in paths)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        await job.download(tmp_path)
    assert len(await job.download(tmp_path, overwrite=True)) == 2


async def test_result_download_uses_the_client_that_produced_it(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """result.download(dir) (public-api.md) saves through the producing client; the result holds no client."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 2}})
    assert not any(isinstance(v, odr.AsyncOdiRouter) for v in vars(result).values())
    paths = await result.download(tmp_path)
    assert len(paths) == 2 and all(p.stat().st_size == 2048 for p in paths)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        await result.download(tmp_path)


async def test_hand_made_result_download_names_the_client_call(tmp_path: Path) -> None:
    """A JobResult decoded by hand has no client: download() raises, naming the calls to use instead."""
    with pytest.raises(
        odr.OdiRouterError, match=r"client\.queue\.download\(result, dir\).*job\.download\(dir\)"
    ):
        await JobResult(outputs=[JobOutput(text="x")]).download(tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_download_with_foreign_job_urls(tmp_path: Path) -> None:
    """With job URLs and files on another origin, the key never reaches it."""
    async with (
        Emulator(job_duration=0.1, foreign_urls=True, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        result = await client.queue.run(EP, {"prompt": "x"})
        (path,) = await client.queue.download(result, tmp_path)
        assert path.stat().st_size == 2048
        assert emu.stats.auth_sent_to_cdn == 0


async def test_download_concurrency_is_bounded(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Many outputs with a small concurrency all arrive; concurrency must be positive."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 12}})
    paths = await client.queue.download(result, tmp_path, concurrency=2)
    assert len(paths) == 12 and all(p.stat().st_size == 2048 for p in paths)
    with pytest.raises(ValueError):
        await client.queue.download(result, tmp_path, concurrency=0)
