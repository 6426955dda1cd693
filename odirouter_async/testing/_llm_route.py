"""What the two LLM routes (chat completions, Responses) share: the request fields both read,
admitting a request (JSON body, validation, model, control headers, balance) and the stream
faults that replace a generated stream (a scripted body, a fault answered as a whole body).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
from aiohttp import web

from ._common import Shared, json_response, openai_error
from ._faults import Fault
from ._llm import Controls, LLMOptions, check_model, parse_controls
from ._sse_out import fault_body_answer, stream_script

__all__ = ("LLMRequest", "LLMRoute")


class LLMRequest(msgspec.Struct):
    """The fields both routes read; others are accepted and ignored."""

    model: Any = None
    stream: Any = None
    tools: Any = None
    tool_choice: Any = None


_R = TypeVar("_R", bound=LLMRequest)


class LLMRoute(Generic[_R]):
    """One LLM route: its settings, the steps before a generated answer, and the stream faults.

    A route names its fault-registry ``route``, its request ``decoder`` and ``validate`` rule, and
    answers an admitted request in ``respond``.
    """

    route: str  # the fault-registry route name ("chat", "responses")
    decoder: msgspec.json.Decoder[_R]

    def __init__(self, shared: Shared, options: LLMOptions | None = None) -> None:
        self.shared = shared
        self.options = options or LLMOptions()

    def validate(self, req: _R) -> web.Response | None:
        """The 400 answer for a request the gateway would refuse, else ``None``."""
        raise NotImplementedError

    async def respond(self, request: web.Request, req: _R, controls: Controls) -> web.StreamResponse:
        """The answer to an admitted request (whole or streamed)."""
        raise NotImplementedError

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The route's handler: admit the request, then ``respond``."""
        admitted = await self.admit(request)
        if isinstance(admitted, web.StreamResponse):
            return admitted
        return await self.respond(request, *admitted)

    async def admit(self, request: web.Request) -> tuple[_R, Controls] | web.Response:
        """The decoded request and its controls, or the error answer (400, 404, 403 balance)."""
        try:
            req = self.decoder.decode(await request.read())
        except msgspec.DecodeError as exc:
            return openai_error(f"Invalid JSON body: {exc}", code="invalid_json")
        problem = self.validate(req)
        if problem is None:
            problem = check_model(self.options, req.model)
        if problem is not None:
            return problem
        try:
            controls = parse_controls(request.headers)
        except ValueError as exc:
            return openai_error(str(exc), code="invalid_control_header")
        if not self.shared.wallet.charge():
            return json_response({"error": "insufficient balance"}, 403)
        return req, controls

    async def stream_fault(
        self, request: web.Request, whole: Callable[[], Any]
    ) -> tuple[web.StreamResponse | None, Fault | None]:
        """A scripted or whole-body answer replacing the stream (else ``None``), and the fault to apply."""
        script = self.shared.faults.take_script(self.route)
        if script is not None:
            return await stream_script(request, script), None
        fault = self.shared.take_fault(self.route, stream=True)
        if fault is not None and fault.content_type is not None:
            return fault_body_answer(fault, whole()), None
        return None, fault
