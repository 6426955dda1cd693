"""``Emulator``: the gateway emulator's public face and lifecycle (two listeners on loopback).

``async with Emulator(...) as emu`` binds the main listener (``emu.url``, the API) and the CDN
listener (``emu.cdn_url``, another port and so another origin), serves until the block ends, then
stops both.  Everything a test scripts or inspects is an attribute: ``faults``, ``stats``,
``jobs``, ``videos``, ``unknown_endpoints``, ``balance``, ``queue_credit``, ``poll_rate_limit``,
``set_endpoint``, ``serve_sse``.  The routes themselves live in ``_chat``, ``_responses``,
``_queue``, ``_videos`` and ``_files``; the per-request gate in ``_app``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from random import Random

from aiohttp import web

from .._closing import AsyncClosing
from ._app import Gate, Services, build_cdn_app, build_main_app
from ._catalogue import ModelCatalogue
from ._chat import ChatService
from ._common import Shared, Wallet, json_response
from ._faults import FaultRegistry, PollRateLimiter, ScriptedStream
from ._files import FileService
from ._llm import LLMOptions, make_handle_models
from ._queue import EmuJob, EndpointConfig, QueueService
from ._responses import ResponsesService
from ._stats import EmulatorStats
from ._tls import TLSMaterial
from ._variants import VariantPicker
from ._video_variants import VideoVariant, pick_video_variant
from ._videos import EmuVideo, VideoService

__all__ = ("Emulator",)

_SHUTDOWN_TIMEOUT = 0.25
_BACKLOG = 4096


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=_BACKLOG)


def _base_url(scheme: str, host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


class Emulator(AsyncClosing):
    """A real aiohttp server speaking the OdiRouter API, scripted by tests.

    ``job_duration`` / ``job_jitter``: a job runs a uniform ``[d*(1-j), d*(1+j)]`` seconds after
    ``queue_delay`` seconds in ``IN_QUEUE``.  ``poll_rate_limit``: status + result requests per
    sliding second before 429s.  ``foreign_urls``: job URLs point at the CDN origin.
    ``balance``: credits (``None`` unlimited); each chat, responses, submit or video create costs
    one.  ``accept_key_scheme``: also accept ``Authorization: Key <key>``.  ``keep_log=False``
    keeps counters but not ``stats.log``.  ``host`` / ``port`` / ``cdn_port``: where the two
    listeners bind (0: a free port).  ``tls``: HTTPS on both, signed by a throwaway CA.  ``seed``:
    job durations and ids are reproducible.  ``video_duration`` / ``video_bytes``: video timing and
    content size; ``output_bytes``: default size of job output files.  ``video_variant``: how the
    videos API answers, a name from ``VIDEO_VARIANTS`` or ``"random"`` (picked by ``seed``).
    ``variant``: how the queue answers what the docs leave open (``QUEUE_VARIANTS``, or
    ``"random"``: seeded, per job; see ``_variants``).

    LLM routes: ``tokens_per_second`` paces streamed chunks (and delays whole answers by their
    generation time; 0, the default, sends everything at once).  ``permissive``: accept any model
    id and any queue endpoint (otherwise ids outside the catalogue answer 404 ``model_not_found``,
    and queue submits to endpoints neither in the catalogue nor set with ``set_endpoint`` 404
    ``App not found``); ``models``: extra LLM
    ids to accept and list.  ``echo``: answer ``"You said: <prompt>"`` and tool arguments
    ``{"query": <prompt>}`` instead of generated text and schema-shaped arguments.
    """

    def __init__(
        self,
        api_key: str = "emu-test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cdn_port: int = 0,
        tls: bool = False,
        seed: int = 0,
        job_duration: float = 2.0,
        job_jitter: float = 0.25,
        queue_delay: float = 0.0,
        poll_rate_limit: float | None = None,
        foreign_urls: bool = False,
        balance: float | None = None,
        accept_key_scheme: bool = False,
        video_duration: float = 2.0,
        video_bytes: int = 4096,
        output_bytes: int = 2048,
        keep_log: bool = True,
        # -- LLM realism (h/emulator) --
        tokens_per_second: float = 0.0,
        permissive: bool = False,
        models: Iterable[str] = (),
        echo: bool = False,
        video_variant: str = "openai",
        variant: str | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        if not 0 <= job_jitter <= 1:
            raise ValueError("job_jitter must be in [0, 1]")
        if min(job_duration, queue_delay, video_duration) < 0:
            raise ValueError("durations must be >= 0")
        if not tokens_per_second >= 0:
            raise ValueError("tokens_per_second must be >= 0 (0: no pacing)")
        llm = LLMOptions(ModelCatalogue(models, permissive=permissive), float(tokens_per_second), echo, seed)
        self._api_key = api_key
        self._host = host
        self._ports = (port, cdn_port)
        self._tls_wanted = tls
        self._tls: TLSMaterial | None = None
        self._runners: list[web.AppRunner] = []
        self._urls: tuple[str, str] | None = None
        self._shared = Shared(
            faults=FaultRegistry(Random(f"faults-{seed}")),
            stats=EmulatorStats(keep_log=keep_log),
            wallet=Wallet(balance),
            limiter=PollRateLimiter(poll_rate_limit),
            rng=Random(seed),
            foreign_urls=foreign_urls,
        )
        defaults = EndpointConfig(job_duration, job_jitter, queue_delay, 1, output_bytes)
        self._variants = VariantPicker(variant, seed)
        self._queue = QueueService(self._shared, defaults, self._variants, llm.catalogue)
        self._videos = VideoService(
            self._shared,
            queue_delay=queue_delay,
            duration=video_duration,
            video_bytes=video_bytes,
            variant=pick_video_variant(video_variant, seed),
        )
        chat, responses = ChatService(self._shared, llm), ResponsesService(self._shared, llm)
        files = FileService(self._shared, self._queue.output_file)
        q, v = self._queue, self._videos
        self._services = Services(
            {
                "models": make_handle_models(self._shared, llm),
                "chat": chat.handle,
                "responses": responses.handle,
                "responses.retrieve": responses.background.retrieve,
                "responses.cancel": responses.background.cancel,
                "queue.submit": q.submit,
                "queue.status": q.status,
                "queue.response": q.response,
                "queue.cancel": q.cancel,
                "videos.create": v.create,
                "videos.list": v.list_videos,
                "videos.retrieve": v.retrieve,
                "videos.delete": v.delete,
                "videos.remix": v.remix,
                "videos.content": v.content,
                "files": files.handle,
                "emu.stats": self._serve_stats,
            }
        )
        self._gate = Gate(self._shared, api_key, accept_key_scheme)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> Emulator:
        """Bind both listeners and start serving (``async with`` calls this)."""
        if self._runners:
            raise RuntimeError("the emulator is already started")
        if self._tls_wanted and self._tls is None:
            self._tls = TLSMaterial(extra_hosts=(self._host,) if self._host not in ("0.0.0.0", "::") else ())
        ssl_context = self._tls.server_context if self._tls else None
        scheme = "https" if self._tls else "http"
        apps = (
            build_main_app(self._gate, self._services),
            build_cdn_app(
                self._gate, self._services, self._shared.foreign_urls or self._variants.any_foreign
            ),
        )
        urls = []
        try:
            for app, port in zip(apps, self._ports, strict=True):
                runner = web.AppRunner(
                    app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT
                )
                self._runners.append(runner)
                await runner.setup()
                sock = _bind(self._host, port)
                try:
                    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
                except BaseException:
                    sock.close()
                    raise
                urls.append(_base_url(scheme, self._host, sock.getsockname()[1]))
        except BaseException:
            await self.stop()
            raise
        self._urls = (urls[0], urls[1])
        self._shared.main_url, self._shared.cdn_url = self._urls
        # Job and video durations, poll-rate windows and stats run on the serving loop's clock
        # (``time.monotonic()`` on asyncio's own loops), so a test's virtual-time loop moves them too.
        self._shared.clock = asyncio.get_running_loop().time
        return self

    async def stop(self) -> None:
        """Stop both listeners (idempotent); in-flight requests get a short grace period."""
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()
        self._urls = None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def aclose(self) -> None:
        """The same as ``stop()`` (``async with Emulator() as emu`` calls it on exit)."""
        await self.stop()

    def _started(self) -> tuple[str, str]:
        if self._urls is None:
            raise RuntimeError("the emulator is not started: use `async with Emulator() as emu`")
        return self._urls

    # -- what a client needs -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the API listener (``http://127.0.0.1:PORT``): the client's ``base_url``."""
        return self._started()[0]

    @property
    def cdn_url(self) -> str:
        """Base URL of the second listener (another origin) that serves output files."""
        return self._started()[1]

    @property
    def api_key(self) -> str:
        """The key the emulator accepts."""
        return self._api_key

    @property
    def ca_cert_path(self) -> str | None:
        """PEM path of the CA that signed the listeners' certificate (``tls=True``), else ``None``."""
        return self._tls.ca_cert_path if self._tls else None

    def client_ssl_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` trusting the emulator's CA (``tls=True`` only)."""
        if self._tls is None:
            raise RuntimeError("client_ssl_context() needs a started Emulator(tls=True)")
        return self._tls.client_context()

    # -- scripting and inspection ------------------------------------------------------

    @property
    def faults(self) -> FaultRegistry:
        """Injected faults: ``emu.faults.add(route, status=..., drop=..., delay=..., ...)``."""
        return self._shared.faults

    @property
    def stats(self) -> EmulatorStats:
        """What the emulator saw (request log and counters)."""
        return self._shared.stats

    @property
    def jobs(self) -> dict[str, EmuJob]:
        """Queue jobs by request id."""
        return self._queue.jobs

    @property
    def videos(self) -> dict[str, EmuVideo]:
        """Videos by id (deleted ones are removed)."""
        return self._videos.videos

    @property
    def video_variant(self) -> VideoVariant:
        """How the videos API answers (``_video_variants``)."""
        return self._videos.variant

    @property
    def unknown_endpoints(self) -> set[str]:
        """Endpoint ids whose submits answer 404 ``App not found``."""
        return self._queue.unknown_endpoints

    @property
    def queue_credit(self) -> int | None:
        """Queue jobs the account can still pay for (``None``: unlimited, the default); settable.

        At 0 a queue submit is answered 403 ``{"error": "insufficient balance"}`` (the real
        gateway family's answer) and makes no job; setting it again is a top-up.
        """
        return self._queue.credit

    @queue_credit.setter
    def queue_credit(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError("queue_credit must be an integer >= 0 (or None)")
        self._queue.credit = value

    @property
    def balance(self) -> float | None:
        """Credits left (``None``: unlimited); settable at any time."""
        return self._shared.wallet.balance

    @balance.setter
    def balance(self, value: float | None) -> None:
        self._shared.wallet.balance = value

    @property
    def poll_rate_limit(self) -> float | None:
        """Status + result requests allowed per sliding second (``None``: unlimited); settable."""
        return self._shared.limiter.limit

    @poll_rate_limit.setter
    def poll_rate_limit(self, value: float | None) -> None:
        if value is not None and value <= 0:
            raise ValueError("poll_rate_limit must be > 0 (or None)")
        self._shared.limiter.limit = value

    def set_endpoint(
        self,
        endpoint: str,
        *,
        duration: float | None = None,
        jitter: float | None = None,
        queue_delay: float | None = None,
        outputs: int | None = None,
        output_bytes: int | None = None,
        output_type: str | None = None,
    ) -> EndpointConfig:
        """Configure jobs of one endpoint (``None`` keeps the emulator default); lists it in /v1/models."""
        if output_type is not None and output_type not in ("image", "video", "audio"):
            raise ValueError("output_type must be 'image', 'video' or 'audio'")
        config = self._queue.set_endpoint(
            endpoint,
            duration=duration,
            jitter=jitter,
            queue_delay=queue_delay,
            outputs=outputs,
            output_bytes=output_bytes,
            output_type=output_type,
        )
        if endpoint not in self._shared.extra_model_ids:
            self._shared.extra_model_ids.append(endpoint)
        return config

    def serve_sse(
        self,
        route: str,
        body: bytes,
        chunk_sizes: list[int] | None = None,
        *,
        status: int = 200,
        content_type: str = "text/event-stream",
    ) -> None:
        """The next stream request to ``"chat"`` / ``"responses"`` answers exactly ``body``.

        The bytes are written in ``chunk_sizes`` pieces (cycled; ``None``: one write).
        """
        self._shared.faults.script(route, ScriptedStream(bytes(body), chunk_sizes, status, content_type))

    def reset_stats(self) -> None:
        """Clear ``emu.stats`` in place (jobs, faults and videos are kept)."""
        self._shared.stats.clear()

    async def _serve_stats(self, request: web.Request) -> web.Response:
        """``GET /_emu/stats``: counters and per-job timings as JSON, for a client in another process.

        Not part of the gateway's API: no auth, not counted.  ``?jobs=0`` leaves the jobs out.
        Times are the serving loop's ``loop.time()`` seconds: ``time.monotonic()`` on asyncio's loops
        (one clock for every process on the machine).
        """
        st = self.stats
        body: dict[str, object] = {
            "clock": self._shared.clock(),
            "total": st.total,
            "routes": dict(st.routes),
            "statuses": {f"{route} {status}": n for (route, status), n in st.statuses.items()},
            "rate_limited": st.rate_limited,
            "duplicate_submits": st.duplicate_submits,
            "auth_sent_to_cdn": st.auth_sent_to_cdn,
            "poll_seconds": {str(k): v for k, v in sorted(st.poll_seconds.items())},
            "limited_seconds": {str(k): v for k, v in sorted(st.limited_seconds.items())},
        }
        if request.query.get("jobs", "1") != "0":
            fields = [
                "request_id",
                "created_at",
                "finished_at",
                "first_seen_done_at",
                "requests",
                "cancelled",
            ]
            body["job_fields"] = fields
            body["jobs"] = [
                [
                    j.request_id,
                    j.created_at,
                    j.finished_at,
                    j.first_seen_done_at,
                    st.job_requests[j.request_id],
                    j.cancelled,
                ]
                for j in self._queue.jobs.values()
            ]
        return json_response(body)

    def __repr__(self) -> str:
        where = self._urls[0] if self._urls else "not started"
        return f"<Emulator {where}>"
