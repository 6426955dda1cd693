"""Shared test configuration: anyio on asyncio (aiohttp needs it), hypothesis profiles, and the
SDK's pytest plugin (opt-in, as users load it: ``pytest_plugins`` in their conftest)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["odirouter_async.testing.pytest_plugin"]

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # CI runs the same examples every time: a red run is reproducible, never luck
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp ties the SDK to asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, _cache_home: str) -> None:
    """The CLI keeps a poll history under $XDG_CACHE_HOME: never the real user cache in tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", _cache_home)
