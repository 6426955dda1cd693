"""``client.responses``: the OpenAI Responses API (``POST /v1/responses``, ``GET /v1/responses/{id}``).

Request fields are OpenAI's, passed through as given (``ResponseCreateParams`` types the common
ones; any other keyword is sent too, and ``extra_body`` is merged last).  ``create`` is paid work:
it is retried only when the gateway cannot have started it (connect failure, 429, 503).  A
stream request sends ``"stream": true`` in the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import quote

import msgspec

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from .._core.responses_protocol import ResponsesStreamProtocol
from .._llm.responses_stream import ResponseStreamManager
from .._llm.stream import AsyncStream, ResponseStreamItem, open_sse_stream
from ..types.responses import Response
from ._params import RESPONSES_FIELDS

if TYPE_CHECKING:
    from .._http.requester import ClientHandle

__all__ = ("ResponseInput", "Responses")

PATH = "/v1/responses"
_RESPONSE = msgspec.json.Decoder(Response)

#: ``input``: a string, or a list of input items (messages with content parts, tool outputs ...).
ResponseInput = str | Sequence[Mapping[str, Any]]


def _body(
    model: str, input: ResponseInput, fields: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    items = input if isinstance(input, (str, list, tuple)) else list(input)
    body: dict[str, Any] = {"model": model, "input": items}
    body.update({k: v for k, v in fields.items() if v is not NOT_GIVEN})
    body.update(extra)
    return body


class Responses:
    """``client.responses``: ``create``, ``stream`` and ``retrieve``."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        input: ResponseInput,
        stream: Literal[False] = False,
        # <params:responses>
        background: bool | NotGiven | None = NOT_GIVEN,
        include: Sequence[str] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_output_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tool_calls: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven | None = NOT_GIVEN,
        previous_response_id: str | NotGiven | None = NOT_GIVEN,
        reasoning: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        text: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation: str | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:responses>
    ) -> Response: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        input: ResponseInput,
        stream: Literal[True],
        # <params:responses>
        background: bool | NotGiven | None = NOT_GIVEN,
        include: Sequence[str] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_output_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tool_calls: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven | None = NOT_GIVEN,
        previous_response_id: str | NotGiven | None = NOT_GIVEN,
        reasoning: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        text: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation: str | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:responses>
    ) -> AsyncStream[ResponseStreamItem]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        input: ResponseInput,
        stream: bool,
        # <params:responses>
        background: bool | NotGiven | None = NOT_GIVEN,
        include: Sequence[str] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_output_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tool_calls: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven | None = NOT_GIVEN,
        previous_response_id: str | NotGiven | None = NOT_GIVEN,
        reasoning: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        text: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation: str | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:responses>
    ) -> Response | AsyncStream[ResponseStreamItem]: ...

    async def create(
        self,
        *,
        model: str,
        input: ResponseInput,
        stream: bool = False,
        # <params:responses>
        background: bool | NotGiven | None = NOT_GIVEN,
        include: Sequence[str] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_output_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tool_calls: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven | None = NOT_GIVEN,
        previous_response_id: str | NotGiven | None = NOT_GIVEN,
        reasoning: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        text: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation: str | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:responses>
    ) -> Response | AsyncStream[ResponseStreamItem]:
        """Create a model response.

        Args:
            model: the model id.
            input: a string, or a list of input items (messages with content parts, function
                call outputs ...).
            stream: return an ``AsyncStream`` of typed events (``ResponseStreamEvent`` members,
                ``UnknownEvent`` for types this SDK does not know) instead of the ``Response``.
            extra_headers: headers added to this request.
            extra_query: query parameters added to the URL.
            extra_body: keys merged over the JSON body (last, so they win).
            timeout: this call's ``Timeout`` or read/idle seconds; for a stream, ``read`` is the
                longest silence allowed between bytes.
            max_retries: this call's retry budget.
            x_request_id: the ``X-Request-Id`` to send (else one is generated).
            background, include, instructions, max_output_tokens, max_tool_calls, metadata,
                parallel_tool_calls, previous_response_id, reasoning, service_tier, store,
                stream_options, temperature, text, tool_choice, tools, top_logprobs, top_p,
                truncation, user: OpenAI's request fields, sent when given (``None`` as ``null``).
            **extra_fields: any other request field (``conversation``, ``prompt`` ...), sent as
                given.

        Returns:
            The ``Response`` (``.output_text``; ``.x_request_id``: the exchange's
            ``X-Request-Id``), or the open stream.  A streamed ``response.failed`` is yielded like
            any event; an ``error`` event raises ``StreamEventError``.
        """
        given = locals()  # the parameters: the field names come from _params.py
        fields = {name: given[name] for name in RESPONSES_FIELDS}
        body = _body(model, input, fields, extra_fields)
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
            events: AsyncStream[ResponseStreamItem] = await open_sse_stream(
                transport, PATH, body, opts, ResponsesStreamProtocol
            )
            return events
        resp = await transport.request("POST", PATH, json=body, options=opts, paid=True)
        return resp.parse(_RESPONSE)

    def stream(
        self,
        *,
        model: str,
        input: ResponseInput,
        # <params:responses>
        background: bool | NotGiven | None = NOT_GIVEN,
        include: Sequence[str] | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        max_output_tokens: int | NotGiven | None = NOT_GIVEN,
        max_tool_calls: int | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven | None = NOT_GIVEN,
        previous_response_id: str | NotGiven | None = NOT_GIVEN,
        reasoning: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        service_tier: str | NotGiven | None = NOT_GIVEN,
        store: bool | NotGiven | None = NOT_GIVEN,
        stream_options: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        text: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tool_choice: str | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        tools: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        top_logprobs: int | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        truncation: str | NotGiven | None = NOT_GIVEN,
        user: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
        # </params:responses>
    ) -> ResponseStreamManager:
        """Stream a response with an accumulator: ``async with client.responses.stream(...) as s``.

        The arguments are those of :meth:`create`; the request is sent when the ``async with``
        block is entered.  ``s`` is a ``ResponseStream``: ``async for event in s``,
        ``s.text_deltas()``, ``await s.get_final_response()`` (completed, incomplete or failed).
        """
        given = locals()  # the parameters: the field names come from _params.py
        fields = {name: given[name] for name in RESPONSES_FIELDS}
        body = _body(model, input, fields, extra_fields)
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

        def open_stream() -> Awaitable[AsyncStream[ResponseStreamItem]]:
            return open_sse_stream(transport, PATH, body, opts, ResponsesStreamProtocol, accumulate=True)

        return ResponseStreamManager(open_stream)

    async def retrieve(
        self,
        response_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> Response:
        """``GET /v1/responses/{response_id}``: a stored (or background) response.

        Args:
            response_id: the ``resp_...`` id.
            extra_headers: headers added to this request.
            extra_query: query parameters added to the URL (e.g. ``{"include[]": ...}``).
            timeout: this call's ``Timeout`` or read seconds.
            max_retries: this call's retry budget (a GET: retried on any transient failure).
            x_request_id: the ``X-Request-Id`` to send (else one is generated).
        """
        if not response_id:
            raise ValueError("response_id must be a non-empty string")
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        path = f"{PATH}/{quote(response_id, safe='')}"
        resp = await self._client.requester.request("GET", path, options=opts)
        return resp.parse(_RESPONSE)
