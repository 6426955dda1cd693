"""The PostgreSQL journal's connection: one psycopg 3 connection that survives a database restart,
and the read-only status query of ``odirouter batch-status``.

:meth:`PgConnection.run` runs a function of the connection under a lock (one statement or one
transaction at a time).  On a connection failure (the server restarted, the network dropped) it
reconnects with exponential backoff for up to ``reconnect_timeout`` seconds and runs the whole
function again -- the caller's statements are idempotent (``pg_store`` fences each by owner and
state), so running one twice after a lost ``COMMIT`` answer changes nothing.  Any other database
error is a :class:`JournalError`.  ``stats`` counts statements and reconnect attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import psycopg

from .._exceptions import JournalError
from . import pg_sql as sql
from .dsn import redact_text

__all__ = ("PgConnection", "batch_status")

T = TypeVar("T")
_FIRST_DELAY: Final = 0.05
_MAX_DELAY: Final = 1.0


class PgConnection:
    """A connection that reconnects and retries (see the module docstring); ``await close()`` it."""

    def __init__(self, dsn: str, reconnect_timeout: float, stats: dict[str, int]) -> None:
        self._dsn = dsn
        self.reconnect_timeout = reconnect_timeout
        self.stats = stats
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def exec(
        self, conn: psycopg.AsyncConnection[Any], statement: str, params: Any = None
    ) -> psycopg.AsyncCursor[Any]:
        """Run one counted statement on ``conn`` (inside a function given to :meth:`run`)."""
        self.stats["statements"] += 1
        return await conn.execute(statement, params)

    async def run(self, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run ``fn`` on the connection; reconnect and run it again after a connection failure."""
        deadline: float | None = None
        delay = _FIRST_DELAY
        while True:
            async with self._lock:
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
                    return await fn(self._conn)
                except psycopg.OperationalError as exc:
                    error = exc
                    await self.close()
                except psycopg.Error as exc:
                    raise JournalError(
                        f"the journal database refused a statement: {redact_text(str(exc), self._dsn)}"
                    ) from None
            now = time.monotonic()
            deadline = now + self.reconnect_timeout if deadline is None else deadline
            if now >= deadline:
                raise JournalError(
                    f"the journal database is unreachable for {self.reconnect_timeout:g} s: "
                    f"{redact_text(str(error), self._dsn)}"
                ) from None
            self.stats["reconnects"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)

    async def close(self) -> None:
        """Drop the connection (the next :meth:`run` connects again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except psycopg.Error:
                pass


async def batch_status(dsn: str, batch: str | None) -> dict[str, Any]:
    """Counts by state, overall and per worker, of ``batch`` (the only batch if ``None``)."""
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise JournalError(f"cannot connect to the journal database: {redact_text(str(exc), dsn)}") from None
    async with conn:
        try:
            batches = await (await conn.execute(sql.BATCHES)).fetchall()
        except psycopg.errors.UndefinedTable:
            raise JournalError("no odirouter batch in this database") from None
        names = [name for name, _ in batches]
        if batch is None:
            if len(names) != 1:
                listed = ", ".join(names)
                raise JournalError(f"{len(names)} batches in this database ({listed}): pass --batch")
            batch = names[0]
        elif batch not in names:
            raise JournalError(f"no batch {batch!r} in this database ({', '.join(names) or 'none'})")
        rows = await (await conn.execute(sql.STATUS, (batch,))).fetchall()
    endpoint = {str(name): str(ep) for name, ep in batches}[batch]
    return {"batch": batch, "endpoint": endpoint, "rows": [tuple(r) for r in rows]}
