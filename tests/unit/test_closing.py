"""``AsyncClosing``: the one ``async with`` protocol of the client, streams, maps and the emulator."""

from __future__ import annotations

import pytest

import odirouter_async as odr
from odirouter_async._closing import AsyncClosing
from odirouter_async.testing import Emulator


class _Thing(AsyncClosing):
    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.anyio
async def test_async_with_gives_the_object_and_closes_it_on_error() -> None:
    """``async with x as y``: y is x, and ``aclose()`` runs once even when the block raises."""
    thing = _Thing()
    with pytest.raises(KeyError):
        async with thing as entered:
            assert entered is thing
            raise KeyError("boom")
    assert thing.closed == 1


def test_every_closeable_shares_it() -> None:
    """The client, streams, maps and the emulator close through the one protocol."""
    for cls in (odr.AsyncOdiRouter, odr.AsyncStream, odr.JobMap, Emulator):
        assert issubclass(cls, AsyncClosing), cls
        assert "__aexit__" not in vars(cls), cls
