"""The emulator's queue endpoint catalogue: unknown endpoints answer 404 "App not found" like the
gateway; configured endpoints and ``permissive=True`` are served."""

from __future__ import annotations

import aiohttp
import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.testing._catalogue import QUEUE_ENDPOINTS

pytestmark = pytest.mark.anyio


async def test_unknown_endpoint_is_not_found_like_the_gateway() -> None:
    """A submit to an endpoint outside the catalogue raises NotFoundError with the gateway's body."""
    async with (
        Emulator(job_duration=0.01) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        with pytest.raises(odr.NotFoundError) as info:
            await client.queue.submit("nano_banana_3", {"prompt": "x"})
        assert info.value.body == {"detail": "App not found: nano_banana_3"}
        assert not emu.jobs
        result = await client.queue.run("nano_banana_2", {"prompt": "x"})
        assert result.outputs[0].url


async def test_every_catalogue_endpoint_is_served_with_its_kind() -> None:
    """Each documented endpoint accepts a job; video endpoints produce .mp4, image ones .png."""
    async with Emulator(job_duration=0.0) as emu, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        for endpoint, kind, _ in QUEUE_ENDPOINTS:
            async with http.post(
                f"{emu.url}/model/v1/queue/{endpoint}", json={"prompt": "x"}, headers=headers
            ) as r:
                assert r.status == 200, endpoint
                request_id = (await r.json())["request_id"]
            assert emu.jobs[request_id].output_type == kind


async def test_configured_endpoint_and_permissive_mode_are_served() -> None:
    """``set_endpoint`` adds an endpoint; ``permissive=True`` accepts any; ``unknown_endpoints`` 404s."""
    async with (
        Emulator(job_duration=0.01) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c,
    ):
        emu.set_endpoint("my_finetune", duration=0.01)
        assert (await c.queue.run("my_finetune", {"prompt": "x"})).outputs
    async with (
        Emulator(job_duration=0.01, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as c,
    ):
        assert (await c.queue.run("anything_at_all", {"prompt": "x"})).outputs
        emu.unknown_endpoints.add("gone_model")
        with pytest.raises(odr.NotFoundError, match="App not found: gone_model"):
            await c.queue.submit("gone_model", {"prompt": "x"})


async def test_cli_emulator_permissive_flag_reaches_the_queue() -> None:
    """``odirouter emulator --permissive`` builds an emulator whose queue accepts any endpoint."""
    from odirouter_async.testing._cli import build_parser

    options = vars(build_parser().parse_args(["--permissive", "--port", "0"]))
    host, port, api_key = options.pop("host"), options.pop("port"), options.pop("api_key")
    async with (
        Emulator(api_key, host=host, port=port, **{**options, "job_duration": 0.01}) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        assert (await client.queue.run("not_in_the_catalogue", {"prompt": "x"})).outputs
