"""The README's code runs as written against the emulator."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from odirouter_async.testing import Emulator
from odirouter_async.testing._text import reply_text

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


async def test_readme_usage_example_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The "Use" example (chat, streams, responses, queue run/map with a journal, videos) completes."""
    code = next(b for b in _blocks() if "async with odr.AsyncOdiRouter() as client" in b)
    async with Emulator(job_duration=0.1, job_jitter=0.2, video_duration=0.1) as emu:
        monkeypatch.setenv("ODIROUTER_API_KEY", emu.api_key)
        monkeypatch.setenv("ODIROUTER_BASE_URL", emu.url)
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, object] = {}
        exec("async def _readme():\n" + textwrap.indent(code, "    "), namespace)
        await namespace["_readme"]()  # type: ignore[operator]
        assert emu.stats.count("queue.submit") == 101
    out = capsys.readouterr().out
    assert reply_text("Hello", "gpt-4.1", 0) in out  # the emulator's generated answer was printed
    assert (tmp_path / "clip.mp4").stat().st_size > 0
    assert (tmp_path / "run.sqlite").exists()
    assert any((tmp_path / "out").iterdir())


async def test_readme_emulator_example_runs() -> None:
    """The emulator example's calls exist and behave as the README says."""
    code = next(b for b in _blocks() if "from odirouter_async.testing import Emulator" in b)
    assert 'emu.faults.add("chat", status=429' in code
    async with Emulator() as emu:
        emu.faults.add("chat", status=429, headers={"Retry-After": "1"})
        assert emu.faults.pending("chat")
