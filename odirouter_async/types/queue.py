"""Wire types of the multimodal queue (``/model/v1/queue/...``): submit, status, result.

Shapes follow ``odirouter-api.md`` §5 and stay tolerant of what the docs leave open (§12):
every field but the ones a decision needs is optional, ``error`` may be a string *or* an object
(kept as ``object``), numbers the docs call "number" accept ints and floats, and unknown fields
are ignored.  Whole bodies are ``TopLevel``, so ``obj.raw`` always has the JSON as received,
which matters for results described as "provider response after completion".

Decoders are built once, here; ``_jobstate.py`` turns decoded bodies into decisions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from ._base import TopLevel, WireModel

__all__ = (
    "JOB_RESULT_DECODER",
    "QUEUE_STATUS_DECODER",
    "QUEUE_SUBMIT_DECODER",
    "JobOutput",
    "JobResult",
    "QueueMetrics",
    "QueueStatus",
    "QueueSubmitResponse",
)


class QueueSubmitResponse(TopLevel):
    """``POST /model/v1/queue/{endpoint}``: the job's id and its three URLs.

    Prefer the returned URLs over building paths; any of them may be missing (then the shell builds
    the documented path from ``request_id``).  ``queue_position`` is "fixed 0" today.
    """

    request_id: str
    response_url: str | None = None
    status_url: str | None = None
    cancel_url: str | None = None
    queue_position: int | float | None = None


class QueueMetrics(WireModel):
    """``metrics`` of a completed job."""

    inference_time: float | None = None


class QueueStatus(TopLevel):
    """A status body: ``GET .../status``, and ``GET .../response`` while pending (HTTP 202).

    ``status`` is ``IN_QUEUE`` | ``IN_PROGRESS`` | ``COMPLETED`` per the docs, but is kept as a
    string: ``_jobstate.classify_status`` decides what any value means.  A failure is
    ``COMPLETED`` with ``error`` (a string in the docs, possibly an object) and ``error_type``.
    """

    status: str
    request_id: str | None = None
    response_url: str | None = None
    status_url: str | None = None
    cancel_url: str | None = None
    queue_position: int | float | None = None
    metrics: QueueMetrics | None = None
    error: object = None
    error_type: str | None = None
    logs: object = None


class JobOutput(WireModel):
    """One artefact of a finished job (``outputs[i]``); text results may have no ``url``."""

    type: str | None = None
    url: str | None = None
    text: str | None = None
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | float | None = None
    width: int | float | None = None
    height: int | float | None = None
    duration: int | float | None = None
    metadata: dict[str, Any] | None = None


class JobResult(TopLevel):
    """``GET .../response`` once the job is done: ``result.outputs[0].url``, ``result.metadata``.

    ``result.raw`` is the whole body as received (from ``TopLevel``); when the gateway returns a
    body that is not the documented envelope, ``outputs`` is empty and ``raw`` has everything.
    """

    request_id: str | None = None
    outputs: list[JobOutput] = msgspec.field(default_factory=list)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    async def download(
        self, dir: str | os.PathLike[str], *, concurrency: int = 8, overwrite: bool = False
    ) -> list[Path]:
        """Save every output under ``dir`` and return the paths, in output order.

        Files are streamed (bounded memory), written to a temporary file and renamed into place,
        checked against ``file_size`` / Content-Length, and fetched without the API key from any
        host but the gateway's.  ``data:`` URLs are decoded; text outputs are written as ``.txt``.
        An existing file is a ``FileExistsError`` unless ``overwrite=True``.  Details:
        ``odirouter_async._download``.  The result must come from a client (``job.result()``,
        ``queue.run``, ``queue.map``); otherwise use ``client.queue.download(result, dir)``.
        """
        from .._download import download_result  # the I/O shell; this module stays sans-IO

        return await download_result(self, dir, concurrency=concurrency, overwrite=overwrite)


QUEUE_SUBMIT_DECODER = msgspec.json.Decoder(QueueSubmitResponse)
QUEUE_STATUS_DECODER = msgspec.json.Decoder(QueueStatus)
JOB_RESULT_DECODER = msgspec.json.Decoder(JobResult)
