"""Type check: queue submit/status/result/run/map/download (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from pathlib import Path

from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async.types import JobOutput, QueueStatus, StatusUpdate


async def queue(client: odr.AsyncOdiRouter) -> None:
    """A job's life, re-attaching, and ``run``."""
    job = await client.queue.submit("nano_banana_2", {"prompt": "a red apple"})
    assert_type(job, odr.Job)
    request_id: str = job.request_id
    status = await job.status()
    assert_type(status, QueueStatus)
    print(status.status)
    result = await job.result(wait_timeout=None)
    assert_type(result, odr.JobResult)
    first: JobOutput = result.outputs[0]
    print(first.url, result.metadata, result.raw)
    paths = await client.queue.download(result, "out/")
    assert_type(paths, list[Path])
    assert_type(await job.download("out/", overwrite=True), list[Path])
    assert_type(client.queue.stats(), odr.SchedulerStats)

    def show(update: odr.StatusUpdate) -> None:
        print(update.status, update.queue_position, update.logs)

    async def show_async(update: StatusUpdate) -> None:
        print(update.request_id, update.raw)

    await job.result(on_update=show)
    await client.queue.run("nano_banana_2", {"prompt": "x"}, on_update=show_async)
    async for update in job.updates(wait_timeout=60):
        assert_type(update, StatusUpdate)
    again = client.queue.job("nano_banana_2", request_id)
    await again.cancel()
    result = await client.queue.run("nano_banana_2", {"prompt": "x"}, wait_timeout=3600, x_request_id="t-2")
    assert_type(result, odr.JobResult)


async def queue_map(client: odr.AsyncOdiRouter) -> None:
    """``map`` outcomes: ``result`` or ``error``, narrowed by a ``None`` check."""
    inputs = ({"prompt": f"a cat, style {i}"} for i in range(10))
    async with client.queue.map("nano_banana_2", inputs, concurrency=8, journal="run.sqlite") as results:
        async for done in results:
            assert_type(done, odr.MapOutcome)
            index: int = done.index
            if done.result is not None:
                print(index, done.result.outputs[0].url)
            else:
                error: BaseException | None = done.error
                print(index, done.request_id, error)
            print(done.result.outputs)  # type: ignore[union-attr]  # result may be None
        progress = results.snapshot()
        assert_type(progress, odr.MapProgress)
