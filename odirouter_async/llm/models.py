"""``client.models``: ``GET /v1/models`` (awaitable, or ``async for`` over the models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from .._config import NOT_GIVEN, NotGiven, RequestOptions, TimeoutLike
from ..http.list_call import ListCall
from ..types.models import Model, ModelList

if TYPE_CHECKING:
    from ..http.requester import ClientHandle

__all__ = ("Models",)

_MODEL_LIST = msgspec.json.Decoder(ModelList)


class Models:
    """The models the gateway offers."""

    def __init__(self, client: ClientHandle) -> None:
        self._client = client

    def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        x_request_id: str | None = None,
    ) -> ListCall[ModelList, Model]:
        """``GET /v1/models``: ``await`` it for a ``ModelList`` (``.data[i].id``), or
        ``async for model in client.models.list()`` over the ``Model`` items."""
        opts = RequestOptions.of(
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            max_retries=max_retries,
            x_request_id=x_request_id,
        )
        requester = self._client.requester

        async def fetch() -> ModelList:
            resp = await requester.request("GET", "/v1/models", options=opts)
            return resp.parse(_MODEL_LIST)

        return ListCall(fetch, _models_of)


def _models_of(page: ModelList) -> list[Model]:
    return page.data
