"""The OdiRouter gateway emulator: a real aiohttp server on 127.0.0.1 for tests, demos and benchmarks.

::

    from odirouter_async.testing import Emulator

    async with Emulator(job_duration=0.1) as emu:
        client = AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url)

Scripting API (details in each module's docstring):

- ``Emulator(api_key="emu-test-key", *, host, port=0, cdn_port=0, tls=False, seed=0,
  job_duration=2.0, job_jitter=0.25, queue_delay=0.0, poll_rate_limit=None, foreign_urls=False,
  balance=None, accept_key_scheme=False, video_duration=2.0, video_bytes=4096,
  output_bytes=2048, keep_log=True, tokens_per_second=0.0, permissive=False, models=(),
  echo=False, video_variant="openai", variant=None)``; LLM ids outside the catalogue
  (``_catalogue``) answer 404 ``model_not_found``
- queue variants (``_variants``): ``Emulator(variant=name)`` fixes how the queue answers what the
  docs leave open (the /response answer of a failed or cancelled job: 400/500/422/200/404/502/
  409/499 shapes; job URLs on the second origin; loosely typed bodies; uuid/long/unicode ids);
  ``variant="random"`` picks one per job, seeded by ``seed``; ``"_emu": {"variant": name}`` per
  job.  ``QUEUE_VARIANTS``: every name, for ``pytest.mark.parametrize``;
  ``variant_emulator_fixture(name=None, variants=(*QUEUE_VARIANTS, "random"), **options)``: an
  ``emu``-style fixture parametrized over them
- ``emu.url``, ``emu.api_key``, ``emu.cdn_url`` (second origin: output files),
  ``emu.ca_cert_path`` / ``emu.client_ssl_context()`` (``tls=True``)
- ``emu.faults.add(route, status=, body=, headers=, drop=, delay=, truncate_after=, stall_after=,
  error_event_after=, malformed_after=, content_type=, times=1, probability=None, burst=None,
  every=None, offset=None)`` -> ``Fault`` (``_faults``); ``probability`` (seeded by ``seed``) and ``burst=N,
  every=M`` make a fault apply to some requests only (soak runs)
- ``emu.serve_sse(route, body, chunk_sizes=None)``: exact bytes for the next stream request
- control headers ``x-emu-chunks``, ``x-emu-chunk-text``, ``x-emu-per-write``,
  ``x-emu-tool-args-bytes``, ``x-emu-fragment-bytes``, ``x-emu-reasoning``, ``x-emu-done`` (``_llm``)
- queue: ``emu.set_endpoint(id, duration=, jitter=, queue_delay=, outputs=, output_bytes=,
  output_type=)``, ``emu.unknown_endpoints``, ``emu.jobs[request_id]`` (``EmuJob``), per-job test
  controls in the arguments under ``"_emu"`` (``_queue``)
- ``emu.videos[video_id]`` (``EmuVideo``), ``emu.balance``, ``emu.poll_rate_limit`` (settable)
- videos: ``Emulator(video_variant=NAME | "random")``, ``emu.video_variant`` (``VideoVariant``),
  ``VIDEO_VARIANTS`` (every name): error as a string, loose types, nulls, unknown status words,
  UUID / long ids, 404/409/500 for a failed video's content (``_video_variants``)
- ``emu.stats`` (``EmulatorStats``: ``log``, ``count(route)``, ``job_requests``,
  ``submits_by_body`` (keyed by ``submit_key(endpoint, body)``), ``duplicate_submits``,
  ``submits_by_request_id_header``, ...), ``emu.reset_stats()``
- ``file_bytes(name, ext, size)``: the exact bytes the CDN serves for an output file
- ``GET /_emu/stats`` (``?jobs=0``): the counters above, poll arrivals per second and per-job
  timings as JSON, for a client in another process (benchmarks); no auth, not counted

Route names: models, chat, responses, queue.submit, queue.status, queue.response, queue.cancel,
videos.create, videos.retrieve, videos.list, videos.delete, videos.remix, videos.content, files.

pytest: the ``odirouter_emulator`` fixture and marker (``pytest_plugin``, opt-in: write
``pytest_plugins = ["odirouter_async.testing.pytest_plugin"]`` in your ``conftest.py``; it is not
a ``pytest11`` entry point, so installing the SDK changes no other pytest run) and
``emulator_fixture(**options)`` to build more.  Names are imported lazily, so importing this
package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cli import run_emulator as run_emulator
    from ._faults import ROUTES as ROUTES, Fault as Fault, FaultRegistry as FaultRegistry
    from ._files import file_bytes as file_bytes
    from ._fixture import (
        emulator_fixture as emulator_fixture,
        variant_emulator_fixture as variant_emulator_fixture,
    )
    from ._queue import EmuJob as EmuJob, EndpointConfig as EndpointConfig
    from ._server import Emulator as Emulator
    from ._stats import (
        EmulatorStats as EmulatorStats,
        RequestRecord as RequestRecord,
        submit_key as submit_key,
    )
    from ._variants import (
        QUEUE_VARIANTS as QUEUE_VARIANTS,
        QueueVariant as QueueVariant,
    )
    from ._video_variants import VIDEO_VARIANTS as VIDEO_VARIANTS, VideoVariant as VideoVariant
    from ._videos import EmuVideo as EmuVideo

__all__ = (
    "QUEUE_VARIANTS",
    "ROUTES",
    "VIDEO_VARIANTS",
    "EmuJob",
    "EmuVideo",
    "Emulator",
    "EmulatorStats",
    "EndpointConfig",
    "Fault",
    "FaultRegistry",
    "QueueVariant",
    "RequestRecord",
    "VideoVariant",
    "emulator_fixture",
    "file_bytes",
    "run_emulator",
    "submit_key",
    "variant_emulator_fixture",
)

_LAZY = {
    "QUEUE_VARIANTS": "._variants",
    "QueueVariant": "._variants",
    "variant_emulator_fixture": "._fixture",
    "ROUTES": "._faults",
    "Fault": "._faults",
    "FaultRegistry": "._faults",
    "file_bytes": "._files",
    "emulator_fixture": "._fixture",
    "EmuJob": "._queue",
    "EndpointConfig": "._queue",
    "Emulator": "._server",
    "EmulatorStats": "._stats",
    "RequestRecord": "._stats",
    "EmuVideo": "._videos",
    "VIDEO_VARIANTS": "._video_variants",
    "VideoVariant": "._video_variants",
    "run_emulator": "._cli",
    "submit_key": "._stats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
