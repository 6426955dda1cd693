"""``client.videos``: placeholder, filled in by its issue's work."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import AsyncOdiRouter


class Videos:
    """``client.videos``."""

    def __init__(self, client: AsyncOdiRouter) -> None:
        self._client = client
