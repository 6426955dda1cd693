"""``AsyncClosing``: the one ``async with`` protocol of everything the SDK lets you close.

A client, a stream, a ``queue.map`` and the emulator all close the same way: ``async with x``
gives ``x`` (a subclass that starts work on entry overrides ``__aenter__``) and awaits
``x.aclose()`` on the way out, whatever ended the block.  Part of the vocabulary every floor
may use: no import from the package.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ("AsyncClosing",)

_Self = TypeVar("_Self", bound="AsyncClosing")


class AsyncClosing:
    """Mixin: ``__aenter__`` returns the object, ``__aexit__`` awaits ``aclose()``."""

    __slots__ = ()

    async def aclose(self) -> None:
        """Release what the object holds (idempotent)."""
        raise NotImplementedError

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
