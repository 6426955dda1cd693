"""One meaning per name, end to end: x_request_id on the wire, results, streams and job errors."""

from __future__ import annotations

import pytest

import odirouter_async as odr
from odirouter_async.testing import Emulator

pytestmark = pytest.mark.anyio

EP = "flux_pro_11"


async def test_x_request_id_names_the_call_and_its_result(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """x_request_id= is sent as X-Request-Id and read back from the result, the stream and models."""
    completion = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], x_request_id="trace-chat"
    )
    assert emu.stats.records("chat")[-1].request_id == "trace-chat" == completion.x_request_id
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, x_request_id="trace-stream"
    )
    async with stream:
        chunks = [c async for c in stream]
    assert stream.x_request_id == "trace-stream" == chunks[0].x_request_id
    models = await client.models.list(x_request_id="trace-models")
    assert models.x_request_id == "trace-models" == emu.stats.records("models")[-1].request_id


async def test_job_error_keeps_both_ids(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """JobFailed: .request_id is the job, .x_request_id the poll that reported the failure."""
    job = await client.queue.submit(
        EP,
        {"prompt": "x", "_emu": {"duration": 0.05, "fail": "INFERENCE_FAILURE"}},
        x_request_id="trace-submit",
    )
    assert emu.stats.submits_by_request_id_header["trace-submit"] == 1
    with pytest.raises(odr.JobFailed) as info:
        await job.result()
    err = info.value
    assert err.request_id == job.request_id
    polls = {r.request_id for r in emu.stats.records("queue.response")}
    polls |= {r.request_id for r in emu.stats.records("queue.status")}
    assert err.x_request_id in polls and err.x_request_id != job.request_id
    assert f"x_request_id={err.x_request_id}" in str(err)


async def test_status_error_has_x_request_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An HTTP error carries the call's X-Request-Id as .x_request_id (and no .request_id)."""
    emu.faults.add("models", status=400, body={"detail": "no"}, times=1)
    with pytest.raises(odr.BadRequestError) as info:
        await client.models.list(x_request_id="trace-400")
    assert info.value.x_request_id == "trace-400"
    assert not hasattr(info.value, "request_id")
    assert "x_request_id=trace-400" in str(info.value)


async def test_job_status_and_cancel_take_x_request_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Job.status / Job.cancel send the caller's X-Request-Id too."""
    job = await client.queue.submit(EP, {"prompt": "x", "_emu": {"duration": 60}})
    await job.status(x_request_id="trace-status")
    await job.cancel(x_request_id="trace-cancel")
    assert emu.stats.records("queue.status")[-1].request_id == "trace-status"
    assert emu.stats.records("queue.cancel")[-1].request_id == "trace-cancel"


async def test_video_wait_timeout_leaves_the_video() -> None:
    """videos.wait(wait_timeout=) raises JobTimeout saying the video was not cancelled; no DELETE."""
    async with (
        Emulator(video_duration=60) as slow,
        odr.AsyncOdiRouter(api_key=slow.api_key, base_url=slow.url) as client,
    ):
        video = await client.videos.create(model="sora-2", prompt="p")
        with pytest.raises(odr.JobTimeout) as info:
            await client.videos.wait(video_id=video.id, wait_timeout=0.2)
        assert info.value.request_id == video.id and "not cancelled" in str(info.value)
        assert slow.stats.count("videos.delete") == 0
