"""Cookies, proxies, redirects and CA certificates: what the client does with the network around it.

A small gateway stub (``hostile_http.serve``) sets cookies and redirects video content; a file host
records what it is sent; ``network_http.RecordingProxy`` is a forward proxy that records every
request and serves any host name from 127.0.0.1 (so ``gateway.test`` is not loopback).
"""

from __future__ import annotations

import traceback
from pathlib import Path

import anyio
import pytest
from aiohttp import web
from hostile_http import Handler, WebServer, serve
from network_http import RecordingProxy

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.queue import JobOutput, JobResult

pytestmark = pytest.mark.anyio

KEY = "sk-network-0123456789"
MODELS = b'{"object":"list","data":[]}'
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 100
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
GUARD = 30.0  # a hang guard only


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set proxy variables themselves: none inherited from the machine."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _gateway(files: str) -> Handler:
    """A gateway stub: cookies on every answer; video content redirected to ``files``."""

    async def handler(request: web.Request, _: WebServer) -> web.StreamResponse:
        headers = {"Set-Cookie": "gw_session=s3cr3t; Path=/"}
        if request.path == "/v1/videos/vid_same/content":
            return web.Response(status=302, headers={**headers, "Location": "/files/vid_same.mp4"})
        if request.path.startswith("/v1/videos/") and request.path.endswith("/content"):
            return web.Response(status=302, headers={**headers, "Location": f"{files}/out.mp4"})
        if request.path.startswith("/files/"):
            return web.Response(body=VIDEO, headers=headers, content_type="video/mp4")
        return web.Response(body=MODELS, headers=headers, content_type="application/json")

    return handler


async def _file_host(request: web.Request, _: WebServer) -> web.StreamResponse:
    """Serves a file (and sets its own cookie); ``/loop`` redirects to itself."""
    if request.path == "/loop":
        return web.Response(status=302, headers={"Location": "/loop"})
    return web.Response(body=VIDEO, content_type="video/mp4", headers={"Set-Cookie": "cdn=c00k13; Path=/"})


def _localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")  # a host name: cookie jars keep cookies for it


# -- cookies -----------------------------------------------------------------------------------


async def test_no_cookie_goes_back_or_to_another_host(tmp_path: Path) -> None:
    """A cookie set by the gateway is sent neither back to it nor to the output-file host."""
    async with (
        serve(_file_host) as files,
        serve(_gateway(_localhost(files.url))) as gw,
        odr.AsyncOdiRouter(api_key=KEY, base_url=_localhost(gw.url)) as client,
    ):
        await client.models.list()
        await client.models.list()
        output = JobOutput(url=f"{_localhost(files.url)}/out.mp4")
        await client.queue.download(JobResult(outputs=[output]), tmp_path / "a")
        await client.queue.download(JobResult(outputs=[output]), tmp_path / "b")
    assert [r.headers.get("Cookie") for r in gw.requests] == [None, None]
    assert [r.headers.get("Cookie") for r in files.requests] == [None, None]
    assert all("Authorization" not in r.headers for r in files.requests)
    assert (tmp_path / "b" / "out.mp4").read_bytes() == VIDEO


async def test_no_cookie_follows_a_video_redirect(tmp_path: Path) -> None:
    """Video content redirected to a file host: no cookie of the gateway or the host goes anywhere."""
    async with (
        serve(_file_host) as files,
        serve(_gateway(_localhost(files.url))) as gw,
        odr.AsyncOdiRouter(api_key=KEY, base_url=_localhost(gw.url)) as client,
    ):
        await client.videos.download_content("vid_1", tmp_path / "a.mp4")
        await client.videos.download_content("vid_2", tmp_path / "b.mp4")
    assert [r.headers.get("Cookie") for r in gw.requests + files.requests] == [None] * 4
    assert (tmp_path / "b.mp4").read_bytes() == VIDEO


# -- redirects ---------------------------------------------------------------------------------


