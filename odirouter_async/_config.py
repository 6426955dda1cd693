"""Client configuration values: ``Timeout``, ``Limits``, the ``NOT_GIVEN`` sentinel and per-call options
(``RequestOptions``, and ``request_body``: a method's fields and extra keywords as its JSON body).

Pure data; no I/O.  The transport turns a ``Timeout`` into aiohttp's ``ClientTimeout``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, TypeVar, Union
from urllib.parse import urlsplit

#: The package's version (``odirouter_async.__version__``, the ``User-Agent``; ``pyproject.toml``
#: says the same, which ``tests/unit/test_rules.py`` checks).
VERSION: Final = "0.1.0"


def check_max_retries(max_retries: object) -> None:
    """``ValueError`` unless ``max_retries`` is a non-negative integer (the client's and a call's)."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError("max_retries must be a non-negative integer")


__all__ = (
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POLLING",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "VERSION",
    "Limits",
    "NotGiven",
    "PollingOptions",
    "RedactedHeaders",
    "RequestOptions",
    "Secret",
    "Timeout",
    "TimeoutLike",
    "check_max_retries",
    "check_proxy_url",
    "request_body",
    "resolve_timeout",
)

_T = TypeVar("_T")


class NotGiven:
    """Marks an argument the caller did not pass (``None`` can mean "disabled")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


@dataclass(frozen=True, slots=True)
class Timeout:
    """Deadlines for one HTTP exchange, in seconds; ``None`` disables one.

    Args:
        connect: establishing a new TCP/TLS connection.
        read: the longest silence allowed between two reads of the response.  For a stream this
            is the idle time between bytes (events, keep-alive comments), never a total.  An
            error body (4xx/5xx) is read for at most one ``read`` in all (and 10 s), so a body
            that trickles cannot hold the error back.
        total: the whole exchange, body included.  ``None`` by default: streams and long
            generations are bounded by ``read`` instead of aiohttp's default 300 s total.
        pool: only the wait for a free connection slot when every connection of ``Limits`` is
            in use (``APITimeoutError``, the request not sent); not the connect that follows.

    ``Timeout(30)`` sets ``read`` to 30 s and keeps the other defaults.
    """

    read: float | None = 600.0
    connect: float | None = 10.0
    total: float | None = None
    pool: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("read", "connect", "total", "pool"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Timeout.{name} must be a positive number of seconds or None")

    def with_(self, **changes: float | None) -> Timeout:
        """A copy with some fields changed."""
        return replace(self, **changes)


TimeoutLike = Union[Timeout, float, int, None]  # noqa: UP007  (a runtime alias on 3.10)

DEFAULT_TIMEOUT: Final = Timeout()
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_CONCURRENCY: Final = 64  # queue.map's window and `odirouter batch --concurrency`


def strip_v1_suffix(url: str) -> str:
    """``url`` without surrounding whitespace and a trailing ``/v1`` (``https://host/v1/\\n`` ->
    ``https://host``).

    OpenAI users write base URLs ending in ``/v1``; this client adds ``/v1`` (LLM routes) and
    ``/model/v1/queue`` (queue routes) itself, so the suffix would double the path and 404.
    """
    url = url.strip()  # a value read from a file or a .env keeps its newline
    trimmed = url.rstrip("/")
    return trimmed[: -len("/v1")] if trimmed.endswith("/v1") and "://" in trimmed[:-3] else url


def check_proxy_url(url: str, name: str) -> str:
    """A proxy URL as aiohttp can use it (``http://`` or ``https://``; a bare ``host:port`` gets
    ``http://``, as requests and httpx read it); ``ValueError`` naming ``name`` (the argument or
    the environment variable) otherwise.  Messages show scheme, host and port, never credentials.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{name} must be a proxy URL such as 'http://proxy.example:3128'")
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    where = f"{parts.scheme}://{parts.hostname or ''}" + (f":{port}" if port else "")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        hint = "" if name == "proxy" else "; or pass trust_env=False to ignore the proxy variables"
        raise ValueError(
            f"{name} is {where}: only http:// and https:// proxies are supported (aiohttp has no "
            f"SOCKS support){hint}"
        )
    return url


def resolve_timeout(value: TimeoutLike | NotGiven, default: Timeout) -> Timeout:
    """A ``Timeout`` from a Timeout, a number (read/idle seconds) or None (no limits)."""
    if isinstance(value, NotGiven):
        return default
    if value is None:
        return Timeout(read=None, connect=None, total=None, pool=None)
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a Timeout, a number of seconds or None, not {type(value).__name__}")
    return default.with_(read=float(value))


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool settings and bounds on what the client will buffer from the network.

    Args:
        max_connections: connections open at once, all hosts (aiohttp ``limit``).
        max_connections_per_host: per host (aiohttp ``limit_per_host``; 0 = no own limit).
        keepalive_expiry: seconds an idle connection is kept for reuse.
        dns_cache_ttl: seconds a DNS answer is cached.
        max_body_bytes: the largest successful (non-streamed) response body read, counted after
            decompression, so a small gzip bomb cannot fill memory; a larger body raises
            ``ResponseValidationError`` (64 MiB by default).
        max_event_bytes: the largest Server-Sent Event of a stream, counted as raw bytes (field
            names and line endings included); a larger one raises ``SSEProtocolError``.
    """

    max_connections: int = 1000
    max_connections_per_host: int = 0
    keepalive_expiry: float = 30.0
    dns_cache_ttl: int = 300
    max_body_bytes: int = 64 * 1024 * 1024
    max_event_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_event_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number of bytes")


DEFAULT_LIMITS: Final = Limits()


class Secret(str):
    """A string whose ``repr`` never shows it: the API key, an ``Authorization`` value.

    It is still the string everywhere else (headers, comparisons), so a traceback rendered with
    its locals, a debugger or a ``repr`` of a container holding it shows ``'***'`` instead.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


#: Header names whose values are never shown (compared lower-cased, as substrings).
_SECRET_HEADER_WORDS: Final = ("auth", "key", "token", "secret", "cookie", "password", "signature")


def is_secret_header(name: str) -> bool:
    """Whether a header of this name carries a credential (its value is never shown)."""
    lower = name.lower()
    return any(word in lower for word in _SECRET_HEADER_WORDS)


class RedactedHeaders(dict[str, str]):
    """A header dict whose credentials are ``Secret`` values: its ``repr`` (and theirs) shows ``'***'``.

    ``is_secret`` adds a test of values (the client's key under any header name).
    """

    __slots__ = ()

    def __init__(self, headers: Mapping[str, str] | None = None, is_secret: Any = None) -> None:
        super().__init__()
        for name, value in (headers or {}).items():
            plain = isinstance(value, str) and not isinstance(value, Secret)
            if plain and (is_secret_header(name) or (is_secret is not None and is_secret(name, value))):
                value = Secret(value)
            self[name] = value

    @classmethod
    def copy_of(cls, headers: Mapping[str, str]) -> RedactedHeaders:
        """A copy of headers already redacted (no value checked again: the per-request copy)."""
        new = dict.__new__(cls)  # no __init__: nothing to check in a copy
        dict.update(new, headers)
        return new

    def __repr__(self) -> str:
        hidden = "'***'"
        shown = (
            f"{k!r}: {hidden if is_secret_header(k) or isinstance(v, Secret) else repr(v)}"
            for k, v in self.items()
        )
        return "{" + ", ".join(shown) + "}"


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-call escape hatches, the same on every method.

    Args:
        extra_headers: headers merged over the defaults (``X-Request-Id`` here names the call).
        extra_query: query parameters added to the URL.
        extra_body: keys merged over the JSON body (shallow).
        timeout: this call's ``Timeout`` (or a number: read/idle seconds).
        max_retries: this call's retry budget.
        x_request_id: the ``X-Request-Id`` to send (else one is generated); the same on every retry.
    """

    extra_headers: Mapping[str, str] | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    timeout: TimeoutLike | NotGiven = NOT_GIVEN
    max_retries: int | NotGiven = NOT_GIVEN
    x_request_id: str | None = None

    def __repr__(self) -> str:  # header values that carry credentials never shown
        headers = None if self.extra_headers is None else RedactedHeaders(self.extra_headers)
        return (
            f"RequestOptions(extra_headers={headers!r}, extra_query={self.extra_query!r}, "
            f"extra_body={self.extra_body!r}, timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"x_request_id={self.x_request_id!r})"
        )

    @classmethod
    def of(
        cls,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> RequestOptions:
        """Options from the keyword arguments every resource method accepts."""
        if (
            extra_headers is None
            and extra_query is None
            and extra_body is None
            and isinstance(timeout, NotGiven)
            and isinstance(max_retries, NotGiven)
            and x_request_id is None
        ):
            return _EMPTY
        if not isinstance(max_retries, NotGiven):
            check_max_retries(max_retries)
        if extra_headers is not None:  # credentials kept as Secret values: never in a repr
            extra_headers = RedactedHeaders(extra_headers)
        return cls(extra_headers, extra_query, extra_body, timeout, max_retries, x_request_id)

    def merge_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON body with ``extra_body`` merged over it (the caller's dict is not modified)."""
        if not self.extra_body:
            return body
        merged = dict(body)
        merged.update(self.extra_body)
        return merged


_EMPTY: Final = RequestOptions()


def request_body(head: dict[str, Any], fields: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """A method's JSON body: ``head``, then each of ``fields`` that holds a value (``NOT_GIVEN``
    left out), then the caller's other keywords ``extra``.

    The generated chat and Responses methods take their request fields by name and collect them
    in a generated ``fields`` dict (``tools/gen_params.py``); ``extra_body`` is merged over the
    result by the transport (``RequestOptions.merge_body``).
    """
    head.update({name: value for name, value in fields.items() if value is not NOT_GIVEN})
    head.update(extra)
    return head


@dataclass(frozen=True, slots=True)
class PollingOptions:
    """How the client's scheduler polls (one scheduler per client, shared by its views).

    Args:
        max_rate: polls per second for all jobs together (the rate starts at 100/s and doubles
            while polls wait for it, up to this); a 429 lowers it (AIMD) and it recovers.
        max_in_flight: polls sent at once.
        lag_target: deprecated, without effect (the schedule places polls by its own spacing,
            from the endpoint's learned durations); setting it warns (``DeprecationWarning``);
            it will be removed, as will ``lag_fraction`` and ``tick``.
        lag_fraction: deprecated, without effect, as ``lag_target``.
        tick: deprecated, without effect, as ``lag_target``.
        seed: seeds the schedule's jitter (reproducible runs); ``None``: random.
        max_poll_errors: answers in a row of one job that the SDK cannot use (5xx, HTML,
            malformed JSON, from the result and the status URL) before the job ends with the
            last typed error; retried with the schedule's error backoff (``queue/job_state.py``).
        history: per-endpoint job durations kept between runs (warm starts): a file path
            (``queue.history.FileHistory``; ``default_history_path()`` there is the CLI's) or a store
            object with ``get``/``put``/``save``; ``None`` (default): every process starts cold.
    """

    max_rate: float = 10_000.0
    max_in_flight: int = 256
    lag_target: float = 0.25
    lag_fraction: float = 0.1
    tick: float = 0.005
    seed: int | None = None
    max_poll_errors: int = 5
    history: Any = None  # str | os.PathLike[str] | queue.history.HistoryStore | None

    def __post_init__(self) -> None:
        unused = [
            name
            for name, default in (("lag_target", 0.25), ("lag_fraction", 0.1), ("tick", 0.005))
            if getattr(self, name) != default
        ]
        if unused:
            warnings.warn(
                f"PollingOptions({', '.join(unused)}=...) has no effect and will be removed",
                DeprecationWarning,
                stacklevel=3,
            )


DEFAULT_POLLING: Final = PollingOptions()
