"""Where the API key may go: origins, loopback checks and URL joining; what may be one path
segment.  Pure: no I/O.

The key is sent only to the configured base URL's origin (scheme, host and port).  URLs the
gateway hands back (status/response/cancel URLs, output files) that point elsewhere are fetched
without it, or refused when the caller asks for strictness.  Plain ``http://`` is accepted only
for loopback hosts unless the caller allows it explicitly.
"""

from __future__ import annotations

import ipaddress
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from .._exceptions import InsecureURLError

__all__ = ("Origin", "check_base_url", "is_loopback", "join_url", "origin_of", "segment_problem")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def segment_problem(value: str) -> Literal["empty", "not one segment"] | None:
    """Why a queue id (endpoint, request id) cannot be one URL path segment (``None``: it can).

    ``"empty"``: blank; ``"not one segment"``: it holds ``/`` or is ``.`` / ``..`` (which a URL
    resolver would turn into another path).  Each caller says it in its own words.
    """
    if not value.strip():
        return "empty"
    if "/" in value or value in (".", ".."):
        return "not one segment"
    return None


class Origin(NamedTuple):
    """An RFC 6454 origin."""

    scheme: str
    host: str
    port: int


def origin_of(url: str) -> Origin:
    """The origin of an absolute http(s) URL; ``InsecureURLError`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InsecureURLError(f"not a valid URL: {url[:200]!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InsecureURLError(f"not an absolute http(s) URL: {url[:200]!r}")
    return Origin(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``*.localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate and normalise a base URL (no trailing slash)."""
    origin = origin_of(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise InsecureURLError("base_url must not carry a query or fragment")
    if parts.username or parts.password:
        raise InsecureURLError("base_url must not carry credentials; pass api_key instead")
    if origin.scheme == "http" and not allow_insecure_http and not is_loopback(origin.host):
        raise InsecureURLError(
            f"refusing plain http:// to {origin.host}: the API key would travel in clear text. "
            "Use https://, or pass allow_insecure_http=True if you really mean it."
        )
    return url.rstrip("/")


def join_url(base: str, path: str) -> str:
    """``base`` + ``path`` when ``path`` is relative; an absolute ``path`` is returned as is."""
    if path.startswith(("http://", "https://")):
        return path
    if not path.startswith("/"):
        path = "/" + path
    return base + path
