"""Type check: every public type is importable from ``odirouter_async.types`` (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import msgspec
from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async import types as t


def same_classes() -> None:
    """The package root and ``odirouter_async.types`` export the same classes."""
    assert_type(t.ChatCompletion, type[odr.ChatCompletion])
    assert_type(t.UnknownEvent, type[odr.UnknownEvent])
    assert_type(t.JobResult, type[odr.JobResult])
    assert_type(t.Video, type[odr.Video])


def decode_events(data: bytes) -> str:
    """Users may decode recorded events with msgspec and narrow them the same way."""
    event = msgspec.json.decode(data, type=t.ResponseStreamEvent)
    if event.type == "response.output_text.delta":
        return event.delta
    chat_event = msgspec.json.decode(data, type=t.ChatCompletionStreamEvent)
    if chat_event.type == "content.delta":
        return chat_event.delta
    return chat_event.type
