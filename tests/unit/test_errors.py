"""Every error body shape maps to the right typed error, and keys never leak."""

from __future__ import annotations

import msgspec
import pytest

import odirouter_async as odr
from odirouter_async.http.error_body import make_status_error, parse_error_body

CASES = [
    (
        400,
        b'{"error": {"message": "bad field", "type": "invalid_request_error", "code": "x"}}',
        odr.BadRequestError,
        "bad field",
    ),
    (401, b'{"error": "invalid_api_key"}', odr.AuthenticationError, "invalid_api_key"),
    (
        401,
        b'{"error": {"code": "UNAUTHORIZED", "message": "Authorization Bearer or Key token is required"},'
        b' "request_id": "rq1"}',
        odr.AuthenticationError,
        "Authorization Bearer",
    ),
    (
        402,
        b'{"error": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient balance"}}',
        odr.InsufficientBalanceError,
        "Insufficient balance",
    ),
    (403, b'{"error": "insufficient balance"}', odr.InsufficientBalanceError, "insufficient balance"),
    (403, b'{"detail": "Model not allowed for this user"}', odr.PermissionDeniedError, "not allowed"),
    (404, b'{"detail": "App not found: nope"}', odr.NotFoundError, "App not found"),
    (409, b'{"detail": "busy"}', odr.ConflictError, "busy"),
    (
        422,
        b'{"detail": [{"msg": "field required", "loc": ["body", "prompt"]}]}',
        odr.UnprocessableEntityError,
        "field required",
    ),
    (
        429,
        b'{"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}, "request_id": "r"}',
        odr.RateLimitError,
        "Rate limit",
    ),
    (500, b'{"detail": "Runtime execution failed"}', odr.InternalServerError, "Runtime execution failed"),
    (
        502,
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        odr.InternalServerError,
        "502 Bad Gateway",
    ),
    (503, b"", odr.InternalServerError, "(empty body)"),
    (418, b"I'm a teapot", odr.APIStatusError, "teapot"),
]


@pytest.mark.parametrize(("status", "body", "cls", "text"), CASES)
def test_status_and_body_map_to_class(status: int, body: bytes, cls: type, text: str) -> None:
    """Each status/body shape gives its class and a message taken from the body."""
    err = make_status_error(status, {"content-type": "application/json"}, body, x_request_id="mine")
    assert type(err) is cls
    assert text in str(err)
    assert err.status_code == status
    assert err.x_request_id is not None


def test_request_id_preference() -> None:
    """The echoed X-Request-Id wins, then the body's request_id, then ours."""
    body = b'{"error": {"code": "X", "message": "m"}, "request_id": "from-body"}'
    assert make_status_error(400, {"x-request-id": "hdr"}, body, x_request_id="ours").x_request_id == "hdr"
    assert make_status_error(400, {}, body, x_request_id="ours").x_request_id == "from-body"
    assert make_status_error(400, {}, b"{}", x_request_id="ours").x_request_id == "ours"


def test_openai_shape_fields() -> None:
    """code and type are lifted out of an OpenAI-style error object."""
    info = parse_error_body(
        b'{"error": {"message": "m", "type": "rate_limit_error", "code": "quota_exceeded"}}'
    )
    assert (info.message, info.code, info.error_type) == ("m", "quota_exceeded", "rate_limit_error")


def test_rate_limit_carries_retry_after() -> None:
    """RateLimitError exposes the server's Retry-After."""
    err = make_status_error(429, {}, b"{}", x_request_id=None, retry_after=1.5)
    assert isinstance(err, odr.RateLimitError) and err.retry_after == 1.5


def test_non_object_json_body() -> None:
    """A JSON body that is not an object is still reported, not crashed on."""
    err = make_status_error(500, {}, b'["x"]', x_request_id=None)
    assert isinstance(err, odr.InternalServerError) and "x" in str(err)


# -- hostile error bodies ------------------------------------------------------------------------

LITELLM = (
    b'data: {"error": {"message": "litellm.APIError: upstream failed", "type": "api_error", "code": "500"}}'
    b"\n\n"
)


@pytest.mark.parametrize("ctype", ["text/event-stream", "application/json", None])
def test_sse_framed_error_body_is_unwrapped(ctype: str | None) -> None:
    """An error body framed as SSE (LiteLLM) is read from its first data payload."""
    err = make_status_error(500, {"content-type": ctype} if ctype else {}, LITELLM, x_request_id="r")
    assert err.message == "litellm.APIError: upstream failed"
    assert (err.code, err.error_type) == ("500", "api_error")
    assert err.body == {
        "error": {"message": "litellm.APIError: upstream failed", "type": "api_error", "code": "500"}
    }


def test_sse_framed_error_with_event_line_crlf_and_no_blank_line() -> None:
    """An `event: error` line, CRLF endings and a missing final blank line do not matter."""
    info = parse_error_body(b'event: error\r\ndata: {"error": {"message": "boom"}}', "text/event-stream")
    assert info.message == "boom"


def test_sse_framed_plain_text_payload() -> None:
    """A non-JSON data payload becomes the message without the `data:` framing."""
    info = parse_error_body(b"data: upstream timed out\n\n")
    assert info.message == "upstream timed out" and info.body == "upstream timed out"


def test_sse_framed_done_only_falls_back_to_text() -> None:
    """A body that is only `data: [DONE]` is reported as text, not crashed on."""
    info = parse_error_body(b"data: [DONE]\n\n")
    assert info.message == "data: [DONE]"


def test_deeply_nested_error_body_is_text() -> None:
    """An error body nested 5000 deep is kept as text with a clear message (no RecursionError)."""
    raw = b'{"error":' * 5000 + b"1" + b"}" * 5000
    err = make_status_error(502, {}, raw, x_request_id="r")
    assert isinstance(err, odr.InternalServerError)
    assert err.message.startswith("error body nested too deeply to decode")
    assert err.body == raw.decode()


def test_nested_error_member_without_message_is_summarised() -> None:
    """An error object without message/code is shown cut short, whatever its depth."""
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    info = parse_error_body(msgspec.json.encode({"error": {"x": deep}}))
    assert info.message.startswith("{'x': [[[") and len(info.message) <= 500
