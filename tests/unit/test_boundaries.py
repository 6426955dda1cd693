"""The sans-IO core imports neither aiohttp nor anyio."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "odirouter_async._exceptions",
    "odirouter_async._config",
    "odirouter_async._retry",
    "odirouter_async._urls",
    "odirouter_async._sse",
    "odirouter_async._stream_decode",
    "odirouter_async._chat_quirks",
    "odirouter_async._video_state",
    "odirouter_async.types.videos",
    "odirouter_async._chat_state",
    "odirouter_async._responses_state",
    "odirouter_async._schedule",
    "odirouter_async._jobstate",
    "odirouter_async._job_answers",
    "odirouter_async._duration_model",
    "odirouter_async._poll_budget",
    "odirouter_async.types.chat",
    "odirouter_async.types.responses",
    "odirouter_async.types.response_events",
    "odirouter_async.types.queue",
    "odirouter_async.types.models",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_is_sans_io(module: str) -> None:
    """Importing a core module loads neither aiohttp nor anyio."""
    # Load the package without running its __init__ (which wires up the I/O shell).
    code = (
        "import sys, types, importlib, pathlib, importlib.util\n"
        "spec = importlib.util.find_spec('odirouter_async')\n"
        "pkg = types.ModuleType('odirouter_async'); pkg.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['odirouter_async'] = pkg\n"
        "importlib.import_module(sys.argv[1])\n"
        "bad = [m for m in ('aiohttp', 'anyio') if m in sys.modules]; print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"
