"""``client.videos`` create / retrieve / list / delete / remix against the emulator."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest
from video_variant_fixtures import emu, video_variant

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.videos import Video, VideoDeleted, VideoList

pytestmark = pytest.mark.anyio

__all__ = ("emu", "video_variant")  # the imported fixtures, parametrized over every video variant

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


def sha(data: bytes) -> str:
    """sha256 hex of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_file(path: Path, blocks: int, block_size: int = 1 << 20) -> str:
    """Write ``blocks`` distinct blocks to ``path`` (never more than one in memory); its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for i in range(blocks):
            block = i.to_bytes(4, "big") * (block_size // 4)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


class OneShotStream(io.RawIOBase):
    """A readable stream that cannot seek (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


async def test_create_with_bytes(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Bytes input_reference arrive whole as a file part typed from their magic bytes."""
    video = await client.videos.create(
        model="sora-2", prompt="a cat on a skateboard", seconds="4", size="720x1280", input_reference=PNG
    )
    assert isinstance(video, Video)
    assert not video.is_terminal
    seen = emu.videos[video.id]
    assert seen.input_reference_sha256 == sha(PNG)
    assert seen.input_reference_bytes == len(PNG)
    assert seen.input_reference_content_type == "image/png"
    assert seen.input_reference_filename == "input_reference.png"
    assert seen.fields == {
        "model": "sora-2",
        "prompt": "a cat on a skateboard",
        "seconds": "4",
        "size": "720x1280",
    }


async def test_create_with_path(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """A Path input_reference is streamed with its own file name."""
    path = tmp_path / "first frame.png"
    path.write_bytes(PNG)
    video = await client.videos.create(model="sora-2", prompt="p", input_reference=path)
    seen = emu.videos[video.id]
    assert seen.input_reference_sha256 == sha(PNG)
    assert seen.input_reference_filename == "first frame.png"
    assert seen.input_reference_content_type == "image/png"


async def test_create_with_file_object(client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path) -> None:
    """A binary file object is read from its position and left open for its owner."""
    path = tmp_path / "ref.jpg"
    path.write_bytes(b"HEADER" + PNG)
    with path.open("rb") as f:
        f.read(6)
        video = await client.videos.create(model="sora-2", prompt="p", input_reference=f)
        assert not f.closed
    seen = emu.videos[video.id]
    assert seen.input_reference_sha256 == sha(PNG)
    assert seen.input_reference_filename == "ref.jpg"
    assert seen.input_reference_content_type == "image/jpeg"


async def test_create_with_tuple(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A (filename, content, content_type) tuple names and types the part."""
    video = await client.videos.create(
        model="sora-2", prompt="p", input_reference=("frame.bin", PNG, "image/webp")
    )
    seen = emu.videos[video.id]
    assert (seen.input_reference_filename, seen.input_reference_content_type) == ("frame.bin", "image/webp")
    assert seen.input_reference_sha256 == sha(PNG)


async def test_large_upload_has_bounded_memory(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A 52 MiB input_reference is streamed: Python allocations peak far below the file size."""
    path = tmp_path / "big.png"
    digest = write_file(path, 52)
    await client.models.list()  # the pool and session exist before measuring
    tracemalloc.start()
    try:
        video = await client.videos.create(model="sora-2", prompt="p", input_reference=path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seen = emu.videos[video.id]
    assert seen.input_reference_bytes == 52 << 20
    assert seen.input_reference_sha256 == digest
    assert peak < 10 << 20, f"peak {peak / 2**20:.1f} MiB"


async def test_create_retried_on_503_resends_whole_file(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A 503 (work refused) is retried, and the second attempt carries the whole file again."""
    path = tmp_path / "ref.png"
    digest = write_file(path, 3)
    emu.faults.add("videos.create", status=503, times=1)
    video = await client.videos.create(model="sora-2", prompt="p", input_reference=path)
    records = emu.stats.records("videos.create")
    assert [r.status for r in records] == [503, 200]
    assert records[0].request_id == records[1].request_id
    seen = emu.videos[video.id]
    assert (seen.input_reference_bytes, seen.input_reference_sha256) == (3 << 20, digest)


async def test_file_object_resent_whole_after_429(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A seekable file object is rewound for the retry after a 429."""
    emu.faults.add("videos.create", status=429, headers={"Retry-After": "0"}, times=1)
    video = await client.videos.create(model="sora-2", prompt="p", input_reference=io.BytesIO(PNG))
    assert emu.stats.count("videos.create") == 2
    assert emu.videos[video.id].input_reference_sha256 == sha(PNG)


async def test_create_not_retried_on_500(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A 500 on the paid create is not retried: the work may have started."""
    emu.faults.add("videos.create", status=500, times=None)
    with pytest.raises(odr.InternalServerError):
        await client.videos.create(model="sora-2", prompt="p", input_reference=PNG)
    assert emu.stats.count("videos.create") == 1


async def test_create_not_retried_after_connection_cut(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A connection dropped after the upload was sent is not retried (it could pay twice)."""
    emu.faults.add("videos.create", drop=True, times=1)
    with pytest.raises(odr.APIConnectionError):
        await client.videos.create(model="sora-2", prompt="p", input_reference=PNG)
    assert emu.stats.count("videos.create") == 1
    assert emu.videos == {}


async def test_unseekable_stream_uploads_once(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An unseekable stream is uploaded (chunked), and never retried since it cannot be re-read."""
    video = await client.videos.create(model="sora-2", prompt="p", input_reference=OneShotStream(PNG))
    assert emu.videos[video.id].input_reference_sha256 == sha(PNG)
    emu.faults.add("videos.create", status=503, times=1)
    with pytest.raises(odr.InternalServerError):
        await client.videos.create(model="sora-2", prompt="p", input_reference=OneShotStream(PNG))
    assert emu.stats.count("videos.create") == 2


async def test_create_without_reference_is_still_multipart(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without input_reference the fields still go as multipart/form-data."""
    video = await client.videos.create(model="sora-2-pro", prompt="p")
    seen = emu.videos[video.id]
    assert seen.input_reference_bytes == 0
    assert seen.model == "sora-2-pro"


async def test_extra_fields_pass_through(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Unknown keywords and extra_body become form fields; non-strings are encoded as text."""
    video = await client.videos.create(
        model="sora-2",
        prompt="p",
        seconds=8,
        style="noir",
        loop=True,
        metadata={"k": [1, 2]},
        skipped=None,
        extra_body={"style": "pastel", "seed": 7},
    )
    fields = emu.videos[video.id].fields
    assert fields["seconds"] == "8"
    assert fields["style"] == "pastel"
    assert fields["seed"] == "7"
    assert fields["loop"] == "true"
    assert fields["metadata"] == '{"k":[1,2]}'
    assert "skipped" not in fields


async def test_extra_file_field_is_a_file_part(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A file given under any other name is sent as a file part too."""
    video = await client.videos.create(model="sora-2", prompt="p", extra_body={"reference_image": PNG})
    assert emu.videos[video.id].input_reference_sha256 == sha(PNG)


async def test_request_options_apply(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """x_request_id, extra_headers and extra_query reach the gateway."""
    await client.videos.create(
        model="sora-2", prompt="p", x_request_id="trace-video-1", extra_query={"x": "1"}
    )
    record = emu.stats.records("videos.create")[-1]
    assert record.request_id == "trace-video-1"


async def test_bad_inputs_fail_before_sending(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A str, a missing file or an empty prompt is refused without a request."""
    with pytest.raises(TypeError, match="Path"):
        await client.videos.create(model="sora-2", prompt="p", input_reference="first.png")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        await client.videos.create(model="sora-2", prompt="p", input_reference=tmp_path / "missing.png")
    with pytest.raises(TypeError, match="binary"), (tmp_path / "t.txt").open("w") as text:
        await client.videos.create(model="sora-2", prompt="p", input_reference=text)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prompt"):
        await client.videos.create(model="sora-2", prompt="")
    assert emu.stats.count("videos.create") == 0


async def test_retrieve_and_raw(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """retrieve() returns the typed video; its raw JSON and request id stay reachable."""
    created = await client.videos.create(model="sora-2", prompt="p")
    video = await client.videos.retrieve(created.id)
    assert video.id == created.id
    assert video.raw["prompt"] == (None if emu.video_variant.nulls else "p")
    assert video.x_request_id == emu.stats.records("videos.retrieve")[-1].request_id


async def test_unknown_fields_kept_in_raw(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Fields the SDK does not model, and a string error, survive in .raw."""
    body = {
        "id": "video_x",
        "object": "video",
        "status": "failed",
        "progress": 100,
        "seconds": 4,
        "error": "provider exploded",
        "provider": {"name": "sora", "cost": 0.4},
    }
    emu.faults.add("videos.retrieve", status=200, body=body)
    video = await client.videos.retrieve("video_x")
    assert video.raw["provider"] == {"name": "sora", "cost": 0.4}
    assert video.error_message == "provider exploded"
    assert video.seconds == 4
    assert video.is_terminal


async def test_not_a_video_body_is_a_validation_error(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A 200 whose body is not a video raises ResponseValidationError with the body."""
    emu.faults.add("videos.retrieve", status=200, body={"unexpected": True})
    with pytest.raises(odr.ResponseValidationError):
        await client.videos.retrieve("video_x")


async def test_retrieve_unknown_is_not_found(client: odr.AsyncOdiRouter) -> None:
    """An unknown id is NotFoundError with the gateway's code."""
    with pytest.raises(odr.NotFoundError) as info:
        await client.videos.retrieve("video_nope")
    assert info.value.code == "video_not_found"


async def test_list_pages(client: odr.AsyncOdiRouter) -> None:
    """list() pages with limit/after and reports has_more."""
    ids = [(await client.videos.create(model="sora-2", prompt=f"p{i}")).id for i in range(3)]
    page = await client.videos.list(limit=2, order="asc")
    assert isinstance(page, VideoList)
    assert [v.id for v in page] == ids[:2]
    assert page.has_more and page.last_id == ids[1]
    rest = await client.videos.list(limit=2, order="asc", after=page.last_id)
    assert [v.id for v in rest] == ids[2:]
    assert not rest.has_more
    assert rest.raw["object"] == "list"


async def test_delete(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """delete() removes the video and returns the deletion record."""
    video = await client.videos.create(model="sora-2", prompt="p")
    deleted = await client.videos.delete(video.id)
    assert isinstance(deleted, VideoDeleted)
    assert (deleted.id, deleted.deleted) == (video.id, True)
    assert video.id not in emu.videos


async def test_remix(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """remix() starts a new video that names its source."""
    source = await client.videos.create(model="sora-2", prompt="p", seconds="8")
    remix = await client.videos.remix(source.id, prompt="now in winter")
    assert remix.id != source.id
    assert remix.remixed_from_video_id == source.id
    assert emu.videos[remix.id].prompt == "now in winter"
    assert emu.videos[remix.id].seconds == "8"
    assert remix.seconds == (None if emu.video_variant.nulls else 8 if emu.video_variant.loose_types else "8")


async def test_remix_not_retried_on_500(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """remix() is paid work: a 500 surfaces after one attempt."""
    source = await client.videos.create(model="sora-2", prompt="p")
    emu.faults.add("videos.remix", status=500, times=None)
    with pytest.raises(odr.InternalServerError):
        await client.videos.remix(source.id, prompt="again")
    assert emu.stats.count("videos.remix") == 1


async def test_create_without_balance(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """No credit left: InsufficientBalanceError."""
    emu.balance = 0
    with pytest.raises(odr.InsufficientBalanceError):
        await client.videos.create(model="sora-2", prompt="p", input_reference=PNG)


BAD_IDS = ["", ".", "..", "a/b", "/", "a?b", "a#b", "a\\b", "a b", "a\nb", "a\x00b", "a\x7fb", " "]


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_bad_caller_ids_refused_before_any_request(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Ids that are not one path segment raise ValueError (TypeError if not str) and send nothing."""
    videos = client.videos
    for bad in BAD_IDS:
        calls = [
            videos.retrieve(bad),
            videos.delete(bad),
            videos.remix(bad, prompt="p"),
            videos.wait(bad),
            videos.download_content(bad, tmp_path / "clip.mp4"),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="video_id"):
                await call
    with pytest.raises(TypeError, match="video_id"):
        await videos.retrieve(42)  # type: ignore[arg-type]
    assert emu.stats.total == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_odd_ids_are_percent_encoded(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An id with reserved characters reaches the gateway as exactly one path segment."""
    odd = "vid:a+b=c~d.e%2F..@!$&'()*,;é"
    with pytest.raises(odr.NotFoundError) as info:
        await client.videos.retrieve(odd)
    assert f"'{odd}'" in str(info.value)
    record = emu.stats.records("videos.retrieve")[-1]
    assert record.path == f"/v1/videos/{odd}"


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
@pytest.mark.parametrize("bad_id", ["..", ".", "", "a/b", "a?b", "x\x01"])
async def test_unusable_id_from_the_gateway_is_a_validation_error(
    client: odr.AsyncOdiRouter, emu: Emulator, bad_id: str
) -> None:
    """create/remix/retrieve/list answering an unusable id: ResponseValidationError (status, id, body)."""
    source = await client.videos.create(model="sora-2", prompt="p")
    body = {"id": bad_id, "object": "video", "status": "queued"}
    page = {"object": "list", "data": [body], "has_more": False}
    calls = {
        "videos.create": lambda: client.videos.create(prompt="p"),
        "videos.remix": lambda: client.videos.remix(source.id, prompt="p"),
        "videos.retrieve": lambda: client.videos.retrieve(source.id),
        "videos.list": lambda: client.videos.list(),
    }
    for route, call in calls.items():
        emu.faults.add(route, status=200, body=page if route == "videos.list" else body)
        before = emu.stats.total
        with pytest.raises(odr.ResponseValidationError) as info:
            await call()
        assert emu.stats.total == before + 1  # nothing more was sent
        err = info.value
        assert err.status_code == 200
        assert err.x_request_id == emu.stats.records(route)[-1].request_id
        assert isinstance(err.body, str) and '"queued"' in err.body


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_retrieve_answering_another_video_is_a_validation_error(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """retrieve(a) answered with video b raises ResponseValidationError naming both."""
    a = await client.videos.create(prompt="p")
    b = await client.videos.create(prompt="q")
    emu.faults.add("videos.retrieve", status=200, body={"id": b.id, "status": "completed"})
    with pytest.raises(odr.ResponseValidationError, match="answered video") as info:
        await client.videos.retrieve(a.id)
    assert a.id in str(info.value) and b.id in str(info.value)


@pytest.mark.parametrize("video_variant", ["openai"])  # scripted bodies: one variant is enough
async def test_loose_types_are_read(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """progress and timestamps as numeric strings, seconds as a number, nulls and extras are all read."""
    body = {
        "id": "video_loose",
        "status": "in_progress",
        "progress": "45",
        "created_at": "1700000000",
        "seconds": 8,
        "size": None,
        "model": None,
        "usage": {"seconds": 8},
    }
    emu.faults.add("videos.retrieve", status=200, body=body)
    video = await client.videos.retrieve("video_loose")
    assert (video.progress, video.created_at, video.seconds, video.size) == (45, 1700000000, 8, None)
    assert video.raw["progress"] == "45" and video.raw["usage"] == {"seconds": 8}
