"""The queue against a hostile gateway (tests/hostile_queue.py, not the emulator): no hang, loss or cancel."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hostile_queue import ENDPOINT, RESULT, Answer, HostileQueue, deep, html, js, ok_submit, status

import odirouter_async as odr
from odirouter_async._config import PollingOptions
from odirouter_async.queue.scheduler import Scheduler

pytestmark = pytest.mark.anyio

FAILED = status("COMPLETED", error="Runtime execution failed", error_type="INFERENCE_FAILURE")


def make_client(gw: HostileQueue) -> odr.AsyncOdiRouter:
    """A client of the hostile gateway with the default polling options."""
    return odr.AsyncOdiRouter(api_key="hostile-key", base_url=gw.url, max_retries=0)


async def test_status_failed_while_response_500s_is_job_failed() -> None:
    """Status 200 COMPLETED+error while /response 500s: JobFailed with the /response error as cause."""
    async with (
        HostileQueue(status=[FAILED], response=[js(500, {"detail": "Runtime execution failed"})]) as gw,
        make_client(gw) as client,
    ):
        with pytest.raises(odr.JobFailed) as info:
            await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert info.value.error_type == "INFERENCE_FAILURE"
        cause = info.value.__cause__
        assert isinstance(cause, odr.InternalServerError) and cause.body == {
            "detail": "Runtime execution failed"
        }
        assert gw.hits["cancel"] == 0
        assert (gw.hits["response"], gw.hits["status"]) == (1, 1)


async def test_html_200_result_is_bounded_and_never_cancels() -> None:
    """/response answering an HTML page with 200 ends after the bounded retries, typed, no cancel."""
    async with (
        HostileQueue(status=[status("COMPLETED")], response=[html(200)]) as gw,
        make_client(gw) as client,
    ):
        with pytest.raises(odr.ResponseValidationError) as info:
            await client.queue.run(ENDPOINT, {"prompt": "x"}, cancel_on_exit=True)
        assert "<html>" in str(info.value.body) and info.value.status_code == 200
        assert gw.hits["response"] == PollingOptions().max_poll_errors
        assert gw.hits["status"] == 1  # COMPLETED is remembered
        assert gw.hits["cancel"] == 0


async def test_deep_json_while_running_then_the_result() -> None:
    """Deeply nested JSON on /response while the status says running: polling goes on, then success."""
    async with (
        HostileQueue(
            status=[status("IN_PROGRESS")] * 3 + [status("COMPLETED")],
            response=[deep(200), deep(202), deep(500), js(200, RESULT)],
        ) as gw,
        make_client(gw) as client,
    ):
        result = await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert result.outputs[0].url == "https://cdn.invalid/x.png"
        assert gw.hits["cancel"] == 0


async def test_deep_json_status_is_a_typed_error() -> None:
    """job.status() on a status body nested too deep raises ResponseValidationError, not RecursionError."""
    async with HostileQueue(status=[deep(200)]) as gw, make_client(gw) as client:
        job = await client.queue.submit(ENDPOINT, {"prompt": "x"})
        with pytest.raises(odr.ResponseValidationError):
            await job.status()


async def test_expired_result_is_not_found() -> None:
    """/response 404 after the status said COMPLETED without error: NotFoundError (expired), no retries."""
    async with (
        HostileQueue(status=[status("COMPLETED")], response=[js(404, {"detail": "Request not found"})]) as gw,
        make_client(gw) as client,
    ):
        with pytest.raises(odr.NotFoundError):
            await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert (gw.hits["response"], gw.hits["status"], gw.hits["cancel"]) == (1, 1, 0)


async def test_unknown_job_is_not_found() -> None:
    """Both URLs answering 404: the gateway does not know the job, NotFoundError."""
    gone = js(404, {"detail": "Request not found"})
    async with HostileQueue(status=[gone], response=[gone]) as gw, make_client(gw) as client:
        with pytest.raises(odr.NotFoundError):
            await client.queue.job(ENDPOINT, "mmsu_gone").result()


async def test_status_url_broken_too_is_bounded() -> None:
    """/response 502 HTML and the status URL 500: the job ends with the last typed error, no hang."""
    async with HostileQueue(status=[html(500)], response=[html(502)]) as gw, make_client(gw) as client:
        with pytest.raises(odr.InternalServerError) as info:
            await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert info.value.status_code == 502 and "Oops" in info.value.message
        assert gw.hits["response"] == PollingOptions().max_poll_errors
        assert gw.hits["cancel"] == 0


async def test_status_always_200_comfy_style_cancelled() -> None:
    """A cancelled job: /response 409 and status COMPLETED + error_type cancelled: JobCancelled."""
    async with (
        HostileQueue(
            status=[status("COMPLETED", error="cancelled by user", error_type="CANCELLED")],
            response=[js(409, {"detail": "Request was cancelled", "error_type": "cancelled"})],
        ) as gw,
        make_client(gw) as client,
    ):
        with pytest.raises(odr.JobCancelled):
            await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert gw.hits["cancel"] == 0


@pytest.mark.parametrize("bad_id", ["", "  ", "a/b", "..", ".", "x" * 5000, "bad\nid"])
async def test_unusable_submit_id_is_a_typed_error(bad_id: str) -> None:
    """A 2xx submit with an unusable id raises ResponseValidationError with status, request id and body."""
    async with HostileQueue(submit=[ok_submit(bad_id)]) as gw, make_client(gw) as client:
        with pytest.raises(odr.ResponseValidationError) as info:
            await client.queue.submit(ENDPOINT, {"prompt": "x"})
        err = info.value
        assert not isinstance(err, ValueError)
        assert err.status_code == 200 and err.x_request_id == "req-hostile-submit"
        assert isinstance(err.body, str) and '"request_id"' in err.body
        assert gw.hits["status"] == gw.hits["response"] == 0


@pytest.mark.parametrize(
    "body", [b'{"request_id": 12}', b"[]", b"<html>", b'{"a":' * 3000 + b"1" + b"}" * 3000]
)
async def test_malformed_submit_answer_is_a_typed_error(body: bytes) -> None:
    """A submit answer that is not the documented object (or too deep) is ResponseValidationError."""
    async with HostileQueue(submit=[Answer(200, body)]) as gw, make_client(gw) as client:
        with pytest.raises(odr.ResponseValidationError):
            await client.queue.submit(ENDPOINT, {"prompt": "x"})


@pytest.mark.parametrize(
    "odd_id",
    ["mmsu:01h.v1-\u00e9_\u00fc", "0b9f6f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "mmsu_" + "a" * 600, "a b?c#d%e"],
)
async def test_odd_ids_are_percent_encoded(odd_id: str) -> None:
    """Odd but usable ids (unicode, ':', '.', long, '?', '#', '%') reach the gateway as one segment."""
    async with HostileQueue(submit=[ok_submit(odd_id)]) as gw, make_client(gw) as client:
        job = await client.queue.submit(ENDPOINT, {"prompt": "x"})
        assert job.request_id == odd_id
        result = await job.result()
        assert result.outputs
        polled = [unquote(p) for p in gw.paths if p.endswith("/response")]
        assert polled == [f"/model/v1/queue/{ENDPOINT}/requests/{odd_id}/response"]


async def test_foreign_urls_never_get_the_key() -> None:
    """Job URLs on another origin (another hostile server) are polled without the API key."""
    async with HostileQueue() as other, HostileQueue() as gw:
        base = f"{other.url}/model/v1/queue/{ENDPOINT}/requests/f1"
        gw.scripts["submit"] = [
            ok_submit(
                "f1",
                status_url=f"{base}/status",
                response_url=f"{base}/response",
                cancel_url=f"{base}/cancel",
            )
        ]
        async with make_client(gw) as client:
            job = await client.queue.submit(ENDPOINT, {"prompt": "x"})
            assert (await job.result()).outputs
            await job.cancel()
        assert other.hits["response"] == 1 and other.hits["cancel"] == 1
        assert all(header is None for _, header in other.auth)
        assert gw.auth == [("submit", "Bearer hostile-key")]


async def test_202_completed_forever_is_bounded() -> None:
    """/response answering 202 + COMPLETED forever: a typed error after the bounded retries, no hang."""
    done = js(202, {"status": "COMPLETED"})
    async with HostileQueue(status=[status("COMPLETED")], response=[done]) as gw, make_client(gw) as client:
        with pytest.raises(odr.ResponseValidationError, match="no result yet"):
            await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert gw.hits["response"] == PollingOptions().max_poll_errors and gw.hits["cancel"] == 0


async def test_202_completed_then_the_result() -> None:
    """A result that appears shortly after the status said COMPLETED is fetched, not lost."""
    done = js(202, {"status": "COMPLETED"})
    async with HostileQueue(status=[status("COMPLETED")], response=[done, done, js(200, RESULT)]) as gw:
        async with make_client(gw) as client:
            result = await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert result.outputs and gw.hits["response"] == 3 and gw.hits["status"] == 1


async def test_max_poll_errors_is_the_bound() -> None:
    """PollingOptions(max_poll_errors=2): the job ends after two unusable answers; 0 is refused."""
    async with HostileQueue(status=[status("COMPLETED")], response=[html(503)]) as gw:
        polling = PollingOptions(max_poll_errors=2)
        async with odr.AsyncOdiRouter(api_key="k", base_url=gw.url, polling=polling) as client:
            with pytest.raises(odr.InternalServerError):
                await client.queue.run(ENDPOINT, {"prompt": "x"})
        assert gw.hits["response"] == 2
    with pytest.raises(ValueError, match="max_poll_errors"):
        Scheduler(PollingOptions(max_poll_errors=0))
