"""Helpers for the examples' tests: load an example by path, or run it as a script against an emulator."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import anyio

from odirouter_async.testing import Emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a fresh module (examples are files, not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@dataclass
class Ran:
    """A finished example process."""

    returncode: int
    stdout: str
    stderr: str


async def run_example(emu: Emulator, name: str, *args: str, cwd: Path | None = None) -> Ran:
    """Run ``python examples/<name>.py args...`` in a subprocess against ``emu`` (same event loop).

    The process keeps real time: a test calling this is marked ``realtime`` (tests/virtual_time.py).
    """
    env = {**os.environ, "ODIROUTER_BASE_URL": emu.url, "ODIROUTER_API_KEY": emu.api_key}
    done = await anyio.run_process(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args], env=env, cwd=cwd, check=False
    )
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode())
