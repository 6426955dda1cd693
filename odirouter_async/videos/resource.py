"""``client.videos``: Sora-style videos (``/v1/videos``), shaped like OpenAI's Videos API.

OdiRouter documents ``POST /v1/videos`` only as a separate multipart endpoint (``odirouter-api.md``
§6), so this follows OpenAI's shape and passes everything through: any keyword of ``create`` /
``remix`` and any ``extra_body`` key is sent as given, and every result keeps its raw JSON
(``video.raw``).

* ``create`` sends ``multipart/form-data``; ``input_reference`` (a ``Path``, ``bytes``, a binary
  file object, or a ``(filename, content[, content_type])`` tuple) is streamed in chunks, never
  read whole (``http/multipart.py``).  It is paid work: retried only when the gateway cannot have
  started it (connect failure, 429, 503), and then the whole file is sent again.  An unseekable
  stream cannot be re-sent, so that call is not retried at all.
* ``wait`` registers the video with the client's one poll scheduler as a ``PollTarget`` whose
  interpreter is ``videos.video_state.VideoWatch`` (``poll_interval`` is the schedule's fixed
  spacing, ``every``); the deadline rule is the queue's (``queue/scheduler.py``).  A ``failed``
  video raises ``JobFailed``; the caller's ``wait_timeout`` raises ``JobTimeout``.
* ``download_content`` streams to a temporary file next to the destination, checks the size
  against ``Content-Length``, then renames it into place (atomic); a body cut short is fetched
  again; on any error the temporary file is removed and the destination is left as it was
  (the one atomic writer, ``http/atomic_write.py``, shared with the queue's downloads).  An existing
  file is refused unless ``overwrite=True``, as for queue downloads.
* Ids are checked at the boundary.  A caller's id that is not one usable path segment (empty,
  ``.``/``..``, containing ``/``, ``?``, ``#``, whitespace or control characters) raises
  ``ValueError`` (``TypeError`` when not a string) before any request, as the queue does for
  endpoints and request ids; a good id is percent-encoded.  A video answered by the gateway with
  such an id (create, remix, retrieve, list), or a retrieve answering another video's id, raises
  ``ResponseValidationError`` (status, ``X-Request-Id`` and the raw body attached), so the key is
  never sent to ``/v1/`` or ``/v1/videos/`` by mistake.
* A body with loose types (``progress`` / timestamps as numeric strings, ``seconds`` as a number)
  is read on a second, lenient decode; ``video.raw`` keeps what was sent.
"""

from __future__ import annotations

import inspect
import itertools
import os
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import anyio

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from .._exceptions import APIConnectionError
from ..http.atomic_write import SizeMismatch, fetch_to_file, refuse_existing
from ..http.download import open_following
from ..http.multipart import FileInput, build_form
from ..queue.job_state import Answer, Ask, Outcome
from ..queue.scheduler import PollTarget, WaitLimit, get_scheduler, wait_within
from ..types.videos import VIDEO_DELETED_DECODER, Video, VideoDeleted, VideoList
from .video_state import VideoWatch, parse_video, parse_video_list, video_path as _video_path

if TYPE_CHECKING:
    from ..http.requester import ClientHandle
    from ..http.transport import HTTPResponse as Response

__all__ = ("ProgressCallback", "Videos")

PATH: Final = "/v1/videos"
#: ``on_progress(video)``: a plain function or a coroutine function.
ProgressCallback = Callable[[Video], object]
_wait_ids = itertools.count(1)
#: Form fields that are always file parts (a ``str`` there is a mistake, not a text field).
FILE_FIELDS: Final = frozenset({"input_reference"})


def _answer(resp: Response) -> Answer:
    return Answer(resp.status, resp.headers, resp.content, resp.request_id, resp.url)


def _parse_video(resp: Response, expected_id: str | None = None) -> Video:
    """The video in ``resp``; ``ResponseValidationError`` when its id is unusable (or not ``expected_id``)."""
    return parse_video(_answer(resp), expected_id)


