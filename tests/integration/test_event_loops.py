"""One client, several event loops: a typed ``ClientLoopError`` that says what to do, no noise.

The programs run in a subprocess (their own ``asyncio.run`` calls, their own interpreter exit)
against an emulator served from a thread; what they print on stderr is checked: no "Task
exception was never retrieved", no "Unclosed client session/connector", no aiohttp traceback.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

HEADER = """
import asyncio, threading
from anyio.from_thread import start_blocking_portal
import odirouter_async as odr
from odirouter_async.testing import Emulator

def serve():
    portal_cm = start_blocking_portal(backend="asyncio")
    portal = portal_cm.__enter__()
    emu_cm = portal.wrap_async_context_manager(Emulator(permissive=True, echo=True))
    return portal_cm, emu_cm, emu_cm.__enter__()
"""

NOISE = (
    "Task exception was never retrieved",
    "Unclosed",
    "Event loop is closed",
    "Traceback",
    "Exception ignored",
)


def run_program(body: str) -> tuple[str, str]:
    """Run HEADER + body in a fresh interpreter; its stdout and stderr (it must exit 0)."""
    code = HEADER + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def assert_quiet(stderr: str) -> None:
    """No asyncio/aiohttp noise on stderr (``-X dev`` shows every ResourceWarning)."""
    for word in NOISE:
        assert word.lower() not in stderr.lower(), stderr


def test_two_asyncio_runs_give_one_typed_error() -> None:
    """A module-level client used by a second asyncio.run() raises ClientLoopError, quietly."""
    out, err = run_program(
        """
        portal_cm, emu_cm, emu = serve()
        client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)

        async def main():
            return len((await client.models.list()).data)

        asyncio.run(main())
        try:
            asyncio.run(main())
        except odr.ClientLoopError as exc:
            print("LOOP:", exc)
            assert isinstance(exc, odr.OdiRouterError)
        try:
            asyncio.run(main())  # still the same typed error, never a hang or a RuntimeError
        except odr.ClientLoopError:
            print("AGAIN")

        async def fixed():  # the recommended shape: one client per asyncio.run
            async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c:
                return len((await c.models.list()).data) > 0

        print("FIXED:", asyncio.run(fixed()))
        emu_cm.__exit__(None, None, None)
        portal_cm.__exit__(None, None, None)
        """
    )
    assert "LOOP:" in out and "is now closed" in out and "asyncio.run()" in out, out
    assert "AGAIN" in out and "FIXED: True" in out, out
    assert_quiet(err)


def test_close_from_a_later_loop_is_quiet() -> None:
    """aclose() of a client whose first loop is gone (a later asyncio.run) returns and warns of nothing."""
    out, err = run_program(
        """
        portal_cm, emu_cm, emu = serve()
        client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)

        async def use():
            await client.models.list()

        asyncio.run(use())
        asyncio.run(client.aclose())
        print("CLOSED:", client.is_closed)
        try:
            asyncio.run(use())
        except odr.ClientClosedError:
            print("REFUSED")
        emu_cm.__exit__(None, None, None)
        portal_cm.__exit__(None, None, None)
        """
    )
    assert "CLOSED: True" in out and "REFUSED" in out, out
    assert_quiet(err)


def test_a_second_thread_gets_client_loop_error() -> None:
    """A client in use by a running loop, called from another thread's loop, raises ClientLoopError."""
    out, err = run_program(
        """
        portal_cm, emu_cm, emu = serve()

        async def main():
            async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
                await client.models.list()
                got = []

                async def call():
                    return await client.models.list()

                def other_thread():
                    try:
                        asyncio.run(call())
                    except odr.ClientLoopError as exc:
                        got.append(str(exc))

                await asyncio.to_thread(other_thread)
                print("THREAD:", got)
                await client.models.list()  # the client still works in its own loop
                print("STILL OK")

        asyncio.run(main())
        emu_cm.__exit__(None, None, None)
        portal_cm.__exit__(None, None, None)
        """
    )
    assert "still running" in out and "STILL OK" in out, out
    assert_quiet(err)


def test_queue_waits_check_the_loop_too() -> None:
    """The queue scheduler is bound like the pool: a later loop's wait raises ClientLoopError."""
    out, err = run_program(
        """
        portal_cm, emu_cm, emu = serve()
        client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)

        handles = []

        async def first():
            handles.append(await client.queue.submit("flux-dev", {"prompt": "p"}))
            handles.append(await client.queue.submit("flux-dev", {"prompt": "q"}))
            return await handles[0].result()

        async def second():  # a wait only: no request before the scheduler
            return await handles[1].result()

        asyncio.run(first())
        try:
            asyncio.run(second())
        except odr.ClientLoopError:
            print("LOOP")
        emu_cm.__exit__(None, None, None)
        portal_cm.__exit__(None, None, None)
        """
    )
    assert "LOOP" in out, out
    assert_quiet(err)


def test_a_client_left_open_is_closed_with_its_loop() -> None:
    """A client never closed inside asyncio.run() has its connections closed as that loop ends."""
    out, err = run_program(
        """
        portal_cm, emu_cm, emu = serve()

        async def main():
            client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
            await client.models.list()
            return client

        client = asyncio.run(main())
        print("CLOSED SESSION:", client._shared.pool.session.closed)
        del client
        emu_cm.__exit__(None, None, None)
        portal_cm.__exit__(None, None, None)
        """
    )
    assert "CLOSED SESSION: True" in out, out
    assert_quiet(err)
