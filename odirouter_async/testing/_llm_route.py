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
    """One LLM route: its settings, and the steps before and around a generated answer."""

    route: str  # the fault-registry route name ("chat", "responses")

    def __init__(self, shared: Shared, options: LLMOptions | None = None) -> None:
        self.shared = shared
        self.options = options or LLMOptions()

    async def admit(
        self,
        request: web.Request,
        decoder: msgspec.json.Decoder[_R],
        validate: Callable[[_R], web.Response | None],
    ) -> tuple[_R, Controls] | web.Response:
        """The decoded request and its controls, or the error answer (400, 404, 403 balance)."""
        try:
            req = decoder.decode(await request.read())
        except msgspec.DecodeError as exc:
            return openai_error(f"Invalid JSON body: {exc}", code="invalid_json")
        problem = validate(req)
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
