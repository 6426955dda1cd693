"""The journal as a small interface, and which store a ``journal=`` argument names.

Two stores implement ``JournalStore`` (the protocol of what ``map``'s hooks and the CLI need;
defined in ``journal_base``, whose ``StoreHooks`` is generic over it, so mypy checks both):

- ``journal.Journal``: the embedded default, one sqlite file, one process at a time (resume
  after a crash).
- ``pg_store.PgJournal``: a PostgreSQL database shared by any number of worker processes on any
  machines; inputs are *claimed* (row leases, ``FOR UPDATE SKIP LOCKED``) instead of walked in
  file order.  Needs the ``postgres`` extra (psycopg 3).

Both keep the same promises: keys from content (``journal.InputKeys``), the intent durable before
the paid submit, the job id recorded right after it, outcomes before the caller sees them, and an
uncertain submit reported, never resent silently.  :func:`is_postgres_dsn` decides which store a
``journal=`` string names (``batch.dsn``: a URI or a libpq ``keyword=value`` / ``service=`` string
is a database, never a file; a ``pathlib.Path`` is always a file); :func:`journal_hooks_for` builds
the matching map hooks, and refuses a DSN with a ``JournalError`` when psycopg is missing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import JournalError
from .dsn import is_postgres_dsn, redact_dsn
from .journal_base import JournalStore
from .map_types import MapHooks

if TYPE_CHECKING:
    from ..http.requester import ClientHandle
    from .journal import Journal

__all__ = ("JournalStore", "is_postgres_dsn", "journal_hooks_for", "require_driver")


def require_driver(dsn: str) -> None:
    """Refuse a PostgreSQL DSN when psycopg 3 is missing: a typed error before any submit, never a
    local file named after the string.

    Raises:
        JournalError: psycopg cannot be imported (the message shows the DSN without passwords).
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise JournalError(
            f"the journal {redact_dsn(dsn)!r} is a PostgreSQL connection string, which needs "
            "psycopg 3: pip install 'odirouter_async[postgres]' (for a local file of that name, "
            "pass a pathlib.Path)"
        ) from None


def journal_hooks_for(
    journal: Journal | str | os.PathLike[str],
    inputs: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    client: ClientHandle,
    resubmit_uncertain: bool,
) -> tuple[MapHooks, Iterable[Any] | AsyncIterable[Any]]:
    """The hooks for ``queue.map(..., journal=...)`` and the inputs the map should read.

    A PostgreSQL DSN (URI or libpq ``keyword=value`` / ``service=``; ``batch.dsn``) gives
    shared-batch hooks whose inputs are the rows this worker claims (the given ``inputs`` are
    loaded into the database once); anything else the sqlite hooks.
    """
    if is_postgres_dsn(journal):
        require_driver(str(journal))
        from .pg_hooks import PgJournalHooks

        if isinstance(inputs, AsyncIterable):
            raise TypeError("a PostgreSQL journal needs the inputs as a (finite) iterable")
        hooks = PgJournalHooks(str(journal), inputs, client=client, resubmit_uncertain=resubmit_uncertain)
        return hooks, hooks.claimed_inputs()
    from .journal_hooks import JournalHooks

    return JournalHooks(journal, client=client, resubmit_uncertain=resubmit_uncertain), inputs
