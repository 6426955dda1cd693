"""Server-Sent Events framing: bytes in, ``SSEEvent``s out (sans-IO).

Owns the WHATWG "event stream" interpretation rules and nothing else:

- line endings CR, LF and CRLF, including a CRLF split across two chunks;
- one leading UTF-8 BOM stripped (even when split across chunks); a second one is data;
- ``:`` comment lines ignored (counted in ``comments``: keep-alives);
- ``field: value`` with one leading space stripped from the value; a line without a colon is a
  field name with an empty value; ``data`` lines joined with ``\\n``;
- ``id`` ignored when it contains NUL, and persistent across events (``last_event_id``);
- ``retry`` only when all ASCII digits (``retry``);
- an event is dispatched on a blank line **only when at least one ``data`` line was seen**, so
  ``id:``/``retry:``-only blocks and keep-alives never produce empty events (openai-python #2722);
- at EOF an unterminated event is dropped (``end()``), but ``truncated`` tells the caller;
- an event block larger than ``max_event_bytes`` raises ``SSEProtocolError``.  The bound counts
  the **raw** bytes of the block (every line since the last blank line, field names, comments
  and one byte per line ending included) plus the unterminated line, so neither many tiny
  ``data:`` lines nor one line that never ends can buffer more than about ``max_event_bytes``.
  The bound is checked identically whatever the chunking.

``data`` stays ``bytes`` so JSON decoders read it without building a ``str``.  Work is linear in
the input: the second and later data lines of an event are appended to one ``bytearray`` (no
object per line, so memory stays about the payload size).  The hot path (a chunk without
``\\r`` that cannot reach the bound) is one ``bytes.split`` plus a short Python loop per line,
with the ``data:`` case tested first; the size bound costs nothing there.
"""

from __future__ import annotations

import msgspec

from .._exceptions import SSEProtocolError

__all__ = ("DEFAULT_MAX_EVENT_BYTES", "SSEDecoder", "SSEEvent")

DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