class Videos:
    """``client.videos``: create, retrieve, list, delete, remix, wait for and download videos."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client

    async def create(
        self,
        *,
        prompt: str,
        model: str | NotGiven = NOT_GIVEN,
        seconds: str | int | NotGiven = NOT_GIVEN,
        size: str | NotGiven = NOT_GIVEN,
        input_reference: FileInput | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
    ) -> Video:
        """``POST /v1/videos`` (multipart): start generating a video.

        Args:
            prompt: what the video shows (required).
            model: e.g. ``"sora-2"``, ``"sora-2-pro"``; the gateway's default when left out.
            seconds: clip length (``"4"``, ``"8"``, ``"12"``; numbers are sent as text).
            size: ``"720x1280"``, ``"1280x720"``, ...
            input_reference: the first frame: a ``Path``, ``bytes``, a binary file object, or
                ``(filename, content)`` / ``(filename, content, content_type)``.  Streamed.
            extra_body: more form fields, merged last (file inputs become file parts).
            **extra_fields: any other form field, sent as given (see ``http.multipart.form_value``).

        Returns:
            The new ``Video`` (usually ``queued``); ``wait`` it, then ``download_content``.
        """
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("prompt must be a non-empty string")
        values: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "seconds": seconds,
            "size": size,
            "input_reference": input_reference,
        }
        values = {k: v for k, v in values.items() if v is not NOT_GIVEN}
        values.update(extra_fields)
        values.update(extra_body or {})
        form = build_form(values, file_fields=FILE_FIELDS)
        if not form.replayable:
            max_retries = 0  # an unseekable stream cannot be sent a second time
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client.requester.request("POST", PATH, data=form, options=opts, paid=True)
        return _parse_video(resp)

    async def retrieve(
        self,
        video_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> Video:
        """``GET /v1/videos/{video_id}``: the video's current state."""
        path = _video_path(video_id)
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client.requester.request("GET", path, options=opts)
        return _parse_video(resp, video_id)

    async def list(
        self,
        *,
        limit: int | NotGiven = NOT_GIVEN,
        after: str | NotGiven = NOT_GIVEN,
        order: str | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> VideoList:
        """``GET /v1/videos``: one page (``limit``, ``after`` a video id, ``order`` ``asc``/``desc``)."""
        query = {"limit": limit, "after": after, "order": order}
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client.requester.request(
            "GET", PATH, query={k: v for k, v in query.items() if v is not NOT_GIVEN}, options=opts
        )
        return parse_video_list(_answer(resp))

    async def delete(
        self,
        video_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> VideoDeleted:
        """``DELETE /v1/videos/{video_id}``."""
        path = _video_path(video_id)
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client.requester.request("DELETE", path, options=opts)
        return resp.parse(VIDEO_DELETED_DECODER)

    async def remix(
        self,
        video_id: str,
        *,
        prompt: str,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        **extra_fields: Any,
    ) -> Video:
        """``POST /v1/videos/{video_id}/remix`` (JSON ``{"prompt", ...}``): a new video from one.

        Paid work, retried like ``create``; extra keywords and ``extra_body`` join the body.
        """
        path = _video_path(video_id, "/remix")
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("prompt must be a non-empty string")
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        body = {"prompt": prompt, **extra_fields}
        resp = await self._client.requester.request("POST", path, json=body, options=opts, paid=True)
        return _parse_video(resp)

    # -- waiting ----------------------------------------------------------------------------

    async def wait(
        self,
        video_id: str | Video,
        *,
        wait_timeout: float | None = None,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Video:
        """Wait until the video is ``completed`` and return it.

        Args:
            video_id: a video id, or a ``Video`` (its state is the first look: no request).
            wait_timeout: seconds to wait in all; ``None`` (the default) waits as long as the
                video lives.  When it runs out the video is left alone (no delete).
            poll_interval: poll every this many seconds instead of on the client's adaptive
                schedule (errors and 429s still back off).
            on_progress: called with the video whenever its status or progress changed (also
                on the first look); may be a coroutine function.  If it raises, the wait
                raises that.

        Raises:
            JobFailed: the video ``failed`` (``.error``, ``.error_type`` from its ``error``).
            JobTimeout: ``wait_timeout`` ran out (``.request_id`` is the video id).
            NotFoundError: no such video (or another 4xx: the error as raised by the gateway).
        """
        video = video_id
        video_id = video.id if isinstance(video, Video) else video
        path = _video_path(video_id)
        watch = VideoWatch(video_id)
        limit = WaitLimit("video", video_id, None, wait_timeout)
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError("poll_interval must be a positive number of seconds or None")
        start = time.monotonic()
        first = video if isinstance(video, Video) else None
        with anyio.move_on_after(wait_timeout):
            first = first or await self.retrieve(video_id)
        if first is None:
            raise limit.expired(detail=_last_seen(watch)[0])
        look = watch.look(first)
        if look.update is not None and on_progress is not None:
            result = on_progress(first)
            if inspect.isawaitable(result):
                await result
        if look.outcome is Outcome.DONE:
            return first
        if look.error is not None:
            raise look.error
        created = first.created_at
        target = PollTarget(
            ("video", video_id, next(_wait_ids)),
            f"videos/{first.model or 'unknown'}",
            self._client.requester,
            {Ask.PRIMARY: path},
            watch,
            age=max(0.0, time.time() - created) if created else 0.0,
            every=poll_interval,
        )
        limit = WaitLimit("video", video_id, first.model, wait_timeout)
        value = await wait_within(
            get_scheduler(self._client),
            target,
            limit,
            elapsed=time.monotonic() - start,
            on_update=on_progress,
            detail=partial(_last_seen, watch),
        )
        return cast(Video, value)

    # -- downloading --------------------------------------------------------------------------

    async def download_content(
        self,
        video_id: str,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """``GET /v1/videos/{video_id}/content?variant=...`` streamed to ``path``.

        The bytes go to a hidden temporary ``.<name>.<random>.part`` file in the destination's
        directory (created when missing), are checked against ``Content-Length``, flushed to
        disk, then renamed to ``path`` in one step.  An existing ``path`` is a
        ``FileExistsError`` (before any request) unless ``overwrite=True`` (the rule of
        ``client.queue.download`` too).  A body cut
        short is downloaded again (up to ``max_retries`` times), then raises
        ``APIConnectionError``.  On any error or cancellation the temporary file is removed and
        ``path`` is untouched.

        Args:
            variant: ``"video"`` (mp4), ``"thumbnail"``, ``"spritesheet"``, or any other the
                gateway offers.

        Returns:
            The destination ``Path``.
        """
        url = _video_path(video_id, "/content")
        dest = Path(os.fspath(path))
        refuse_existing(dest, overwrite)
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        transport = self._client.requester
        budget = transport.retry.max_retries if isinstance(opts.max_retries, NotGiven) else opts.max_retries
        try:
            await fetch_to_file(
                partial(  # a redirect (same origin: by hand, the key kept; elsewhere: without it)
                    open_following,
                    transport,
                    url,
                    query={"variant": variant},
                    options=opts,
                    headers={"Accept": "application/binary"},
                ),
                dest,
                retry=transport.retry,
                refetches=budget,
                overwrite=overwrite,
            )
        except SizeMismatch as exc:  # only Content-Length is checked: a cut (or overlong) body
            raise APIConnectionError(
                f"download incomplete: got {exc.size} of {exc.expected} bytes", x_request_id=exc.request_id
            ) from None
        return dest


def _last_seen(watch: VideoWatch) -> tuple[str, object]:
    """What a video's ``JobTimeout`` adds: the last status seen, and that body as its ``status``."""
    last = watch.last
    if last is None:
        return "", None
    return f" (last seen {last.status}, progress {last.progress})", last.raw
