"""``AsyncOdiRouter``: configuration, lifecycle and the resource namespaces.

One long-lived client per process.  It owns one aiohttp session (created lazily inside the
running loop on the first request) and, once queue jobs are waited on, one polling scheduler.
``with_options(...)`` returns a view with other defaults that shares both; only the client that
created them closes them.
"""

from __future__ import annotations

import logging
import os
import ssl as _ssl
import sys
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._closing import AsyncClosing
from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    Limits,
    NotGiven,
    PollingOptions,
    RedactedHeaders,
    Secret,
    Timeout,
    TimeoutLike,
    check_max_retries,
    resolve_timeout,
    strip_v1_suffix,
)
from ._exceptions import InsecureURLError, OdiRouterError
from ._raw import WithRawResponse
from .http.pool import Pool
from .http.retry import RetryPolicy
from .http.transport import OriginHeaders, Transport, merge_headers
from .http.urls import check_base_url
from .llm.chat import Chat
from .llm.models import Models

if TYPE_CHECKING:  # built on first use (``responses``, ``queue``, ``videos``): a chat call never imports them
    from .llm.responses import Responses
    from .queue.resource import Queue
    from .videos.resource import Videos

__all__ = ("DEFAULT_BASE_URL", "AsyncOdiRouter")

DEFAULT_BASE_URL = "https://odirouter.ai"


def _check_key(key: str) -> None:
    """Refuse a key that cannot go into an HTTP header as is: NUL, newlines, other control
    characters, and non-ASCII characters (a typographic quote pasted with it; aiohttp would send
    UTF-8 bytes the gateway never matches).

    Checked when the client is built, not at the first request; the message never shows the key.
    """
    if not isinstance(key, str):
        raise OdiRouterError(f"The API key must be a string, not {type(key).__name__}.")
    if key.isascii() and key.isprintable():
        return
    for i, c in enumerate(key):
        if not c.isprintable() or not c.isascii():
            if c in "\r\n":
                what = "a line break"
            elif c.isprintable():  # e.g. a typographic quote pasted with the key
                what = "a non-ASCII character"
            else:
                what = "a control character"
            raise OdiRouterError(
                f"The API key contains {what} (U+{ord(c):04X}) at position {i} of {len(key)}; "
                "check how it was read."
            )


def _secret_key(api_key: str | None) -> Secret:
    """The key (argument, else ``ODIROUTER_API_KEY``), checked, as a ``Secret``."""
    key = api_key if api_key is not None else os.environ.get("ODIROUTER_API_KEY")
    if not key:
        raise OdiRouterError(
            "No API key: pass AsyncOdiRouter(api_key=...) or set the ODIROUTER_API_KEY environment variable."
        )
    if not isinstance(key, str):
        _check_key(key)  # raises: not a string
    secret = Secret(key)  # before the check: its frame, if it raises, shows '***'
    del key
    _check_key(secret)
    return secret


def _base_url(base_url: str | None) -> str:
    """The base URL (argument, else ``ODIROUTER_BASE_URL``, else the default), whitespace around
    it and a trailing ``/v1`` dropped; whitespace or control characters inside it refused."""
    url = base_url or os.environ.get("ODIROUTER_BASE_URL") or DEFAULT_BASE_URL
    if (stripped := strip_v1_suffix(url)) != url:
        logging.getLogger("odirouter_async").debug("base URL %s: surrounding spaces or /v1 dropped", stripped)
        url = stripped
    for i, c in enumerate(url):
        if c.isspace() or not c.isprintable():
            raise InsecureURLError(
                f"base_url contains a space or control character (U+{ord(c):04X}) at position {i} "
                f"of {len(url)}; check how it was read"
            )
    return url


class _Shared:
    """State shared by a client and its views: the pool and the lazily started scheduler."""

    def __init__(self, pool: Pool, polling: PollingOptions) -> None:
        self.pool = pool
        self.polling = polling
        self.scheduler: Any = None
        #: where the owner's key came from, named by a 401 ("the api_key= argument" or the variable)
        self.key_source: str | None = None


