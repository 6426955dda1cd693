"""``ListCall``: a list call that can be awaited (the page) or iterated with ``async for`` (its items).

``await client.models.list()`` returns the ``ModelList``; ``async for m in client.models.list()``
sends the same one request and yields its items.  The request is sent when awaited or iterated,
never when the call is merely made (no "coroutine was never awaited" warning either way).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import Any, Generic, TypeVar

__all__ = ("ListCall",)

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741


class ListCall(Generic[P, I]):
    """An awaitable that is also async-iterable over the items of what it returns."""

    __slots__ = ("_fetch", "_items")

    def __init__(self, fetch: Callable[[], Awaitable[P]], items: Callable[[P], Iterable[I]]) -> None:
        self._fetch = fetch
        self._items = items

    def __await__(self) -> Generator[Any, None, P]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[I]:
        page = await self._fetch()
        for item in self._items(page):
            yield item
