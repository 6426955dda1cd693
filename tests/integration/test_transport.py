"""The foundation against the emulator: retries, request ids, errors, timeouts, key safety."""

from __future__ import annotations

import gc
import logging
import warnings

import pytest

import odirouter_async as odr
from odirouter_async._config import RequestOptions, Timeout
from odirouter_async.http.retry import RetryPolicy
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

SECRET = "sk-very-secret-key-123"


async def test_request_id_is_sent_and_exposed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Every call sends an X-Request-Id and the result exposes it."""
    models = await client.models.list()
    rec = emu.stats.records("models")[-1]
    assert rec.request_id.startswith("req_")
    assert models.x_request_id == rec.request_id


async def test_callers_request_id_is_used(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A caller-supplied X-Request-Id is sent as is."""
    await client.models.list(extra_headers={"X-Request-Id": "trace-42"})
    assert emu.stats.records("models")[-1].request_id == "trace-42"


async def test_retries_keep_the_request_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Two 503s then success: three attempts, all with the same X-Request-Id."""
    emu.faults.add("models", status=503, body={"detail": "busy"}, times=2)
    models = await client.models.list()
    recs = emu.stats.records("models")
    assert [r.status for r in recs] == [503, 503, 200]
    assert len({r.request_id for r in recs}) == 1
    assert models.x_request_id == recs[0].request_id


async def test_retry_budget_exhausted_raises_typed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """When every attempt fails the last status error surfaces, after max_retries + 1 attempts."""
    emu.faults.add("models", status=502, body="<html><title>502 Bad Gateway</title></html>", times=None)
    with pytest.raises(odr.InternalServerError) as info:
        await client.models.list()
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in str(info.value)
    assert emu.stats.count("models") == 3


async def test_max_retries_per_call(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """max_retries=0 on a call means exactly one attempt."""
    emu.faults.add("models", status=500, times=None)
    with pytest.raises(odr.InternalServerError):
        await client.models.list(max_retries=0)
    assert emu.stats.count("models") == 1


async def test_retry_after_is_honoured(
    client: odr.AsyncOdiRouter, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 with Retry-After waits that long before the next attempt."""
    emu.faults.add("models", status=429, headers={"Retry-After": "0.2"}, times=1)
    with caplog.at_level(logging.INFO, logger="odirouter_async"):
        await client.models.list()
    recs = emu.stats.records("models")
    assert [r.status for r in recs] == [429, 200]
    assert recs[1].time - recs[0].time >= 0.19
    assert any("after 429 in 0.200s" in r.getMessage() for r in caplog.records)


