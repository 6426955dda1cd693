"""What the two ``.stream(...)`` helpers share: the open stream they wrap and its manager.

``StreamHelper`` holds one iterator over an ``AsyncStream`` (so leaving a loop early and then
asking for the final object goes on where the loop stopped) and the protocol whose accumulated
state it reads (the protocol was built with ``accumulate=True``).  ``StreamManager`` is the
``async with`` around it: the request is sent on entry, the stream closed on exit.

Convention for both helpers: what the stream *has* (text, tool calls, snapshots) is a property,
cheap to read when needed; what *arrives* (``text_deltas()``, ``until_done()``) is a method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from .stream import AsyncStream, ExchangeInfo

__all__ = ("StreamHelper", "StreamManager")

_T = TypeVar("_T")
_A = TypeVar("_A")
_H = TypeVar("_H", bound="StreamHelper[Any, Any]")


class StreamHelper(ExchangeInfo, Generic[_T, _A]):
    """An open stream read through one iterator, and its protocol's accumulator (``_A``).

    Attributes:
        stream: the underlying ``AsyncStream``.
        response: its open HTTP response (``status``, ``headers``, ``request_id``).
    """

    def __init__(self, stream: AsyncStream[_T]) -> None:
        """Hold ``stream`` (its protocol built with ``accumulate=True``) and one iterator over it."""
        accumulator = getattr(stream.protocol, "accumulator", None)
        if accumulator is None:
            raise TypeError(f"{type(self).__name__} needs a stream opened with accumulate=True")
        self.stream = stream
        self.response = stream.response
        self._accumulator: _A = accumulator
        self._items = stream.__aiter__()  # held here: leaving one loop does not close the stream

    @property
    def accumulator(self) -> _A:
        """The accumulator the stream's protocol feeds with every item that arrived."""
        return self._accumulator

    async def until_done(self) -> None:
        """Read the stream to its end (raises what ended it early, if anything did)."""
        async for _ in self._items:
            pass
        self.stream.raise_if_failed()

    async def close(self) -> None:
        """Close the stream (idempotent)."""
        await self.stream.aclose()
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except RuntimeError:  # being iterated by another task, which sees the close
                pass


class StreamManager(Generic[_T, _H]):
    """``async with ... as s``: the request is sent on entry, the stream closed on exit."""

    def __init__(self, open_stream: Callable[[], Awaitable[AsyncStream[_T]]]) -> None:
        """Hold the request until ``async with``.

        Args:
            open_stream: sends the request and returns the open ``AsyncStream`` (its protocol
                built with ``accumulate=True``).
        """
        self._open = open_stream
        self._helper: _H | None = None

    def _wrap(self, stream: AsyncStream[_T]) -> _H:
        """The helper around the open stream."""
        raise NotImplementedError

    async def __aenter__(self) -> _H:
        if self._helper is not None:
            raise RuntimeError("this stream manager was already entered; call stream(...) again")
        self._helper = self._wrap(await self._open())
        return self._helper

    async def __aexit__(self, *exc_info: object) -> None:
        if self._helper is not None:
            await self._helper.close()
