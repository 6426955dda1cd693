"""SSEDecoder: the WHATWG event-stream rules, chunking invariance, size bound, linear time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from odirouter_async._exceptions import SSEProtocolError
from odirouter_async.http.sse import SSEDecoder, SSEEvent

BOM = b"\xef\xbb\xbf"


def feed_all(body: bytes, sizes: list[int] | int | None = None, **kw: int) -> list[SSEEvent]:
    """Feed ``body`` whole (None), in pieces of one size (int), or of the given sizes (cycled)."""
    dec = SSEDecoder(**kw)
    out: list[SSEEvent] = []
    if sizes is None:
        out += dec.feed(body)
    else:
        cycle = [sizes] if isinstance(sizes, int) else sizes
        pos = i = 0
        while pos < len(body):
            n = max(1, cycle[i % len(cycle)])
            out += dec.feed(body[pos : pos + n])
            pos += n
            i += 1
    out += dec.end()
    return out


def datas(events: list[SSEEvent]) -> list[bytes]:
    """The data payloads of some events."""
    return [e.data for e in events]


def reference(body: bytes) -> list[tuple[bytes, str, str | None, int | None]]:
    """A direct, slow transliteration of the spec over the whole body."""
    if body.startswith(BOM):
        body = body[3:]
    lines = re.split(rb"\r\n|\r|\n", body)[:-1]  # the last piece is unterminated: dropped
    out: list[tuple[bytes, str, str | None, int | None]] = []
    data: list[bytes] = []
    etype = ""
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == b"":
            if data:
                out.append((b"\n".join(data), etype or "message", last_id, retry))
            data, etype, retry = [], "", None
            continue
        if line.startswith(b":"):
            continue
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            etype = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value and all(48 <= c <= 57 for c in value):
            retry = int(value)
    return out


def as_tuples(events: list[SSEEvent]) -> list[tuple[bytes, str, str | None, int | None]]:
    """Events as comparable tuples."""
    return [(e.data, e.event, e.id, e.retry) for e in events]


# ---------------------------------------------------------------------------------------------
# The examples of the HTML standard's "Server-sent events" section


def test_spec_multiline_data() -> None:
    """The stock-ticker example: three data lines join with LF into one event."""
    events = feed_all(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert datas(events) == [b"YHOO\n+2\n10"]
    assert events[0].event == "message"
    assert events[0].text == "YHOO\n+2\n10"


def test_spec_first_second_third_event_ids() -> None:
    """The comment/id example: ids persist, a bare ``id`` sets the empty id."""
    body = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    dec = SSEDecoder()
    events = dec.feed(body)
    assert as_tuples(events) == [
        (b"first event", "message", "1", None),
        (b"second event", "message", "", None),
        (b" third event", "message", "", None),
    ]
    assert dec.last_event_id == ""
    assert dec.comments == 1


def test_spec_empty_data_lines() -> None:
    """``data`` without a colon counts as empty data; the unterminated last event is dropped."""
    dec = SSEDecoder()
    events = dec.feed(b"data\n\ndata\ndata\n\ndata:")
    events += dec.end()
    assert datas(events) == [b"", b"\n"]
    assert dec.truncated


def test_spec_space_after_colon_is_optional() -> None:
    """``data:test`` and ``data: test`` give the same value."""
    assert datas(feed_all(b"data:test\n\ndata: test\n\n")) == [b"test", b"test"]


def test_spec_event_types() -> None:
    """``event:`` names the type of the next dispatched event only."""
    body = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\ndata: 113411\n\n"
    assert [(e.event, e.data) for e in feed_all(body)] == [
        ("add", b"73857293"),
        ("remove", b"2153"),
        ("message", b"113411"),
    ]


def test_only_one_leading_space_is_stripped() -> None:
    """One space after the colon goes; the second stays, in data and in other fields."""
    events = feed_all(b"event:  x\ndata:   v\n\n")
    assert (events[0].event, events[0].data) == (" x", b"  v")


# ---------------------------------------------------------------------------------------------
# Line endings, BOM, comments


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_line_endings_equivalent(eol: bytes) -> None:
    """CR, LF and CRLF frame the same events."""
    body = eol.join([b"event: a", b"data: 1", b"data: 2", b"", b": c", b"id: 7", b"data: x", b"", b""])
    assert as_tuples(feed_all(body)) == [(b"1\n2", "a", None, None), (b"x", "message", "7", None)]
    for size in (1, 2, 3, 5):
        assert as_tuples(feed_all(body, size)) == as_tuples(feed_all(body))


def test_crlf_split_across_chunks() -> None:
    """A CR at the end of one chunk and LF at the start of the next are one line ending."""
    dec = SSEDecoder()
    assert dec.feed(b"data: a\r") == []
    assert dec.feed(b"\n\r") == [SSEEvent(b"a")]
    assert dec.feed(b"\ndata: b\r\n\r\n") == [SSEEvent(b"b")]


def test_lone_cr_then_lf_chunk_starts_blank_line_only_once() -> None:
    """After a CR-terminated line, a chunk of just LF is swallowed, not a blank line."""
    dec = SSEDecoder()
    dec.feed(b"data: a\r")
    assert dec.feed(b"\n") == []
    assert dec.feed(b"\n") == [SSEEvent(b"a")]


def test_mixed_line_endings_in_one_chunk() -> None:
    """CR, LF and CRLF may be mixed in a single chunk."""
    assert datas(feed_all(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r")) == [b"a\nb\nc", b"d"]


def test_bom_stripped_once() -> None:
    """A leading BOM is stripped, so the first event is not lost (openai-python gap 3)."""
    assert datas(feed_all(BOM + b"data: a\n\n")) == [b"a"]


def test_bom_split_across_chunks() -> None:
    """A BOM split over three one-byte chunks is still stripped."""
    assert datas(feed_all(BOM + b"data: a\n\n", 1)) == [b"a"]
    assert datas(feed_all(BOM + b"data: a\n\n", [2, 100])) == [b"a"]


def test_second_bom_is_not_stripped() -> None:
    """Only one BOM goes: a second makes the first field name unknown."""
    assert datas(feed_all(BOM + BOM + b"data: a\n\ndata: b\n\n")) == [b"b"]


def test_bom_not_at_start_is_data() -> None:
    """A BOM later in the stream is kept as data bytes."""
    assert datas(feed_all(b"data: " + BOM + b"x\n\n")) == [BOM + b"x"]


def test_short_stream_that_is_a_bom_prefix() -> None:
    """A body shorter than a BOM that looks like its start is left pending, then discarded."""
    dec = SSEDecoder()
    assert dec.feed(b"\xef") == []
    assert dec.pending_size == 1
    assert dec.end() == []
    assert dec.truncated


def test_comments_and_keepalives_never_make_events() -> None:
    """Comment blocks and blank lines alone dispatch nothing; they are counted."""
    dec = SSEDecoder()
    assert dec.feed(b": ping\n\n:\n\n\n\n: OPENROUTER PROCESSING\n\n") == []
    assert dec.comments == 3


def test_id_plus_keepalives_makes_no_empty_events() -> None:
    """The openai-python id + keep-alive bug: no empty events after an ``id:``."""
    body = b"id: 1\ndata: x\n\n\n: keepalive\n\n\n"
    events = feed_all(body)
    assert as_tuples(events) == [(b"x", "message", "1", None)]


def test_id_only_and_retry_only_blocks_dispatch_nothing() -> None:
    """Meta-only blocks (openai-python #2722) update state but dispatch nothing."""
    dec = SSEDecoder()
    assert dec.feed(b"retry: 1500\n\nid: 42\n\n") == []
    assert (dec.retry, dec.last_event_id) == (1500, "42")
    assert dec.feed(b"data: y\n\n") == [SSEEvent(b"y", "message", "42", None)]


def test_event_type_resets_without_data() -> None:
    """An ``event:`` in a block without data does not leak into the next event."""
    assert [e.event for e in feed_all(b"event: x\n\ndata: 1\n\n")] == ["message"]


def test_empty_event_type_means_message() -> None:
    """``event:`` with an empty value gives the default type."""
    assert feed_all(b"event:\ndata: 1\n\n")[0].event == "message"


def test_id_with_nul_is_ignored() -> None:
    """An ``id`` containing NUL leaves the last event id unchanged."""
    events = feed_all(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"retry: 3000", 3000),
        (b"retry:0", 0),
        (b"retry: 30s", None),
        (b"retry: -1", None),
        (b"retry: ", None),
        (b"retry: 1.5", None),
        (b"retry: \xd9\xa3", None),
    ],
)
def test_retry_only_all_ascii_digits(line: bytes, expected: int | None) -> None:
    """``retry`` is taken only when the value is non-empty ASCII digits."""
    dec = SSEDecoder()
    events = dec.feed(line + b"\ndata: x\n\n")
    assert dec.retry == expected
    assert events[0].retry == expected


