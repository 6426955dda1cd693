"""Who gets which headers: the origin rule of the one request path.

``OriginHeaders`` holds the API key for one client view and answers, per request, the headers to
send: ``Authorization`` only to the configured origin; elsewhere nothing that carries the key
(``default_headers`` and ``extra_headers`` follow that one rule); ``X-Request-Id`` always (the
caller's, else a generated one); ``User-Agent`` unless the caller set their own.  The prepared
dicts are built once per view, so a request copies one dict.
"""

from __future__ import annotations

import itertools
import os
import platform
from collections.abc import Mapping
from typing import Final

import aiohttp

from .._config import VERSION, RedactedHeaders, RequestOptions, Secret
from .urls import _DEFAULT_PORTS, Origin, origin_of

__all__ = ("USER_AGENT", "OriginHeaders", "merge_headers", "new_request_id")

USER_AGENT: Final = (
    f"odirouter-async/{VERSION} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)
# A random prefix per process and a counter: unique ids without a system call per request.
_RID_PREFIX: Final = "req_" + os.urandom(8).hex()
_rid_counter = itertools.count(1)


def new_request_id() -> str:
    """A fresh ``X-Request-Id`` value (unique within the process, random across processes)."""
    return f"{_RID_PREFIX}{next(_rid_counter):08x}"


def merge_headers(into: dict[str, str], more: Mapping[str, str]) -> None:
    """``into.update(more)`` with names compared case-insensitively (the later spelling wins)."""
    for name, value in more.items():
        lower = name.lower()
        for old in [k for k in into if k != name and k.lower() == lower]:
            del into[old]
        into[name] = value


class OriginHeaders:
    """The headers of one client view, per origin; the only holder of the key in the transport."""

    __slots__ = ("__key", "_auth", "_custom_rid", "_own_prefixes", "_plain", "base_url", "defaults", "origin")

    def __init__(self, base_url: str, api_key: str, default_headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.__key = Secret(api_key)  # a str whose repr is '***'
        #: the caller's default headers, as given (a view merges its own over them); credentials
        #: (by name, or the key under any name) are ``Secret`` values, never in a repr
        self.defaults: dict[str, str] = RedactedHeaders(default_headers, self.is_secret)
        self.origin: Origin = origin_of(base_url)
        host = f"[{self.origin.host}]" if ":" in self.origin.host else self.origin.host
        prefix = f"{self.origin.scheme}://{host}"
        # A URL that starts with one of these (authority ended by "/") is ours without parsing it.
        self._own_prefixes: tuple[str, ...] = (f"{prefix}:{self.origin.port}/",)
        if _DEFAULT_PORTS.get(self.origin.scheme) == self.origin.port:
            self._own_prefixes += (f"{prefix}/",)
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        merge_headers(base, self.defaults)
        # Our origin: the caller's headers, but one Authorization, ours.  Other origins: no
        # Authorization and nothing that carries the key.
        self._auth = RedactedHeaders({k: v for k, v in base.items() if k.lower() != "authorization"})
        self._auth["Authorization"] = Secret(f"Bearer {api_key}")
        self._plain = RedactedHeaders({k: v for k, v in base.items() if not self.is_secret(k, v)})
        # Whether default headers carry an X-Request-Id of their own (rare): then look for it.
        self._custom_rid = any(k.lower() == "x-request-id" for k in base)

    def __repr__(self) -> str:
        return f"OriginHeaders(base_url={self.base_url!r}, api_key='***')"

    def is_secret(self, name: str, value: str) -> bool:
        """Whether a header must not leave the configured origin: Authorization, or the key."""
        if name.lower() in ("authorization", "proxy-authorization"):
            return True
        key = self.__key
        value = str(value).strip()
        return value == key or value.endswith(" " + key) or (len(key) >= 8 and key in value)

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) goes to the configured origin."""
        if not url.startswith(("http://", "https://")):
            return True  # a relative path is ours by construction: no URL parsing on the hot path
        if url.startswith(self._own_prefixes):
            return True
        return origin_of(url) == self.origin

    def build(
        self, own: bool, auth: bool, extra: Mapping[str, str] | None, options: RequestOptions
    ) -> tuple[dict[str, str], str]:
        """The headers of one call and its ``X-Request-Id``."""
        headers = RedactedHeaders.copy_of(self._auth if (auth and own) else self._plain)
        if extra:
            headers.update(extra)
        if options.extra_headers:  # credentials there are Secret values already (RequestOptions.of)
            headers.update(
                {k: v for k, v in options.extra_headers.items() if own or not self.is_secret(k, v)}
            )
        if extra or options.extra_headers or self._custom_rid:
            rid = options.x_request_id or _header(headers, "x-request-id") or new_request_id()
            for k in [k for k in headers if k.lower() == "x-request-id" and k != "X-Request-Id"]:
                del headers[k]
        else:
            rid = options.x_request_id or new_request_id()
        headers["X-Request-Id"] = rid
        return headers, rid


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None