async def test_download_content_follows_a_same_origin_redirect(tmp_path: Path) -> None:
    """``videos.download_content`` answered by a same-origin 302 follows it (with the key)."""
    async with (
        serve(_file_host) as files,
        serve(_gateway(files.url)) as gw,
        odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url) as client,
    ):
        path = await client.videos.download_content("vid_same", tmp_path / "same.mp4")
    assert path.read_bytes() == VIDEO
    assert [r.path for r in gw.requests] == [
        "/v1/videos/vid_same/content?variant=video",
        "/files/vid_same.mp4",
    ]
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in gw.requests)


async def test_an_output_host_redirecting_to_itself_is_a_clear_error(tmp_path: Path) -> None:
    """An output host that redirects to itself ends with a typed error naming too many redirects."""

    async def looping_gateway(request: web.Request, state: WebServer) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": f"{files.url}/loop"})

    async with (
        serve(_file_host) as files,
        serve(looping_gateway) as gw,
        odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url, max_retries=0) as client,
    ):
        with (
            anyio.fail_after(GUARD),
            pytest.raises(odr.APIConnectionError, match=r"(?i)too many redirects"),
        ):
            await client.videos.download_content("vid_1", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


async def test_a_same_origin_redirect_loop_is_a_clear_error(tmp_path: Path) -> None:
    """The gateway redirecting its own content URL in a loop: a typed error naming too many redirects."""

    async def loop(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": request.path})

    async with serve(loop) as gw, odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url, max_retries=0) as client:
        with anyio.fail_after(GUARD), pytest.raises(odr.ResponseValidationError, match="too many redirects"):
            await client.videos.download_content("vid_1", tmp_path / "x.mp4")


# -- proxies -----------------------------------------------------------------------------------


async def test_proxy_argument_sends_every_request_through_the_proxy(tmp_path: Path) -> None:
    """``proxy=``: the gateway and the output host are reached through it; the key only for the gateway."""
    async with (
        serve(_file_host) as files,
        serve(_gateway(files.url)) as gw,
        RecordingProxy() as proxy,
        odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url, proxy=proxy.url) as client,
    ):
        await client.models.list()
        await client.videos.download_content("vid_1", tmp_path / "a.mp4")
    assert [r.target for r in proxy.requests] == [
        f"{gw.url}/v1/models",
        f"{gw.url}/v1/videos/vid_1/content?variant=video",
        f"{files.url}/out.mp4",
    ]
    keys = [r.headers.get("Authorization") for r in proxy.requests]
    assert keys == [f"Bearer {KEY}", f"Bearer {KEY}", None]
    assert (tmp_path / "a.mp4").read_bytes() == VIDEO


async def test_proxy_credentials_go_to_the_proxy_only() -> None:
    """``proxy="http://user:pass@..."``: a ``Proxy-Authorization`` header for the proxy, nothing else."""
    async with serve(_gateway("http://unused")) as gw, RecordingProxy() as proxy:
        with_auth = proxy.url.replace("http://", "http://alice:pa%3Ass@")
        async with odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url, proxy=with_auth) as client:
            await client.models.list()
            assert "pa%3Ass" not in repr(client)
    assert proxy.requests[0].headers["Proxy-Authorization"] == "Basic YWxpY2U6cGE6c3M="  # alice:pa:ss
    assert gw.requests[0].headers["Authorization"] == f"Bearer {KEY}"  # the key, not the proxy's


