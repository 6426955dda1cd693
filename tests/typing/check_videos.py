"""Type check: videos create/wait/list/download (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from pathlib import Path

from typing_extensions import assert_type

import odirouter_async as odr


async def videos(client: odr.AsyncOdiRouter) -> None:
    """A video's life."""
    video = await client.videos.create(model="sora-2", prompt="a paper boat", seconds="4", size="720x1280")
    assert_type(video, odr.Video)
    video_id: str = video.id
    video = await client.videos.wait(video_id, wait_timeout=None)
    assert_type(video, odr.Video)
    print(video.status, video.progress, video.error)
    path = await client.videos.download_content(video_id, "clip.mp4")
    assert_type(path, Path)
    page = await client.videos.list()
    assert_type(page, odr.VideoList)
    for v in page.data:
        assert_type(v, odr.Video)
    deleted = await client.videos.delete(video_id)
    assert_type(deleted, odr.VideoDeleted)
