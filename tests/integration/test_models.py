"""``client.models.list()`` against the emulator."""

from __future__ import annotations

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator
from odirouter_async.types.models import Model, ModelList

pytestmark = pytest.mark.anyio


async def test_models_list_is_typed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """models.list() returns a typed ModelList with the gateway's LLM and queue ids."""
    models = await client.models.list()
    assert isinstance(models, ModelList)
    assert all(isinstance(m, Model) for m in models)
    ids = [m.id for m in models.data]
    assert {"gpt-4.1", "nano_banana_2", "sora-2"} <= set(ids)
    assert len(models) == len(ids)
    assert models.raw["object"] == "list"
    assert models.x_request_id == emu.stats.records("models")[-1].request_id


async def test_models_list_sees_new_endpoints(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An endpoint configured on the gateway shows up in the list."""
    emu.set_endpoint("my_custom_model", duration=0.01)
    ids = {m.id for m in await client.models.list()}
    assert "my_custom_model" in ids


async def test_models_list_wrong_key(emu: Emulator) -> None:
    """A wrong key is an AuthenticationError carrying the request id."""
    async with odr.AsyncOdiRouter(api_key="wrong", base_url=emu.url) as c:
        with pytest.raises(odr.AuthenticationError) as info:
            await c.models.list()
    assert info.value.x_request_id == emu.stats.records("models")[-1].request_id
