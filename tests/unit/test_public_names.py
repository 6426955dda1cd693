"""One meaning per name (``shared/design/public-api.md``), checked over the public signatures.

``x_request_id`` is the ``X-Request-Id`` header; ``request_id`` only a queue job's id;
``timeout`` only an HTTP timeout (a ``Timeout`` or read seconds); ``wait_timeout`` a total wait,
``None`` (no deadline) by default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async.batch.map_types import MapOutcome
from odirouter_async.llm.chat import Completions
from odirouter_async.llm.models import Models
from odirouter_async.llm.responses import Responses
from odirouter_async.queue.jobs import Job
from odirouter_async.queue.resource import Queue
from odirouter_async.videos.resource import Videos

PUBLIC = (Completions, Responses, Models, Queue, Videos, Job, odr.AsyncOdiRouter)
#: the parameters named request_id: the queue job's id (re-attaching, and the handle itself).
JOB_ID_PARAMS = {("Queue", "job"), ("Job", "__init__")}
WAITS = {("Job", "result"), ("Job", "updates"), ("Queue", "run"), ("Queue", "map"), ("Videos", "wait")}


def _methods() -> Iterator[tuple[str, str, Callable[..., Any]]]:
    for cls in PUBLIC:
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_") or name == "__init__":
                yield cls.__name__, name, fn


METHODS = list(_methods())


def test_the_public_surface_is_covered() -> None:
    """The scan sees every resource method the design names (a renamed class would hide them)."""
    seen = {(c, m) for c, m, _ in METHODS}
    assert {("Completions", "create"), ("Responses", "stream"), ("Videos", "download_content")} <= seen
    assert seen >= WAITS | JOB_ID_PARAMS


@pytest.mark.parametrize(("cls", "name", "fn"), METHODS, ids=[f"{c}.{m}" for c, m, _ in METHODS])
def test_request_id_is_only_the_job_id(cls: str, name: str, fn: Callable[..., Any]) -> None:
    """No public parameter is named request_id (or http_request_id) except queue.job's job id."""
    params = inspect.signature(fn).parameters
    if (cls, name) in JOB_ID_PARAMS:
        assert "request_id" in params
        return
    assert "request_id" not in params and "http_request_id" not in params


@pytest.mark.parametrize(("cls", "name", "fn"), METHODS, ids=[f"{c}.{m}" for c, m, _ in METHODS])
def test_timeout_is_only_an_http_timeout(cls: str, name: str, fn: Callable[..., Any]) -> None:
    """A `timeout` parameter is a Timeout / read seconds; waits take `wait_timeout=None`."""
    params = inspect.signature(fn).parameters
    if "timeout" in params:
        assert "Timeout" in str(params["timeout"].annotation), f"{cls}.{name}: timeout means a wait"
    if (cls, name) in WAITS:
        assert "timeout" not in params
        assert params["wait_timeout"].default is None
        assert params["wait_timeout"].kind is inspect.Parameter.KEYWORD_ONLY
    else:
        assert "wait_timeout" not in params


@pytest.mark.parametrize(("cls", "name", "fn"), METHODS, ids=[f"{c}.{m}" for c, m, _ in METHODS])
def test_every_call_takes_x_request_id(cls: str, name: str, fn: Callable[..., Any]) -> None:
    """A method that sends a request with per-call options also takes x_request_id."""
    params = inspect.signature(fn).parameters
    if "extra_headers" in params and (cls, name) != ("Queue", "map"):  # map: one id per job
        assert "x_request_id" in params, f"{cls}.{name}"


def test_videos_take_video_id() -> None:
    """Every videos method that names one video calls its parameter video_id."""
    for name in ("retrieve", "delete", "remix", "wait", "download_content"):
        first = list(inspect.signature(getattr(Videos, name)).parameters)[1]
        assert first == "video_id", name


def test_results_errors_and_streams_expose_x_request_id() -> None:
    """x_request_id on results, streams and errors; request_id (the job) on jobs and outcomes."""
    assert isinstance(getattr(odr.ChatCompletion, "x_request_id", None), property)
    assert "request_id" not in odr.ChatCompletion.__struct_fields__
    assert "request_id" not in odr.Response.__struct_fields__
    assert isinstance(getattr(odr.AsyncStream, "x_request_id", None), property)
    assert not hasattr(odr.AsyncStream, "request_id")
    err = odr.APIStatusError("m", status_code=500, x_request_id="x")
    assert err.x_request_id == "x" and not hasattr(err, "request_id")
    job_err = odr.JobTimeout("m", request_id="job", x_request_id="call")
    assert (job_err.request_id, job_err.x_request_id) == ("job", "call")
    assert "request_id" in MapOutcome.__dataclass_fields__ or hasattr(MapOutcome, "request_id")
