"""pytest plugin of odirouter_async: the ``odirouter_emulator`` fixture and marker.

Opt-in: it is not registered as a ``pytest11`` entry point (installing the SDK does not change
other projects' pytest runs).  Load it from your ``conftest.py``::

    pytest_plugins = ["odirouter_async.testing.pytest_plugin"]

Loading it imports the SDK package (aiohttp's client, msgspec) and registers the marker; the
emulator (``aiohttp.web``, the server and its routes) is imported when a fixture first runs, and
nothing optional is imported at all (``trustme`` only for ``tls=True``).  A test checks both:
no entry point, and nothing of the emulator loaded by the plugin alone.

Usage::

    @pytest.mark.anyio
    @pytest.mark.odirouter_emulator(job_duration=0.05, poll_rate_limit=100)
    async def test_something(odirouter_emulator):
        client = AsyncOdiRouter(api_key=odirouter_emulator.api_key, base_url=odirouter_emulator.url)

The marker's keyword arguments are passed to ``Emulator(...)``.  The fixture is function-scoped
and async: run the test with an async plugin (the anyio plugin: ``@pytest.mark.anyio``).

The emulator is realistic by default: chat and Responses accept only the catalogue's model ids
(others answer 404 ``model_not_found``, as the gateway does) and answer with generated sentences.
``@pytest.mark.odirouter_emulator(permissive=True)`` accepts any model id, ``models=["my-model"]``
adds ids, ``echo=True`` answers ``"You said: <prompt>"`` (exact text to assert on), and
``tokens_per_second=60`` paces streams like a real model (off by default: tests stay fast).
"""

from __future__ import annotations

from typing import Any

from ._fixture import MARKER, emulator_fixture

__all__ = ("odirouter_emulator", "pytest_configure")


def pytest_configure(config: Any) -> None:
    """Register the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): Emulator(...) keyword arguments for the {MARKER} fixture",
    )


odirouter_emulator = emulator_fixture(name=MARKER)
