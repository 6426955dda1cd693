"""How many examples a property test that sets its own count runs under the loaded hypothesis
profile (tests/conftest.py: ``fast`` by default, ``dev`` and ``ci`` on request)."""

from __future__ import annotations

from hypothesis import settings


def scaled(n: int) -> int:
    """``n`` examples as written for the ``dev`` profile (100 by default), scaled down to the
    loaded profile's default (never more than ``n``, never fewer than 5)."""
    return min(n, max(5, n * settings().max_examples // 100))
