"""Second-chance decoding of chat bodies that break the OpenAI types in known ways (sans-IO).

The strict msgspec decode is the fast path; only when it fails does the stream (or the
non-stream call) ask this module to repair the JSON and try once more.  Known quirks:

- ``content`` (also ``reasoning_content``, ``reasoning``, ``refusal``) sent as a list of parts
  (Mistral's reasoning models: ``[{"type": "thinking", "thinking": [...]}, {"type": "text",
  "text": "..."}]``): text parts are joined into the string; ``thinking`` parts become
  ``reasoning_content`` when the provider sent none;
- ``null`` token counts in ``usage``: dropped, so they read as 0.

The object's ``.raw`` still holds the body exactly as sent.  Anything else stays an error.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import msgspec

__all__ = ("repair_chat_json",)

_T = TypeVar("_T")
_any: Final = msgspec.json.Decoder()
_encode: Final = msgspec.json.Encoder().encode
_TEXT_FIELDS: Final = ("content", "reasoning_content", "reasoning", "refusal")
_COUNT_FIELDS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")


def _texts(parts: list[Any]) -> tuple[str, str]:
    """(text, thinking) joined from a list of content parts."""
    text: list[str] = []
    thinking: list[str] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, dict):
            if isinstance(part.get("text"), str) and part.get("type") in (None, "text", "output_text"):
                text.append(part["text"])
            inner = part.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            elif isinstance(inner, list):
                thinking.append(_texts(inner)[0])
    return "".join(text), "".join(thinking)


def _repair_message(message: dict[str, Any]) -> bool:
    changed = False
    for name in _TEXT_FIELDS:
        value = message.get(name)
        if isinstance(value, list):
            text, thinking = _texts(value)
            message[name] = text
            if thinking and name == "content" and not message.get("reasoning_content"):
                message["reasoning_content"] = thinking
            changed = True
    return changed


def _repair_usage(usage: object) -> bool:
    if not isinstance(usage, dict):
        return False
    nulls = [k for k in _COUNT_FIELDS if k in usage and usage[k] is None]
    for k in nulls:
        del usage[k]
    return bool(nulls)


def repair_chat_json(data: bytes, decoder: msgspec.json.Decoder[_T]) -> _T | None:
    """Decode ``data`` with ``decoder`` after repairing known quirks; None if nothing applied.

    Works for chat chunks (``choices[].delta``) and whole completions (``choices[].message``).
    """
    try:
        obj = _any.decode(data)
    except (msgspec.DecodeError, RecursionError):  # too deep: not a quirk, the caller's error stands
        return None
    if not isinstance(obj, dict):
        return None
    changed = _repair_usage(obj.get("usage"))
    choices = obj.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if isinstance(choice, dict):
                for key in ("delta", "message"):
                    part = choice.get(key)
                    if isinstance(part, dict) and _repair_message(part):
                        changed = True
    if not changed:
        return None
    try:
        return decoder.decode(_encode(obj))
    except (msgspec.DecodeError, RecursionError):
        return None
