"""examples/batch_images.py: 1000 images with queue.map, a progress line, downloads and resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples_support import load_example, run_example

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio


class Crash(Exception):
    """The process dying in the middle of a batch."""


@pytest.mark.realtime  # the example runs in a real-time process against the in-loop emulator
async def test_thousand_images_then_a_rerun_resubmits_nothing(emu: Emulator, tmp_path: Path) -> None:
    """Run 1: 1000 submits, 1000 folders of PNGs, a progress line.  Run 2: no submit, no download."""
    out = tmp_path / "cats"
    first = await run_example(emu, "batch_images", "--count", "1000", "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip() == "1000 done, 0 failed, 1000 downloaded now"
    assert "  1000/1000 done  0 failed" in first.stderr and "\r" in first.stderr
    assert emu.stats.count("queue.submit") == 1000 and emu.stats.duplicate_submits == 0
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 1000
    png = next(folders[-1].iterdir()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    files_fetched = emu.stats.count("files")

    again = await run_example(emu, "batch_images", "--count", "1000", "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip() == "1000 done, 0 failed, 0 downloaded now"
    assert emu.stats.count("queue.submit") == 1000  # nothing paid twice
    assert emu.stats.count("files") == files_fetched


async def test_interrupted_batch_resumes_where_it_stopped(env: Emulator, tmp_path: Path) -> None:
    """Leaving a run after 30 outcomes, then running again, submits each input exactly once."""
    example = load_example("batch_images")
    out = tmp_path / "run"
    out.mkdir()
    async with odr.AsyncOdiRouter() as client:
        with pytest.raises(Crash):
            seen = 0
            async with client.queue.map(
                example.ENDPOINT, example.prompts(200), journal=out / "journal.sqlite", cancel_on_exit=False
            ) as results:
                async for _ in results:
                    seen += 1
                    if seen == 30:
                        raise Crash
        before = env.stats.count("queue.submit")
        assert 30 <= before < 200
        summary = await example.run_batch(client, 200, out)
    assert (summary.done, summary.failed, summary.downloaded) == (200, 0, 200)
    assert env.stats.count("queue.submit") == 200 and env.stats.duplicate_submits == 0