def test_retry_is_per_event_but_persists_on_decoder() -> None:
    """The event carries the retry of its own block; the decoder keeps the last one."""
    dec = SSEDecoder()
    events = dec.feed(b"retry: 10\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [10, None]
    assert dec.retry == 10


def test_unknown_fields_and_colonless_lines_ignored() -> None:
    """Unknown fields, and field names without a colon other than ``data``, are ignored."""
    assert datas(feed_all(b"foo: bar\nbaz\ndata x\ndata: ok\n\n")) == [b"ok"]


def test_invalid_utf8() -> None:
    """Data stays raw bytes; text fields decode with replacement; nothing raises."""
    events = feed_all(b"event: a\xffb\nid: \xfe\ndata: \xff\xfe\n\n")
    assert events[0].data == b"\xff\xfe"
    assert events[0].event == "a\ufffdb"
    assert events[0].id == "\ufffd"
    assert events[0].text == "\ufffd\ufffd"


def test_unicode_line_separators_do_not_split() -> None:
    """U+2028, U+0085 and VT/FF inside data are not line endings."""
    payload = "a\u2028b\u0085c\x0bd\x0ce".encode()
    assert datas(feed_all(b"data: " + payload + b"\r\n\r\n")) == [payload]


def test_multibyte_character_split_across_chunks() -> None:
    """A UTF-8 sequence split between chunks arrives whole."""
    assert feed_all("data: żółw 🐢\n\n".encode(), 1)[0].text == "żółw 🐢"


# ---------------------------------------------------------------------------------------------
# EOF, pending state, size bound


def test_unterminated_final_event_dropped() -> None:
    """An event without its blank line is dropped at EOF and reported as truncated."""
    dec = SSEDecoder()
    assert dec.feed(b"data: a\n\ndata: b\n") == [SSEEvent(b"a")]
    assert dec.pending_size > 0
    assert dec.pending == b"b"
    assert dec.end() == []
    assert dec.truncated
    assert dec.pending_size == 0


def test_clean_end_is_not_truncated() -> None:
    """A stream ending on a blank line (or a comment) is not truncated."""
    dec = SSEDecoder()
    dec.feed(b"data: a\n\n: bye\n")
    assert dec.end() == []
    assert not dec.truncated


def test_end_dispatch_partial() -> None:
    """The lenient EOF mode dispatches an unterminated event that has data."""
    dec = SSEDecoder()
    dec.feed(b"event: x\ndata: [DONE]")
    assert dec.end(dispatch_partial=True) == [SSEEvent(b"[DONE]", "x")]
    assert not dec.truncated


def test_decoder_reusable_after_end() -> None:
    """After ``end()`` the decoder starts a fresh event; the last event id stays."""
    dec = SSEDecoder()
    dec.feed(b"id: 5\ndata: a\n\ndata: partial")
    dec.end()
    assert dec.feed(b"data: b\n\n") == [SSEEvent(b"b", "message", "5", None)]


def test_oversize_event_raises() -> None:
    """An event over the bound raises SSEProtocolError, whole or in pieces."""
    body = b"data: " + b"x" * 2000 + b"\n\n"
    with pytest.raises(SSEProtocolError):
        feed_all(body, max_event_bytes=1000)
    with pytest.raises(SSEProtocolError):
        feed_all(body, 100, max_event_bytes=1000)


def test_oversize_multiline_event_raises() -> None:
    """Many small data lines adding up over the bound raise too."""
    body = b"data: 0123456789\n" * 200
    with pytest.raises(SSEProtocolError):
        feed_all(body, 37, max_event_bytes=1000)


def test_oversize_unterminated_line_raises() -> None:
    """A line that never ends (no newline at all) cannot grow the buffer past the bound."""
    dec = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(SSEProtocolError):
        for _ in range(100):
            dec.feed(b": " + b"x" * 98)


def test_events_at_the_bound_pass() -> None:
    """Events up to the bound pass; the bound is about one event, not the stream."""
    body = (b"data: " + b"x" * 900 + b"\n\n") * 50
    assert len(feed_all(body, max_event_bytes=1000)) == 50
    assert len(feed_all(body, 333, max_event_bytes=1000)) == 50


def test_huge_event_in_small_pieces() -> None:
    """A 16 MiB event fed in 1 KiB pieces arrives whole (linear-time framing)."""
    payload = b"y" * (16 * 1024 * 1024)
    body = b"data: " + payload + b"\n\n"
    dec = SSEDecoder()
    events: list[SSEEvent] = []
    for pos in range(0, len(body), 1024):
        events += dec.feed(body[pos : pos + 1024])
    assert len(events) == 1
    assert events[0].data == payload


def test_huge_multiline_event_in_small_pieces() -> None:
    """A 4 MiB event of many short data lines, fed in 1 KiB pieces, arrives whole."""
    line = b"data: 0123456789abcdef\n"
    body = line * (4 * 1024 * 1024 // len(line)) + b"\n"
    dec = SSEDecoder()
    events: list[SSEEvent] = []
    for pos in range(0, len(body), 1024):
        events += dec.feed(body[pos : pos + 1024])
    assert len(events) == 1
    assert events[0].data.count(b"\n") == body.count(b"\n") - 2


def test_accepts_bytearray_and_memoryview() -> None:
    """Chunks may be any bytes-like object."""
    dec = SSEDecoder()
    assert dec.feed(bytearray(b"data: a\n")) == []
    assert dec.feed(memoryview(b"\n")) == [SSEEvent(b"a")]


# ---------------------------------------------------------------------------------------------
# Properties

_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_line = st.one_of(
    st.tuples(st.just(b"data"), _text),
    st.tuples(st.just(b"event"), _text),
    st.tuples(st.just(b"id"), _text),
    st.tuples(st.just(b"retry"), st.from_regex(r"\A[0-9a]{0,4}\Z")),
    st.tuples(st.just(b""), _text),  # comment
    st.tuples(st.sampled_from([b"data", b"id", b"event", b"x"]), st.none()),  # no colon
)
_eol = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """A random event stream: blocks of field lines, mixed line endings, optional BOM."""
    out = [BOM] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 6))):
        for name, value in draw(st.lists(_line, max_size=5)):
            if value is None:
                line = name
            else:
                sep = draw(st.sampled_from([b":", b": "]))
                line = name + sep + value.encode()
            out.append(line + draw(_eol))
        out.append(draw(_eol))
    if draw(st.booleans()):
        out.append(b"data: unterminated")
    return b"".join(out)


