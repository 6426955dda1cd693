"""Properties of SSEDecoder over arbitrary bytes: chunking invariance, typed errors, bounded memory."""

from __future__ import annotations

from hypothesis import given, strategies as st

from odirouter_async._exceptions import SSEProtocolError
from odirouter_async.http.sse import SSEDecoder, SSEEvent

Result = tuple[list[tuple[bytes, str, str | None, int | None]], bool]

# Bytes rich in what matters to the framing: field names, colons, spaces, CR, LF, a BOM.
_atoms = st.sampled_from(
    [
        *(b"data", b"data:", b"data: ", b"event:", b"id:", b"retry:", b":", b" "),
        *(b"\n", b"\r", b"\r\n", b"\n\n", b"x", b"12", b"\xef\xbb\xbf", b"\x00", b"\xff", b"[DONE]"),
    ]
)
bodies = st.one_of(st.binary(max_size=300), st.lists(_atoms, max_size=80).map(b"".join))


def _tuples(events: list[SSEEvent]) -> list[tuple[bytes, str, str | None, int | None]]:
    return [(e.data, e.event, e.id, e.retry) for e in events]


def _buffered(dec: SSEDecoder) -> int:
    """Bytes the decoder holds for the block in progress."""
    return len(dec._tail) + len(dec._first or b"") + len(dec._more)


def run(body: bytes, cuts: list[int] | None, limit: int, partial: bool = False) -> Result:
    """Events and whether SSEProtocolError was raised; memory checked after every feed."""
    dec = SSEDecoder(limit)
    out: list[SSEEvent] = []
    pieces = [body] if cuts is None else []
    if cuts is not None:
        pos = i = 0
        while pos < len(body):
            n = cuts[i % len(cuts)]
            pieces.append(body[pos : pos + n])
            pos += n
            i += 1
    try:
        for piece in pieces:
            out += dec.feed(piece)
            assert _buffered(dec) <= limit
            assert dec.pending_size <= limit + 3  # + a BOM prefix being recognised
        out += dec.end(dispatch_partial=partial)
    except SSEProtocolError:
        return _tuples(out), True
    return _tuples(out), False


@given(
    body=bodies,
    cuts=st.lists(st.integers(1, 50), min_size=1, max_size=6),
    limit=st.integers(1, 120),
    partial=st.booleans(),
)
def test_any_chunking_same_outcome_as_whole_body(
    body: bytes, cuts: list[int], limit: int, partial: bool
) -> None:
    """Any bytes in any pieces: the whole-body events, or SSEProtocolError exactly when whole-body raises."""
    whole, whole_raised = run(body, None, limit, partial)
    pieces, pieces_raised = run(body, cuts, limit, partial)
    assert pieces_raised == whole_raised
    if not whole_raised:
        assert pieces == whole
    else:
        # Events dispatched before the oversize block are a prefix of the unbounded decode.
        unbounded, raised = run(body, None, 1 << 30, partial)
        assert not raised
        assert pieces == unbounded[: len(pieces)]


@given(body=bodies, cuts=st.lists(st.integers(1, 50), min_size=1, max_size=6))
def test_large_bound_never_raises(body: bytes, cuts: list[int]) -> None:
    """With a bound larger than the input nothing but events comes out, in any chunking."""
    assert run(body, cuts, len(body) + 1) == run(body, None, len(body) + 1)
    assert run(body, cuts, len(body) + 1)[1] is False


@given(
    line=st.sampled_from([b"data: xy\n", b"data:\n", b"d\n", b": keep\n", b"id: 1\n"]),
    limit=st.integers(10, 400),
    size=st.integers(1, 64),
)
def test_raw_line_bytes_count_toward_the_bound(line: bytes, limit: int, size: int) -> None:
    """A block of short lines raises once its raw bytes (names, newlines) pass the bound, never later."""
    dec = SSEDecoder(limit)
    body = line * (limit // len(line) + 2)
    fed = 0
    try:
        for pos in range(0, len(body), size):
            dec.feed(body[pos : pos + size])
            fed = pos + size
    except SSEProtocolError:
        assert fed <= limit
    else:
        raise AssertionError(f"{len(body)} raw bytes in one block passed a bound of {limit}")
