"""``videos.wait`` (scheduler and fixed interval) and ``videos.download_content`` against the emulator."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from video_variant_fixtures import emu, video_variant

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.testing import Emulator, file_bytes
from odirouter_async.types.videos import Video
from odirouter_async.videos.video_state import MAX_BAD_BODIES

pytestmark = pytest.mark.anyio

__all__ = ("emu", "video_variant")  # the imported fixtures, parametrized over every video variant

FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
async def slow_client(video_variant: str) -> AsyncIterator[tuple[Emulator, odr.AsyncOdiRouter]]:
    """An emulator whose videos take an hour, and a client bound to it."""
    async with (
        Emulator(video_duration=3600, video_variant=video_variant) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, retry_policy=FAST_RETRY) as c,
    ):
        yield emu, c


@pytest.fixture(params=["scheduler", "fixed"])
def interval(request: pytest.FixtureRequest) -> float | None:
    """Wait through the client's scheduler (None) or at a fixed poll interval."""
    return None if request.param == "scheduler" else 0.02


async def test_wait_completes_with_progress(client: odr.AsyncOdiRouter, interval: float | None) -> None:
    """wait() returns the completed video; on_progress saw the video move up to 100."""
    video = await client.videos.create(model="sora-2", prompt="p")
    seen: list[tuple[str, object]] = []
    done = await client.videos.wait(
        video.id, poll_interval=interval, on_progress=lambda v: seen.append((v.status, v.progress))
    )
    assert isinstance(done, Video)
    assert (done.status, done.progress) == ("completed", 100)
    assert done.completed_at is not None
    assert seen[-1] == ("completed", 100)
    assert len(seen) == len(set(seen))  # called on changes only


async def test_wait_failure_raises_job_failed(
    client: odr.AsyncOdiRouter, emu: Emulator, interval: float | None
) -> None:
    """A failed video raises JobFailed with the video's error code (when it has one) and message."""
    video = await client.videos.create(model="sora-2", prompt="this one will fail")
    with pytest.raises(odr.JobFailed) as info:
        await client.videos.wait(video, poll_interval=interval)
    err = info.value
    assert (err.request_id, err.endpoint) == (video.id, "sora-2")
    assert err.error_type == (None if emu.video_variant.error_as_string else "video_generation_failed")
    assert err.error == "Video generation failed"
    assert isinstance(err.status, dict) and err.status["status"] == "failed"


async def test_wait_timeout(slow_client: tuple[Emulator, odr.AsyncOdiRouter], interval: float | None) -> None:
    """A video still running when the timeout ends raises JobTimeout and stops the polling."""
    emu, client = slow_client
    video = await client.videos.create(model="sora-2", prompt="p")
    with pytest.raises(odr.JobTimeout) as info:
        await client.videos.wait(video.id, wait_timeout=0.3, poll_interval=interval)
    assert info.value.request_id == video.id
    assert info.value.endpoint == "sora-2"
    assert f"last seen {emu.video_variant.status_words.get('in_progress', 'in_progress')}" in str(info.value)
    if interval is None:
        assert client.queue.stats().jobs == 0


async def test_wait_unknown_video_is_not_found(client: odr.AsyncOdiRouter) -> None:
    """wait() on an id the gateway does not know raises NotFoundError."""
    with pytest.raises(odr.NotFoundError):
        await client.videos.wait("video_missing")


async def test_wait_video_deleted_meanwhile(
    slow_client: tuple[Emulator, odr.AsyncOdiRouter], interval: float | None
) -> None:
    """A video that disappears while waited for ends the wait with NotFoundError."""
    _, client = slow_client
    video = await client.videos.create(model="sora-2", prompt="p")
    deleted: list[str] = []

    async def delete_it(v: Video) -> None:
        if not deleted:
            deleted.append((await client.videos.delete(v.id)).id)

    with pytest.raises(odr.NotFoundError):
        await client.videos.wait(video, poll_interval=interval, on_progress=delete_it)
    assert deleted == [video.id]


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_wait_rides_out_poll_errors(
    client: odr.AsyncOdiRouter, emu: Emulator, interval: float | None
) -> None:
    """503s, a 429 and a dropped connection on polls are waited out, not raised."""
    video = await client.videos.create(model="sora-2", prompt="p")
    emu.faults.add("videos.retrieve", status=503, times=2)
    emu.faults.add("videos.retrieve", status=429, headers={"Retry-After": "0.05"}, times=1)
    emu.faults.add("videos.retrieve", drop=True, times=1)
    done = await client.videos.wait(video, poll_interval=interval)
    assert done.status == "completed"
    assert emu.stats.count("videos.retrieve", 503) == 2
    assert emu.stats.count("videos.retrieve", 429) == 1


