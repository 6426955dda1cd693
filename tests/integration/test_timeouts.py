"""Each field of ``Timeout`` bounds what docs/knobs.md says it bounds, against a slow server.

Each test asserts the typed error arrives (``APITimeoutError`` or the status error); the
``anyio.fail_after`` around it is only a guard that turns a hang into a failure, far above the
timeout under test.
"""

from __future__ import annotations

import anyio
import pytest
from network_http import SlowServer, full_backlog, hold_body, silent, trickle

import odirouter_async as odr

pytestmark = pytest.mark.anyio

GUARD = 30.0  # seconds: a hang guard only, never the property under test


def _client(url: str, **kwargs: object) -> odr.AsyncOdiRouter:
    return odr.AsyncOdiRouter(api_key="sk-test", base_url=url, max_retries=0, **kwargs)  # type: ignore[arg-type]


async def test_read_bounds_a_silent_server() -> None:
    """Timeout.read: a server that accepts the request and never answers raises APITimeoutError."""
    async with SlowServer(silent) as srv, _client(srv.url) as client:
        with anyio.fail_after(GUARD), pytest.raises(odr.APITimeoutError, match="reading"):
            await client.models.list(timeout=odr.Timeout(read=0.3))
    assert len(srv.requests) == 1


async def test_connect_bounds_a_server_that_never_accepts() -> None:
    """Timeout.connect: a listener whose accept queue is full never completes the connect."""
    with full_backlog() as url:
        async with _client(url) as client:
            with anyio.fail_after(GUARD), pytest.raises(odr.APITimeoutError, match="connecting") as info:
                await client.models.list(timeout=odr.Timeout(connect=0.3, read=60))
    assert info.value.sent is False


async def test_total_bounds_a_body_that_keeps_talking() -> None:
    """Timeout.total: a 200 whose body trickles forever (never silent) ends at the total deadline."""
    async with SlowServer(trickle(200, 0.05)) as srv, _client(srv.url) as client:
        with anyio.fail_after(GUARD), pytest.raises(odr.APITimeoutError):
            await client.models.list(timeout=odr.Timeout(read=60, total=0.5))


async def test_an_error_body_that_trickles_does_not_hold_the_error() -> None:
    """A 500 whose body arrives one byte every 0.5 s raises InternalServerError within ``read``."""
    async with SlowServer(trickle(500, 0.5)) as srv, _client(srv.url) as client:
        with anyio.fail_after(GUARD), pytest.raises(odr.InternalServerError) as info:
            await client.models.list(timeout=1)
    assert info.value.status_code == 500


async def test_pool_bounds_only_the_wait_for_a_free_connection() -> None:
    """Timeout.pool: with one connection held, a second call waits ``pool`` for it, not connect + pool."""
    limits = odr.Limits(max_connections=1)
    async with SlowServer(hold_body()) as srv, _client(srv.url, limits=limits) as client:
        held = await client.requester.open_stream("GET", "/v1/models")
        try:
            with anyio.fail_after(GUARD), pytest.raises(odr.APITimeoutError, match="pool") as info:
                await client.models.list(timeout=odr.Timeout(pool=0.3, connect=60, read=60))
        finally:
            await held.aclose()
    assert info.value.sent is False
    assert len(srv.requests) == 1  # the second call was never sent


async def test_a_pool_wait_that_gets_its_slot_proceeds() -> None:
    """A call queued for a slot goes ahead once the slot frees, inside its ``pool`` time."""
    limits = odr.Limits(max_connections=1)
    async with SlowServer(hold_body()) as srv, _client(srv.url, limits=limits) as client:
        held = await client.requester.open_stream("GET", "/v1/models")
        outcome: list[BaseException] = []

        async def second() -> None:
            try:
                await client.models.list(timeout=odr.Timeout(pool=GUARD, read=0.5))
            except odr.OdiRouterError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            await held.aclose()  # frees the slot: the queued call connects and is then read-timed out
    assert len(srv.requests) == 2
    assert isinstance(outcome[0], odr.APITimeoutError) and "pool" not in str(outcome[0])


async def test_pool_none_waits_without_limit_of_connect() -> None:
    """``Timeout(pool=None)``: the wait for a slot is not cut by ``connect`` either."""
    limits = odr.Limits(max_connections=1)
    async with SlowServer(hold_body()) as srv, _client(srv.url, limits=limits) as client:
        held = await client.requester.open_stream("GET", "/v1/models")
        outcome: list[BaseException] = []

        async def second() -> None:
            try:
                await client.models.list(timeout=odr.Timeout(pool=None, connect=0.2, read=0.5))
            except odr.OdiRouterError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            await anyio.sleep(0.5)  # longer than connect: the queued call must still be waiting
            assert outcome == []
            await held.aclose()
    assert len(srv.requests) == 2 and isinstance(outcome[0], odr.APITimeoutError)


async def test_a_cancellation_while_waiting_for_a_slot_stays_a_cancellation() -> None:
    """The caller's own deadline ending during a pool wait cancels the call (no APITimeoutError)."""
    limits = odr.Limits(max_connections=1)
    async with SlowServer(hold_body()) as srv, _client(srv.url, limits=limits) as client:
        held = await client.requester.open_stream("GET", "/v1/models")
        try:
            with anyio.fail_after(GUARD), anyio.move_on_after(0.3) as scope:
                await client.models.list(timeout=odr.Timeout(pool=GUARD, read=60))
        finally:
            await held.aclose()
        assert scope.cancelled_caught
    assert len(srv.requests) == 1


async def test_close_during_a_pool_wait_ends_the_waiting_call() -> None:
    """aclose() while a call waits for a pool slot: that call ends with ClientClosedError, unsent."""
    limits = odr.Limits(max_connections=1)
    async with SlowServer(hold_body()) as srv:
        client = _client(srv.url, limits=limits)
        held = await client.requester.open_stream("GET", "/v1/models")
        errors: list[BaseException] = []

        async def waiting_call() -> None:
            try:
                await client.models.list(timeout=odr.Timeout(pool=600, connect=60, read=60))
            except odr.OdiRouterError as exc:
                errors.append(exc)

        with anyio.fail_after(GUARD):
            async with anyio.create_task_group() as tg:
                tg.start_soon(waiting_call)
                await anyio.wait_all_tasks_blocked()
                await client.aclose()
        await held.aclose()
    assert len(errors) == 1 and isinstance(errors[0], odr.ClientClosedError)
    assert len(srv.requests) == 1  # the waiting call was never sent
