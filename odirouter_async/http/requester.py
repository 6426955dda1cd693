"""``ClientHandle``: what resources and the queue floor hold instead of the client, a Protocol.

``AsyncOdiRouter`` (``_client.py``) imports the resources, so the resources cannot import it back
(``tests/unit/test_import_graph.py``: no cycle, no upward arrow, ``TYPE_CHECKING`` imports
included); this Protocol states the two things they use: the client's ``requester`` (the
``Transport``: the one request path, a concrete class below them) and ``_shared`` (the state a
client shares with its ``with_options`` views: ``pool``, ``polling`` and the ``scheduler`` slot,
filled by the queue floor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .transport import Transport

__all__ = ("ClientHandle",)


class ClientHandle(Protocol):
    """What resources and the queue floor hold instead of the concrete ``AsyncOdiRouter``."""

    @property
    def requester(self) -> Transport:
        """The client view's request path."""
        ...

    @property
    def _shared(self) -> Any:
        """State shared with the client's views: ``pool``, ``polling``, the ``scheduler`` slot."""
        ...
