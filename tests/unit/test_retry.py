"""The retry policy: which failures are retried, and after how long."""

from __future__ import annotations

import email.utils
import itertools

from hypothesis import given, strategies as st

from odirouter_async.http.retry import Failure, RetryPolicy, parse_retry_after

NOW = 1_700_000_000.0


def test_retry_after_seconds() -> None:
    """A Retry-After in seconds is read as a float."""
    assert parse_retry_after({"retry-after": "2.5"}, NOW) == 2.5


def test_retry_after_ms_wins() -> None:
    """retry-after-ms is preferred over Retry-After."""
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, NOW) == 1.5


def test_retry_after_http_date() -> None:
    """An HTTP-date Retry-After becomes seconds from now."""
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, NOW) == 30.0


def test_retry_after_past_date_is_zero() -> None:
    """A date in the past means retry at once, never a negative wait."""
    date = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, NOW) == 0.0


def test_retry_after_garbage_is_ignored() -> None:
    """An unreadable hint is no hint."""
    assert parse_retry_after({"retry-after": "soon"}, NOW) is None
    assert parse_retry_after({"retry-after": "nan"}, NOW) is None
    assert parse_retry_after({}, NOW) is None


def test_idempotent_statuses() -> None:
    """Safe requests retry 408, 409, 429 and 5xx, and nothing else."""
    p = RetryPolicy()
    for status in (408, 409, 429, 500, 502, 503, 504):
        assert p.should_retry(paid=False, status=status)
    for status in (400, 401, 402, 403, 404, 422):
        assert not p.should_retry(paid=False, status=status)


def test_paid_post_retries_only_refusals() -> None:
    """A paid POST retries 429 and 503 (work refused) but not 500/502/504 (work may have started)."""
    p = RetryPolicy()
    assert p.should_retry(paid=True, status=429)
    assert p.should_retry(paid=True, status=503)
    for status in (408, 409, 500, 502, 504):
        assert not p.should_retry(paid=True, status=status)


def test_paid_post_never_after_read_timeout() -> None:
    """A paid POST is retried after a connect failure, never after a read timeout or a cut."""
    p = RetryPolicy()
    assert p.should_retry(paid=True, failure=Failure.CONNECT)
    assert not p.should_retry(paid=True, failure=Failure.READ_TIMEOUT)
    assert not p.should_retry(paid=True, failure=Failure.DISCONNECTED)
    assert p.should_retry(paid=False, failure=Failure.READ_TIMEOUT)


def test_x_should_retry_header_overrides() -> None:
    """x-should-retry: false stops a retry; true allows one even for a paid POST."""
    p = RetryPolicy()
    assert not p.should_retry(paid=False, status=503, headers={"x-should-retry": "false"})
    assert p.should_retry(paid=True, status=500, headers={"x-should-retry": "true"})


def test_delays_follow_backoff_expo_capped() -> None:
    """Without jitter the delays are initial * 2**n, capped at max_delay."""
    p = RetryPolicy(initial_delay=0.5, max_delay=4.0, jitter=lambda v: v)
    assert list(itertools.islice(p.delays(), 6)) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@given(st.integers(min_value=0, max_value=30))
def test_full_jitter_stays_within_cap(n: int) -> None:
    """With backoff's full jitter every delay lies in [0, cap]."""
    p = RetryPolicy(initial_delay=0.5, max_delay=8.0)
    for d in itertools.islice(p.delays(), n):
        assert 0.0 <= d <= 8.0


def test_budget_and_server_hint() -> None:
    """The server's hint is used within the cap; a longer one, or an exhausted budget, gives up."""
    p = RetryPolicy(max_retries=2, max_retry_after=60, jitter=lambda v: v)
    delays = p.delays()
    assert p.next_delay(0, delays, server_hint=3.0) == 3.0
    assert p.next_delay(1, delays, server_hint=None) == 1.0
    assert p.next_delay(2, delays, server_hint=None) is None
    assert p.next_delay(0, p.delays(), server_hint=61.0) is None
