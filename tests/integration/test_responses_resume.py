"""Background Responses streams: cut before their terminal event, they resume transparently."""

from __future__ import annotations

from typing import Any

import pytest
from resume_server import EVENTS, RESPONSE_ID, TEXT_PIECES, resume_server

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

#: no waiting between reconnections (the delays come from the policy: jitter to 0)
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.01, jitter=lambda _: 0.0)
FULL_TEXT = "".join(TEXT_PIECES)


def _seqs(events: list[Any]) -> list[int]:
    return [e.sequence_number for e in events]


async def _collect(stream: odr.AsyncStream[Any]) -> list[Any]:
    async with stream:
        return [event async for event in stream]


# -- against the emulator ----------------------------------------------------------------------


async def test_cut_stream_resumes_without_gap_or_duplicate(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A background stream dropped after 5 events goes on from event 5: every event once, in order."""
    whole = await _collect(
        await client.responses.create(model="gpt-4.1", input="tell me a story", stream=True)
    )
    emu.faults.add("responses", truncate_after=5, drop=True)
    stream = await client.responses.create(
        model="gpt-4.1", input="tell me a story", stream=True, background=True
    )
    events = await _collect(stream)
    assert _seqs(events) == list(range(len(whole)))
    assert events[-1].type == "response.completed"
    assert [e.type for e in events] == [e.type for e in whole]
    assert emu.stats.count("responses.retrieve") == 1


async def test_helper_keeps_one_accumulator_across_two_cuts(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """responses.stream(background=True) cut twice (clean EOF, then a drop) ends with the right Response."""
    plain = await client.responses.create(model="gpt-4.1", input="a long answer please")
    emu.faults.add("responses", truncate_after=4)
    emu.faults.add("responses.retrieve", truncate_after=3, drop=True)
    async with client.responses.stream(model="gpt-4.1", input="a long answer please", background=True) as s:
        deltas = [d async for d in s.text_deltas()]
        final = await s.get_final_response()
    assert "".join(deltas) == final.output_text == plain.output_text
    assert final.status == "completed" and final.id != plain.id
    assert emu.stats.count("responses.retrieve") == 2


async def test_budget_spent_raises_stream_interrupted_with_where(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """Reconnections that keep failing end in StreamInterrupted naming the response and last event;
    a manual retrieve(stream=True, starting_after=...) then gets the rest."""
    emu.faults.add("responses", truncate_after=6, drop=True)
    emu.faults.add("responses.retrieve", status=503, times=None)
    stream = await client.responses.create(model="gpt-4.1", input="hello", stream=True, background=True)
    got: list[Any] = []
    with pytest.raises(odr.StreamInterrupted) as info:
        async with stream:
            async for event in stream:
                got.append(event)
    assert isinstance(info.value, odr.StreamError)
    assert info.value.sequence_number == 5 == got[-1].sequence_number
    assert info.value.response_id == got[0].response.id
    assert emu.stats.count("responses.retrieve") == client.max_retries
    emu.faults.clear()
    rest = await _collect(
        await client.responses.retrieve(info.value.response_id, stream=True, starting_after=5)
    )
    assert rest[0].sequence_number == 6 and rest[-1].type == "response.completed"


async def test_plain_stream_cut_is_not_resumed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Without background=True a cut stream raises StreamInterrupted as before, with no reconnection."""
    emu.faults.add("responses", truncate_after=5, drop=True)
    stream = await client.responses.create(model="gpt-4.1", input="hello", stream=True)
    with pytest.raises(odr.StreamInterrupted):
        await _collect(stream)
    assert emu.stats.count("responses.retrieve") == 0


async def test_cut_before_the_response_id_is_not_resumable(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream cut before response.created cannot say what to resume: StreamInterrupted at once."""
    emu.faults.add("responses", truncate_after=0, drop=True)
    stream = await client.responses.create(model="gpt-4.1", input="hello", stream=True, background=True)
    with pytest.raises(odr.StreamInterrupted) as info:
        await _collect(stream)
    assert info.value.response_id is None
    assert emu.stats.count("responses.retrieve") == 0


async def test_background_without_stream_moves_queued_to_completed(client: odr.AsyncOdiRouter) -> None:
    """A background response is stored queued, then in_progress, then completed with its output."""
    created = await client.responses.create(model="gpt-4.1", input="hi", background=True)
    assert created.status == "queued" and created.output == []
    assert (await client.responses.retrieve(created.id)).status == "in_progress"
    done = await client.responses.retrieve(created.id)
    assert done.status == "completed" and done.output_text


async def test_cancel_a_background_response(client: odr.AsyncOdiRouter) -> None:
    """cancel() turns a queued background response into a cancelled one; unknown ids are 404."""
    created = await client.responses.create(model="gpt-4.1", input="hi", background=True)
    cancelled = await client.responses.cancel(created.id)
    assert cancelled.status == "cancelled" and cancelled.id == created.id
    assert (await client.responses.retrieve(created.id)).status == "cancelled"
    with pytest.raises(odr.NotFoundError):
        await client.responses.cancel("resp_does_not_exist")


async def test_retrieve_stream_replays_all_events(client: odr.AsyncOdiRouter) -> None:
    """retrieve(id, stream=True) without starting_after replays the whole stored stream."""
    first = await _collect(
        await client.responses.create(model="gpt-4.1", input="hi", stream=True, background=True)
    )
    again = await _collect(await client.responses.retrieve(first[0].response.id, stream=True))
    assert _seqs(again) == _seqs(first)


# -- against an independent server --------------------------------------------------------------


def _client(url: str, policy: RetryPolicy = NO_WAIT) -> odr.AsyncOdiRouter:
    return odr.AsyncOdiRouter(api_key="sk-resume", base_url=url, retry_policy=policy)


async def test_independent_server_resume_and_dedupe() -> None:
    """A server that replays 2 events too many: the client asks starting_after=<last> and drops duplicates."""
    async with (
        resume_server(cuts=[("abort", 4), ("eof", 3)], replay_overlap=2) as server,
        _client(server.url) as c,
        c.responses.stream(model="m", input="x", background=True) as s,
    ):
        events = [e async for e in s]
        final = await s.get_final_response()
    assert _seqs(events) == list(range(len(EVENTS)))
    assert final.output_text == FULL_TEXT == s.output_text
    assert final.id == RESPONSE_ID
    gets = [path for method, path in server.requests if method == "GET"]
    assert gets == [
        f"/v1/responses/{RESPONSE_ID}?stream=true&starting_after=3",
        f"/v1/responses/{RESPONSE_ID}?stream=true&starting_after=4",
    ]


async def test_progress_restores_the_budget() -> None:
    """A reconnection that brings new events restores the budget: five cuts with max_retries=1 finish."""
    cuts = [("abort", 3)] + [("abort", 2)] * 4
    policy = RetryPolicy(max_retries=1, jitter=lambda _: 0.0)
    async with resume_server(cuts=cuts) as server, _client(server.url, policy) as c:
        events = await _collect(await c.responses.create(model="m", input="x", stream=True, background=True))
    assert _seqs(events) == list(range(len(EVENTS)))
    assert len(server.requests) == 6


@pytest.mark.parametrize(("status", "error"), [(400, odr.BadRequestError), (404, odr.NotFoundError)])
async def test_resume_refused_ends_at_once(status: int, error: type[Exception]) -> None:
    """A reconnection refused (400: too old to stream again, as openai-python#2828 reports; 404)
    raises StreamInterrupted at once, its cause the refusal."""
    async with resume_server(cuts=[("abort", 4)], resume_status=status) as server, _client(server.url) as c:
        stream = await c.responses.create(model="m", input="x", stream=True, background=True)
        with pytest.raises(odr.StreamInterrupted) as info:
            await _collect(stream)
    assert isinstance(info.value.__cause__, error)
    assert info.value.sequence_number == 3 and info.value.response_id == RESPONSE_ID
    assert len(server.requests) == 2


async def test_no_retries_means_no_resume() -> None:
    """max_retries=0 on the call: a cut background stream is not resumed."""
    async with resume_server(cuts=[("eof", 4)]) as server, _client(server.url) as c:
        stream = await c.responses.create(model="m", input="x", stream=True, background=True, max_retries=0)
        with pytest.raises(odr.StreamInterrupted):
            await _collect(stream)
    assert len(server.requests) == 1


async def test_close_while_resuming_stops_cleanly() -> None:
    """Leaving the loop right after a resumed event closes the stream; nothing more is requested."""
    async with resume_server(cuts=[("abort", 4)]) as server, _client(server.url) as c:
        stream = await c.responses.create(model="m", input="x", stream=True, background=True)
        async with stream:
            async for event in stream:
                if event.sequence_number == 5:
                    break
        assert stream.closed
    assert len(server.requests) == 2


async def test_silent_stream_resumes_after_the_read_timeout(emu: Emulator) -> None:
    """A background stream that goes silent past Timeout.read reconnects like a cut one."""
    emu.faults.add("responses", stall_after=5, delay=30)
    async with odr.AsyncOdiRouter(
        api_key=emu.api_key, base_url=emu.url, retry_policy=NO_WAIT, timeout=odr.Timeout(read=0.3)
    ) as c:
        events = await _collect(
            await c.responses.create(model="gpt-4.1", input="hi", stream=True, background=True)
        )
    assert _seqs(events) == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert emu.stats.count("responses.retrieve") == 1
