"""Configuration values and URL/origin rules."""

from __future__ import annotations

import pytest

from odirouter_async._config import NOT_GIVEN, RequestOptions, Timeout, resolve_timeout
from odirouter_async._exceptions import InsecureURLError
from odirouter_async.http.urls import check_base_url, is_loopback, join_url, origin_of


def test_timeout_number_sets_read_only() -> None:
    """A number as timeout is the read/idle timeout; the other fields keep their defaults."""
    t = resolve_timeout(30, Timeout())
    assert t.read == 30 and t.connect == Timeout().connect and t.total is None


def test_timeout_none_disables_all() -> None:
    """timeout=None disables every limit."""
    t = resolve_timeout(None, Timeout())
    assert (t.read, t.connect, t.total, t.pool) == (None, None, None, None)


def test_timeout_rejects_nonsense() -> None:
    """Negative or non-numeric timeouts are caller errors."""
    with pytest.raises(ValueError):
        Timeout(read=-1)
    with pytest.raises(TypeError):
        resolve_timeout("10", Timeout())  # type: ignore[arg-type]


def test_default_timeout_has_no_total() -> None:
    """Streams and long polls never inherit a total deadline by default."""
    assert Timeout().total is None
    assert resolve_timeout(NOT_GIVEN, Timeout()).total is None


def test_extra_body_merges_shallow() -> None:
    """extra_body keys override the body without touching the caller's dict."""
    body = {"a": 1, "b": 2}
    opts = RequestOptions.of(extra_body={"b": 3, "c": 4})
    assert opts.merge_body(body) == {"a": 1, "b": 3, "c": 4}
    assert body == {"a": 1, "b": 2}


def test_origins() -> None:
    """Origins compare scheme, host and port, with default ports filled in."""
    assert origin_of("https://odirouter.ai/x") == origin_of("https://ODIROUTER.ai:443/y")
    assert origin_of("https://odirouter.ai") != origin_of("http://odirouter.ai")
    assert origin_of("https://odirouter.ai") != origin_of("https://cdn.odirouter.ai")
    with pytest.raises(InsecureURLError):
        origin_of("ftp://x")


def test_plain_http_only_for_loopback() -> None:
    """http:// is refused for remote hosts unless explicitly allowed."""
    assert check_base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_base_url("http://localhost:1") == "http://localhost:1"
    with pytest.raises(InsecureURLError):
        check_base_url("http://odirouter.ai")
    assert check_base_url("http://odirouter.ai", allow_insecure_http=True) == "http://odirouter.ai"


def test_base_url_without_credentials() -> None:
    """A base URL carrying user:password is refused."""
    with pytest.raises(InsecureURLError):
        check_base_url("https://user:pw@odirouter.ai")


def test_loopback_and_join() -> None:
    """Loopback detection and path joining."""
    assert is_loopback("127.5.0.1") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert join_url("https://a.b", "v1/models") == "https://a.b/v1/models"
    assert join_url("https://a.b", "https://c.d/x") == "https://c.d/x"


def test_limits_body_and_event_caps() -> None:
    """Limits has generous default body/event caps and refuses non-positive ones."""
    from odirouter_async._config import Limits

    assert Limits().max_body_bytes == 64 * 1024 * 1024 and Limits().max_event_bytes == 64 * 1024 * 1024
    assert Limits(max_body_bytes=1).max_body_bytes == 1
    for bad in (0, -5, 2.5, True, None):
        with pytest.raises(ValueError, match="max_body_bytes"):
            Limits(max_body_bytes=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_event_bytes"):
            Limits(max_event_bytes=bad)  # type: ignore[arg-type]
