"""Type check: ``with_raw_response`` keeps each method's parameters and result type (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import msgspec
from typing_extensions import assert_type

import odirouter_async as odr


async def raw_calls(client: odr.AsyncOdiRouter) -> None:
    """``parse()`` is typed per method and per overload (``stream=True`` gives the stream)."""
    raw = await client.with_raw_response.chat.completions.create(model="m", messages=[])
    assert_type(raw, odr.RawResponse[odr.ChatCompletion])
    assert_type(raw.parse(), odr.ChatCompletion)
    assert_type(raw.status_code, int)
    assert_type(raw.x_request_id, str | None)
    remaining: str | None = raw.headers.get("x-ratelimit-remaining-requests")
    del remaining
    stream = await client.with_raw_response.chat.completions.create(model="m", messages=[], stream=True)
    assert_type(stream.parse(), odr.AsyncStream[odr.ChatCompletionChunk])
    response = await client.with_raw_response.responses.create(model="m", input="hi")
    assert_type(response.parse(), odr.Response)
    cancelled = await client.with_raw_response.responses.cancel("resp_1")
    assert_type(cancelled.parse(), odr.Response)
    models = await client.with_raw_response.models.list()
    assert_type(models.parse(), odr.ModelList)
    job = await client.with_raw_response.queue.submit("nano_banana_2", {"prompt": "x"})
    assert_type(job.parse(), odr.Job)
    await client.with_raw_response.models.list(bogus=1)  # type: ignore[call-arg]


class _City(msgspec.Struct):
    city: str


async def raw_parse(client: odr.AsyncOdiRouter) -> None:
    """``with_raw_response`` of ``parse``: ``.parse()`` is the ``Parsed*[T]``, ``T`` kept."""
    raw = client.with_raw_response
    chat = await raw.chat.completions.parse(model="m", messages=[], response_format=_City)
    assert_type(chat.parse(), odr.ParsedChatCompletion[_City])
    assert_type(chat.parse().choices[0].message.parsed, _City | None)
    answer = await client.with_raw_response.responses.parse(model="m", input="x", text_format=_City)
    assert_type(answer.parse(), odr.ParsedResponse[_City])
    assert_type(answer.parse().output_parsed, _City | None)
    first = await client.chat.completions.with_raw_response.create(model="m", messages=[])
    assert_type(first.parse(), odr.ChatCompletion)
    again = await client.responses.with_raw_response.parse(model="m", input="x", text_format=_City)
    assert_type(again.parse(), odr.ParsedResponse[_City])


async def background(client: odr.AsyncOdiRouter) -> None:
    """``retrieve(stream=True)`` is a stream; ``StreamInterrupted`` says where to go on."""
    events = await client.responses.retrieve("resp_1", stream=True, starting_after=3)
    async with events:
        async for event in events:
            if event.type == "response.output_text.delta":
                assert_type(event.delta, str)
    try:
        pass
    except odr.StreamInterrupted as exc:
        assert_type(exc.response_id, str | None)
        assert_type(exc.sequence_number, int | None)
