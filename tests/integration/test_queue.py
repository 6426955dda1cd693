"""client.queue against the emulator: submit, status, result, cancel, run, re-attach, failure mapping."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import unquote, urlsplit

import anyio
import pytest

import odirouter_async as odr
from odirouter_async.queue.job_state import CancelOutcome, JobState
from odirouter_async.queue.scheduler import ClientClosedError
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

#: Every test here runs once per queue gateway variant (the SDK must not depend on which one).
emu = variant_emulator_fixture(
    name="emu", permissive=True, job_duration=0.2, job_jitter=0.25, video_duration=0.2
)

EP = "flux_pro_11"
CLOCK = "clock_model"  # short jobs that let time pass (another endpoint: its own duration model)
LONG = {"prompt": "slow", "_emu": {"duration": 60}}


def fast(**controls: object) -> dict[str, object]:
    """Arguments of a short job with emulator controls."""
    return {"prompt": "a cat", "_emu": {"duration": 0.1, **controls}}


# -- submit ---------------------------------------------------------------------------------------


async def test_submit_returns_a_job_with_the_gateway_urls(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """submit() posts the arguments as the body and keeps the URLs the gateway returned."""
    job = await client.queue.submit(EP, {"prompt": "a cat", "seed": 7})
    emu_job = emu.jobs[job.request_id]
    assert emu_job.arguments == {"prompt": "a cat", "seed": 7}
    assert job.endpoint == EP
    origin = emu.cdn_url if emu_job.variant.foreign else emu.url
    assert job.response_url.startswith(origin) and job.response_url.endswith("/response")
    path = unquote(urlsplit(job.status_url).path)
    assert path == f"/model/v1/queue/{EP}/requests/{job.request_id}/status"
    assert job.cancel_url.endswith("/cancel")
    assert job.submitted_at is not None and job.age is not None
    assert job.state is JobState.SUBMITTED
    assert emu.stats.records("queue.submit")[-1].has_auth


async def test_dotted_and_unsafe_endpoint_ids(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A dotted id is used as is; other unsafe characters are percent-encoded, not dropped."""
    dotted = await client.queue.submit("happyhorse_1.0_t2v", {"prompt": "x"})
    assert emu.jobs[dotted.request_id].endpoint == "happyhorse_1.0_t2v"
    assert emu.stats.records("queue.submit")[-1].path == "/model/v1/queue/happyhorse_1.0_t2v"
    spaced = await client.queue.submit("my model?v=1", {"prompt": "x"})
    assert emu.jobs[spaced.request_id].endpoint == "my model?v=1"


@pytest.mark.parametrize("endpoint", ["", "  ", "a/b", "..", "."])
async def test_bad_endpoint_is_a_value_error(
    client: odr.AsyncOdiRouter, emu: Emulator, endpoint: str
) -> None:
    """An empty id, a '/' or a dot segment is refused before any request."""
    with pytest.raises(ValueError, match="endpoint"):
        await client.queue.submit(endpoint, {"prompt": "x"})
    assert emu.stats.total == 0


