"""The pytest fixture helper: ``emulator_fixture(**options)`` builds an async emulator fixture.

pytest is imported only when the helper is called, so ``import odirouter_async.testing`` works
without pytest installed.  The built fixture yields a started ``Emulator``; keyword arguments of
the closest ``@pytest.mark.odirouter_emulator(...)`` marker override the helper's ``options``.

In a ``conftest.py``::

    from odirouter_async.testing import emulator_fixture

    slow_gateway = emulator_fixture(job_duration=5.0, poll_rate_limit=20)
    any_model = emulator_fixture(permissive=True, echo=True)  # any model id, "You said: ..." answers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ("MARKER", "emulator_fixture", "variant_emulator_fixture")

MARKER = "odirouter_emulator"


def _marker_options(request: Any) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
    return dict(marker.kwargs)


def emulator_fixture(
    *, name: str | None = None, scope: str = "function", **options: Any
) -> Callable[..., AsyncIterator[Emulator]]:
    """Return a pytest fixture yielding a started ``Emulator(**options)`` (marker kwargs win).

    The fixture is async: run the tests that use it with an async plugin (``@pytest.mark.anyio``).
    ``name`` defaults to the attribute the fixture is assigned to.
    """
    import pytest

    async def fixture(request: Any) -> AsyncIterator[Emulator]:
        from ._server import Emulator

        async with Emulator(**{**options, **_marker_options(request)}) as emu:
            yield emu

    fixture.__doc__ = "A started OdiRouter gateway emulator on 127.0.0.1, stopped after use."
    decorated: Callable[..., AsyncIterator[Emulator]] = pytest.fixture(scope=scope, name=name)(fixture)  # type: ignore[call-overload]
    return decorated


def variant_emulator_fixture(
    *, name: str | None = None, variants: tuple[str, ...] | None = None, **options: Any
) -> Any:
    """A pytest fixture yielding a started ``Emulator(variant=v, **options)``, parametrized over
    ``variants`` (every preset and ``"random"`` by default): each test using it runs once per
    variant, with ids like ``test_x[detail_500]``.  ``request.param`` is the variant name.
    """
    import pytest

    from ._server import Emulator
    from ._variants import QUEUE_VARIANTS

    if variants is None:
        variants = (*QUEUE_VARIANTS, "random")

    async def fixture(request: Any) -> Any:
        async with Emulator(variant=request.param, **options) as emu:
            yield emu

    fixture.__doc__ = "A started emulator, once per queue gateway variant."
    return pytest.fixture(name=name, params=list(variants), ids=list(variants))(fixture)
