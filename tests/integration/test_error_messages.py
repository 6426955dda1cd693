"""Errors that say what to do: a 404 names the request's URL, a 401 names where the key came from
(never the key), in the SDK and in the CLI; ``job.status(logs=True)`` for fal's ``with_logs``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from hostile_http import WebServer, serve
from thread_emulator import threaded_emulator

import odirouter_async as odr
from odirouter_async.cli import main
from odirouter_async.testing import Emulator
from odirouter_async.types.queue import JobOutput, JobResult

pytestmark = pytest.mark.anyio

WRONG = "sk-wrong-key-5f3a9c"


async def test_a_404_from_a_wrong_base_path_names_the_url(emu: Emulator) -> None:
    """A base URL with an extra path: the 404 names ``GET <url>`` and points at base_url."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=f"{emu.url}/api") as client:
        with pytest.raises(odr.NotFoundError) as info:
            await client.models.list()
    text = str(info.value)
    assert f"GET {emu.url}/api/v1/models" in text
    assert "base_url" in text
    assert info.value.url == f"{emu.url}/api/v1/models" and info.value.method == "GET"


async def test_a_404_on_another_host_names_the_url_without_its_query(tmp_path: Path) -> None:
    """An output URL answering 404 is named without its query (a presigned signature stays out)."""

    async def gone(request: web.Request, _: WebServer) -> web.StreamResponse:
        return web.Response(status=404, text="NoSuchKey")

    async with (
        serve(gone) as files,
        odr.AsyncOdiRouter(api_key="sk-test", base_url="http://localhost:9") as client,
    ):
        output = JobOutput(url=f"{files.url}/out/img.png?X-Signature=SIGNED123")
        with pytest.raises(odr.NotFoundError) as info:
            await client.queue.download(JobResult(outputs=[output]), tmp_path)
    text = str(info.value)
    assert f"GET {files.url}/out/img.png" in text
    assert "SIGNED123" not in text and "base_url" not in text


async def test_a_401_names_the_argument_the_key_came_from(emu: Emulator) -> None:
    """``api_key=`` refused: the 401 says the key passed as ``api_key=`` was refused; the key is absent."""
    async with odr.AsyncOdiRouter(api_key=WRONG, base_url=emu.url) as client:
        with pytest.raises(odr.AuthenticationError) as info:
            await client.models.list()
    assert "api_key= argument" in str(info.value)
    assert WRONG not in str(info.value) and WRONG not in repr(info.value)


async def test_a_401_names_the_environment_variable(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key read from ``ODIROUTER_API_KEY`` refused: the 401 names the variable, for views too."""
    monkeypatch.setenv("ODIROUTER_API_KEY", WRONG)
    async with odr.AsyncOdiRouter(base_url=emu.url) as client:
        for c in (client, client.with_options(timeout=30)):
            with pytest.raises(odr.AuthenticationError) as info:
                await c.models.list()
            assert "ODIROUTER_API_KEY environment variable" in str(info.value)
            assert WRONG not in str(info.value)


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread; the environment points the CLI at it."""
    with threaded_emulator(Emulator(), monkeypatch) as e:
        yield e


def test_cli_401_names_the_variable(
    threaded: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``odirouter models`` with a wrong key: the error names ``ODIROUTER_API_KEY``, never the key."""
    monkeypatch.setenv("ODIROUTER_API_KEY", WRONG)
    assert main(["models"]) != 0
    err = capsys.readouterr().err
    assert "ODIROUTER_API_KEY" in err and WRONG not in err


def test_cli_404_names_the_url(threaded: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """``odirouter --base-url <wrong path> models``: the error names the URL and ``--base-url``."""
    assert main(["models", "--base-url", f"{threaded.url}/api"]) != 0
    err = capsys.readouterr().err
    assert f"GET {threaded.url}/api/v1/models" in err and "--base-url" in err


async def test_job_status_with_logs(emu: Emulator) -> None:
    """``job.status(logs=True)`` (fal's ``with_logs=True``) returns the runner's log lines; plain
    ``status()`` does not ask for them."""
    async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
        job = await client.queue.submit("nano_banana_2", {"prompt": "a cat"})
        await job.result()
        assert (await job.status()).logs == []
        logs = (await job.status(logs=True)).logs
    assert logs and all("message" in line for line in logs)
