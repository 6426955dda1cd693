"""Optional OpenTelemetry spans: one per HTTP call, one per queue job wait.

Active only when ``opentelemetry-api`` is importable (``pip install 'odirouter_async[otel]'``)
and the application has set a tracer provider (``active()``); otherwise the transport builds no
span at all (no cost per request) and ``job_span`` yields a no-op.

HTTP spans (kind CLIENT), named ``"{method} {route template}"``, e.g.
``"GET /model/v1/queue/{endpoint}/requests/{request_id}/status"``, with ``http.request.method``,
``url.template``, ``server.address``, ``server.port``, ``http.response.status_code`` and
``odirouter.x_request_id``.  The full URL is never recorded (output URLs may carry signed
query strings); nor is any header.

LLM spans (kind CLIENT, ``http/genai.py``): a chat or Responses call is one more span, named
``"chat {model}"`` with the OpenTelemetry GenAI semantic conventions, parent of its HTTP span.

Job spans (kind INTERNAL), named ``"queue.job {endpoint}"``, with ``odirouter.endpoint``,
``odirouter.request_id`` and, when the caller records it, ``odirouter.job.status``.
Contract for the queue side::

    with job_span(endpoint, request_id) as span:
        result = await ...wait...
        span.record_status("COMPLETED")      # or let the exception mark the span as an error
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = (
    "ENABLED",
    "PROVIDER_FROM_ENV",
    "HTTPSpan",
    "JobSpan",
    "active",
    "http_span",
    "job_span",
    "route_template",
)


def _installed() -> bool:
    try:
        return find_spec("opentelemetry") is not None
    except (ImportError, ValueError):  # pragma: no cover - a broken or odd installation
        return False


#: the API is installed; it is imported only once the application imported it (it must have, to
#: set a provider) or names a provider in ``OTEL_PYTHON_TRACER_PROVIDER``: a client that does
#: not trace never loads it (a large share of ``import odirouter_async``: BENCHMARKS.md, "Import")
ENABLED: Final = _installed()
_TRACER_NAME: Final = "odirouter_async"
_trace: Any = None  # ``opentelemetry.trace``, once loaded (``_load``)
_NON_RECORDING: tuple[type, ...] = ()
#: a proxy tracer: it follows the provider the application sets, whenever it sets it
_tracer: Any = None
_MISSING: Final = object()
#: ``active()``'s fast answer while no provider is set: the API keeps the provider in a module
#: global (read when present) and otherwise loads one named by this variable, which we read once
#: at import (reading ``os.environ`` per request raises and catches a ``KeyError`` each time)
PROVIDER_FROM_ENV: Final = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ

# The gateway's routes, most specific first: path regex -> template (no ids in span names).
_JOB = "/model/v1/queue/{endpoint}/requests/{request_id}"
_ROUTES: Final = tuple(
    (re.compile(pattern).fullmatch, template)
    for pattern, template in (
        (r"/model/v1/queue/.+/requests/[^/]+/status", _JOB + "/status"),
        (r"/model/v1/queue/.+/requests/[^/]+/response", _JOB + "/response"),
        (r"/model/v1/queue/.+/requests/[^/]+/cancel", _JOB + "/cancel"),
        (r"/model/v1/queue/.+/requests/[^/]+", _JOB),
        (r"/model/v1/queue/.+", "/model/v1/queue/{endpoint}"),
        (r"/v1/videos/[^/]+/content", "/v1/videos/{video_id}/content"),
        (r"/v1/videos/[^/]+", "/v1/videos/{video_id}"),
        (r"/v1/responses/[^/]+/cancel", "/v1/responses/{response_id}/cancel"),
        (r"/v1/responses/[^/]+", "/v1/responses/{response_id}"),
    )
)
_FIXED: Final = frozenset({"/v1/models", "/v1/chat/completions", "/v1/responses", "/v1/videos"})


def route_template(path: str) -> str:
    """The route template of a request path (``/v1/videos/{video_id}``), or ``"other"``."""
    path = path.split("?", 1)[0]
    if path in _FIXED:
        return path
    for fullmatch, template in _ROUTES:
        if fullmatch(path):
            return template
    return "other"


def active() -> bool:
    """Whether spans would be recorded: OpenTelemetry is installed and the application set a
    tracer provider (the default proxy / no-op provider records nothing, so nothing is built).

    A provider set with ``set_tracer_provider()`` counts from then on; one named by the
    ``OTEL_PYTHON_TRACER_PROVIDER`` variable counts when the variable was set before import."""
    api = _trace
    if api is None:
        if not ENABLED or ("opentelemetry.trace" not in sys.modules and not PROVIDER_FROM_ENV):
            return False  # nobody imported the API, so nobody set a provider
        api = _load()
        if api is None:
            return False
    if getattr(api, "_TRACER_PROVIDER", _MISSING) is None and not PROVIDER_FROM_ENV:
        return False  # what get_tracer_provider() would say (a proxy), without its env lookup
    return not isinstance(api.get_tracer_provider(), _NON_RECORDING)


def _load() -> Any:
    """Import the OpenTelemetry API (once) and build the proxy tracer; ``None`` if it fails."""
    global _trace, _tracer, _NON_RECORDING
    try:
        import opentelemetry.trace as api
    except ImportError:  # pragma: no cover - find_spec said it was there
        return None
    _NON_RECORDING = (api.ProxyTracerProvider, api.NoOpTracerProvider)
    _tracer = api.get_tracer(_TRACER_NAME)
    _trace = api
    return api


class HTTPSpan:
    """The span of one HTTP call, as the transport sees it (a no-op without a recording span)."""

    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def status(self, status_code: int, x_request_id: str | None) -> None:
        """Record the final HTTP status and the call's ``X-Request-Id``."""
        self._span.set_attribute("http.response.status_code", status_code)
        if x_request_id:
            self._span.set_attribute("odirouter.x_request_id", x_request_id)
        if status_code >= 400 and _trace is not None:
            self._span.set_status(_trace.StatusCode.ERROR)


@contextmanager
def http_span(method: str, url: str, x_request_id: str, *, own: bool) -> Iterator[HTTPSpan]:
    """A CLIENT span around one HTTP call (all its attempts); exceptions mark it as an error."""
    assert _trace is not None
    parts = urlsplit(url)
    template = route_template(parts.path) if own else "other"
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.template": template,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        "odirouter.x_request_id": x_request_id,
    }
    with _tracer.start_as_current_span(
        f"{method} {template}", kind=_trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield HTTPSpan(span)


class JobSpan:
    """The span of one queue job wait; ``record_status`` is a no-op without OpenTelemetry."""

    __slots__ = ("_span",)

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def record_status(self, status: str) -> None:
        """Record the job's last known status (``COMPLETED``, ``CANCELED``...)."""
        if self._span is not None:
            self._span.set_attribute("odirouter.job.status", status)


@contextmanager
def job_span(endpoint: str, request_id: str) -> Iterator[JobSpan]:
    """An INTERNAL span around waiting for one queue job; HTTP spans inside become its children."""
    if not active():
        yield JobSpan()
        return
    attributes = {"odirouter.endpoint": endpoint, "odirouter.request_id": request_id}
    with _tracer.start_as_current_span(f"queue.job {endpoint}", attributes=attributes) as span:
        yield JobSpan(span)
