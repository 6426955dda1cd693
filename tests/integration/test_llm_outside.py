"""The outside check of #21: a ported openai-python program's types, a provider with quirks, and
background streams cut at every event, against the emulator and tests/quirk_provider.py."""

from __future__ import annotations

import datetime
import json
from typing import Any

import msgspec
import pytest
from quirk_provider import N_EVENTS, RID, quirk_provider

import odirouter_async as odr
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.llm.structured import output_format
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.01, jitter=lambda _: 0.0)
BG_TEXT = "".join(f"w{i} " for i in range(N_EVENTS - 5))


class Meeting(msgspec.Struct):
    """A meeting."""

    title: str
    starts: datetime.datetime
    at: datetime.time
    day: datetime.date
    moved_to: datetime.datetime | None
    reminders: list[datetime.datetime]


class Counted(msgspec.Struct):
    name: str
    count: int | msgspec.UnsetType = msgspec.UNSET


class Loose(msgspec.Struct):
    payload: Any


class City(msgspec.Struct):
    city: str


class Town(msgspec.Struct):
    town: str


# -- strict schemas of a ported program's types -------------------------------------------------


async def test_datetime_and_time_fields_parse(client: odr.AsyncOdiRouter) -> None:
    """datetime/time fields are sent with their format, so schema-valid JSON decodes into the Struct."""
    done = await client.chat.completions.parse(
        model="gpt-4.1", messages=[{"role": "user", "content": "plan it"}], response_format=Meeting
    )
    meeting = done.choices[0].message.parsed
    assert isinstance(meeting, Meeting) and isinstance(meeting.starts, datetime.datetime)
    assert isinstance(meeting.at, datetime.time)
    props = output_format(Meeting).schema["properties"]
    assert props["starts"]["format"] == "date-time" and props["at"]["format"] == "time"
    assert props["moved_to"]["anyOf"][0]["format"] == props["reminders"]["items"]["format"] == "date-time"
    answer = await client.responses.parse(model="gpt-4.1", input="plan it", text_format=Meeting)
    assert isinstance(answer.output_parsed, Meeting)


async def test_unset_field_is_not_sent_nullable(client: odr.AsyncOdiRouter) -> None:
    """A field that may be UNSET is required with its own type (a null would not decode into it)."""
    done = await client.chat.completions.parse(
        model="gpt-4.1", messages=[{"role": "user", "content": "count"}], response_format=Counted
    )
    assert isinstance(done.choices[0].message.parsed, Counted)
    props = output_format(Counted).schema["properties"]
    assert props["count"] == {"type": "integer"}


