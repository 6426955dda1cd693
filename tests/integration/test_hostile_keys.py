"""Key hygiene against hostile servers: no request headers in any exception, no key off-origin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile_http import RawServer, http_response, writes

import odirouter_async as odr
from odirouter_async._config import RequestOptions
from odirouter_async.http.retry import RetryPolicy

pytestmark = pytest.mark.anyio

SECRET = "sk-live-0123456789abcdef"
NO_RETRY = RetryPolicy(max_retries=0)
MODELS = b'{"object":"list","data":[]}'


def chain(exc: BaseException) -> Iterator[object]:
    """Every exception reachable through __cause__ / __context__, and every object in their args."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, BaseException):
            todo += [obj.__cause__, obj.__context__, *obj.args]
            todo += [v for v in vars(obj).values() if v is not None]
        elif isinstance(obj, (tuple, list)):
            todo += list(obj)
    return


def assert_clean(exc: BaseException) -> None:
    """No object in the exception's chain shows the key or any request header."""
    for obj in chain(exc):
        if obj is None:
            continue
        text = repr(obj) + (str(obj) if isinstance(obj, BaseException) else "")
        assert SECRET not in text, f"key leaked via {type(obj).__name__}"
        assert "Authorization" not in text and "authorization" not in text, type(obj).__name__
        assert not hasattr(obj, "request_info"), f"{type(obj).__name__} carries the request"


MALFORMED = {
    "garbage status line": b"HTTP/1.1 abc\r\n\r\n",
    "not HTTP at all": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "bad content-length": b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}",
    "bad header line": b"HTTP/1.1 200 OK\r\nX-Bad\x01: v\r\nContent-Length: 2\r\n\r\n{}",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n",
    "closed before answering": b"",
    "body cut short": http_response(200, MODELS)[:-5],
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=list(MALFORMED))
async def test_malformed_http_errors_carry_no_request_headers(raw: bytes) -> None:
    """A malformed answer gives APIConnectionError whose whole chain is free of request headers."""
    async with (
        RawServer(writes(raw)) as server,
        odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, retry_policy=NO_RETRY) as client,
    ):
        with pytest.raises(odr.APIConnectionError) as info:
            await client.models.list()
    err = info.value
    assert_clean(err)
    assert err.__context__ is None
    cause = err.__cause__
    assert cause is not None and type(cause).__name__ == "NetworkErrorDetail"
    assert str(cause).startswith("aiohttp.")  # still says what aiohttp saw
    assert err.x_request_id is not None and err.x_request_id.startswith("req_")


async def test_stream_cut_carries_no_request_headers() -> None:
    """A stream cut after one chunk: StreamInterrupted, and no request header anywhere in its chain."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    event = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    chunk = f"{len(event):x}\r\n".encode() + event + b"\r\n"
    async with (
        RawServer(writes(head + chunk, b"5\r\nda")) as server,
        odr.AsyncOdiRouter(api_key=SECRET, base_url=server.url, retry_policy=NO_RETRY) as client,
    ):
        stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        with pytest.raises(odr.StreamInterrupted) as info:
            async for _ in stream:
                pass
    assert_clean(info.value)


async def test_retried_failure_carries_no_request_headers() -> None:
    """After retries are used up on disconnects, the raised error is still clean."""
    async with (
        RawServer(writes(b"")) as server,
        odr.AsyncOdiRouter(
            api_key=SECRET, base_url=server.url, retry_policy=RetryPolicy(max_retries=2, initial_delay=0.001)
        ) as client,
    ):
        with pytest.raises(odr.APIConnectionError) as info:
            await client.models.list()
    assert len(server.requests) >= 3  # (aiohttp adds its own retry of a reused connection)
    assert_clean(info.value)


#: Answers every request with an empty model list (and closes the connection).
_answer_models = writes(http_response(200, MODELS, headers={"Connection": "close"}))


async def test_default_headers_secrets_stay_on_our_origin() -> None:
    """default_headers' Authorization and headers holding the key never reach another origin."""
    defaults = {"authorization": "Bearer other-token", "X-Api-Key": SECRET, "X-Tenant": "t1"}
    async with (
        RawServer(_answer_models) as ours,
        RawServer(_answer_models) as foreign,
        odr.AsyncOdiRouter(
            api_key=SECRET, base_url=ours.url, default_headers=defaults, retry_policy=NO_RETRY
        ) as client,
    ):
        await client.models.list()
        await client.requester.request("GET", foreign.url + "/files/out.png")
        view = client.with_options(max_retries=1)
        await view.models.list()
        await view.requester.request("GET", foreign.url + "/files/out.png")
        await client.requester.request(
            "GET",
            foreign.url + "/files/x",
            options=RequestOptions.of(extra_headers={"X-Key": SECRET, "Authorization": "Bearer y"}),
        )
    for seen in ours.requests:
        assert seen.headers.getall("Authorization") == [f"Bearer {SECRET}"]  # ours, once
        assert seen.headers["X-Api-Key"] == SECRET and seen.headers["X-Tenant"] == "t1"
    assert len(foreign.requests) == 3
    for seen in foreign.requests:
        assert "Authorization" not in seen.headers
        assert SECRET not in repr(list(seen.headers.items()))
        assert seen.headers["X-Tenant"] == "t1"


