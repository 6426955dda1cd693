"""Failures, cancellations and outputs under every queue gateway variant: same outcomes, no hang, no loss."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

import odirouter_async as odr
from odirouter_async.testing import QUEUE_VARIANTS, Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

EP = "variant_model"
emu = variant_emulator_fixture(name="emu", permissive=True, job_duration=0.1, job_jitter=0.25)


def job_args(i: int, **controls: object) -> dict[str, object]:
    """Arguments of a short job with emulator controls."""
    return {"prompt": f"cat {i}", "_emu": {"duration": 0.05 + (i % 3) * 0.05, **controls}}


async def test_map_with_failures_returns_every_outcome(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """50 jobs, 10 failing: map returns all 50; failures are JobFailed, successes keep both outputs."""
    inputs = [
        job_args(i, outputs=2, **({"fail": "INFERENCE_FAILURE"} if i % 5 == 0 else {})) for i in range(50)
    ]
    async with client.queue.map(EP, inputs, concurrency=50) as results:
        outcomes = [done async for done in results]
    assert sorted(o.index for o in outcomes) == list(range(50))
    failed = sorted(o.index for o in outcomes if o.error is not None)
    assert failed == list(range(0, 50, 5))
    for o in outcomes:
        if o.index % 5 == 0:
            assert isinstance(o.error, odr.JobFailed), repr(o.error)
            assert o.error.error_type == "INFERENCE_FAILURE"
        else:
            assert o.result is not None and len(o.result.outputs) == 2
            assert all(out.url and out.file_size == 2048 for out in o.result.outputs)
    assert emu.stats.count("queue.cancel") == 0
    assert emu.stats.auth_sent_to_cdn == 0


async def test_failed_run_raises_and_never_cancels(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """run() of a failing job raises JobFailed (the gateway's message kept) and sends no cancel."""
    with pytest.raises(odr.JobFailed) as info:
        await client.queue.run(EP, job_args(1, fail="CONTENT_BLOCKED", error="nope"), cancel_on_exit=True)
    assert info.value.error_type == "CONTENT_BLOCKED" and info.value.error == "nope"
    assert emu.stats.count("queue.cancel") == 0


async def test_cancelled_job_ends_cancelled(client: odr.AsyncOdiRouter) -> None:
    """A job cancelled through the API ends with JobCancelled whatever /response answers for it."""
    job = await client.queue.submit(EP, {"prompt": "slow", "_emu": {"duration": 60}})
    assert await job.cancel() is odr.CancelOutcome.REQUESTED
    with pytest.raises(odr.JobCancelled) as info:
        await job.result()
    assert (info.value.error_type or "").upper() in ("CANCELED", "CANCELLED")


async def test_success_costs_no_extra_requests(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A successful job is a submit and /response polls only: never a status request."""
    results = [await client.queue.run(EP, job_args(i)) for i in range(3)]
    assert all(r.outputs for r in results)
    assert emu.stats.count("queue.status") == 0
    assert emu.stats.count("queue.response") <= 3 * 6


async def test_outputs_download_whatever_the_types(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Outputs of every variant (strings for numbers, odd ids in names) download with the right sizes."""
    result = await client.queue.run(EP, job_args(2, outputs=2, output_bytes=300))
    paths = await client.queue.download(result, tmp_path)
    assert [p.stat().st_size for p in paths] == [300, 300]
    assert len(result.raw["outputs"]) == len(result.outputs) == 2
    assert all(isinstance(out.raw, dict) and out.raw["url"] == out.url for out in result.outputs)


async def test_random_variant_is_seeded() -> None:
    """variant="random" picks per job, reproducibly for one seed, and covers several variants."""
    picked: list[list[str]] = []
    for _ in range(2):
        async with Emulator(variant="random", seed=11, job_duration=0.05, permissive=True) as e:
            async with odr.AsyncOdiRouter(api_key=e.api_key, base_url=e.url) as c:
                jobs = [await c.queue.submit(EP, {"prompt": str(i)}) for i in range(24)]
            picked.append([e.jobs[j.request_id].variant.name for j in jobs])
    assert picked[0] == picked[1]
    assert len(set(picked[0])) >= 4 and set(picked[0]) <= set(QUEUE_VARIANTS)


async def test_per_job_variant_and_unknown_names() -> None:
    """A job may name its variant in _emu; an unknown name is refused (422 at submit, ValueError here)."""
    with pytest.raises(ValueError, match="unknown queue variant"):
        Emulator(variant="nope")
    async with (
        Emulator(job_duration=0.05, permissive=True) as e,
        odr.AsyncOdiRouter(api_key=e.api_key, base_url=e.url) as c,
    ):
        job = await c.queue.submit(EP, {"prompt": "x", "_emu": {"variant": "detail_422"}})
        assert e.jobs[job.request_id].variant.name == "detail_422" and len(job.request_id) > 100
        with pytest.raises(odr.UnprocessableEntityError):
            await c.queue.submit(EP, {"prompt": "x", "_emu": {"variant": "nope"}})


FAILED_STATUS = {
    "documented": (400, 400),
    "detail_500": (500, 499),
    "detail_422": (422, 409),
    "status_200": (200, 200),
    "not_found": (404, 404),
    "html_502": (502, 502),
    "foreign": (400, 400),
    "loose": (400, 400),
}


@pytest.mark.parametrize("variant", QUEUE_VARIANTS)
async def test_variants_really_answer_differently(variant: str) -> None:
    """Each variant's /response of a failed and a cancelled job has its own status (raw HTTP, no SDK)."""
    assert set(FAILED_STATUS) == set(QUEUE_VARIANTS)
    auth = {"Authorization": "Bearer emu-test-key"}
    async with (
        Emulator(variant=variant, job_duration=0.0, permissive=True) as e,
        aiohttp.ClientSession(headers=auth) as http,
    ):
        codes = []
        for controls in ({"fail": "INFERENCE_FAILURE"}, {"duration": 60}):
            async with http.post(f"{e.url}/model/v1/queue/{EP}", json={"_emu": controls}) as resp:
                sent = await resp.json()
            if "duration" in controls:
                async with http.put(sent["cancel_url"]) as resp:
                    assert resp.status == 202
            async with http.get(sent["response_url"]) as resp:
                codes.append(resp.status)
            assert sent["response_url"].startswith(e.cdn_url if variant == "foreign" else e.url)
        assert tuple(codes) == FAILED_STATUS[variant]
