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


async def test_many_images_then_a_rerun_resubmits_nothing(
    env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run 1: 150 submits, 150 folders of PNGs, a progress line.  Run 2: no submit, no download.

    The example's ``main`` in-process on the test's virtual clock (the script as a process: below);
    150 inputs fill the map's default window (64) more than twice: 1000 (the example's default) shows
    nothing more."""
    example = load_example("batch_images")
    out = tmp_path / "cats"
    assert await example.main(["--count", "150", "--out", str(out)]) == 0
    first = capsys.readouterr()
    assert first.out.strip() == "150 done, 0 failed, 150 downloaded now"
    assert "   150/150 done  0 failed" in first.err and "\r" in first.err
    assert env.stats.count("queue.submit") == 150 and env.stats.duplicate_submits == 0
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 150
    png = next(folders[-1].iterdir()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    files_fetched = env.stats.count("files")

    assert await example.main(["--count", "150", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == "150 done, 0 failed, 0 downloaded now"
    assert env.stats.count("queue.submit") == 150  # nothing paid twice
    assert env.stats.count("files") == files_fetched


@pytest.mark.realtime  # the example runs in a real-time process against the in-loop emulator
async def test_the_script_runs_and_a_rerun_resubmits_nothing(emu: Emulator, tmp_path: Path) -> None:
    """``python examples/batch_images.py --count 20`` as a user runs it: exit 0, the summary on
    stdout, the progress line on stderr; the same command again submits and downloads nothing."""
    out = tmp_path / "cats"
    first = await run_example(emu, "batch_images", "--count", "20", "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip() == "20 done, 0 failed, 20 downloaded now"
    assert "    20/20 done  0 failed" in first.stderr
    assert len([p for p in out.iterdir() if p.is_dir()]) == 20
    again = await run_example(emu, "batch_images", "--count", "20", "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip() == "20 done, 0 failed, 0 downloaded now"
    assert emu.stats.count("queue.submit") == 20 and emu.stats.duplicate_submits == 0


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