async def test_queue_urls_on_another_origin_get_no_default_authorization() -> None:
    """A job whose status_url is on another origin is polled without default_headers' Authorization."""
    foreign = RawServer(writes(http_response(200, b'{"status":"IN_QUEUE","request_id":"j1"}')))
    async with foreign:
        base = foreign.url + "/model/v1/queue/nano_banana_2/requests/j1"
        submit = (
            f'{{"request_id":"j1","status":"IN_QUEUE","status_url":"{base}/status",'
            f'"response_url":"{base}","cancel_url":"{base}/cancel"}}'
        ).encode()
        async with (
            RawServer(writes(http_response(200, submit))) as ours,
            odr.AsyncOdiRouter(
                api_key=SECRET,
                base_url=ours.url,
                default_headers={"Authorization": f"Bearer {SECRET}"},
                retry_policy=NO_RETRY,
            ) as client,
        ):
            job = await client.queue.submit("nano_banana_2", {"prompt": "x"})
            status = await job.status()
    assert status.status == "IN_QUEUE"
    assert ours.requests[0].headers.getall("Authorization") == [f"Bearer {SECRET}"]
    assert [r.path for r in foreign.requests] == ["/model/v1/queue/nano_banana_2/requests/j1/status"]
    assert "Authorization" not in foreign.requests[0].headers


@pytest.mark.parametrize(
    "key",
    [
        SECRET + "\x00",
        SECRET + "\n",
        "\r" + SECRET,
        SECRET[:5] + "\t" + SECRET[5:],
        SECRET + "\x1b[0m",
        SECRET + "\x7f",
    ],
    ids=["nul", "lf", "cr", "tab", "escape", "del"],
)
def test_key_with_control_character_is_refused_at_construction(key: str) -> None:
    """A key with a control character fails when the client is built, and the message hides it."""
    with pytest.raises(odr.OdiRouterError) as info:
        odr.AsyncOdiRouter(api_key=key, base_url="http://127.0.0.1:9")
    assert SECRET not in str(info.value) and SECRET[:8] not in repr(info.value)
    assert "control character" in str(info.value) or "line break" in str(info.value)


@pytest.mark.parametrize("key", ["\u201c" + SECRET + "\u201d", SECRET + "\u00e9", SECRET + "\u200b"])
def test_key_with_non_ascii_character_is_refused(key: str) -> None:
    """Typographic quotes, accents or zero-width spaces pasted with the key are refused up front."""
    with pytest.raises(odr.OdiRouterError, match=r"non-ASCII character|control character") as info:
        odr.AsyncOdiRouter(api_key=key, base_url="http://127.0.0.1:9")
    assert SECRET[:8] not in str(info.value)


def test_key_from_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """ODIROUTER_API_KEY read with a trailing newline is refused the same way."""
    monkeypatch.setenv("ODIROUTER_API_KEY", SECRET + "\n")
    with pytest.raises(odr.OdiRouterError, match="line break"):
        odr.AsyncOdiRouter(base_url="http://127.0.0.1:9")
