"""``client.chat.completions``: placeholder, filled in by the LLM work."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import AsyncOdiRouter


class Chat:
    """``client.chat``."""

    def __init__(self, client: AsyncOdiRouter) -> None:
        self._client = client
