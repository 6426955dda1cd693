"""The journal as a small interface: what ``map``'s hooks and the CLI need from a store.

Two stores implement :class:`JournalStore`:

- ``journal.Journal``: the embedded default, one sqlite file, one process at a time (resume
  after a crash).
- ``pg_store.PgJournal``: a PostgreSQL database shared by any number of worker processes on any
  machines; inputs are *claimed* (row leases, ``FOR UPDATE SKIP LOCKED``) instead of walked in
  file order.  Needs the ``postgres`` extra (psycopg 3).

Both keep the same promises: keys from content (``journal.InputKeys``), the intent durable before
the paid submit, the job id recorded right after it, outcomes before the caller sees them, and an
uncertain submit reported, never resent silently (``journal_base.StoreHooks`` is generic over
this protocol, so mypy checks that both stores satisfy it).  :func:`is_postgres_dsn` decides
which store a ``journal=`` string names; :func:`journal_hooks_for` builds the matching hooks.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .map_types import MapHooks

if TYPE_CHECKING:
    from .._http.requester import ClientHandle
    from .journal import Journal

__all__ = ("JournalStore", "is_postgres_dsn", "journal_hooks_for")


class JournalStore(Protocol):
    """What both journal stores offer (see ``journal.Journal`` for the precise semantics)."""

    endpoint: str
    run_id: str

    def request_id_for(self, key: str, attempt: int = 1) -> str:
        """The ``X-Request-Id`` of ``key``'s submit number ``attempt``."""

    async def record_intents(self, items: Iterable[tuple[str, int, str]]) -> None:
        """Durably record ``(key, index, args_hash)`` intents before the submits."""

    def record_submitted(
        self,
        key: str,
        request_id: str,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
    ) -> None:
        """The gateway's job id for ``key`` (batched)."""

    def record_outcome(self, key: str, ok: bool, payload: bytes | None) -> None:
        """How ``key`` ended (batched)."""

    def record_cancelled(self, key: str) -> None:
        """This client cancelled ``key``'s job (batched)."""

    def discard_intent(self, key: str) -> None:
        """The submit of ``key`` provably created no job (batched)."""

    async def commit(self) -> None:
        """Everything recorded so far survives this process."""

    async def flush(self) -> None:
        """Everything recorded so far is durable."""

    async def close(self) -> None:
        """Flush and release the store (idempotent)."""


def is_postgres_dsn(journal: object) -> bool:
    """Whether ``journal`` is a PostgreSQL connection URI (``postgresql://`` or ``postgres://``)."""
    return isinstance(journal, str) and journal.startswith(("postgresql://", "postgres://"))


def journal_hooks_for(
    journal: Journal | str | os.PathLike[str],
    inputs: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    client: ClientHandle,
    resubmit_uncertain: bool,
) -> tuple[MapHooks, Iterable[Any] | AsyncIterable[Any]]:
    """The hooks for ``queue.map(..., journal=...)`` and the inputs the map should read.

    A PostgreSQL URI gives shared-batch hooks whose inputs are the rows this worker claims (the
    given ``inputs`` are loaded into the database once); anything else the sqlite hooks.
    """
    if is_postgres_dsn(journal):
        from .pg_hooks import PgJournalHooks

        if isinstance(inputs, AsyncIterable):
            raise TypeError("a PostgreSQL journal needs the inputs as a (finite) iterable")
        hooks = PgJournalHooks(str(journal), inputs, client=client, resubmit_uncertain=resubmit_uncertain)
        return hooks, hooks.claimed_inputs()
    from .journal_hooks import JournalHooks

    return JournalHooks(journal, client=client, resubmit_uncertain=resubmit_uncertain), inputs