async def test_retry_after_ms_is_honoured(
    client: odr.AsyncOdiRouter, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """retry-after-ms takes precedence over Retry-After."""
    emu.faults.add("models", status=429, headers={"retry-after-ms": "50", "Retry-After": "30"}, times=1)
    with caplog.at_level(logging.INFO, logger="odirouter_async"):
        await client.models.list()
    assert any("in 0.050s" in r.getMessage() for r in caplog.records)


async def test_too_long_retry_after_surfaces(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A Retry-After beyond the cap is not waited out: RateLimitError carries it."""
    emu.faults.add("models", status=429, headers={"Retry-After": "3600"}, times=1)
    with pytest.raises(odr.RateLimitError) as info:
        await client.models.list()
    assert info.value.retry_after == 3600
    assert emu.stats.count("models") == 1


async def test_backoff_delays_grow(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """Without a server hint the delays come from the exponential generator (jitter injected)."""
    policy = RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=0.03, jitter=lambda v: v)
    emu.faults.add("models", status=500, times=3)
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, retry_policy=policy) as c:
        with caplog.at_level(logging.INFO, logger="odirouter_async"):
            await c.models.list()
    delays = [r.getMessage().split(" in ")[1].split("s ")[0] for r in caplog.records if "retrying" in r.msg]
    assert delays == ["0.010", "0.020", "0.030"]


async def test_connection_drop_retried_for_get(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A GET whose connection is dropped is retried."""
    emu.faults.add("models", drop=True, times=1)
    models = await client.models.list()
    assert len(models.data) > 0
    assert emu.stats.count("models") == 2


async def test_dropped_connection_error_holds_no_request(emu: Emulator) -> None:
    """A dropped connection's error chain has aiohttp's words but not its request (headers, key)."""
    emu.faults.add("models", drop=True, times=None)
    async with odr.AsyncOdiRouter(
        api_key=emu.api_key, base_url=emu.url, retry_policy=RetryPolicy(max_retries=0)
    ) as c:
        with pytest.raises(odr.APIConnectionError) as info:
            await c.models.list()
    err = info.value
    assert err.__context__ is None and err.__suppress_context__
    detail = err.__cause__
    assert type(detail).__name__ == "NetworkErrorDetail"
    assert str(detail).startswith("aiohttp.") and detail.__cause__ is None and detail.__context__ is None
    assert emu.api_key not in repr(detail) and "Authorization" not in repr(detail.args)


async def test_read_timeout_raises_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A server stalling past the read timeout gives APITimeoutError after the retries."""
    emu.faults.add("models", delay=2.0, times=None)
    with pytest.raises(odr.APITimeoutError) as info:
        await client.models.list(timeout=Timeout(read=0.1), max_retries=1)
    assert info.value.x_request_id is not None
    assert emu.stats.count("models") == 2


async def test_paid_post_not_retried_after_read_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A paid POST that timed out reading is never sent twice."""
    emu.faults.add("queue.submit", delay=2.0, times=1)
    with pytest.raises(odr.APITimeoutError):
        await client.requester.request(
            "POST",
            "/model/v1/queue/nano_banana_2",
            json={"prompt": "x"},
            paid=True,
            options=RequestOptions.of(timeout=Timeout(read=0.1)),
        )
    assert emu.stats.count("queue.submit") == 1


async def test_paid_post_not_retried_after_drop(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A paid POST whose connection was cut after sending is not repeated."""
    emu.faults.add("queue.submit", drop=True, times=1)
    with pytest.raises(odr.APIConnectionError):
        await client.requester.request("POST", "/model/v1/queue/nano_banana_2", json={"p": 1}, paid=True)
    assert emu.stats.count("queue.submit") == 1


async def test_paid_post_retried_on_429_and_503(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """429 and 503 mean the work was refused, so a paid POST is retried; 500 is not."""
    emu.faults.add("queue.submit", status=429, times=1)
    emu.faults.add("queue.submit", status=503, times=1)
    resp = await client.requester.request("POST", "/model/v1/queue/nano_banana_2", json={"p": 1}, paid=True)
    assert resp.status == 200
    assert emu.stats.count("queue.submit") == 3
    emu.faults.add("queue.submit", status=500, times=1)
    with pytest.raises(odr.InternalServerError):
        await client.requester.request("POST", "/model/v1/queue/nano_banana_2", json={"p": 2}, paid=True)
    assert emu.stats.count("queue.submit") == 4


async def test_connect_failure_is_connection_error() -> None:
    """Nothing listening: APIConnectionError that says the request was never sent."""
    async with Emulator() as e:
        url = e.url
    async with odr.AsyncOdiRouter(api_key="k", base_url=url, retry_policy=RetryPolicy(max_retries=0)) as c:
        with pytest.raises(odr.APIConnectionError) as info:
            await c.models.list()
    assert info.value.sent is False


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            {"error": {"message": "bad", "type": "invalid_request_error", "code": "c"}},
            odr.BadRequestError,
        ),
        (401, {"error": "invalid_api_key"}, odr.AuthenticationError),
        (
            402,
            {"error": {"code": "INSUFFICIENT_BALANCE", "message": "no money"}},
            odr.InsufficientBalanceError,
        ),
        (403, {"error": "insufficient balance"}, odr.InsufficientBalanceError),
        (403, {"detail": "Model not allowed for this user"}, odr.PermissionDeniedError),
        (404, {"detail": "App not found: x"}, odr.NotFoundError),
        (409, {"detail": "conflict"}, odr.ConflictError),
        (422, {"detail": [{"msg": "field required"}]}, odr.UnprocessableEntityError),
        (
            429,
            {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow"}, "request_id": "x"},
            odr.RateLimitError,
        ),
        (500, {"detail": "Runtime execution failed"}, odr.InternalServerError),
        (502, "<html><title>Bad Gateway</title></html>", odr.InternalServerError),
        (504, "", odr.InternalServerError),
    ],
)
async def test_every_status_maps_to_its_class(
    client: odr.AsyncOdiRouter, emu: Emulator, status: int, body: object, cls: type
) -> None:
    """Each status and body shape the gateway uses becomes its typed error with status, id and body."""
    emu.faults.add("models", status=status, body=body, times=None)
    with pytest.raises(odr.APIStatusError) as info:
        await client.models.list(max_retries=0)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.x_request_id == emu.stats.records("models")[-1].request_id
    assert err.headers.get("x-request-id") == err.x_request_id


async def test_wrong_key_is_authentication_error(emu: Emulator) -> None:
    """A wrong key gives AuthenticationError, and the key is in no message."""
    async with odr.AsyncOdiRouter(api_key=SECRET, base_url=emu.url) as c:
        with pytest.raises(odr.AuthenticationError) as info:
            await c.models.list()
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in repr(info.value.body) and SECRET not in repr(info.value.headers)


async def test_key_never_in_repr_or_logs(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """The key appears in no repr and no log record, even at debug level."""
    async with odr.AsyncOdiRouter(api_key=SECRET, base_url=emu.url) as c:
        assert SECRET not in repr(c) and SECRET not in repr(c.requester)
        assert SECRET not in repr(c.with_options(max_retries=5))
        emu.faults.add("models", status=503, times=1)
        with caplog.at_level(logging.DEBUG, logger="odirouter_async"), pytest.raises(odr.AuthenticationError):
            await c.models.list()
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()


async def test_debug_log_line_per_attempt(
    client: odr.AsyncOdiRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """One debug line per HTTP attempt with method, path, status, request id, attempt and elapsed."""
    with caplog.at_level(logging.DEBUG, logger="odirouter_async"):
        await client.models.list(extra_headers={"X-Request-Id": "log-me"})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("HTTP ")]
    assert len(lines) == 1
    assert "GET /v1/models -> 200 request_id=log-me attempt=1 elapsed=" in lines[0]


async def test_no_authorization_to_foreign_origin(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An absolute URL on another origin is fetched without the key."""
    resp = await client.requester.request("GET", emu.cdn_url + "/files/x_0.png", ok_statuses=frozenset({404}))
    assert resp.status == 404
    rec = emu.stats.records("files")[-1]
    assert rec.has_auth is False
    assert emu.stats.auth_sent_to_cdn == 0


async def test_caller_cannot_leak_key_to_foreign_origin(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Even an explicit Authorization in extra_headers is not sent to a foreign origin."""
    await client.requester.request(
        "GET",
        emu.cdn_url + "/files/x_0.png",
        options=RequestOptions.of(extra_headers={"Authorization": "Bearer x"}),
        ok_statuses=frozenset({404}),
    )
    assert emu.stats.records("files")[-1].has_auth is False


async def test_strict_origins_refuses(emu: Emulator) -> None:
    """With strict_origins a foreign URL is refused instead of fetched."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, strict_origins=True) as c:
        with pytest.raises(odr.InsecureURLError):
            await c.requester.request("GET", emu.cdn_url + "/files/x_0.png")
    assert emu.stats.count("files") == 0


async def test_same_origin_gets_the_key(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An absolute URL on the configured origin carries the key."""
    await client.requester.request("GET", emu.url + "/v1/models")
    rec = emu.stats.records("models")[-1]
    assert rec.has_auth and rec.auth_ok


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No api_key and no ODIROUTER_API_KEY: a clear error at construction."""
    monkeypatch.delenv("ODIROUTER_API_KEY", raising=False)
    with pytest.raises(odr.OdiRouterError, match="ODIROUTER_API_KEY"):
        odr.AsyncOdiRouter()


def test_env_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """ODIROUTER_API_KEY and ODIROUTER_BASE_URL configure the client; the default is odirouter.ai."""
    monkeypatch.setenv("ODIROUTER_API_KEY", "env-key")
    monkeypatch.delenv("ODIROUTER_BASE_URL", raising=False)
    assert odr.AsyncOdiRouter().base_url == "https://odirouter.ai"
    monkeypatch.setenv("ODIROUTER_BASE_URL", "http://127.0.0.1:9/")
    assert odr.AsyncOdiRouter().base_url == "http://127.0.0.1:9"


def test_plain_http_refused_for_remote_host() -> None:
    """http:// to a remote host is refused unless allowed explicitly."""
    with pytest.raises(odr.InsecureURLError):
        odr.AsyncOdiRouter(api_key="k", base_url="http://odirouter.ai")
    assert odr.AsyncOdiRouter(api_key="k", base_url="http://odirouter.ai", allow_insecure_http=True)


async def test_with_options_shares_the_pool(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A with_options view has its own defaults over the parent's pool; closing it closes nothing."""
    view = client.with_options(max_retries=0, default_headers={"X-Tenant": "t1"})
    assert view.max_retries == 0 and client.max_retries == 2
    emu.faults.add("models", status=500, times=1)
    with pytest.raises(odr.InternalServerError):
        await view.models.list()
    await view.aclose()
    assert not client.is_closed
    await client.models.list()
    first, second = emu.stats.records("models")[-2:]
    assert first.connection == second.connection  # one pool: the connection was reused


async def test_unclosed_client_warns(emu: Emulator) -> None:
    """A client dropped without aclose() emits a ResourceWarning saying so (our pool's, beside aiohttp's)."""
    c = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    await c.models.list()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del c
        gc.collect()
    ours = [w for w in caught if "AsyncOdiRouter was not closed" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is ResourceWarning


async def test_many_concurrent_calls_share_one_client(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Hundreds of concurrent calls on one client all succeed."""
    import anyio

    results: list[int] = []

    async def one() -> None:
        m = await client.models.list()
        results.append(len(m.data))

    async with anyio.create_task_group() as tg:
        for _ in range(300):
            tg.start_soon(one)
    assert len(results) == 300 and emu.stats.count("models") == 300
