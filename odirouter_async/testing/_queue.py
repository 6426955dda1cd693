"""The multimodal queue: submit, status, result and cancel of jobs (``/model/v1/queue/...``).

A job is a record of timestamps, not a task: it is ``IN_QUEUE`` until ``started_at``,
``IN_PROGRESS`` until ``finished_at`` and ``COMPLETED`` after, computed when asked.  Ten thousand
concurrent jobs cost ten thousand small objects in a dict.

Test controls ride in the submitted arguments under ``"_emu"`` (removed before the arguments are
stored or echoed in ``metadata``): ``duration`` (seconds, exact), ``queue_delay``, ``fail``
(an ``error_type``: the job ends ``COMPLETED`` with ``error`` + ``error_type``, e.g. the transient
``INFERENCE_TIMEOUT`` / ``INTERNAL_SERVER_ERROR`` or the input error ``CONTENT_BLOCKED``),
``fail_times`` (with ``fail``: only the first N jobs of these exact arguments fail, later submits
of them succeed -- a transient failure a new attempt gets past), ``error`` (its
message, default "Task execution failed"), ``outputs``, ``output_bytes``, ``result_status`` (the
result route answers this status with ``{"detail": "Runtime execution failed"}``), ``variant``
(this job's gateway variant, ``_variants``).

*Variants* (``Emulator(variant=...)``, ``_variants.QUEUE_VARIANTS``) change what the docs leave
open: the /response answer of a failed or cancelled job, job URLs on another origin, loosely typed
bodies and odd request ids.  The answers below are the ``documented`` variant (the default).

Answers (the documented ones, plus the emulator's choices where the docs are silent):

- submit: 200 ``{request_id, response_url, status_url, cancel_url, queue_position: 0}``;
  an endpoint outside the catalogue (``_catalogue.QUEUE_ENDPOINTS``) and never configured with
  ``emu.set_endpoint`` (unless ``Emulator(permissive=True)``), or listed in
  ``emu.unknown_endpoints``: 404 ``{"detail": "App not found: <id>"}``; bad
  JSON 400 and a non-object body 422 ``{"detail"}``; ``webhook_url`` / ``?fal_webhook`` 400
  ``{"detail": "webhook not supported"}``; no credit 402 ``INSUFFICIENT_BALANCE`` (``balance``);
  queue credit used up (``emu.queue_credit``: jobs left, ``None`` unlimited; settable, so a test
  tops up by setting it again) 403 ``{"error": "insufficient balance"}``, as the real gateway
  family answers.
- status: 200 ``{status, request_id, response_url, queue_position (queued), metrics (done),
  error + error_type (failed), logs}``; ``logs`` is ``[]`` unless asked with ``?logs=1`` (then
  one ``{message, level, timestamp}`` line per phase reached: queued, running, done).
- result: 202 + the status body while pending; 200 ``{request_id, outputs, metadata}``; for a
  failed or cancelled job (undocumented) **400** ``{status: "COMPLETED", request_id, error,
  error_type}``.
- cancel: 202 ``CANCELLATION_REQUESTED`` (the job ends at once with ``error_type: "CANCELED"``,
  ``error: "Task was canceled"``), 400 ``ALREADY_COMPLETED``, 404 ``NOT_FOUND``.
- unknown request id (or one of another endpoint) on status/result: 404 ``{"detail": "Request not found"}``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import msgspec
from aiohttp import web

from ._catalogue import QUEUE_ENDPOINT_KINDS, ModelCatalogue
from ._common import Shared, current_request_id, detail_error, json_response, set_job_id, ulid
from ._files import CONTENT_TYPES, FileInfo
from ._variants import DEFAULT, QueueVariant, VariantPicker, loose_result, loose_status

__all__ = ("EmuJob", "EndpointConfig", "QueueService", "insufficient_balance")

IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
_DICT_DECODER = msgspec.json.Decoder(dict[str, Any])
_TYPES = {"image": "png", "video": "mp4", "audio": "mp3"}


@dataclass(slots=True)
class EndpointConfig:
    """Timing and outputs of jobs on one endpoint (``emu.set_endpoint``)."""

    duration: float
    jitter: float
    queue_delay: float
    outputs: int = 1
    output_bytes: int = 2048
    output_type: str | None = None  # "image" | "video" | "audio"; None: guessed from the id


@dataclass(slots=True, eq=False)
class EmuJob:
    """One queue job.  Times are ``time.monotonic()`` values; a cancel moves ``finished_at``."""

    request_id: str
    endpoint: str
    arguments: dict[str, Any]
    created_at: float
    started_at: float
    finished_at: float
    duration: float
    outputs: int = 1
    output_bytes: int = 2048
    output_type: str = "image"
    error: str | None = None
    error_type: str | None = None
    cancelled: bool = False
    result_status: int | None = None
    first_seen_done_at: float | None = None
    controls: dict[str, Any] = field(default_factory=dict)
    variant: QueueVariant = DEFAULT

    def status_at(self, now: float) -> str:
        """The job's status at monotonic time ``now``."""
        if now >= self.finished_at:
            return COMPLETED
        return IN_PROGRESS if now >= self.started_at else IN_QUEUE

    @property
    def ext(self) -> str:
        """Extension of the output files."""
        return _TYPES.get(self.output_type, "png")

    def file_name(self, index: int) -> str:
        """Name of output file ``index`` on the CDN."""
        return f"{self.request_id}_{index}.{self.ext}"