async def test_wait_gives_up_on_unreadable_bodies(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Polls answered with something that is not a video end the wait after a few tries."""
    video = await client.videos.create(model="sora-2", prompt="p")
    emu.faults.add("videos.retrieve", status=200, body="<html>maintenance</html>", times=None)
    with pytest.raises(odr.ResponseValidationError):
        await client.videos.wait(video, poll_interval=0.01)
    assert emu.stats.count("videos.retrieve") == 3


async def test_wait_on_a_finished_video_object_sends_nothing(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """Passing a completed Video returns it at once."""
    video = await client.videos.create(model="sora-2", prompt="p")
    done = await client.videos.wait(video.id)
    emu.reset_stats()
    assert await client.videos.wait(done) is done
    assert emu.stats.total == 0


async def test_wait_unknown_status_keeps_waiting(
    client: odr.AsyncOdiRouter, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A status word the SDK does not know is logged and waited through."""
    video = await client.videos.create(model="sora-2", prompt="p")
    word = f"moderating-{secrets.token_hex(4)}"  # each word is logged once per process
    odd = {"id": video.id, "object": "video", "status": word, "progress": 5}
    emu.faults.add("videos.retrieve", status=200, body=odd, times=2)
    done = await client.videos.wait(video, poll_interval=0.01)
    assert done.status == "completed"
    assert sum(word in r.getMessage() for r in caplog.records) == 1


async def test_on_progress_error_ends_the_wait(client: odr.AsyncOdiRouter, interval: float | None) -> None:
    """An exception raised by on_progress is raised by wait()."""
    video = await client.videos.create(model="sora-2", prompt="p")
    calls = []

    def boom(v: Video) -> None:
        calls.append(v)
        if len(calls) == 2:
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        await client.videos.wait(video, poll_interval=interval, on_progress=boom)


async def test_wait_rejects_bad_arguments(client: odr.AsyncOdiRouter) -> None:
    """Empty ids and non-positive timeouts are refused."""
    with pytest.raises(ValueError):
        await client.videos.wait("")
    with pytest.raises(ValueError):
        await client.videos.wait("video_x", wait_timeout=0)
    with pytest.raises(ValueError):
        await client.videos.wait("video_x", poll_interval=-1)


# -- download_content ----------------------------------------------------------------------


async def completed(client: odr.AsyncOdiRouter) -> Video:
    """A completed video."""
    video = await client.videos.create(model="sora-2", prompt="p")
    return await client.videos.wait(video)


async def test_download_content(client: odr.AsyncOdiRouter, tmp_path: Path) -> None:
    """The mp4 is saved whole under a new directory, and nothing else is left there."""
    video = await completed(client)
    dest = tmp_path / "out" / "nested" / "clip.mp4"
    result = await client.videos.download_content(video.id, dest)
    assert result == dest
    assert dest.read_bytes() == file_bytes(f"{video.id}_video", "mp4", 4096)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["clip.mp4"]


async def test_download_variant(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """variant= picks the thumbnail and is sent as a query parameter."""
    video = await completed(client)
    dest = await client.videos.download_content(video.id, str(tmp_path / "thumb.webp"), variant="thumbnail")
    assert dest.read_bytes() == file_bytes(f"{video.id}_thumbnail", "webp", 1024)


async def test_download_large_content(tmp_path: Path, video_variant: str) -> None:
    """A multi-megabyte video is streamed to disk intact."""
    async with (
        Emulator(video_duration=0.05, video_bytes=6 << 20, video_variant=video_variant) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        video = await completed(client)
        dest = await client.videos.download_content(video.id, tmp_path / "big.mp4")
    assert dest.read_bytes() == file_bytes(f"{video.id}_video", "mp4", 6 << 20)


async def test_download_cut_short_is_fetched_again(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A body cut short is downloaded again from the start and saved whole."""
    video = await completed(client)
    emu.faults.add("videos.content", truncate_after=1000, drop=True)
    dest = await client.videos.download_content(video.id, tmp_path / "clip.mp4")
    assert dest.read_bytes() == file_bytes(f"{video.id}_video", "mp4", 4096)
    assert emu.stats.count("videos.content") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


async def test_download_truncated_leaves_nothing(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Bodies always cut short raise APIConnectionError; no destination and no partial file remain."""
    video = await completed(client)
    emu.faults.add("videos.content", truncate_after=1000, drop=True, times=None)
    dest = tmp_path / "clip.mp4"
    with pytest.raises(odr.APIConnectionError):
        await client.videos.download_content(video.id, dest)
    assert emu.stats.count("videos.content") == 3  # the first try and max_retries=2 more
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


async def test_failed_download_keeps_the_old_file(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """An existing destination is refused without overwrite=True, and untouched when a download fails."""
    video = await completed(client)
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"previous")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        await client.videos.download_content(video.id, dest)
    assert emu.stats.count("videos.content") == 0 and dest.read_bytes() == b"previous"
    emu.faults.add("videos.content", truncate_after=2000, drop=True)
    with pytest.raises(odr.APIConnectionError):
        await client.videos.download_content(video.id, dest, max_retries=0, overwrite=True)
    assert emu.stats.count("videos.content") == 1
    assert dest.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    await client.videos.download_content(video.id, dest, overwrite=True)
    assert dest.read_bytes() == file_bytes(f"{video.id}_video", "mp4", 4096)


async def test_download_before_completion(
    slow_client: tuple[Emulator, odr.AsyncOdiRouter], tmp_path: Path
) -> None:
    """Content of an unfinished video is a NotFoundError and writes nothing."""
    _, client = slow_client
    video = await client.videos.create(model="sora-2", prompt="p")
    with pytest.raises(odr.NotFoundError) as info:
        await client.videos.download_content(video.id, tmp_path / "clip.mp4")
    assert info.value.code == "video_not_ready"
    assert list(tmp_path.iterdir()) == []


async def test_download_of_a_failed_video(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """A failed video's content raises the gateway's typed error (404/409/500) and writes nothing."""
    video = await client.videos.create(model="sora-2", prompt="this one will fail")
    with pytest.raises(odr.JobFailed):
        await client.videos.wait(video)
    expected = {404: odr.NotFoundError, 409: odr.ConflictError, 500: odr.InternalServerError}
    status = emu.video_variant.failed_content_status
    with pytest.raises(expected[status]) as info:
        await client.videos.download_content(video.id, tmp_path / "clip.mp4")
    assert info.value.status_code == status
    assert info.value.x_request_id == emu.stats.records("videos.content")[-1].request_id
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
@pytest.mark.parametrize("bad_id", ["..", "other_video"])
async def test_wait_gives_up_on_unusable_answers(
    client: odr.AsyncOdiRouter, emu: Emulator, interval: float | None, bad_id: str
) -> None:
    """A poll answering an unusable or another video's id is retried a few times, then raised; no more."""
    video = await client.videos.create(model="sora-2", prompt="p")
    body = {"id": bad_id, "object": "video", "status": "completed", "progress": 100}
    emu.faults.add("videos.retrieve", status=200, body=body, times=None)
    emu.reset_stats()
    with pytest.raises(odr.ResponseValidationError) as info:
        await client.videos.wait(video, poll_interval=interval)  # the first look is the object
    err = info.value
    assert err.status_code == 200
    assert err.x_request_id == emu.stats.records("videos.retrieve")[-1].request_id
    assert repr(bad_id)[1:-1] in str(err) and isinstance(err.body, str) and '"status"' in err.body
    assert dict(emu.stats.routes) == {"videos.retrieve": MAX_BAD_BODIES}
    with pytest.raises(odr.ResponseValidationError):  # a first look by id is not retried
        await client.videos.wait(video.id, poll_interval=interval)
    assert dict(emu.stats.routes) == {"videos.retrieve": MAX_BAD_BODIES + 1}


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_unknown_terminal_word_with_an_error_ends_the_wait(
    client: odr.AsyncOdiRouter, emu: Emulator, interval: float | None
) -> None:
    """A status word the SDK does not know, carrying an error, raises JobFailed instead of waiting on."""
    video = await client.videos.create(model="sora-2", prompt="p")
    body = {"id": video.id, "status": "errored", "error": {"code": "moderation", "message": "blocked"}}
    emu.faults.add("videos.retrieve", status=200, body=body, times=None)
    with pytest.raises(odr.JobFailed) as info:
        await client.videos.wait(video.id, poll_interval=interval)
    assert (info.value.error, info.value.error_type) == ("blocked", "moderation")
    assert "errored" in str(info.value)
