"""Wire types of the multimodal queue (``/model/v1/queue/...``): submit, status, result.

Shapes follow ``odirouter-api.md`` §5 and stay tolerant of what the docs leave open (§12):
every field but the ones a decision needs is optional, ``error`` may be a string *or* an object
(kept as ``object``), numbers the docs call "number" accept ints and floats, and unknown fields
are ignored.  Whole bodies are ``TopLevel``, so ``obj.raw`` always has the JSON as received,
which matters for results described as "provider response after completion".

Decoding is *lenient* where the docs leave types open: ``decode_job_result`` and
``decode_status`` try the strict decoder first (the hot path) and, when a field has an unexpected
type (``"width": "1024"``, ``"metrics": null``, a number out of range such as ``1e400``), decode
the body as plain JSON and coerce field by field: every output present stays present, typed
fields are best effort (``None`` when they cannot be read), and ``output.raw`` / ``result.raw``
keep the JSON as received.  Numbers out of float range are kept as ``decimal.Decimal`` in ``raw``.

Decoders are built once, here; ``queue/job_state.py`` turns decoded bodies into decisions.
"""

from __future__ import annotations

import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from .._exceptions import OdiRouterError
from ._base import TopLevel, WireModel, attach_raw, attach_raw_item

#: the public names (re-exported by ``odirouter_async.types``); the decoders and ``decode_*``
#: functions are the package's own, imported by name where they are used
__all__ = (
    "JobOutput",
    "JobResult",
    "QueueMetrics",
    "QueueStatus",
    "QueueSubmitResponse",
    "StatusUpdate",
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
    string: ``queue.job_state.classify_status`` decides what any value means.  A failure is
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


class JobOutput(WireModel, dict=True):
    """One artefact of a finished job (``outputs[i]``); text results may have no ``url``.

    ``raw``: the output's JSON as received when the SDK had to coerce it (a field of an
    unexpected type), else its fields (unknown keys are in ``result.raw["outputs"][i]``).
    """

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

    @property
    def raw(self) -> Any:
        """The output as received when it was coerced, else its fields as plain objects."""
        raw = self.__dict__.get("_raw_obj")
        return raw if raw is not None else msgspec.to_builtins(self)


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

        The same as ``await client.queue.download(result, dir)`` with the client that produced
        this result (``job.result()``, ``queue.run``, ``queue.map``, a journal replay): the result
        holds that client's download function, never the client itself, and this module does no
        I/O.  Files are streamed to a temporary file and renamed into place, sizes checked, no key
        sent to foreign hosts; an existing file is a ``FileExistsError`` unless ``overwrite=True``.
        A result decoded by hand holds no download function: ``OdiRouterError`` names the call
        to use instead.
        """
        downloader = self.__dict__.get("_downloader")
        if downloader is None:
            raise OdiRouterError(
                "this JobResult did not come from a client (decoded by hand?), so it cannot "
                "download: use `await client.queue.download(result, dir)` or `await job.download(dir)`"
            )
        paths: list[Path] = await downloader(self, dir, concurrency=concurrency, overwrite=overwrite)
        return paths


class StatusUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A change in a queue job's status while waiting (``on_update=``, ``job.updates()``).

    ``status``: ``IN_QUEUE`` / ``IN_PROGRESS`` / ``COMPLETED`` (or whatever the gateway said);
    ``queue_position`` and ``logs`` when the gateway sends them (logs are asked with
    ``?logs=1``; each item as received); ``raw``: the status body as received (``None`` when
    the job's end was seen on its result, not on a status body).
    """

    request_id: str
    status: str
    queue_position: int | float | None = None
    logs: list[Any] = msgspec.field(default_factory=list)
    raw: Any = None


QUEUE_SUBMIT_DECODER = msgspec.json.Decoder(QueueSubmitResponse)
QUEUE_STATUS_DECODER = msgspec.json.Decoder(QueueStatus)
JOB_RESULT_DECODER = msgspec.json.Decoder(JobResult)


# ----------------------------------------------------------------------------------------------
# Lenient decoding (only when the strict decoder refused a body)
# ----------------------------------------------------------------------------------------------


def _float(text: str) -> float | Decimal:
    value = float(text)
    return value if math.isfinite(value) else Decimal(text)


_LOOSE_DECODER = msgspec.json.Decoder(Any, float_hook=_float)


def decode_loose(raw: bytes) -> Any:
    """Any JSON as plain objects (numbers out of float range as ``Decimal``).

    Raises ``msgspec.DecodeError`` for bytes that are not JSON and ``RecursionError`` for JSON
    nested too deep (callers turn both into ``ResponseValidationError``).
    """
    return _LOOSE_DECODER.decode(raw)


def _str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _num(value: object) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


_OUTPUT_STR = ("type", "url", "text", "content_type", "file_name")
_OUTPUT_NUM = ("file_size", "width", "height", "duration")


def _loose_output(item: object) -> JobOutput:
    if isinstance(item, dict):
        fields: dict[str, Any] = {k: _str(item.get(k)) for k in _OUTPUT_STR}
        fields.update({k: _num(item.get(k)) for k in _OUTPUT_NUM})
        output = JobOutput(**fields, metadata=_dict(item.get("metadata")))
    elif isinstance(item, str):  # a bare URL (or text) instead of an object
        is_url = item.startswith(("http://", "https://", "data:"))
        output = JobOutput(url=item) if is_url else JobOutput(type="text", text=item)
    else:
        output = JobOutput()
    return attach_raw_item(output, item)


def _loose_result(obj: dict[str, Any]) -> JobResult:
    outputs = obj.get("outputs")
    if isinstance(outputs, dict):  # one output instead of a list of them
        outputs = [outputs]
    items = outputs if isinstance(outputs, list) else []
    metadata = obj.get("metadata")
    return JobResult(
        request_id=_str(obj.get("request_id")),
        outputs=[_loose_output(item) for item in items],
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def decode_job_result(raw: bytes, request_id: str | None = None) -> JobResult:
    """A ``JobResult`` from a body known to be a JSON object; lenient (see the module docstring).

    Raises ``msgspec.DecodeError`` / ``RecursionError`` only for bytes that are not a JSON object.
    """
    try:
        return attach_raw(JOB_RESULT_DECODER.decode(raw), raw, request_id)
    except msgspec.DecodeError:
        obj = decode_loose(raw)
    if not isinstance(obj, dict):
        raise msgspec.ValidationError("the job result is not a JSON object")
    return attach_raw(_loose_result(obj), raw, request_id, obj)


def decode_status(raw: bytes, request_id: str | None = None) -> QueueStatus | None:
    """A ``QueueStatus``, lenient; ``None`` when the body has no string ``status``.

    Raises ``msgspec.DecodeError`` / ``RecursionError`` for bytes that are not JSON.
    """
    try:
        return attach_raw(QUEUE_STATUS_DECODER.decode(raw), raw, request_id)
    except msgspec.ValidationError:
        obj = decode_loose(raw)
    if not isinstance(obj, dict) or not isinstance(obj.get("status"), str):
        return None
    metrics = _dict(obj.get("metrics"))
    status = QueueStatus(
        status=obj["status"],
        request_id=_str(obj.get("request_id")),
        response_url=_str(obj.get("response_url")),
        status_url=_str(obj.get("status_url")),
        cancel_url=_str(obj.get("cancel_url")),
        queue_position=_num(obj.get("queue_position")),
        metrics=None if metrics is None else QueueMetrics(inference_time=_num(metrics.get("inference_time"))),
        error=obj.get("error"),
        error_type=_str(obj.get("error_type")),
        logs=obj.get("logs"),
    )
    return attach_raw(status, raw, request_id, obj)
