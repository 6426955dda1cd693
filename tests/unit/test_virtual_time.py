"""The tests' virtual clock (tests/virtual_time.py): timers fire without their wait, I/O and threads
hold the clock, and the ``realtime`` marker gives asyncio's own loop."""

from __future__ import annotations

import asyncio
import socket
import threading

import anyio
import pytest
from virtual_time import VirtualTimeLoop

pytestmark = pytest.mark.anyio


async def test_an_hour_of_sleep_passes_on_the_loop_clock() -> None:
    """Sleeping an hour moves the loop's clock an hour; the skipped seconds say it was not waited."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    started, skipped = loop.time(), loop.skipped
    await anyio.sleep(3600)
    assert loop.time() - started >= 3600
    assert loop.skipped - skipped >= 3599


async def test_timers_fire_in_their_order() -> None:
    """Sleeps of 30, 10 and 20 s wake in the order 10, 20, 30, each at its own time."""
    woke: list[tuple[int, float]] = []
    start = anyio.current_time()

    async def sleeper(seconds: int) -> None:
        await anyio.sleep(seconds)
        woke.append((seconds, anyio.current_time() - start))

    async with anyio.create_task_group() as tg:
        for seconds in (30, 10, 20):
            tg.start_soon(sleeper, seconds)
    assert [s for s, _ in woke] == [10, 20, 30]
    assert all(at >= s for s, at in woke)


async def test_a_timeout_still_beats_a_longer_wait() -> None:
    """``fail_after(5)`` around a 60 s sleep ends at 5 s of loop time, not 60."""
    start = anyio.current_time()
    with pytest.raises(TimeoutError):
        with anyio.fail_after(5):
            await anyio.sleep(60)
    assert 5 <= anyio.current_time() - start < 60


async def test_bytes_on_a_socket_arrive_before_any_jump() -> None:
    """A byte already sent on a socket is read before a pending 100 s timer fires."""
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        b.setblocking(False)
        loop = asyncio.get_running_loop()
        sleeper = asyncio.ensure_future(asyncio.sleep(100))
        start = loop.time()
        b.send(b"x")
        assert await loop.sock_recv(a, 1) == b"x"
        assert loop.time() - start < 100 and not sleeper.done()
        sleeper.cancel()


async def test_a_thread_at_work_holds_the_clock() -> None:
    """While an executor thread works, a pending 100 s timer does not fire early."""
    loop = asyncio.get_running_loop()
    release = threading.Event()
    sleeper = asyncio.ensure_future(asyncio.sleep(100))
    start = loop.time()
    threading.Timer(0.05, release.set).start()  # real time: the thread needs it to pass
    assert await loop.run_in_executor(None, release.wait, 5)
    assert loop.time() - start < 100 and not sleeper.done()
    sleeper.cancel()


async def test_an_anyio_worker_at_work_holds_the_clock() -> None:
    """The same for ``anyio.to_thread`` (the SDK's file writes use it)."""
    release = threading.Event()
    start = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.sleep, 100)
        threading.Timer(0.05, release.set).start()
        assert await anyio.to_thread.run_sync(release.wait, 5)
        assert anyio.current_time() - start < 100
        tg.cancel_scope.cancel()


@pytest.mark.realtime
async def test_realtime_tests_get_asyncios_own_loop() -> None:
    """``@pytest.mark.realtime``: the loop is asyncio's, on the real clock."""
    assert not isinstance(asyncio.get_running_loop(), VirtualTimeLoop)
