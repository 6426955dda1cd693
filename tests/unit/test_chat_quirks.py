"""Provider quirks the strict chat types reject are repaired on a second decode, never silently lost."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.http.sse import SSEDecoder
from odirouter_async.llm.chat_state import ChatCompletionAccumulator
from odirouter_async.llm.stream_decode import DONE, decode_chat_chunk
from odirouter_async.types.chat import ChatCompletion

LIST_CONTENT = (Path(__file__).resolve().parents[1] / "data" / "chat_list_content.sse").read_bytes()


def _run(body: bytes) -> ChatCompletionAccumulator:
    acc = ChatCompletionAccumulator()
    for ev in SSEDecoder().feed(body):
        item = decode_chat_chunk(ev)
        if item is DONE:
            break
        if item is not None:
            assert not isinstance(item, type(DONE))
            acc.add(item)
    return acc


def test_list_content_becomes_text_and_reasoning() -> None:
    """Content sent as a list of parts is joined; thinking parts become reasoning."""
    acc = _run(LIST_CONTENT)
    final = acc.final()
    assert final.choices[0].message.content == "Hello world"
    assert final.choices[0].message.reasoning_content == "hmm "
    assert final.choices[0].finish_reason == "stop"


def test_null_token_counts_read_as_zero() -> None:
    """A usage object with null counts decodes instead of aborting the stream."""
    usage = _run(LIST_CONTENT).final().usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (3, 0)


def test_raw_keeps_the_body_as_sent() -> None:
    """The repaired chunk's .raw is the original JSON, list and all."""
    ev = SSEDecoder().feed(LIST_CONTENT)[0]
    chunk = decode_chat_chunk(ev)
    assert isinstance(chunk, odr.ChatCompletionChunk)
    assert isinstance(chunk.raw["choices"][0]["delta"]["content"], list)


def test_unrepairable_chunk_is_still_an_error() -> None:
    """A chunk broken in an unknown way still raises ResponseValidationError."""
    body = b'data: {"choices": [{"index": "zero", "delta": {}}]}\n\n'
    ev = SSEDecoder().feed(body)[0]
    with pytest.raises(odr.ResponseValidationError):
        decode_chat_chunk(ev)


def test_non_stream_completion_with_list_content() -> None:
    """The same repair applies to a whole chat.completion body."""
    from odirouter_async.llm.chat_quirks import repair_chat_json

    body = (
        b'{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":[{"type":"text","text":"hi"}]},"finish_reason":"stop"}]}'
    )
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=ChatCompletion)
    repaired = repair_chat_json(body, msgspec.json.Decoder(ChatCompletion))
    assert repaired is not None and repaired.choices[0].message.content == "hi"