@given(body=sse_streams(), cuts=st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_any_split_gives_same_events(body: bytes, cuts: list[int]) -> None:
    """Feeding in arbitrary pieces gives the events of feeding whole, and of the spec."""
    whole = as_tuples(feed_all(body))
    assert as_tuples(feed_all(body, cuts)) == whole
    assert as_tuples(feed_all(body, 1)) == whole
    assert whole == reference(body)


@given(body=sse_streams())
def test_every_split_point(body: bytes) -> None:
    """Every two-piece split of a stream gives the same events."""
    whole = as_tuples(feed_all(body))
    for cut in range(1, len(body)):
        dec = SSEDecoder()
        events = dec.feed(body[:cut]) + dec.feed(body[cut:]) + dec.end()
        assert as_tuples(events) == whole


# ---------------------------------------------------------------------------------------------
# The bound counts raw bytes


def test_bound_counts_field_names_and_newlines() -> None:
    """Tiny `data: xy` lines reach the bound by their raw size (9 bytes each), not by payload (3)."""
    dec = SSEDecoder(max_event_bytes=900)
    dec.feed(b"data: xy\n" * 100)  # exactly 900 raw bytes: still inside the bound
    with pytest.raises(SSEProtocolError, match="909 > 900"):
        dec.feed(b"data: xy\n")


def test_bound_counts_comments_and_other_fields() -> None:
    """Lines that carry no data still count toward the block they are in."""
    with pytest.raises(SSEProtocolError):
        feed_all(b": keep-alive\n" * 100 + b"data: x\n\n", 50, max_event_bytes=1000)
    with pytest.raises(SSEProtocolError):
        feed_all(b"id: 1\nevent: e\n" * 100 + b"data: x\n\n", max_event_bytes=1000)


def test_blank_lines_reset_the_count() -> None:
    """Keep-alives separated by blank lines never add up, however many come."""
    body = b": ping\n\n" * 10_000 + b"data: ok\n\n"
    assert datas(feed_all(body, 333, max_event_bytes=100)) == [b"ok"]


def test_events_before_the_oversize_block_were_already_returned() -> None:
    """Earlier events come out of earlier feeds; the decoder is clean after the error."""
    dec = SSEDecoder(max_event_bytes=100)
    assert datas(dec.feed(b"data: a\n\n")) == [b"a"]
    with pytest.raises(SSEProtocolError):
        dec.feed(b"data: " + b"x" * 200)
    assert dec.pending_size == 0 and dec.pending == b""
    assert datas(dec.feed(b"\n\ndata: b\n\n")) == [b"b"]


def test_pending_shows_the_event_in_progress() -> None:
    """`pending` joins the data lines seen so far, then the raw unterminated line."""
    dec = SSEDecoder()
    dec.feed(b"data: one\ndata: two\ndata: thr")
    assert dec.pending == b"one\ntwo\ndata: thr"
    assert dec.pending_size == len(b"data: one\ndata: two\ndata: thr")
    dec.feed(b"ee\n")
    assert dec.pending == b"one\ntwo\nthree"
