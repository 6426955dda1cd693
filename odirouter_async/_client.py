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
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    Limits,
    NotGiven,
    PollingOptions,
    Timeout,
    TimeoutLike,
    resolve_timeout,
    strip_v1_suffix,
)
from ._core.retry import RetryPolicy
from ._core.urls import check_base_url
from ._exceptions import OdiRouterError
from ._http.transport import Transport, _Pool
from .resources.chat import Chat
from .resources.models import Models
from .resources.queue import Queue
from .resources.responses import Responses
from .resources.videos import Videos

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


class _Shared:
    """State shared by a client and its views: the pool and the lazily started scheduler."""

    def __init__(self, pool: _Pool, polling: PollingOptions) -> None:
        self.pool = pool
        self.polling = polling
        self.scheduler: Any = None


class AsyncOdiRouter:
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
        retry_policy: full control over retry delays (``max_retries`` still applies when given).
        ssl: an ``ssl.SSLContext`` (custom CA, e.g. the emulator's), or False to skip verification.
        polling: how the client's one queue scheduler polls (rate budget, lag targets).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        limits: Limits = DEFAULT_LIMITS,
        default_headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        strict_origins: bool = False,
        retry_policy: RetryPolicy | None = None,
        ssl: _ssl.SSLContext | bool | None = None,
        polling: PollingOptions | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ODIROUTER_API_KEY")
        if not key:
            raise OdiRouterError(
                "No API key: pass AsyncOdiRouter(api_key=...) "
                "or set the ODIROUTER_API_KEY environment variable."
            )
        _check_key(key)
        url = base_url or os.environ.get("ODIROUTER_BASE_URL") or DEFAULT_BASE_URL
        if (stripped := strip_v1_suffix(url)) != url:
            logging.getLogger("odirouter_async").debug("base URL %s: trailing /v1 dropped", stripped)
            url = stripped
        url = check_base_url(url, allow_insecure_http=allow_insecure_http)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError("max_retries must be a non-negative integer")
        policy = retry_policy or RetryPolicy()
        if policy.max_retries != max_retries and retry_policy is None:
            policy = RetryPolicy(max_retries=max_retries)
        self._shared = _Shared(_Pool(limits, True if ssl is None else ssl), polling or PollingOptions())
        self._owner = True
        self._transport = Transport(
            base_url=url,
            api_key=key,
            timeout=resolve_timeout(timeout, DEFAULT_TIMEOUT),
            retry=policy,
            pool=self._shared.pool,
            default_headers=default_headers,
            strict_origins=strict_origins,
        )
        self._init_resources()

    def _init_resources(self) -> None:
        self.models = Models(self)
        self.chat = Chat(self)
        self.responses = Responses(self)
        self.queue = Queue(self)
        self.videos = Videos(self)

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
        return f"AsyncOdiRouter(base_url={self.base_url!r}, api_key='***')"

    def with_options(
        self,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        strict_origins: bool | NotGiven = NOT_GIVEN,
    ) -> AsyncOdiRouter:
        """A view with other defaults that shares this client's connection pool and scheduler."""
        changes: dict[str, Any] = {}
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = resolve_timeout(timeout, self._transport.timeout)
        if not isinstance(max_retries, NotGiven):
            if isinstance(max_retries, bool) or max_retries < 0:
                raise ValueError("max_retries must be a non-negative integer")
            old = self._transport.retry
            changes["retry"] = RetryPolicy(
                max_retries=max_retries,
                initial_delay=old.initial_delay,
                max_delay=old.max_delay,
                max_retry_after=old.max_retry_after,
                jitter=old.jitter,
            )
        if default_headers is not None:
            changes["default_headers"] = default_headers
        if not isinstance(strict_origins, NotGiven):
            changes["strict_origins"] = strict_origins
        view = object.__new__(AsyncOdiRouter)
        view._shared = self._shared
        view._owner = False
        view._transport = self._transport.derive(**changes)
        view._init_resources()
        return view

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` was called on the client that owns the pool."""
        return self._shared.pool.closed

    async def aclose(self) -> None:
        """Stop the scheduler and close the connection pool.  A view's ``aclose`` does nothing."""
        if not self._owner:
            return
        scheduler = self._shared.scheduler
        if scheduler is not None:
            self._shared.scheduler = None
            await scheduler.aclose()
        await self._shared.pool.aclose()

    async def __aenter__(self) -> AsyncOdiRouter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
