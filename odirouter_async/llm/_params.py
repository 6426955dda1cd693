"""The request fields of ``chat.completions`` and ``responses``, written once.

Each list is ``(name, "annotation = default")``.  The signatures in ``llm/chat.py`` and
``llm/responses.py`` (every ``create`` overload, the implementation and ``stream``) are
generated from these by ``tools/gen_params.py`` between ``# <params:...>`` markers, so mypy,
pyright and ``inspect.signature`` see explicit keyword parameters (no ``Unpack``, no
``typing_extensions``).  ``tests/unit/test_generated_params.py`` fails when a signature is out of
date: edit here, then run ``python tools/gen_params.py``.
"""

from __future__ import annotations

from typing import Final

__all__ = (
    "CHAT_FIELDS",
    "CHAT_PARAMS",
    "CHAT_PARSE_PARAMS",
    "OPTION_PARAMS",
    "RESPONSES_FIELDS",
    "RESPONSES_PARAMS",
)

_OPT = "| NotGiven | None = NOT_GIVEN"

#: OpenAI's chat request fields with typed parameters (any other keyword is sent as given).
CHAT_PARAMS: Final[tuple[tuple[str, str], ...]] = (
    ("frequency_penalty", f"float {_OPT}"),
    ("logit_bias", f"Mapping[str, int] {_OPT}"),
    ("logprobs", f"bool {_OPT}"),
    ("max_completion_tokens", f"int {_OPT}"),
    ("max_tokens", f"int {_OPT}"),
    ("metadata", f"Mapping[str, str] {_OPT}"),
    ("n", f"int {_OPT}"),
    ("parallel_tool_calls", "bool | NotGiven = NOT_GIVEN"),
    ("presence_penalty", f"float {_OPT}"),
    ("reasoning_effort", f"str {_OPT}"),
    ("response_format", "Mapping[str, Any] | NotGiven = NOT_GIVEN"),
    ("seed", f"int {_OPT}"),
    ("stop", f"str | Sequence[str] {_OPT}"),
    ("stream_options", f"Mapping[str, Any] {_OPT}"),
    ("temperature", f"float {_OPT}"),
    ("tool_choice", "str | Mapping[str, Any] | NotGiven = NOT_GIVEN"),
    ("tools", "Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN"),
    ("top_logprobs", f"int {_OPT}"),
    ("top_p", f"float {_OPT}"),
    ("user", "str | NotGiven = NOT_GIVEN"),
)

#: The chat fields of ``parse`` and ``stream``, whose ``response_format`` may be a type (declared by hand).
CHAT_PARSE_PARAMS: Final = tuple(p for p in CHAT_PARAMS if p[0] != "response_format")

#: The Responses request fields with typed parameters.
RESPONSES_PARAMS: Final[tuple[tuple[str, str], ...]] = (
    ("background", f"bool {_OPT}"),
    ("include", f"Sequence[str] {_OPT}"),
    ("instructions", f"str {_OPT}"),
    ("max_output_tokens", f"int {_OPT}"),
    ("max_tool_calls", f"int {_OPT}"),
    ("metadata", f"Mapping[str, str] {_OPT}"),
    ("parallel_tool_calls", f"bool {_OPT}"),
    ("previous_response_id", f"str {_OPT}"),
    ("reasoning", f"Mapping[str, Any] {_OPT}"),
    ("service_tier", f"str {_OPT}"),
    ("store", f"bool {_OPT}"),
    ("stream_options", f"Mapping[str, Any] {_OPT}"),
    ("temperature", f"float {_OPT}"),
    ("text", "Mapping[str, Any] | NotGiven = NOT_GIVEN"),
    ("tool_choice", "str | Mapping[str, Any] | NotGiven = NOT_GIVEN"),
    ("tools", "Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN"),
    ("top_logprobs", f"int {_OPT}"),
    ("top_p", f"float {_OPT}"),
    ("truncation", f"str {_OPT}"),
    ("user", "str | NotGiven = NOT_GIVEN"),
)

#: The per-call options every one of those methods takes, then ``**extra_fields``.
OPTION_PARAMS: Final[tuple[tuple[str, str], ...]] = (
    ("extra_headers", "Mapping[str, str] | None = None"),
    ("extra_query", "Mapping[str, Any] | None = None"),
    ("extra_body", "Mapping[str, Any] | None = None"),
    ("timeout", "TimeoutLike | NotGiven = NOT_GIVEN"),
    ("max_retries", "int | NotGiven = NOT_GIVEN"),
    ("x_request_id", "str | None = None"),
)

CHAT_FIELDS: Final = tuple(name for name, _ in CHAT_PARAMS)
RESPONSES_FIELDS: Final = tuple(name for name, _ in RESPONSES_PARAMS)
