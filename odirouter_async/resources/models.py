"""``client.models``: ``GET /v1/models``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from ..types.models import ModelList

if TYPE_CHECKING:
    from .._client import AsyncOdiRouter

__all__ = ("Models",)

_MODEL_LIST = msgspec.json.Decoder(ModelList)


class Models:
    """The models the gateway offers."""

    def __init__(self, client: AsyncOdiRouter) -> None:
        self._client = client

    async def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> ModelList:
        """``GET /v1/models``: a ``ModelList`` (``.data[i].id``)."""
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        resp = await self._client._transport.request("GET", "/v1/models", options=opts)
        return resp.parse(_MODEL_LIST)