async def test_proxy_credentials_stay_out_of_tracebacks_with_locals() -> None:
    """An error through a proxy with credentials, rendered with every frame's locals: no password."""

    async def fail(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    async with serve(fail) as gw, RecordingProxy() as proxy:
        with_auth = proxy.url.replace("http://", "http://alice:pa%3Ass@")
        async with odr.AsyncOdiRouter(api_key=KEY, base_url=gw.url, proxy=with_auth, max_retries=0) as client:
            with pytest.raises(odr.InternalServerError) as info:
                await client.models.list()
            route = repr(client._shared.pool.route(f"{gw.url}/v1/models"))  # what a request frame holds
    rendered = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    sdk = [f for f in rendered.stack if "odirouter_async" in f.filename]  # not this test's own locals
    text = "".join(traceback.StackSummary.from_list(sdk).format())
    assert "_send_handling_retries" in text and "req =" in text  # SDK frames rendered with locals
    for secret in ("pa%3Ass", "pa:ss", "YWxpY2U6cGE6c3M="):
        assert secret not in text and secret not in route
    assert "'Authorization': '***'" in route


async def test_proxy_environment_is_read_when_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``HTTP_PROXY`` is used by default (``trust_env=True``), like httpx and requests."""
    async with serve(_gateway("http://unused")) as gw, RecordingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        base = gw.url.replace("127.0.0.1", "gateway.test")  # not loopback: loopback always goes direct
        async with odr.AsyncOdiRouter(api_key=KEY, base_url=base, allow_insecure_http=True) as client:
            await client.models.list()
    assert [r.target for r in proxy.requests] == [f"{base}/v1/models"]
    assert len(gw.requests) == 1


async def test_all_proxy_is_used_when_no_scheme_proxy_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ALL_PROXY`` alone routes requests through the proxy."""
    async with serve(_gateway("http://unused")) as gw, RecordingProxy() as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        base = gw.url.replace("127.0.0.1", "gateway.test")
        async with odr.AsyncOdiRouter(api_key=KEY, base_url=base, allow_insecure_http=True) as client:
            await client.models.list()
    assert len(proxy.requests) == 1


@pytest.mark.parametrize("how", ["no_proxy", "trust_env_false"])
async def test_no_proxy_and_trust_env_false_go_direct(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """``NO_PROXY`` naming the host, or ``trust_env=False``: no request reaches the proxy."""
    async with RecordingProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        if how == "no_proxy":
            monkeypatch.setenv("NO_PROXY", "example.org,.gateway.test")
        base = "http://api.gateway.test:9"  # direct, it does not resolve: what counts is the proxy
        client = odr.AsyncOdiRouter(
            api_key=KEY, base_url=base, allow_insecure_http=True, trust_env=how == "no_proxy", max_retries=0
        )
        async with client:
            with anyio.fail_after(GUARD), pytest.raises(odr.APIConnectionError):
                await client.models.list(timeout=odr.Timeout(connect=2, pool=2))
    assert proxy.requests == []


async def test_loopback_gateway_goes_direct_despite_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway on 127.0.0.1 (the emulator) is reached directly even with ``HTTP_PROXY`` set."""
    async with RecordingProxy() as proxy, Emulator() as emu:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
            await client.models.list()
    assert proxy.requests == []


@pytest.mark.parametrize("where", ["argument", "environment"])
async def test_a_socks_proxy_is_refused_clearly(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A SOCKS proxy (unsupported by aiohttp) is a ValueError naming where it came from, no credentials."""
    socks = "socks5://bob:hunter2@proxy.corp:1080"
    if where == "argument":
        with pytest.raises(ValueError, match=r"proxy is socks5://proxy\.corp:1080") as info:
            odr.AsyncOdiRouter(api_key=KEY, base_url="http://127.0.0.1:9", proxy=socks)
    else:
        monkeypatch.setenv("ALL_PROXY", socks)
        async with odr.AsyncOdiRouter(
            api_key=KEY, base_url="http://gw.test:9", allow_insecure_http=True
        ) as client:
            with pytest.raises(
                ValueError, match=r"ALL_PROXY is socks5://proxy\.corp:1080.*trust_env=False"
            ) as info:
                await client.models.list()
    assert "hunter2" not in str(info.value)


# -- CA certificates ---------------------------------------------------------------------------


async def test_ssl_cert_file_set_after_import_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SSL_CERT_FILE`` set after the SDK (and aiohttp) were imported is used by a new client."""
    async with Emulator(tls=True) as emu:
        monkeypatch.setenv("SSL_CERT_FILE", emu.ca_cert_path)
        async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
            models = await client.models.list()
    assert models.data


async def test_without_ssl_cert_file_the_emulator_ca_is_not_trusted() -> None:
    """The control: the same client without ``SSL_CERT_FILE`` refuses the emulator's certificate."""
    async with (
        Emulator(tls=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, max_retries=0) as client,
    ):
        with pytest.raises(odr.APIConnectionError, match=r"(?i)certificate"):
            await client.models.list()
