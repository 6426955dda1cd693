"""The bases of the Responses stream events, and ``UnknownEvent`` (see ``response_events``).

``ResponseStreamEventBase`` is the msgspec tagged base (``tag_field="type"``); ``_Item``,
``_Content`` and ``_Summary`` add the location fields most events share.  ``UnknownEvent`` is what
a type outside the union becomes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from ._base import TopLevel

__all__ = ("ResponseStreamEventBase", "UnknownEvent")


class ResponseStreamEventBase(TopLevel, tag_field="type"):
    """Fields every stream event has; ``type`` is the tag (a ``Literal`` ``ClassVar`` per class)."""

    sequence_number: int | None = None

    @property
    def type(self) -> str:
        """The event type (each concrete class overrides this with its ``Literal`` tag)."""
        return str(self.__struct_config__.tag)


class _Item(ResponseStreamEventBase):
    item_id: str = ""
    output_index: int = 0


class _Content(_Item):
    content_index: int = 0


class _Summary(_Item):
    summary_index: int = 0


class UnknownEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An event whose type this SDK does not know.

    Attributes:
        type: always ``"unknown"`` (so narrowing on a documented type excludes this class).
        event_type: the event's own ``type`` string as the server sent it.
        raw: the event's JSON object.
        sequence_number: the event's ``sequence_number``, when it has an integer one.
    """

    type: ClassVar[Literal["unknown"]] = "unknown"
    event_type: str
    raw: dict[str, Any]
    sequence_number: int | None = None