def insufficient_balance(request_id: str) -> web.Response:
    """402 in the gateway's error shape (queue submits, video creates)."""
    error = {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient balance"}
    return json_response({"error": error, "request_id": request_id}, 402)


def _guess_type(endpoint: str) -> str:
    known = QUEUE_ENDPOINT_KINDS.get(endpoint)
    if known is not None:
        return known
    lowered = endpoint.lower()
    if "2v" in lowered or "video" in lowered or "sora" in lowered:
        return "video"
    if "audio" in lowered or "music" in lowered or "tts" in lowered:
        return "audio"
    return "image"


def _number(controls: dict[str, Any], key: str, kind: type, lo: float) -> Any:
    value = controls.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < lo:
        raise ValueError(f"_emu.{key} must be a number >= {lo}")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"_emu.{key} must be an integer")
    return kind(value)


class QueueService:
    """Jobs and the queue routes."""

    def __init__(
        self,
        shared: Shared,
        defaults: EndpointConfig,
        variants: VariantPicker | None = None,
        catalogue: ModelCatalogue | None = None,
    ) -> None:
        self.shared = shared
        self.catalogue = catalogue if catalogue is not None else ModelCatalogue(permissive=True)
        self.defaults = defaults
        self.variants = variants or VariantPicker(None, 0)
        self.jobs: dict[str, EmuJob] = {}
        self.endpoints: dict[str, EndpointConfig] = {}
        self.unknown_endpoints: set[str] = set()
        #: Jobs the account can still pay for (``None``: unlimited); then 403 "insufficient balance".
        self.credit: int | None = None
        self._fail_counts: Counter[bytes] = Counter()  # (endpoint, arguments) -> jobs made (fail_times)

    def set_endpoint(self, endpoint: str, **changes: Any) -> EndpointConfig:
        """Configure one endpoint (unset values fall back to the emulator's defaults)."""
        current = self.endpoints.get(endpoint, self.defaults)
        config = replace(current, **{k: v for k, v in changes.items() if v is not None})
        self.endpoints[endpoint] = config
        self.unknown_endpoints.discard(endpoint)
        return config

    def _urls(self, job: EmuJob) -> dict[str, str]:
        host = self.shared.cdn_url if job.variant.foreign else self.shared.job_base_url
        rid = quote(job.request_id, safe="-._~:@")
        base = f"{host}/model/v1/queue/{quote(job.endpoint, safe='-._~:@')}/requests/{rid}"
        return {
            "response_url": f"{base}/response",
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def _find(self, request: web.Request) -> EmuJob | None:
        job = self.jobs.get(request.match_info["request_id"])
        if job is None or job.endpoint != request.match_info["endpoint"]:
            return None
        return job

    def _status_body(self, job: EmuJob, status: str, logs: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": status,
            "request_id": job.request_id,
            "response_url": self._urls(job)["response_url"],
        }
        if status == IN_QUEUE:
            body["queue_position"] = 0
        elif status == COMPLETED:
            if job.error is not None:
                body["error"] = job.error
                body["error_type"] = job.error_type
            else:
                body["metrics"] = {"inference_time": round(job.finished_at - job.started_at, 3)}
        body["logs"] = _logs(job, status) if logs else []
        return loose_status(body) if job.variant.loose else body

    def _seen(self, job: EmuJob, status: str, now: float) -> None:
        if status == COMPLETED and job.first_seen_done_at is None:
            job.first_seen_done_at = now

    async def submit(self, request: web.Request) -> web.Response:
        """``POST /model/v1/queue/{endpoint}``."""
        endpoint = request.match_info["endpoint"]
        known = self.catalogue.accepts_endpoint(endpoint, self.endpoints)
        if endpoint in self.unknown_endpoints or not known:
            return detail_error(f"App not found: {endpoint}", 404)
        if "fal_webhook" in request.query or "webhook_url" in request.query:
            return detail_error("webhook not supported", 400)
        try:
            arguments = _DICT_DECODER.decode(await request.read())
        except msgspec.ValidationError:
            return detail_error("Request body must be a JSON object of model parameters", 422)
        except msgspec.DecodeError as exc:
            return detail_error(f"Invalid JSON body: {exc}", 400)
        if "webhook_url" in arguments or "fal_webhook" in arguments:
            return detail_error("webhook not supported", 400)
        identity = endpoint.encode() + b"\n" + msgspec.json.encode(arguments, order="sorted")
        controls = arguments.pop("_emu", None) or {}
        if not isinstance(controls, dict):
            return detail_error("_emu must be an object", 422)
        if self.credit is not None and self.credit < 1:
            return json_response({"error": "insufficient balance"}, 403)
        try:
            controls = self._script_failure(identity, controls)
            job = self._new_job(endpoint, arguments, controls)
            job.variant = self.variants.pick(controls.get("variant"))
            if job.variant.ids != "ulid":
                job.request_id = job.variant.new_id(self.shared.rng)
        except ValueError as exc:
            return detail_error(str(exc), 422)
        if not self.shared.wallet.charge():
            return insufficient_balance(current_request_id())
        if self.credit is not None:
            self.credit -= 1
        self.jobs[job.request_id] = job
        set_job_id(job.request_id)
        return json_response({"request_id": job.request_id, **self._urls(job), "queue_position": 0})

    def _script_failure(self, identity: bytes, controls: dict[str, Any]) -> dict[str, Any]:
        """``_emu.fail_times``: the first N jobs of these arguments fail, the later ones do not."""
        times = _number(controls, "fail_times", int, 0)
        if times is None:
            return controls
        made = self._fail_counts[identity]
        self._fail_counts[identity] = made + 1
        if made < times:
            return controls
        return {k: v for k, v in controls.items() if k not in ("fail", "error")}

    def _new_job(self, endpoint: str, arguments: dict[str, Any], controls: dict[str, Any]) -> EmuJob:
        cfg = self.endpoints.get(endpoint, self.defaults)
        rng = self.shared.rng
        duration = _number(controls, "duration", float, 0)
        if duration is None:
            duration = (
                cfg.duration * rng.uniform(1 - cfg.jitter, 1 + cfg.jitter) if cfg.jitter else cfg.duration
            )
        queue_delay = _number(controls, "queue_delay", float, 0)
        queue_delay = cfg.queue_delay if queue_delay is None else queue_delay
        outputs = _number(controls, "outputs", int, 0)
        output_bytes = _number(controls, "output_bytes", int, 0)
        result_status = _number(controls, "result_status", int, 100)
        fail = controls.get("fail")
        if fail is not None and not isinstance(fail, str):
            raise ValueError("_emu.fail must be an error_type string")
        error = controls.get("error")
        if error is not None and not isinstance(error, str):
            raise ValueError("_emu.error must be a string")
        now = self.shared.clock()
        return EmuJob(
            request_id="mmsu_" + ulid(rng),
            endpoint=endpoint,
            arguments=arguments,
            created_at=now,
            started_at=now + queue_delay,
            finished_at=now + queue_delay + duration,
            duration=duration,
            outputs=cfg.outputs if outputs is None else outputs,
            output_bytes=cfg.output_bytes if output_bytes is None else output_bytes,
            output_type=cfg.output_type or _guess_type(endpoint),
            error=(error or "Task execution failed") if fail else None,
            error_type=fail,
            result_status=result_status,
            controls=controls,
        )

    async def status(self, request: web.Request) -> web.Response:
        """``GET .../requests/{request_id}/status``."""
        job = self._find(request)
        if job is None:
            return detail_error("Request not found", 404)
        now = self.shared.clock()
        status = job.status_at(now)
        self._seen(job, status, now)
        return json_response(self._status_body(job, status, logs=request.query.get("logs") == "1"))

    async def response(self, request: web.Request) -> web.Response:
        """``GET .../requests/{request_id}/response``."""
        job = self._find(request)
        if job is None:
            return detail_error("Request not found", 404)
        now = self.shared.clock()
        status = job.status_at(now)
        if status != COMPLETED:
            return json_response(self._status_body(job, status), 202)
        self._seen(job, status, now)
        if job.error is not None:
            return job.variant.failure(self._status_body(job, status), job.cancelled)
        if job.result_status is not None and job.result_status >= 300:
            return detail_error("Runtime execution failed", job.result_status)
        body = {"request_id": job.request_id, "outputs": self._outputs(job), "metadata": job.arguments}
        return loose_result(body) if job.variant.loose else json_response(body)

    def _outputs(self, job: EmuJob) -> list[dict[str, Any]]:
        outputs = []
        for i in range(job.outputs):
            name = job.file_name(i)
            item: dict[str, Any] = {
                "type": job.output_type,
                "url": f"{self.shared.cdn_url}/files/{quote(name, safe='-._~:@')}",
                "content_type": CONTENT_TYPES[job.ext],
                "file_name": name,
                "file_size": job.output_bytes,
            }
            if job.output_type in ("image", "video"):
                item["width"], item["height"] = (1024, 1024) if job.output_type == "image" else (1280, 720)
            if job.output_type in ("video", "audio"):
                item["duration"] = 5
            outputs.append(item)
        return outputs

    async def cancel(self, request: web.Request) -> web.Response:
        """``PUT .../requests/{request_id}/cancel``."""
        job = self._find(request)
        if job is None:
            return json_response({"status": "NOT_FOUND"}, 404)
        now = self.shared.clock()
        if job.status_at(now) == COMPLETED:
            return json_response({"status": "ALREADY_COMPLETED"}, 400)
        job.cancelled = True
        job.error, job.error_type = "Task was canceled", "CANCELED"
        job.started_at = min(job.started_at, now)
        job.finished_at = now
        return json_response({"status": "CANCELLATION_REQUESTED"}, 202)

    def output_file(self, name: str) -> FileInfo | None:
        """(extension, size) of a job output file name, for the CDN; ``None`` if there is none."""
        stem, _, ext = name.rpartition(".")
        request_id, _, index = stem.rpartition("_")
        job = self.jobs.get(request_id)
        if job is None or not index.isdigit() or int(index) >= job.outputs or ext != job.ext:
            return None
        set_job_id(job.request_id)
        return job.ext, job.output_bytes


def _logs(job: EmuJob, status: str) -> list[dict[str, Any]]:
    """fal-style runner logs (``?logs=1``): one line per phase the job has reached."""
    lines = [{"message": "queued", "level": "INFO", "timestamp": job.created_at}]
    if status != IN_QUEUE:
        lines.append({"message": "running", "level": "INFO", "timestamp": job.started_at})
    if status == COMPLETED:
        lines.append({"message": "done", "level": "INFO", "timestamp": job.finished_at})
    return lines
