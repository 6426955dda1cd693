"""``client.chat.completions``: ``POST /v1/chat/completions``, whole, streamed, or with the helper.

OpenAI's request fields are keyword arguments: the common ones are typed parameters (left out of
the body unless given), any other keyword (a gateway's or a provider's own field) is sent as
given, and ``extra_body`` is merged last.  The call is paid work: it is retried only when the
gateway cannot have started it (connect failure, 429, 503), never after a read timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import msgspec

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from .._core.chat_protocol import ChatStreamProtocol
from .._core.chat_quirks import repair_chat_json
from .._exceptions import ResponseValidationError
from .._llm.chat_stream import ChatCompletionStreamManager
from .._llm.stream import AsyncStream, open_sse_stream
from ..types._base import attach_raw
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatMessage
from ._params import CHAT_FIELDS

if TYPE_CHECKING:
    from .._http.requester import ClientHandle

__all__ = ("Chat", "Completions", "Messages")

PATH = "/v1/chat/completions"
_COMPLETION = msgspec.json.Decoder(ChatCompletion)

#: The conversation: dicts with ``role`` and ``content`` (a string or a list of content parts).
Messages = Iterable[ChatMessage | Mapping[str, Any]]


def chat_body(
    model: str, messages: Messages, fields: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body: ``model``, ``messages``, the fields given (``NOT_GIVEN`` left out), the extras."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages if isinstance(messages, (list, tuple)) else list(messages),
    }
    body.update({k: v for k, v in fields.items() if v is not NOT_GIVEN})
    body.update(extra)
    return body


class Completions:
    """``client.chat.completions``: ``create`` and ``stream``."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] = False,
        # <params:chat>
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        logit_bias: Mapping[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:chat>
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        # <params:chat>
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        logit_bias: Mapping[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:chat>
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool,
        # <params:chat>
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        logit_bias: Mapping[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:chat>
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool = False,
        # <params:chat>
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        logit_bias: Mapping[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:chat>
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion.

        Args:
            model: the model id (``client.models.list()``).
            messages: the conversation; a message's ``content`` may be a string or a list of
                content parts (``text``, ``image_url``, ``input_audio``, ``file`` ...).
            stream: return an ``AsyncStream[ChatCompletionChunk]`` instead of waiting for the
                whole ``ChatCompletion``.
            frequency_penalty, logit_bias, logprobs, max_completion_tokens, max_tokens, metadata,
                n, parallel_tool_calls, presence_penalty, reasoning_effort, response_format, seed,
                stop, stream_options, temperature, tool_choice, tools, top_logprobs, top_p, user:
                OpenAI's request fields, sent when given (``None`` is sent as ``null``).
            extra_headers: headers added to this request.
            extra_query: query parameters added to the URL.
            extra_body: keys merged over the JSON body (last, so they win).
            timeout: this call's ``Timeout`` or read/idle seconds; for a stream, ``read`` is the
                longest silence allowed between bytes.
            max_retries: this call's retry budget.
            x_request_id: the ``X-Request-Id`` to send (else one is generated).
            **extra_fields: any other request field (``audio``, ``modalities``, ``prediction``,
                a provider's ``top_k`` ...), sent as given.

        Returns:
            The ``ChatCompletion`` (``.x_request_id``: the exchange's ``X-Request-Id``), or the
            open stream (use it with ``async with``, or iterate it to the end).
        """
        given = locals()  # the parameters: the field names come from _params.py
        fields = {name: given[name] for name in CHAT_FIELDS}
        body = chat_body(model, messages, fields, extra_fields)
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        transport = self._client.requester
        if stream:
            body["stream"] = True
            chunks: AsyncStream[ChatCompletionChunk] = await open_sse_stream(
                transport, PATH, body, opts, ChatStreamProtocol
            )
            return chunks
        resp = await transport.request("POST", PATH, json=body, options=opts, paid=True)
        try:
            completion = resp.parse(_COMPLETION)
        except ResponseValidationError:
            repaired = repair_chat_json(resp.content, _COMPLETION)
            if repaired is None:
                raise
            completion = attach_raw(repaired, resp.content, resp.request_id)
        return completion

    def stream(
        self,
        *,
        model: str,
        messages: Messages,
        # <params:chat>
        frequency_penalty: float | NotGiven | None = NOT_GIVEN,
        logit_bias: Mapping[str, int] | NotGiven | None = NOT_GIVEN,
        logprobs: bool | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        n: int | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        presence_penalty: float | NotGiven | None = NOT_GIVEN,
        reasoning_effort: str | NotGiven | None = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        seed: int | NotGiven | None = NOT_GIVEN,
        stop: str | Sequence[str] | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:chat>
    ) -> ChatCompletionStreamManager:
        """Stream a chat completion with an accumulator: ``async with ...stream(...) as s``.

        The arguments are those of :meth:`create`; the request is sent when the ``async with``
        block is entered.  ``s`` is a ``ChatCompletionStream``: ``async for event in s``,
        ``s.text_deltas()``, ``await s.get_final_completion()``.
        """
        given = locals()  # the parameters: the field names come from _params.py
        fields = {name: given[name] for name in CHAT_FIELDS}
        body = chat_body(model, messages, fields, extra_fields)
        body["stream"] = True
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        transport = self._client.requester

        def open_stream() -> Awaitable[AsyncStream[ChatCompletionChunk]]:
            return open_sse_stream(transport, PATH, body, opts, ChatStreamProtocol, accumulate=True)

        return ChatCompletionStreamManager(open_stream)


class Chat:
    """``client.chat``: the ``completions`` namespace."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client
        self.completions = Completions(client)
