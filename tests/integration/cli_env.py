"""The ``odirouter`` command in-process on the test's own (virtual-time) loop, against a server on it."""

from __future__ import annotations

import pytest


def point_cli_at(url: str, api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its client from the environment: point it at the server at ``url``."""
    monkeypatch.setenv("ODIROUTER_API_KEY", api_key)
    monkeypatch.setenv("ODIROUTER_BASE_URL", url)