async def test_arguments_must_be_a_mapping(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A non-mapping body is a TypeError before any request."""
    with pytest.raises(TypeError, match="mapping"):
        await client.queue.submit(EP, [("prompt", "x")])  # type: ignore[arg-type]
    assert emu.stats.total == 0


async def test_webhooks_are_refused_early(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """webhook_url / fal_webhook are refused locally: the gateway does not support webhooks."""
    with pytest.raises(ValueError, match="webhook"):
        await client.queue.submit(EP, {"prompt": "x", "webhook_url": "https://example.com/hook"})
    with pytest.raises(ValueError, match="webhook"):
        await client.queue.submit(EP, {"prompt": "x"}, extra_query={"fal_webhook": "https://e.com"})
    assert emu.stats.total == 0


async def test_submit_sends_the_callers_request_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """x_request_id= is sent as X-Request-Id (a stable key for journals)."""
    await client.queue.submit(EP, {"prompt": "x"}, x_request_id="batch-7-item-3")
    assert emu.stats.submits_by_request_id_header["batch-7-item-3"] == 1


async def test_submit_errors_are_typed(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """An unknown model is NotFoundError; no credit is InsufficientBalanceError."""
    emu.unknown_endpoints.add("nope")
    with pytest.raises(odr.NotFoundError, match="App not found"):
        await client.queue.submit("nope", {"prompt": "x"})
    emu.balance = 0
    with pytest.raises(odr.InsufficientBalanceError):
        await client.queue.submit(EP, {"prompt": "x"})


# -- status / result --------------------------------------------------------------------------------


async def test_status_is_typed(client: odr.AsyncOdiRouter) -> None:
    """status() returns a QueueStatus and moves the job's state."""
    job = await client.queue.submit(EP, LONG)
    status = await job.status()
    assert status.status == "IN_PROGRESS"
    assert status.request_id == job.request_id
    assert job.state is JobState.RUNNING


async def test_result_polls_the_response_url_only(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """result() polls /response (202 while pending); the poll that finds it done is the fetch."""
    job = await client.queue.submit(EP, fast(duration=0.3))
    result = await job.result()
    assert result.request_id == job.request_id
    assert result.outputs[0].url is not None and result.outputs[0].url.startswith(emu.cdn_url)
    assert result.metadata == {"prompt": "a cat"}
    assert result.raw["request_id"] == job.request_id
    statuses = [r.status for r in emu.stats.records("queue.response")]
    assert statuses[-1] == 200 and set(statuses[:-1]) <= {202}
    assert emu.stats.count("queue.status") == 0
    assert job.polls == len(statuses) == emu.stats.job_requests[job.request_id]
    assert job.state is JobState.SUCCEEDED and job.done


async def test_result_is_kept(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A second result() returns the same object without a request."""
    job = await client.queue.submit(EP, fast())
    first = await job.result()
    requests = emu.stats.total
    assert await job.result() is first
    assert emu.stats.total == requests


async def test_failed_job_raises_job_failed(client: odr.AsyncOdiRouter) -> None:
    """COMPLETED + error is JobFailed with error and error_type; it is kept for later calls."""
    job = await client.queue.submit(EP, fast(fail="INFERENCE_FAILURE", error="GPU on fire"))
    with pytest.raises(odr.JobFailed) as info:
        await job.result()
    assert info.value.error == "GPU on fire"
    assert info.value.error_type == "INFERENCE_FAILURE"
    assert info.value.request_id == job.request_id and info.value.endpoint == EP
    assert job.state is JobState.FAILED
    with pytest.raises(odr.JobFailed):
        await job.result()


async def test_cancel_then_result_is_job_cancelled(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """cancel() answers REQUESTED; the job then ends as JobCancelled (error_type CANCELED)."""
    job = await client.queue.submit(EP, LONG)
    assert await job.cancel() is CancelOutcome.REQUESTED
    assert emu.jobs[job.request_id].cancelled
    with pytest.raises(odr.JobCancelled) as info:
        await job.result()
    assert info.value.error_type == "CANCELED"
    assert job.state is JobState.CANCELLED


async def test_cancel_outcomes_never_raise(client: odr.AsyncOdiRouter) -> None:
    """ALREADY_COMPLETED (400) and NOT_FOUND (404) are outcomes, not exceptions."""
    job = await client.queue.submit(EP, fast())
    await job.result()
    assert await job.cancel() is CancelOutcome.ALREADY_COMPLETED
    ghost = client.queue.job(EP, "mmsu_does_not_exist")
    assert await ghost.cancel() is CancelOutcome.NOT_FOUND


async def test_unknown_status_is_pending_and_logged_once(
    client: odr.AsyncOdiRouter, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An undocumented status word is treated as pending and logged once for the job."""
    job = await client.queue.submit(EP, fast(duration=0.2))
    body = {"status": "WARMING_UP", "request_id": job.request_id}
    emu.faults.add("queue.response", status=202, body=body, times=3)
    with caplog.at_level(logging.WARNING, logger="odirouter_async"):
        result = await job.result()
    assert result.request_id == job.request_id
    warned = [r for r in caplog.records if "WARMING_UP" in r.getMessage()]
    assert len(warned) == 1 and job.request_id in warned[0].getMessage()


async def test_poll_server_errors_never_fail_the_job(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """5xx answers and dropped connections on polls are retried; the job still succeeds."""
    job = await client.queue.submit(EP, fast(duration=0.2))
    emu.faults.add("queue.response", status=503, times=2)
    emu.faults.add("queue.response", status=500, body="<html>oops</html>", times=1)
    emu.faults.add("queue.response", drop=True, times=1)
    result = await job.result()
    assert result.request_id == job.request_id
    assert emu.stats.count("queue.response", 503) == 2
    assert emu.stats.count("queue.response", 500) == 1


async def test_gone_job_raises_not_found(client: odr.AsyncOdiRouter) -> None:
    """A job the gateway does not know (expired, another key's) is NotFoundError, not a hang."""
    ghost = client.queue.job(EP, "mmsu_nope")
    with pytest.raises(odr.NotFoundError):
        await ghost.result()


async def test_result_route_4xx_after_completed_is_the_jobs_failure(client: odr.AsyncOdiRouter) -> None:
    """COMPLETED without error but /response 422 (fal style): JobFailed, the HTTP error as its cause."""
    job = await client.queue.submit(EP, fast(result_status=422))
    with pytest.raises(odr.JobFailed, match="Runtime execution failed") as info:
        await job.result()
    assert info.value.error == "Runtime execution failed" and info.value.error_type == "HTTP_422"
    assert isinstance(info.value.__cause__, odr.UnprocessableEntityError)


async def test_result_route_5xx_ends_after_bounded_retries(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A completed job whose /response keeps answering 500 ends with the typed 500, no hang, no cancel."""
    job = await client.queue.submit(EP, fast(result_status=500))
    with pytest.raises(odr.InternalServerError, match="Runtime execution failed"):
        await job.result()
    assert emu.stats.count("queue.response", 500) == 5
    assert emu.stats.count("queue.status") == 1  # asked once: COMPLETED without error
    assert emu.stats.count("queue.cancel") == 0


async def test_reattach_by_id(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """queue.job() builds the documented URLs and waits like a fresh handle."""
    submitted = await client.queue.submit(EP, fast(duration=0.2))
    again = client.queue.job(EP, submitted.request_id, submitted_at=submitted.submitted_at)
    assert again.response_url.startswith(emu.url)  # the documented paths under base_url ...
    for built, given in [
        (again.response_url, submitted.response_url),
        (again.status_url, submitted.status_url),
    ]:
        assert urlsplit(built).path == urlsplit(given).path  # ... the same as the gateway's (any origin)
    assert again.age is not None
    result = await again.result()
    assert result.request_id == submitted.request_id
    unknown_age = client.queue.job(EP, submitted.request_id)
    assert unknown_age.age is None
    assert (await unknown_age.result()).request_id == submitted.request_id


async def test_two_handles_of_one_job_share_its_polls(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Waiting on one job through two handles costs one stream of polls; both get the outcome."""
    first = await client.queue.submit(EP, fast(duration=0.3))
    second = client.queue.job(EP, first.request_id)
    a, b = await asyncio.gather(first.result(), second.result())
    assert a is b
    assert first.done and second.done
    assert emu.stats.job_requests[first.request_id] == first.polls + second.polls


# -- run, timeouts and cancellation ----------------------------------------------------------------------


async def test_run_returns_the_result(client: odr.AsyncOdiRouter) -> None:
    """run() = submit + result."""
    result = await client.queue.run(EP, fast())
    assert result.outputs and result.outputs[0].type == "image"


async def test_run_wait_timeout_leaves_the_job_running(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """run(wait_timeout=...) raises JobTimeout, sends no cancel and says the job may still run."""
    with pytest.raises(odr.JobTimeout) as info:
        await client.queue.run(EP, LONG, wait_timeout=0.3)
    rid = info.value.request_id
    assert rid is not None and not emu.jobs[rid].cancelled
    assert emu.stats.count("queue.cancel") == 0
    assert "not cancelled" in str(info.value) and "within 0.3 s" in str(info.value)
    assert client.queue.stats().jobs == 0


async def test_run_wait_timeout_with_cancel_on_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """cancel_on_timeout=True cancels the remote job when wait_timeout runs out, and says so."""
    with pytest.raises(odr.JobTimeout) as info:
        await client.queue.run(EP, LONG, wait_timeout=0.3, cancel_on_timeout=True)
    rid = info.value.request_id
    assert rid is not None and emu.jobs[rid].cancelled
    assert "cancel was sent" in str(info.value)


async def test_result_wait_timeout_with_cancel_on_timeout(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """result(wait_timeout, cancel_on_timeout=True) cancels; without it (even cancel_on_exit) it runs on."""
    kept = await client.queue.submit(EP, LONG)
    with pytest.raises(odr.JobTimeout):
        await kept.result(wait_timeout=0.2, cancel_on_exit=True)
    assert not emu.jobs[kept.request_id].cancelled
    job = await client.queue.submit(EP, LONG)
    with pytest.raises(odr.JobTimeout) as info:
        await job.result(wait_timeout=0.2, cancel_on_timeout=True)
    assert emu.jobs[job.request_id].cancelled
    assert "cancel was sent" in str(info.value)
    with pytest.raises(ValueError):
        await job.result(wait_timeout=0)


async def test_cancel_scope_stops_polling_and_cancels(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """A cancel scope around result(cancel_on_exit=True): polling stops and the job is cancelled."""
    job = await client.queue.submit(EP, LONG)
    with anyio.move_on_after(0.5):
        await job.result(cancel_on_exit=True)
    assert emu.jobs[job.request_id].cancelled
    assert client.queue.stats().jobs == 0
    seen = emu.stats.job_requests[job.request_id]
    await client.queue.run(CLOCK, fast(duration=0.4))  # other polls go on meanwhile
    assert emu.stats.job_requests[job.request_id] == seen


async def test_cancelled_task_stops_polling_and_cancels(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """Cancelling the task awaiting result(): polling of that job stops and it is cancelled remotely."""
    job = await client.queue.submit(EP, LONG)
    task = asyncio.create_task(job.result(cancel_on_exit=True))
    await client.queue.run(CLOCK, fast(duration=1.5))  # lets the task poll (image: first at ~0.75-1.1 s)
    assert emu.stats.job_requests[job.request_id] >= 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert emu.jobs[job.request_id].cancelled
    seen = emu.stats.job_requests[job.request_id]
    await client.queue.run(CLOCK, fast(duration=0.4))
    assert emu.stats.job_requests[job.request_id] == seen
    assert client.queue.stats().jobs == 0


async def test_cancel_scope_without_cancel_on_exit_only_stops_polling(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """Without cancel_on_exit, leaving the wait stops polling but leaves the job running."""
    job = await client.queue.submit(EP, LONG)
    with anyio.move_on_after(0.3):
        await job.result()
    assert not emu.jobs[job.request_id].cancelled
    assert client.queue.stats().jobs == 0


async def test_cancelled_run_during_submit_still_cancels_the_job(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """A cancellation that arrives while the submit POST is in flight still cancels the new job."""
    emu.faults.add("queue.submit", delay=0.3, times=1)
    with anyio.move_on_after(0.1):
        await client.queue.run(EP, LONG)
    assert len(emu.jobs) == 1
    (job,) = emu.jobs.values()
    assert job.cancelled
    emu.faults.add("queue.submit", delay=0.3, times=1)
    with pytest.raises(odr.JobTimeout) as info:
        await client.queue.run(EP, LONG, wait_timeout=0.1, cancel_on_timeout=True)
    assert info.value.request_id is not None and emu.jobs[info.value.request_id].cancelled
    emu.faults.add("queue.submit", delay=0.3, times=1)
    with pytest.raises(odr.JobTimeout) as info:  # a slow submit is not cut: the job id is kept
        await client.queue.run(EP, LONG, wait_timeout=0.1)
    assert info.value.request_id is not None and not emu.jobs[info.value.request_id].cancelled


# -- rate limits, origins, shutdown -----------------------------------------------------------------------


async def test_poll_rate_limit_slows_everyone() -> None:
    """Behind a 20 polls/s limit every job completes; the client lowers its rate after 429s."""
    async with (
        Emulator(job_duration=0.3, job_jitter=0.25, poll_rate_limit=20, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        async with client.queue.map(EP, ({"prompt": str(i)} for i in range(60)), concurrency=60) as res:
            outcomes = [done async for done in res]
        assert all(o.error is None for o in outcomes) and len(outcomes) == 60
        stats = client.queue.stats()
        assert stats.rate_limited >= 1
        assert stats.rate < 100
        accepted = emu.stats.count("queue.response") - emu.stats.rate_limited
        assert emu.stats.rate_limited < accepted


async def test_foreign_urls_never_get_the_key() -> None:
    """Job URLs on another origin are polled without the key; the jobs still complete."""
    async with (
        Emulator(job_duration=0.2, foreign_urls=True, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client,
    ):
        job = await client.queue.submit(EP, fast())
        assert job.response_url.startswith(emu.cdn_url)
        result = await job.result()
        assert result.request_id == job.request_id
        assert await job.cancel() is CancelOutcome.ALREADY_COMPLETED
        cdn = [r for r in emu.stats.log if r.listener == "cdn"]
        assert cdn and not any(r.has_auth for r in cdn)
        assert emu.stats.auth_sent_to_cdn == 0


async def test_strict_origins_refuses_foreign_urls() -> None:
    """With strict_origins=True a job URL on another origin is refused (InsecureURLError)."""
    async with (
        Emulator(job_duration=0.2, foreign_urls=True, permissive=True) as emu,
        odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url, strict_origins=True) as client,
    ):
        job = await client.queue.submit(EP, fast())
        with pytest.raises(odr.InsecureURLError):
            await job.result()
        with pytest.raises(odr.InsecureURLError):
            await job.status()
        assert not [r for r in emu.stats.log if r.listener == "cdn"]


async def test_aclose_while_jobs_wait_gives_a_clear_error(emu: Emulator) -> None:
    """Closing the client fails waiters with ClientClosedError; nothing is left pending."""
    client = odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)
    jobs = [await client.queue.submit(EP, LONG) for _ in range(3)]
    tasks = [asyncio.create_task(job.result(cancel_on_exit=True)) for job in jobs]
    await client.queue.run(CLOCK, fast(duration=0.3))
    await client.aclose()
    for task in tasks:
        with pytest.raises(ClientClosedError, match="closed"):
            await task
    assert not any(emu.jobs[j.request_id].cancelled for j in jobs)  # the jobs stay re-attachable
    with pytest.raises(ClientClosedError):
        await jobs[0].result()


async def test_emulator_stats_route(client: odr.AsyncOdiRouter, emu: Emulator) -> None:
    """GET /_emu/stats (for benchmarks) reports per-job timings and poll counts, uncounted itself."""
    job = await client.queue.submit(EP, fast())
    await job.result()
    resp = await client.requester.request("GET", "/_emu/stats")
    data = resp.json()
    rows = [dict(zip(data["job_fields"], row, strict=True)) for row in data["jobs"]]
    assert rows[0]["request_id"] == job.request_id
    assert rows[0]["first_seen_done_at"] >= rows[0]["finished_at"]
    assert rows[0]["requests"] == job.polls
    assert sum(data["poll_seconds"].values()) == job.polls
    assert data["routes"] == {"queue.submit": 1, "queue.response": job.polls}
    assert "jobs" not in (await client.requester.request("GET", "/_emu/stats?jobs=0")).json()
