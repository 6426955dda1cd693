"""Shared test configuration: anyio on asyncio (aiohttp needs it) on a virtual clock, hypothesis
profiles, xdist's worker count, the static checks left to ``--typecheck``, and the SDK's pytest
plugin (opt-in, as users load it: ``pytest_plugins`` in their conftest)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from virtual_time import VirtualTimeLoop

pytest_plugins = ["odirouter_async.testing.pytest_plugin"]

# ``fast`` (the default): every property runs, with a quarter of dev's examples, so the whole
# suite stays in minutes; ``HYPOTHESIS_PROFILE=dev`` or ``ci`` (also chosen by ``CI=1``) dig deeper.
# Tests with their own count scale it (tests/property_budget.py).
settings.register_profile("fast", max_examples=25, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # CI runs the same examples every time: a red run is reproducible, never luck
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "fast"))


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """aiohttp ties the SDK to asyncio; the loop's clock is virtual (tests/virtual_time.py) unless
    the test is marked ``realtime`` (a peer in real time outside the loop, or real time the subject)."""
    if request.node.get_closest_marker("realtime") is not None:
        return "asyncio", {}
    return "asyncio", {"loop_factory": VirtualTimeLoop}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per CPU this process may use, at most CPUs + 4.

    The CPU work is small; what is left of a run is mostly waiting on real processes (PostgreSQL,
    the CLI's signal tests, the docs build), which a second worker per CPU overlaps (2 CPUs: 4
    workers, ~110 s against ~145 s with 2; BENCHMARKS.md).  Each worker pays its own collection,
    hence the cap on big machines."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(2 * cpus, cpus + 4)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--typecheck``: also run the tests marked ``typecheck`` (CI's ``.ci/run`` does)."""
    parser.addoption(
        "--typecheck",
        action="store_true",
        help="also run the static checks marked `typecheck` (mypy/pyright over tests/typing and examples/)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``--typecheck`` the static checks are deselected: they check types, not behaviour,
    and take seconds of CPU each; ``.ci/run`` and ``nox -s typecheck`` run them.  Then the slow
    tests go first."""
    if not config.getoption("--typecheck"):
        static = [item for item in items if item.get_closest_marker("typecheck") is not None]
        if static:
            config.hook.pytest_deselected(items=static)
            items[:] = [item for item in items if item.get_closest_marker("typecheck") is None]
    # The longest tests (marked ``slow``) first: xdist's worksteal hands each worker a contiguous
    # share and lets an idle one steal the tail of another's, so short tests end the run and no
    # worker waits alone on a long one at the end (a stable sort: the same order on every worker).
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, _cache_home: str) -> None:
    """The CLI keeps a poll history under $XDG_CACHE_HOME: never the real user cache in tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", _cache_home)
