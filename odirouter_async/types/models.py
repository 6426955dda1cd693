"""Model listing wire types: ``GET /v1/models`` -> ``ModelList`` of ``Model``."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from ._base import TopLevel, WireModel

__all__ = ("Model", "ModelList")


class Model(WireModel):
    """One model the gateway routes to."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None


class ModelList(TopLevel):
    """The ``list`` body of ``GET /v1/models``; iterating it iterates ``data``."""

    object: str = "list"
    data: list[Model] = msgspec.field(default_factory=list)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
