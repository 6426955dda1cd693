"""``StreamProtocol``: the sans-IO half of an open SSE stream, h11-style (no I/O, no clock).

The shell (``llm.stream.AsyncStream``) reads the body and hands every network read to the
protocol, which frames it (``SSEDecoder``), decodes each event into a typed item and applies the
stream's end rules.  At the end of the body the shell calls ``eof()``.  The two subclasses say
what the items and the end are: ``ChatStreamProtocol`` (``chat_protocol``) and
``ResponsesStreamProtocol`` (``responses_protocol``).  Two ways to hand it bytes:

* ``feed(data) -> list[item]``: every item that read completed, decoded at once;
* ``iter_feed(data) -> Iterator[item]``: the same items, each decoded when the caller takes it,
  and an error raised where it stands.  The shell uses this one: a read of 50 events then never
  holds 50 decoded chunks at once (they are GC-tracked objects: a batch alive at once costs the
  collector about 0.5 µs per chunk, measured), and the consumer gets them in the same order.

What this base owns, once for both:

* **the end**: ``done`` turns true when the stream's own end arrived (chat ``[DONE]``, a
  Responses terminal event, as that last item is handed out); from then on the rest of the body
  is ignored (no items).  ``eof()`` with the end missing raises ``StreamInterrupted``; so does an
  EOF inside an event (an unterminated event whose data is not complete JSON; one missing only
  its blank line is kept);
* **errors**: an in-band error event, a payload that is not JSON (``ResponseValidationError``),
  an event over ``max_event_bytes`` raw bytes (``SSEProtocolError``) or a missing end end the
  stream (``ended``; the error is raised again by ``raise_error()`` and any later call).  Found
  by ``feed``/``eof`` after items of the same call, it does not lose them: the call returns those
  items and the error waits for ``raise_error()``;
* **accumulated state**: with ``accumulate=True`` every item is folded into ``accumulator`` (a
  ``ChatCompletionAccumulator`` or a ``ResponseAccumulator``, ``accumulator_type``) as it is
  decoded, before anything else sees it (an error chunk or event included), so the stream
  helpers read the final object, text and tool calls from the protocol.

The shell's loop: ``while not p.ended:`` yield each item of ``p.iter_feed(await read())`` (of
``p.eof()`` at the end of the body); then ``p.raise_error()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Final, Generic, TypeVar

import msgspec

from .._exceptions import ResponseValidationError, SSEProtocolError, StreamError, StreamInterrupted
from ..http.sse import DEFAULT_MAX_EVENT_BYTES, SSEDecoder, SSEEvent

__all__ = ("EXCERPT", "StreamProtocol")

_T = TypeVar("_T")
#: How much of a cut event's bytes an error keeps.
EXCERPT: Final = 2000
_json_decode: Final = msgspec.json.Decoder().decode
#: The errors a decoded event can raise (in-band errors, bad payloads).
_EVENT_ERRORS: Final = (StreamError, ResponseValidationError)
_NOTHING: Final[Iterator[Any]] = iter(())  # always exhausted: shared


class StreamProtocol(Generic[_T]):
    """Feed it the body's bytes; get typed items and the stream's end (see the module docstring).

    Attributes:
        x_request_id: put on every error the protocol raises.
        done: the stream's own end arrived (``[DONE]``, the terminal event...).
        ended: no more items will come: ``done``, or an error was kept for ``raise_error()``.
    """

    #: What the error messages call the stream ("chat", "Responses").
    name: ClassVar[str] = "SSE"
    #: The accumulator class built for ``accumulate=True`` (its ``add`` is fed every item).
    accumulator_type: ClassVar[type[Any] | None] = None

    __slots__ = ("_add", "_error", "_sse", "accumulator", "done", "ended", "x_request_id")

    def __init__(
        self,
        *,
        x_request_id: str | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        accumulate: bool = False,
    ) -> None:
        """A protocol for one stream.

        Args:
            x_request_id: the ``X-Request-Id`` put on the errors it raises.
            max_event_bytes: the SSE event size bound in raw bytes (``SSEProtocolError`` above).
            accumulate: build ``accumulator`` (an ``accumulator_type``) and feed it every item.
        """
        self.x_request_id = x_request_id
        self._sse = SSEDecoder(max_event_bytes)
        self._error: Exception | None = None
        self.done = False
        self.ended = False
        make = self.accumulator_type
        self.accumulator: Any = make() if accumulate and make is not None else None
        self._add: Callable[[_T], None] | None = None if self.accumulator is None else self.accumulator.add
        self._start()

    @property
    def last_event_id(self) -> str | None:
        """The last SSE ``id:`` seen, for servers that support resuming."""
        return self._sse.last_event_id

    def feed(self, data: bytes) -> list[_T]:
        """The items completed by ``data`` (none once the stream ended); see the module docstring."""
        return self._collect(self.iter_feed(data))

    def iter_feed(self, data: bytes) -> Iterator[_T]:
        """The items completed by ``data``, each decoded when taken; errors raised in place.

        Take every item (or drop the iterator, ending the stream) before the next call.
        """
        if self.ended:
            self.raise_error()
            return _NOTHING
        try:
            events = self._sse.feed(data)
        except SSEProtocolError as exc:
            self._end(exc)
            raise
        return self._take(events) if events else _NOTHING

    def eof(self) -> list[_T]:
        """The body ended: the items of a last event missing its blank line; then the end rule.

        Raises ``StreamInterrupted`` when the body ended inside an event, or before the stream's
        end (kept for ``raise_error()`` when this call returns items).
        """
        if self.ended:
            self.raise_error()
            return []
        sse = self._sse
        pending = sse.pending
        events = sse.end(dispatch_partial=True)
        for ev in events:
            if ev.data.startswith(b"[DONE]"):
                continue
            try:
                _json_decode(ev.data)
            except RecursionError:
                pass  # complete but too deep: the event decoder reports it (ResponseValidationError)
            except msgspec.DecodeError:
                cut = StreamInterrupted(
                    "The stream ended inside an event.",
                    x_request_id=self.x_request_id,
                    body=pending[:EXCERPT].decode("utf-8", "replace"),
                )
                raise self._end(cut) from None
        items = self._collect(self._take(events)) if events else []
        if not self.ended and not self._end_at_eof():
            return self._fail(self._missing_end(), items)
        self.ended = True
        return items

    def raise_error(self) -> None:
        """Raise the error kept when a call returned items before it; nothing if none was."""
        if self._error is not None:
            raise self._error

    def cut(self, reason: str) -> StreamInterrupted:
        """The error for a body cut by the transport before the stream's end."""
        return StreamInterrupted(
            f"The {self.name} stream was cut before its end: {reason}", x_request_id=self.x_request_id
        )

    # -- what a subclass says -----------------------------------------------------------------

    def _start(self) -> None:
        """Set up the subclass's own state (the end of ``__init__``)."""

    def _take(self, events: list[SSEEvent]) -> Iterator[_T]:
        """Decode ``events`` into items, one per ``next``; set ``done``; errors via ``_end``."""
        raise NotImplementedError

    def _end_at_eof(self) -> bool:
        """Whether a body ending here (no end marker seen) still ended the stream."""
        return False

    def _missing_end(self) -> StreamInterrupted:
        """The error for a body that ended before the stream's end."""
        return StreamInterrupted(
            f"The {self.name} stream ended before its end.", x_request_id=self.x_request_id
        )

    def _end(self, exc: Exception) -> Exception:
        """End the stream with ``exc`` (raised again by ``raise_error()``); returns it to raise."""
        self.ended = True
        self._error = exc
        return exc

    def _collect(self, items: Iterator[_T]) -> list[_T]:
        """Every item of ``items``; an error after some of them waits for ``raise_error()``."""
        out: list[_T] = []
        try:
            out.extend(items)
        except _EVENT_ERRORS as exc:
            return self._fail(exc, out)
        return out

    def _fail(self, exc: Exception, items: list[_T]) -> list[_T]:
        """End with ``exc``: raised now when ``items`` is empty, else kept behind them."""
        self._end(exc)
        if not items:
            raise exc
        return items