class AsyncOdiRouter(AsyncClosing):
    """The async client for the OdiRouter Model API.

    Args:
        api_key: the key; else ``ODIROUTER_API_KEY``.  Never shown in a repr, log or error.
        base_url: else ``ODIROUTER_BASE_URL``, else ``https://odirouter.ai``; a trailing
            ``/v1`` (as OpenAI clients write it) is dropped.  LLM routes live
            under ``{base_url}/v1``, queue routes under ``{base_url}/model/v1/queue``.
        timeout: a ``Timeout``, a number (read/idle seconds) or None (no limits).
        max_retries: retries per call for failures that are safe to retry (see README: paid
            POSTs are retried only when the gateway cannot have started the work).
        limits: connection pool settings.
        default_headers: headers sent on every call.
        allow_insecure_http: allow ``http://`` to non-loopback hosts (the key travels in clear).
        strict_origins: refuse (``InsecureURLError``) gateway-returned URLs on another origin
            instead of fetching them without the key.
        retry_policy: full control over retry delays; ``max_retries``, when given, overrides
            the policy's own.
        ssl: an ``ssl.SSLContext`` (custom CA, e.g. the emulator's), or False to skip verification;
            by default the system's CAs, read when the first request is made (``SSL_CERT_FILE``
            and ``SSL_CERT_DIR`` set after import count).
        proxy: an ``http://`` (or ``https://``) proxy for every request, credentials allowed
            (``http://user:pass@proxy:3128``); overrides the environment.
        trust_env: without ``proxy``, read ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` /
            ``NO_PROXY`` when the first request is made, as httpx and requests do (loopback hosts
            always go direct); False ignores them.
        polling: how the client's one queue scheduler polls (rate budget, lag targets).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        limits: Limits = DEFAULT_LIMITS,
        default_headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        strict_origins: bool = False,
        retry_policy: RetryPolicy | None = None,
        ssl: _ssl.SSLContext | bool | None = None,
        polling: PollingOptions | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        _shared: _Shared | None = None,
    ) -> None:
        # The key is held as a Secret (repr '***') from here on; no local keeps the plain string,
        # so a traceback rendered with its locals (InsecureURLError below) cannot show it.
        key = _secret_key(api_key)
        key_given = api_key is not None
        api_key = None
        url = check_base_url(_base_url(base_url), allow_insecure_http=allow_insecure_http)
        policy = retry_policy or RetryPolicy(max_retries=DEFAULT_MAX_RETRIES)
        if not isinstance(max_retries, NotGiven):
            check_max_retries(max_retries)
            policy = replace(policy, max_retries=max_retries)
        # A with_options view passes the state it shares with the client that created it.
        self._owner = _shared is None
        self._shared = (
            _shared
            if _shared is not None
            else _Shared(
                Pool(limits, True if ssl is None else ssl, proxy=proxy, trust_env=trust_env),
                polling or PollingOptions(),
            )
        )
        if self._owner:
            from_env = "the ODIROUTER_API_KEY environment variable"
            self._shared.key_source = "the api_key= argument" if key_given else from_env
        self.__api_key = key
        self._allow_insecure_http = allow_insecure_http
        self._transport = Transport(
            headers=OriginHeaders(url, key, default_headers),
            timeout=resolve_timeout(timeout, DEFAULT_TIMEOUT),
            retry=policy,
            pool=self._shared.pool,
            strict_origins=strict_origins,
        )
        self._transport.key_source = self._shared.key_source
        #: This client's request path (auth, retries, ``X-Request-Id``, limits) for the SDK's own
        #: floors; resources and the queue machinery send through it (an attribute: read per call).
        self.requester: Transport = self._transport
        self.models = Models(self)
        self.chat = Chat(self)

    @property
    def responses(self) -> Responses:
        """The Responses API: ``create``, ``stream``, ``parse``, ``retrieve``... (built on first use)."""
        responses: Responses | None = self.__dict__.get("_responses")
        if responses is None:
            from .llm.responses import Responses

            responses = self.__dict__["_responses"] = Responses(self)
        return responses

    # Built on first use (a chat call never imports the queue), then a plain instance attribute:
    # ``client.queue.run(...)`` calls nothing to find the resource.

    @cached_property
    def queue(self) -> Queue:
        """Queue jobs: ``submit``, ``run``, ``map``, ``status``, ``result``... (built on first use)."""
        from .queue.resource import Queue

        return Queue(self)

    @cached_property
    def videos(self) -> Videos:
        """Videos: ``create``, ``retrieve``, ``list``, ``delete``... (built on first use)."""
        from .videos.resource import Videos

        return Videos(self)

    @cached_property
    def with_raw_response(self) -> WithRawResponse:
        """The same resources, each call returning a ``RawResponse`` (``.headers``,
        ``.status_code``, ``.x_request_id``, ``.parse()``), as openai-python spells it:
        ``await client.with_raw_response.chat.completions.create(...)``."""
        return WithRawResponse(
            chat=self.chat,
            responses=self.responses,
            models=self.models,
            queue=self.queue,
            videos=self.videos,
        )

    # -- configuration --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The gateway's base URL (no trailing slash)."""
        return self._transport.base_url

    @property
    def timeout(self) -> Timeout:
        """The default ``Timeout`` of this client (view)."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """The default retry budget of this client (view)."""
        return self._transport.retry.max_retries

    def __repr__(self) -> str:
        transport = getattr(self, "_transport", None)  # None in a client whose __init__ raised
        if transport is None:
            return "AsyncOdiRouter(<not built>, api_key='***')"
        return f"AsyncOdiRouter(base_url={transport.base_url!r}, api_key='***')"

    def with_options(
        self,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        strict_origins: bool | NotGiven = NOT_GIVEN,
    ) -> AsyncOdiRouter:
        """A view with other defaults that shares this client's connection pool and scheduler.

        ``default_headers`` are merged over this client's (a custom ``User-Agent`` stays unless
        replaced); the view is closed with the client that created it.
        """
        transport = self._transport
        headers = RedactedHeaders.copy_of(transport.headers.defaults)
        merge_headers(headers, default_headers or {})
        return type(self)(
            api_key=self.__api_key,
            base_url=self.base_url,
            timeout=resolve_timeout(timeout, transport.timeout),
            max_retries=transport.retry.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=headers,
            allow_insecure_http=self._allow_insecure_http,
            strict_origins=transport.strict_origins
            if isinstance(strict_origins, NotGiven)
            else strict_origins,
            retry_policy=transport.retry,
            _shared=self._shared,
        )

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` was called on the client that owns the pool."""
        return self._shared.pool.closed

    async def aclose(self) -> None:
        """Stop the scheduler and close the connection pool.  A view's ``aclose`` does nothing."""
        if not self._owner:
            return
        if "odirouter_async.batch.map_runner" in sys.modules:  # else no map ever ran
            from .batch.map_runner import close_maps  # maps still running end first (#19)

            await close_maps(self._shared)
        scheduler = self._shared.scheduler
        if scheduler is not None:
            self._shared.scheduler = None
            await scheduler.aclose()
        await self._shared.pool.aclose()

    async def close(self) -> None:
        """The same as ``aclose()`` (the openai-python spelling)."""
        await self.aclose()
