"""Sora-style videos (``/v1/videos``), shaped like OpenAI's Videos API.

``POST /v1/videos`` takes ``multipart/form-data`` (``model``, ``prompt`` (required), ``seconds``,
``size``, file part ``input_reference``), a urlencoded form or a JSON object.  The upload is
streamed: its bytes are counted and hashed, never held (``EmuVideo.input_reference_bytes`` /
``_sha256``).  A video is ``queued`` for the emulator's ``queue_delay``, ``in_progress``
(``progress`` 0..99 by elapsed time) for ``video_duration`` seconds, then ``completed``
(progress 100) or, when the prompt contains "fail", ``failed`` with
``error: {"code": "video_generation_failed", "message"}``.

Also: ``GET /v1/videos`` (``limit``, ``after``, ``order``), ``GET /v1/videos/{id}``,
``DELETE /v1/videos/{id}``, ``POST /v1/videos/{id}/remix`` (JSON ``{"prompt"}``) and
``GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`` (deterministic bytes with a
Content-Length; 404 until completed, then for a failed video the variant's status).  Errors are
OpenAI-style; no credit -> 402.

Every body goes through the emulator's ``VideoVariant`` (``_video_variants``), which reshapes the
canonical OpenAI object (error as a string, loose types, nulls, other status words, id shapes).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import BodyPartReader, web

from ._common import Shared, current_request_id, json_response, openai_error, set_job_id
from ._files import serve_bytes
from ._queue import insufficient_balance
from ._video_variants import VideoVariant

__all__ = ("EmuVideo", "VideoService")

_DICT_DECODER = msgspec.json.Decoder(dict[str, Any])
_VARIANTS = {"video": ("mp4", None), "thumbnail": ("webp", 1024), "spritesheet": ("jpg", 2048)}
_EXPIRY = 3600


@dataclass(slots=True, eq=False)
class EmuVideo:
    """One video job.  ``started_at`` / ``finished_at`` are ``time.monotonic()`` values."""

    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: int
    created_mono: float
    started_at: float
    finished_at: float
    failed: bool = False
    remixed_from_video_id: str | None = None
    input_reference_bytes: int = 0
    input_reference_sha256: str | None = None
    input_reference_filename: str | None = None
    input_reference_content_type: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    first_seen_done_at: float | None = None

    def status_at(self, now: float) -> str:
        """``queued`` / ``in_progress`` / ``completed`` / ``failed`` at monotonic time ``now``."""
        if now >= self.finished_at:
            return "failed" if self.failed else "completed"
        return "in_progress" if now >= self.started_at else "queued"

    def body(self, now: float) -> dict[str, Any]:
        """The OpenAI-style video object at ``now``."""
        status = self.status_at(now)
        done = status in ("completed", "failed")
        if done:
            progress = 100
        elif status == "in_progress":
            span = self.finished_at - self.started_at
            progress = min(int(100 * (now - self.started_at) / span), 99) if span > 0 else 99
        else:
            progress = 0
        completed_at = self.created_at + round(self.finished_at - self.created_mono) if done else None
        error = {"code": "video_generation_failed", "message": "Video generation failed"}
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": progress,
            "created_at": self.created_at,
            "completed_at": completed_at,
            "expires_at": completed_at + _EXPIRY if completed_at is not None else None,
            "prompt": self.prompt,
            "seconds": self.seconds,
            "size": self.size,
            "remixed_from_video_id": self.remixed_from_video_id,
            "error": error if status == "failed" else None,
        }


def _not_found(video_id: str) -> web.Response:
    return openai_error(f"Video with id '{video_id}' not found.", 404, code="video_not_found")


class VideoService:
    """Videos and their routes."""

    def __init__(
        self,
        shared: Shared,
        *,
        queue_delay: float,
        duration: float,
        video_bytes: int,
        variant: VideoVariant | None = None,
    ) -> None:
        self.shared = shared
        self.variant = variant or VideoVariant("openai")
        self.queue_delay = queue_delay
        self.duration = duration
        self.video_bytes = video_bytes
        self.videos: dict[str, EmuVideo] = {}

    def _new(self, fields: dict[str, str], remixed_from: str | None = None) -> EmuVideo:
        now = self.shared.clock()
        prompt = fields["prompt"]
        return EmuVideo(
            id=self.variant.new_id(self.shared.rng),
            model=fields.get("model") or "sora-2",
            prompt=prompt,
            seconds=fields.get("seconds") or "4",
            size=fields.get("size") or "720x1280",
            created_at=int(time.time()),
            created_mono=now,
            started_at=now + self.queue_delay,
            finished_at=now + self.queue_delay + self.duration,
            failed="fail" in prompt.lower(),
            remixed_from_video_id=remixed_from,
            fields=fields,
        )

    async def _read_form(self, request: web.Request) -> tuple[dict[str, str], dict[str, Any]]:
        """Form fields and the streamed upload's facts; ``ValueError`` on a body it cannot read."""
        fields: dict[str, str] = {}
        upload: dict[str, Any] = {}
        ctype = request.content_type
        if ctype == "multipart/form-data":
            try:
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader):
                        raise ValueError("nested multipart bodies are not supported")
                    if part.filename is not None or part.name == "input_reference":
                        digest, size = hashlib.sha256(), 0
                        while chunk := await part.read_chunk(1 << 16):
                            digest.update(chunk)
                            size += len(chunk)
                        upload = {
                            "input_reference_bytes": size,
                            "input_reference_sha256": digest.hexdigest(),
                            "input_reference_filename": part.filename,
                            "input_reference_content_type": part.headers.get("Content-Type"),
                        }
                    elif part.name:
                        fields[part.name] = await part.text()
            except (ValueError, AssertionError, RuntimeError, web.HTTPException) as exc:
                raise ValueError(f"Malformed multipart body: {exc}") from None
        elif ctype == "application/json":
            try:
                data = _DICT_DECODER.decode(await request.read())
            except msgspec.DecodeError as exc:
                raise ValueError(f"Invalid JSON body: {exc}") from None
            fields = {
                k: v if isinstance(v, str) else msgspec.json.encode(v).decode() for k, v in data.items()
            }
        elif ctype == "application/x-www-form-urlencoded":
            form = await request.post()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            raise ValueError("Content-Type must be multipart/form-data or application/json")
        return fields, upload

    async def create(self, request: web.Request) -> web.Response:
        """``POST /v1/videos``."""
        try:
            fields, upload = await self._read_form(request)
        except ValueError as exc:
            return openai_error(str(exc))
        if not fields.get("prompt"):
            return openai_error(
                "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
            )
        if not self.shared.wallet.charge():
            return insufficient_balance(current_request_id())
        video = self._new(fields)
        for key, value in upload.items():
            setattr(video, key, value)
        return self._store(request, video)

    def _store(self, request: web.Request, video: EmuVideo) -> web.Response:
        self.videos[video.id] = video
        set_job_id(video.id)
        return json_response(self.variant.shape(video.body(self.shared.clock())))

    def _get(self, request: web.Request) -> EmuVideo | None:
        video_id = request.match_info["video_id"]
        set_job_id(video_id)
        return self.videos.get(video_id)

    async def retrieve(self, request: web.Request) -> web.Response:
        """``GET /v1/videos/{video_id}``."""
        video = self._get(request)
        if video is None:
            return _not_found(request.match_info["video_id"])
        now = self.shared.clock()
        body = video.body(now)
        if body["status"] in ("completed", "failed") and video.first_seen_done_at is None:
            video.first_seen_done_at = now
        return json_response(self.variant.shape(body))

    async def list_videos(self, request: web.Request) -> web.Response:
        """``GET /v1/videos``."""
        query = request.query
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            return openai_error("limit must be an integer", param="limit")
        if not 1 <= limit <= 100:
            return openai_error("limit must be between 1 and 100", param="limit")
        videos = [*self.videos.values()]
        if query.get("order", "desc") != "asc":
            videos.reverse()
        after = query.get("after")
        if after is not None:
            ids = [v.id for v in videos]
            videos = videos[ids.index(after) + 1 :] if after in ids else []
        now = self.shared.clock()
        page = [self.variant.shape(v.body(now)) for v in videos[:limit]]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(videos) > limit,
            }
        )

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /v1/videos/{video_id}``."""
        video = self._get(request)
        if video is None:
            return _not_found(request.match_info["video_id"])
        del self.videos[video.id]
        return json_response({"id": video.id, "object": "video.deleted", "deleted": True})

    async def remix(self, request: web.Request) -> web.Response:
        """``POST /v1/videos/{video_id}/remix``: a new video from an existing one."""
        source = self._get(request)
        if source is None:
            return _not_found(request.match_info["video_id"])
        try:
            data = _DICT_DECODER.decode(await request.read())
        except msgspec.DecodeError as exc:
            return openai_error(f"Invalid JSON body: {exc}")
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return openai_error(
                "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
            )
        if not self.shared.wallet.charge():
            return insufficient_balance(current_request_id())
        fields = {"prompt": prompt, "model": source.model, "seconds": source.seconds, "size": source.size}
        return self._store(request, self._new(fields, remixed_from=source.id))

    async def content(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/videos/{video_id}/content?variant=...``."""
        video = self._get(request)
        if video is None:
            return _not_found(request.match_info["video_id"])
        variant = request.query.get("variant", "video")
        if variant not in _VARIANTS:
            return openai_error("variant must be one of video, thumbnail, spritesheet", param="variant")
        status = video.status_at(self.shared.clock())
        if status == "failed":
            return openai_error(
                "Video generation failed: it has no content.",
                self.variant.failed_content_status,
                code="video_failed",
                type="invalid_request_error" if self.variant.failed_content_status < 500 else "server_error",
            )
        if status != "completed":
            return openai_error(
                "Video is not ready: its content is available once it has completed.",
                404,
                code="video_not_ready",
            )
        ext, size = _VARIANTS[variant]
        fault = self.shared.take_fault("videos.content", stream=True)
        name = f"{video.id}_{variant}"
        return await serve_bytes(request, name=name, ext=ext, size=size or self.video_bytes, fault=fault)
