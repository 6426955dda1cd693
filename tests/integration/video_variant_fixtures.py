"""The videos suites run once per emulator video variant (``Emulator(video_variant=...)``).

``from video_variant_fixtures import emu, video_variant`` in a test module overrides the shared
``emu`` fixture with one parametrized over ``VIDEO_VARIANTS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from odirouter_async.testing import VIDEO_VARIANTS, Emulator


@pytest.fixture(params=VIDEO_VARIANTS)
def video_variant(request: pytest.FixtureRequest) -> str:
    """The name of the emulator's video variant for this run."""
    return str(request.param)


@pytest.fixture
async def emu(video_variant: str) -> AsyncIterator[Emulator]:
    """A fresh emulator with short jobs and videos, answering in ``video_variant``'s shape."""
    async with Emulator(
        job_duration=0.2, job_jitter=0.25, video_duration=0.2, video_variant=video_variant
    ) as e:
        yield e