async def test_untyped_field_and_union_root_refused_before_sending(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """An Any field (schema {}) and a union at the root raise StrictSchemaError; nothing is sent."""
    with pytest.raises(odr.StrictSchemaError, match="payload"):
        await client.chat.completions.parse(
            model="gpt-4.1", messages=[{"role": "user", "content": "x"}], response_format=Loose
        )
    with pytest.raises(odr.StrictSchemaError):
        await client.responses.parse(model="gpt-4.1", input="x", text_format=City | Town)  # type: ignore[arg-type]
    assert emu.stats.count("chat") == emu.stats.count("responses") == 0


# -- with_raw_response as openai-python spells it ------------------------------------------------


async def test_raw_response_of_parse(client: odr.AsyncOdiRouter) -> None:
    """client.with_raw_response wraps chat.completions.parse and responses.parse too."""
    raw = await client.with_raw_response.chat.completions.parse(
        model="gpt-4.1", messages=[{"role": "user", "content": "Lisbon"}], response_format=City
    )
    assert raw.status_code == 200 and raw.x_request_id
    assert isinstance(raw.parse().choices[0].message.parsed, City)
    raw_r = await client.with_raw_response.responses.parse(model="gpt-4.1", input="x", text_format=City)
    assert isinstance(raw_r.parse().output_parsed, City)


async def test_raw_response_resource_first_spelling(client: odr.AsyncOdiRouter) -> None:
    """openai's README spelling, client.chat.completions.with_raw_response.create(...), works too."""
    hi = [{"role": "user", "content": "hi"}]
    chat = await client.chat.completions.with_raw_response.create(model="gpt-4.1", messages=hi)
    assert chat.headers["content-type"].startswith("application/json") and chat.x_request_id
    assert chat.parse().choices[0].message.content
    parsed = await client.chat.completions.with_raw_response.parse(
        model="gpt-4.1", messages=hi, response_format=City
    )
    assert isinstance(parsed.parse().choices[0].message.parsed, City)
    answer = await client.responses.with_raw_response.create(model="gpt-4.1", input="x")
    assert answer.status_code == 200 and answer.parse().status == "completed"


# -- a provider with quirks ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_quirky_chat_answers(stream: bool) -> None:
    """A fenced JSON keeps its text in ContentParseError, a refusal leaves parsed None, a cut
    reply raises LengthFinishReasonError, tool arguments split over chunks are parsed."""
    tool = odr.function_tool(City, name="get_weather")

    async def parse(client: odr.AsyncOdiRouter, model: str) -> Any:
        kwargs: dict[str, Any] = {"model": model, "messages": [], "response_format": City, "tools": [tool]}
        if not stream:
            return (await client.chat.completions.parse(**kwargs)).choices[0].message
        async with client.chat.completions.stream(**kwargs) as s:
            return (await s.get_final_completion()).choices[0].message

    async with quirk_provider() as srv, odr.AsyncOdiRouter(api_key="k", base_url=srv.url) as client:
        with pytest.raises(odr.ContentParseError) as fenced:
            await parse(client, "fenced")
        assert fenced.value.content == '```json\n{"city": "Lisbon"}\n```'
        refused = await parse(client, "refusal")
        assert refused.parsed is None and refused.refusal == "I can't help with that."
        with pytest.raises(odr.LengthFinishReasonError) as cut:
            await parse(client, "length")
        assert cut.value.content == '{"city": "Lis'
        called = await parse(client, "tools")
        assert called.tool_calls[0].function.parsed_arguments == City("Lisbon")


async def test_unknown_items_and_parts_stay_raw() -> None:
    """compaction, a local_shell_call without action and an output_audio part are kept raw; the
    known items around them decode and narrow, whole and streamed."""
    tool = odr.function_tool(City, name="get_weather")
    async with quirk_provider() as srv, odr.AsyncOdiRouter(api_key="k", base_url=srv.url) as client:
        whole = await client.responses.parse(model="odd", input="x", tools=[tool])
        async with client.responses.stream(model="odd", input="x") as s:
            events = [e async for e in s]
            streamed = await s.get_final_response()
    for response in (whole, streamed):
        kinds = [(i.type, getattr(i, "item_type", None)) for i in response.output]
        assert kinds == [
            ("unknown", "compaction"),
            ("unknown", "local_shell_call"),
            ("message", None),
            ("function_call", None),
        ]
        assert response.output_text == "Hello world"
        assert response.output[1].raw["call_id"] == "c_ls"  # type: ignore[union-attr]
    parts = whole.output[2].content  # type: ignore[union-attr]
    assert [(p.type, getattr(p, "part_type", None)) for p in parts][1] == ("unknown", "output_audio")
    assert whole.output[3].parsed_arguments == City("Lisbon")  # type: ignore[union-attr]
    assert json.loads(msgspec.json.encode(whole.raw))["output"][0]["encrypted_content"] == "zzz"
    assert events[-1].type == "response.completed"


# -- background streams cut at every event ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["abort", "eof", "stall"])
async def test_background_stream_cut_at_every_event_resumes(mode: str) -> None:
    """Cut after k events (drop, clean EOF, silence past the read timeout) for every k: the
    events and final Response equal an uncut run's; before response.created nothing is resumable."""
    for k in range(N_EVENTS):
        async with (
            quirk_provider(cut=(mode, k)) as srv,
            odr.AsyncOdiRouter(
                api_key="k", base_url=srv.url, retry_policy=NO_WAIT, timeout=odr.Timeout(read=5)
            ) as client,
        ):
            if k == 0:
                with pytest.raises(odr.StreamInterrupted) as info:
                    async with client.responses.stream(model="bg", input="x", background=True) as s:
                        [e async for e in s]
                assert info.value.response_id is None and not any("GET" in r for r in srv.requests)
                continue
            async with client.responses.stream(model="bg", input="x", background=True) as s:
                seqs = [e.sequence_number async for e in s]
                final = await s.get_final_response()
            assert seqs == list(range(N_EVENTS)), k
            assert final.output_text == BG_TEXT and final.id == RID and final.status == "completed"
            assert srv.requests[1:] == [f"GET /v1/responses/{RID}?stream=true&starting_after={k - 1}"]


@pytest.mark.parametrize("drop", [True, False])
async def test_emulator_background_stream_cut_at_every_event(
    client: odr.AsyncOdiRouter, emu: Emulator, drop: bool
) -> None:
    """Against the emulator, a background stream cut after any event ends as an uncut run does."""
    uncut = await client.responses.create(model="gpt-4.1", input="a story", stream=True)
    async with uncut:
        whole = [e async for e in uncut]
    for k in range(1, len(whole)):
        emu.faults.add("responses", truncate_after=k, drop=drop)
        stream = await client.responses.create(model="gpt-4.1", input="a story", stream=True, background=True)
        async with stream:
            events = [e async for e in stream]
        assert [e.sequence_number for e in events] == list(range(len(whole))), k
        assert [e.type for e in events] == [e.type for e in whole]
        assert events[-1].response.output_text == whole[-1].response.output_text


async def test_plain_stream_cut_is_not_resumed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A stream without background=True, cut, raises as before and sends no resume request."""
    emu.faults.add("responses", truncate_after=3, drop=True)
    stream = await client.responses.create(model="gpt-4.1", input="hello", stream=True)
    with pytest.raises((odr.StreamInterrupted, odr.APIConnectionError)):
        async with stream:
            [e async for e in stream]
    assert emu.stats.count("responses.retrieve") == 0
