"""Fixtures for the examples' tests: a fresh emulator, the environment an example reads
(``ODIROUTER_BASE_URL`` / ``ODIROUTER_API_KEY``) pointing at it, as a user would set it, and the
docs site built once per test run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from odirouter_async.testing import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A realistic emulator (catalogue models only) with short jobs."""
    async with Emulator(job_duration=0.05, job_jitter=0.5) as e:
        yield e


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The environment an example reads points at ``emu``."""
    monkeypatch.setenv("ODIROUTER_BASE_URL", emu.url)
    monkeypatch.setenv("ODIROUTER_API_KEY", emu.api_key)
    yield emu


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site built with ``mkdocs build --strict`` (warnings are errors), once per run.

    A build takes seconds: xdist workers share one, in the run's common temporary root (the
    first worker to get there builds under a lock, the others wait and reuse it)."""
    pytest.importorskip("mkdocstrings", reason="pip install '.[docs]'")
    basetemp = tmp_path_factory.getbasetemp()
    # An xdist worker's basetemp is pytest-N/popen-gwK: its parent is this run's alone.
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    site, done = shared / "docs-site", shared / "docs-site.ok"
    with _locked(shared / "docs-site.lock"):
        if not done.exists():
            args = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
            out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
            done.write_text(str(out.returncode) + "\n" + out.stderr[-3000:])
    code, _, stderr = done.read_text().partition("\n")
    assert code == "0", stderr
    return site


class _locked:
    """An exclusive lock on ``path`` between processes (``fcntl``); without ``fcntl`` (Windows)
    no lock, and a worker may build the site again (the same result)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.file = self.path.open("a")
        try:
            import fcntl
        except ImportError:
            return
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.file.close()  # closing releases the lock