class SSEEvent(msgspec.Struct, gc=False):
    """One dispatched event.

    ``data`` is the UTF-8 payload as bytes (``.text`` decodes it), ``event`` the event type
    (``"message"`` when the block had no ``event:`` line), ``id`` the last event id in force
    when it was dispatched, ``retry`` the ``retry:`` value given in this event's block.
    """

    data: bytes
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    @property
    def text(self) -> str:
        """The data as text (invalid UTF-8 replaced by U+FFFD)."""
        return self.data.decode("utf-8", "replace")


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class SSEDecoder:
    """Incremental SSE parser: ``feed(chunk)`` returns the events completed by that chunk.

    Attributes:
        last_event_id: the last event ID string (set by ``id:`` lines, kept across events and
            updated at every blank line, as the spec's event source does); ``None`` until set.
        retry: the last valid ``retry:`` value in milliseconds, or ``None``.
        comments: the number of comment lines seen (keep-alives included).
        truncated: after ``end()``, whether an unterminated event or line was discarded.
    """

    __slots__ = (
        "_block",
        "_bom",
        "_event",
        "_event_retry",
        "_first",
        "_id_buffer",
        "_max",
        "_more",
        "_skip_lf",
        "_tail",
        "comments",
        "last_event_id",
        "retry",
        "truncated",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes <= 0:
            raise ValueError("max_event_bytes must be positive")
        self._max = max_event_bytes
        self._tail = bytearray()  # the current line, not yet terminated
        self._first: bytes | None = None  # the first data line of the event in progress
        self._more = bytearray()  # "\n" + each later data line, concatenated
        self._block = 0  # raw bytes of the terminated lines of the block in progress
        self._event: str | None = None  # event type buffer (None: "message")
        self._event_retry: int | None = None
        self._id_buffer: str | None = None
        self._skip_lf = False  # the previous chunk ended with CR: drop a leading LF
        self._bom: bytes | None = b""  # bytes seen while looking for the BOM; None once decided
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self.comments = 0
        self.truncated = False

    # ------------------------------------------------------------------------------------------
    @property
    def pending_size(self) -> int:
        """Raw bytes of the block in progress (its terminated lines plus the unterminated one)."""
        return self._block + len(self._tail) + len(self._bom or b"")

    @property
    def pending(self) -> bytes:
        """The event in progress: its data lines joined, then the unterminated line (a copy)."""
        head = b"" if self._first is None else self._first + self._more
        if self._tail or self._first is None:
            head = head + b"\n" + self._tail if self._first is not None else bytes(self._tail)
        return (self._bom or b"") + head

    # ------------------------------------------------------------------------------------------
    def feed(self, chunk: bytes | bytearray | memoryview) -> list[SSEEvent]:
        """Consume the next piece of the body; return the events it completes, in order.

        Raises ``SSEProtocolError`` when the block in progress exceeds ``max_event_bytes``; the
        decoder then drops that block (events completed earlier in the same chunk are lost too).
        """
        if type(chunk) is not bytes or self._bom is not None or self._skip_lf:
            chunk = self._prepare(chunk)
        if not chunk:
            return []
        if 13 in chunk:  # b"\r" (an int needle is a memchr, several times faster)
            # bytes.splitlines breaks at exactly CR, LF and CRLF (ASCII boundaries only).
            lines = chunk.splitlines()
            if chunk[-1] == 13:
                self._skip_lf = True
                lines.append(b"")
            elif chunk[-1] == 10:
                lines.append(b"")
        else:
            lines = chunk.split(b"\n")
        tail = self._tail
        last = lines.pop()  # the unterminated rest (often b"")
        if not lines:
            tail += last
            if len(tail) + self._block > self._max:
                self._too_large(len(tail) + self._block)
            return []
        # Each line costs at most its bytes plus one for its ending, so a block can only cross
        # the bound in this chunk if this holds; the hot path skips the per-line accounting.
        if len(chunk) + len(tail) + self._block > self._max:
            self._check_bound(lines, last)
        if tail:
            tail += lines[0]
            lines[0] = bytes(tail)
            tail.clear()

        # The hot loop.  The event in progress lives in locals, written back at the end;
        # nothing is copied per call, so an event spread over many chunks costs linear time.
        events: list[SSEEvent] = []
        first = self._first  # its first data line
        more = self._more  # "\n" + its other data lines (the decoder's own bytearray)
        etype = self._event
        eretry = self._event_retry
        event_id = self._id_buffer
        blank_id = event_id  # the id buffer at the last blank line ...
        blanks = False  # ... if there was one
        for line in lines:
            if not line:
                blanks = True
                blank_id = event_id
                if first is not None:
                    if more:
                        payload = first + more
                        more.clear()
                    else:
                        payload = first
                    events.append(SSEEvent(payload, etype or "message", event_id, eretry))
                    first = None
                etype = eretry = None
            elif line[:6] == b"data: ":
                if first is None:
                    first = line[6:]
                else:
                    more += b"\n"
                    more += line[6:]
            elif line[0] == 58:  # b":"
                self.comments += 1
            elif line[:6] == b"event:":
                etype = _text(line[7:] if line[6:7] == b" " else line[6:])
            elif line[:5] == b"data:" or line == b"data":  # no space, or no colon: empty value
                if first is None:
                    first = line[5:]
                else:
                    more += b"\n"
                    more += line[5:]
            else:
                self._event, self._event_retry = etype, eretry
                self._field(line)
                etype, eretry, event_id = self._event, self._event_retry, self._id_buffer
        self._event = etype
        self._event_retry = eretry
        self._first = first
        if blanks:
            self.last_event_id = blank_id  # the spec's event source publishes it at blank lines
            # The block in progress starts after the last blank line (usually the last line).
            i = len(lines)
            while lines[i - 1]:
                i -= 1
            self._block = sum(map(len, lines[i:])) + len(lines) - i if i < len(lines) else 0
        else:
            self._block += sum(map(len, lines)) + len(lines)
        if last:
            tail += last
        return events

    def end(self, *, dispatch_partial: bool = False) -> list[SSEEvent]:
        """Signal EOF.

        Per the spec an event without its terminating blank line is dropped; ``truncated`` is
        then set.  With ``dispatch_partial=True`` the unterminated line is processed and an event
        with data is dispatched instead (a lenient mode for servers that omit the last blank
        line).  The decoder can be fed again afterwards (``last_event_id`` and ``retry`` stay).
        """
        events: list[SSEEvent] = []
        if self._bom:
            self._tail[:0] = self._bom
        self._bom = None
        self.truncated = self._first is not None or bool(self._tail)
        if dispatch_partial and self.truncated:
            # Terminate the line and the event; a CR just seen makes the first LF a CRLF.
            events = self.feed(b"\n\n")
            self.truncated = False
        self._tail.clear()
        self._first = None
        self._more.clear()
        self._block = 0
        self._event = None
        self._event_retry = None
        self._skip_lf = False
        return events

    # ------------------------------------------------------------------------------------------
    def _prepare(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """The rare cases: a bytes-like chunk, the BOM window, an LF after a chunk-final CR."""
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        if chunk and self._bom is not None:
            seen = self._bom + chunk
            if len(seen) < 3 and _BOM.startswith(seen):
                self._bom = seen
                return b""
            self._bom = None
            chunk = seen[3:] if seen.startswith(_BOM) else seen
        if chunk and self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        return chunk

    def _check_bound(self, lines: list[bytes], last: bytes) -> None:
        """The exact accounting, for a chunk that may take a block past the bound."""
        limit = self._max
        size = self._block
        n = len(self._tail)  # the unterminated line continues into the first line
        for line in lines:
            n += len(line)
            if n:
                size += n + 1
                if size > limit:
                    self._too_large(size)
            else:
                size = 0  # a blank line ends the block
            n = 0
        if size + len(last) > limit:
            self._too_large(size + len(last))

    def _too_large(self, size: int) -> None:
        self._tail.clear()
        self._first = None
        self._more.clear()
        self._block = 0
        raise SSEProtocolError(
            f"SSE event exceeds the size bound ({size} > {self._max} bytes, counting field names "
            "and line endings); raise max_event_bytes if this is expected"
        )

    def _field(self, line: bytes) -> None:
        """A non-``data:`` field line (``event``, ``id``, ``retry``, or ignored)."""
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"event":
            self._event = _text(value)
        elif name == b"id":
            if b"\x00" not in value:
                self._id_buffer = _text(value)
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits, non-empty
            self._event_retry = self.retry = int(value)
