"""Optional OpenTelemetry spans: one CLIENT span per HTTP call, ``job_span`` for the queue side,
nothing (and no import error) without ``opentelemetry-api``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async.http import tracing
from odirouter_async.testing import Emulator

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk not installed")
export = pytest.importorskip("opentelemetry.sdk.trace.export")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
otel_trace = pytest.importorskip("opentelemetry.trace")

pytestmark = pytest.mark.anyio

_EXPORTER: Any = None


def _exporter() -> Any:
    """One in-memory exporter on the process-wide tracer provider (OTel allows setting it once)."""
    global _EXPORTER
    if _EXPORTER is None:
        provider = otel_trace.get_tracer_provider()
        if not isinstance(provider, sdk_trace.TracerProvider):
            provider = sdk_trace.TracerProvider()
            otel_trace.set_tracer_provider(provider)
        _EXPORTER = in_memory.InMemorySpanExporter()
        provider.add_span_processor(export.SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER


@pytest.fixture
def spans() -> Iterator[Any]:
    """The finished spans of this test (the exporter is cleared before and after)."""
    exporter = _exporter()
    exporter.clear()
    yield exporter
    exporter.clear()


def _http_spans(exporter: Any) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.kind == otel_trace.SpanKind.CLIENT]


async def test_one_span_per_call(client: odr.AsyncOdiRouter, emu: Emulator, spans: Any) -> None:
    """A call is one CLIENT span with method, route template, status and the X-Request-Id."""
    assert tracing.ENABLED
    page = await client.models.list()
    (span,) = _http_spans(spans)
    assert span.name == "GET /v1/models"
    attrs = dict(span.attributes)
    assert attrs["http.request.method"] == "GET" and attrs["url.template"] == "/v1/models"
    assert attrs["http.response.status_code"] == 200
    assert attrs["odirouter.x_request_id"] == page.x_request_id == emu.stats.records("models")[-1].request_id
    assert attrs["server.address"] == "127.0.0.1"
    assert emu.api_key not in repr(attrs)


async def test_retries_stay_in_one_span(client: odr.AsyncOdiRouter, emu: Emulator, spans: Any) -> None:
    """A call retried after a 500 is still one span, ending with the final status."""
    emu.faults.add("models", status=500, times=1)
    await client.models.list()
    (span,) = _http_spans(spans)
    assert span.attributes["http.response.status_code"] == 200
    assert emu.stats.count("models") == 2


async def test_error_status_marks_the_span(client: odr.AsyncOdiRouter, emu: Emulator, spans: Any) -> None:
    """A 404 ends the span as an error with the status and the X-Request-Id of the failing call."""
    emu.faults.add("models", status=404, times=1)
    with pytest.raises(odr.NotFoundError) as info:
        await client.models.list()
    (span,) = _http_spans(spans)
    assert span.status.status_code == otel_trace.StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["odirouter.x_request_id"] == info.value.x_request_id


async def test_queue_routes_are_templated(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """Queue calls are named by their route template: no job id or endpoint in span names."""
    job = await client.queue.submit("nano_banana_2", {"prompt": "x"})
    await job.status()
    names = [s.name for s in _http_spans(spans)]
    assert names == [
        "POST /model/v1/queue/{endpoint}",
        "GET /model/v1/queue/{endpoint}/requests/{request_id}/status",
    ]
    assert all(job.request_id not in str(dict(s.attributes)) for s in _http_spans(spans))


async def test_job_span_parents_the_http_spans(client: odr.AsyncOdiRouter, spans: Any) -> None:
    """HTTP calls made inside job_span(endpoint, request_id) are its children; the status is recorded."""
    job = await client.queue.submit("nano_banana_2", {"prompt": "x"})
    with tracing.job_span(job.endpoint, job.request_id) as span:
        result = await job.result()
        span.record_status("COMPLETED")
    assert result.outputs
    (outer,) = [s for s in spans.get_finished_spans() if s.name == "queue.job nano_banana_2"]
    assert outer.attributes["odirouter.request_id"] == job.request_id
    assert outer.attributes["odirouter.job.status"] == "COMPLETED"
    children = [
        s for s in _http_spans(spans) if s.parent is not None and s.parent.span_id == outer.context.span_id
    ]
    assert children and all("/requests/{request_id}/" in s.name for s in children)


async def test_foreign_url_is_not_recorded(client: odr.AsyncOdiRouter, emu: Emulator, spans: Any) -> None:
    """A URL on another origin (a CDN, signed query strings) is traced as "other", never as a URL."""
    url = emu.cdn_url + "/files/x_0.png?token=secret-signature"
    await client.requester.request("GET", url, ok_statuses=frozenset({404}))
    (span,) = _http_spans(spans)
    assert span.name == "GET other"
    assert "secret-signature" not in str(dict(span.attributes)) and "/files/" not in str(
        dict(span.attributes)
    )


def test_route_templates() -> None:
    """Every gateway route maps to its template; anything else is "other"."""
    job = "/model/v1/queue/{endpoint}/requests/{request_id}"
    cases = {
        "/v1/models": "/v1/models",
        "/v1/chat/completions": "/v1/chat/completions",
        "/v1/responses": "/v1/responses",
        "/v1/responses/resp_1": "/v1/responses/{response_id}",
        "/v1/videos": "/v1/videos",
        "/v1/videos/video_1": "/v1/videos/{video_id}",
        "/v1/videos/video_1/content?variant=video": "/v1/videos/{video_id}/content",
        "/model/v1/queue/fal-ai/flux/dev": "/model/v1/queue/{endpoint}",
        "/model/v1/queue/a/b/requests/r-1/status": job + "/status",
        "/model/v1/queue/a/requests/r-1/response": job + "/response",
        "/model/v1/queue/a/requests/r-1/cancel": job + "/cancel",
        "/model/v1/queue/a/requests/r-1": job,
        "/files/x.png": "other",
    }
    assert {path: tracing.route_template(path) for path in cases} == cases


def test_without_opentelemetry_nothing_is_traced() -> None:
    """With opentelemetry not importable the SDK imports, ENABLED is False and job_span is a no-op."""
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import odirouter_async\n"
        "from odirouter_async.http import tracing\n"
        "assert not tracing.ENABLED\n"
        "with tracing.job_span('e', 'r') as span: span.record_status('COMPLETED')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_a_provider_set_after_the_first_call_is_followed() -> None:
    """Calls before set_tracer_provider() build no span; calls after it are recorded (the fast path
    that skips the per-request environment lookup must not stick to "inactive")."""
    code = (
        "from odirouter_async.http import tracing\n"
        "import opentelemetry.trace as t\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "before = tracing.active()\n"
        "t.set_tracer_provider(TracerProvider())\n"
        "print(before, tracing.active())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_a_provider_named_by_the_environment_is_used() -> None:
    """OTEL_PYTHON_TRACER_PROVIDER set before import: spans are recorded without any code setting one."""
    code = "from odirouter_async.http import tracing\nprint(tracing.active())\n"
    env = {**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["True"]
