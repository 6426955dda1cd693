"""Gaps found by the outside check of #20 (the client in a real process), one test each.

A proxy that answers every request with its own ``407`` challenge: the error says the proxy wants
credentials and where to put them, for a plain-http gateway (the 407 is the answer's status) and
an https one (the proxy refuses the ``CONNECT``); the key goes nowhere else.
"""

from __future__ import annotations

import asyncio

import pytest

import odirouter_async as odr

pytestmark = pytest.mark.anyio

KEY = "sk-outside-0123456789"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set proxy variables themselves: none inherited from the machine."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


class ChallengingProxy:
    """A forward proxy that answers every request (``CONNECT`` included) with 407; records heads."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.url = ""
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> ChallengingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.heads.append((await reader.readuntil(b"\r\n\r\n")).decode("latin-1"))
            body = b'{"error":"proxy authentication required"}'
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Type: application/json\r\n'
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_proxy_407_on_an_http_gateway_names_the_next_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY answering 407: the status error says to put credentials in the proxy URL."""
    async with ChallengingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = odr.AsyncOdiRouter(
            api_key=KEY, base_url="http://gateway.test:8080", allow_insecure_http=True, max_retries=0
        )
        async with client:
            with pytest.raises(odr.APIStatusError) as info:
                await client.models.list()
    assert info.value.status_code == 407
    assert "proxy wants credentials" in str(info.value) and "HTTP_PROXY" in str(info.value)
    assert [h.split(" ", 2)[1] for h in proxy.heads] == ["http://gateway.test:8080/v1/models"]


async def test_a_proxy_refusing_connect_with_407_names_the_next_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY refusing the CONNECT with 407: a connection error saying the proxy wants credentials."""
    async with ChallengingProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        async with odr.AsyncOdiRouter(api_key=KEY, base_url="https://gateway.test", max_retries=0) as client:
            with pytest.raises(odr.APIConnectionError) as info:
                await client.models.list()
    assert "proxy wants credentials" in str(info.value) and "Invalid HTTP response" not in str(info.value)
    assert info.value.sent is False
    assert [h.split(" ", 2)[:2] for h in proxy.heads] == [["CONNECT", "gateway.test:443"]]
    assert KEY not in "".join(proxy.heads)  # the CONNECT carries no key
