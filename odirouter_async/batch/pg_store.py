"""The PostgreSQL journal store: one batch shared by worker processes on any machines.

``await PgJournal.open(dsn, endpoint=..., batch=...)`` connects (psycopg 3, autocommit), creates
the tables if needed (``pg_sql``), registers this process as a worker with a lease, and starts
two tasks: the *heartbeat* (one UPDATE every ``lease / 3`` s; a worker that finds its lease gone
stops: every later awaited call raises :class:`JournalError`) and the *writer* (group commits of
the batched records, like the sqlite store's worker thread).

Claims.  :meth:`claim` runs ONE statement (``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED
LIMIT n) RETURNING``): no transaction, row lock or advisory lock is ever held across a submit or
a poll.  :meth:`claim_intents` moves claimed rows to ``intent`` -- awaited, committed before the
submit is sent -- and returns the keys it could move: a key missing there was lost to another
worker (this one stalled past its lease) and must not be submitted.

Reconnects.  Every database call runs through ``pg_conn.PgConnection``: on a connection failure
(the server restarted, the network dropped) it reconnects with exponential backoff for up to
``reconnect_timeout`` seconds and runs the whole transaction again.  Every statement is
idempotent for this worker (fenced by owner and state), so running one twice after a lost
``COMMIT`` answer changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import Any, Final

import psycopg

from .._exceptions import JournalError
from . import pg_sql as sql
from .pg_conn import PgConnection

__all__ = ("ClaimedRow", "PgJournal")

_MAX_BATCH: Final = 512  # batched records that force a commit before ``flush_interval``


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """One input this worker claimed: ``state`` is ``claimed`` (submit it), ``submitted`` (re-attach
    ``request_id``) or ``uncertain`` (a dead worker's submit in flight: report it)."""

    key: str
    index: int
    args: bytes
    state: str
    old_state: str
    attempt: int
    request_id: str | None
    submitted_at: float | None


class PgJournal:
    """A worker's handle on a shared batch (see the module docstring); ``await close()`` it."""

    def __init__(
        self,
        dsn: str,
        endpoint: str,
        batch: str,
        lease: float,
        flush_interval: float,
        reconnect_timeout: float,
    ) -> None:
        """Internal: use :meth:`open`."""
        self.endpoint = endpoint
        self.batch = batch
        self.lease = lease
        self.flush_interval = flush_interval
        self.reconnect_timeout = reconnect_timeout
        self.run_id = ""
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        self.started_at: datetime | None = None
        self.failure: JournalError | None = None
        self._ops: list[tuple[str, tuple[Any, ...]]] = []
        self._intents: list[tuple[list[str], asyncio.Future[set[str]]]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.stats = {"statements": 0, "transactions": 0, "reconnects": 0, "claims": 0}
        self._pg = PgConnection(dsn, reconnect_timeout, self.stats)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        endpoint: str,
        batch: str | None = None,
        lease: float = 30.0,
        flush_interval: float = 0.05,
        reconnect_timeout: float = 60.0,
    ) -> PgJournal:
        """Connect, create the tables if needed, join (or create) batch ``batch`` (default: the
        endpoint) and register this worker.

        Raises:
            JournalError: the database is unreachable, or the batch belongs to another endpoint.
        """
        if not endpoint:
            raise ValueError("endpoint must not be empty")
        if not lease > 0 or flush_interval < 0:
            raise ValueError("lease must be > 0 and flush_interval >= 0")
        self = cls(dsn, endpoint, batch or endpoint, lease, flush_interval, reconnect_timeout)
        try:
            await self._pg.run(self._join)
        except BaseException:
            await self._pg.close()
            raise
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._heartbeat(), name="odirouter-pg-heartbeat"),
            loop.create_task(self._writer(), name="odirouter-pg-writer"),
        ]
        return self

    async def _join(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await self._pg.exec(conn, "SELECT pg_advisory_xact_lock(%s)", (sql.SCHEMA_LOCK,))
            for statement in sql.SCHEMA:
                await self._pg.exec(conn, statement)
            await self._pg.exec(conn, sql.NEW_BATCH, (self.batch, self.endpoint, os.urandom(4).hex()))
            cur = await self._pg.exec(conn, sql.GET_BATCH, (self.batch,))
            endpoint, run_id = await cur.fetchone() or ("", "")
            if endpoint != self.endpoint:
                raise JournalError(
                    f"the batch {self.batch!r} in this database runs on endpoint {endpoint!r}, not "
                    f"{self.endpoint!r}: use another batch name"
                )
            self.run_id = run_id
            cur = await self._pg.exec(
                conn,
                sql.REGISTER + " RETURNING started_at",
                (self.worker_id, self.batch, socket.gethostname(), os.getpid(), self.lease),
            )
            row = await cur.fetchone()
            self.started_at = row[0] if row else None

    # -- keys and inputs ------------------------------------------------------------------------

    def request_id_for(self, key: str, attempt: int = 1) -> str:
        """``jr-{run_id}-{key}`` (``-a{n}`` from attempt 2): the same for every worker of the batch."""
        suffix = f"-a{attempt}" if attempt > 1 else ""
        return f"jr-{self.run_id}-{key}{suffix}"

    async def load_inputs(self, rows: Sequence[tuple[str, int, bytes]]) -> int:
        """Load ``(key, index, arguments JSON)`` rows once; returns how many were new.

        A worker whose keys have the digest already loaded sends nothing; otherwise missing keys
        are added (``COPY`` into a temporary table, one ``INSERT ... ON CONFLICT DO NOTHING``).
        """
        digest = hashlib.sha256("\n".join(sorted(k for k, _, _ in rows)).encode()).hexdigest()

        async def load(conn: psycopg.AsyncConnection[Any]) -> int:
            async with conn.transaction():
                cur = await self._pg.exec(conn, sql.LOCK_BATCH, (self.batch,))
                found = await cur.fetchone()
                if found is not None and found[0] == digest:
                    return 0
                await self._pg.exec(conn, sql.LOAD_TEMP)
                async with conn.cursor() as cur, cur.copy(sql.LOAD_COPY) as copy:
                    for row in rows:
                        await copy.write_row(row)
                self.stats["statements"] += 1
                cur = await self._pg.exec(conn, sql.LOAD_INSERT, (self.batch,))
                added = cur.rowcount
                await self._pg.exec(conn, sql.SET_DIGEST, (digest, self.batch))
                return added

        self._check()
        return await self._pg.run(load)

    # -- claims -----------------------------------------------------------------------------------

    async def claim(
        self,
        n: int,
        *,
        held: Iterable[str] = (),
        resubmit_uncertain: bool = False,
        retry_failed: bool = False,
    ) -> list[ClaimedRow]:
        """Claim up to ``n`` inputs (one statement); ``held``: keys this worker holds claimed."""
        self._check()
        params = {
            "batch": self.batch,
            "me": self.worker_id,
            "held": list(held),
            "resubmit": resubmit_uncertain,
            "retry": retry_failed,
            "since": self.started_at,
            "n": n,
        }

        async def run(conn: psycopg.AsyncConnection[Any]) -> list[ClaimedRow]:
            cur = await self._pg.exec(conn, sql.CLAIM, params)
            return [ClaimedRow(*row) for row in await cur.fetchall()]

        rows = await self._pg.run(run)
        self.stats["claims"] += 1
        return sorted(rows, key=lambda r: r.index)

    async def others_open(self) -> int:
        """Inputs not finished that this worker does not hold (pending or other workers')."""
        self._check()

        async def run(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await self._pg.exec(conn, sql.OTHERS_OPEN, (self.batch, self.worker_id))
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        return await self._pg.run(run)

    async def claim_intents(self, keys: list[str]) -> set[str]:
        """Move claimed ``keys`` to ``intent`` (committed when this returns); the keys moved."""
        self._check()
        fut: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._intents.append((keys, fut))
        self._wake.set()
        return await fut

    async def record_intents(self, items: Iterable[tuple[str, int, str]]) -> None:
        """``JournalStore`` form of :meth:`claim_intents`: raises if a key was lost."""
        keys = [key for key, _, _ in items]
        got = await self.claim_intents(keys)
        if len(got) != len(keys):
            raise JournalError("this worker lost its claim on an input (its lease expired)")

    # -- batched records (all fenced by owner) ------------------------------------------------

    def record_submitted(
        self,
        key: str,
        request_id: str,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
    ) -> None:
        """The job id of ``key`` (URLs are derived from the endpoint and id, not stored)."""
        self._put(sql.SUBMITTED, (request_id, time.time(), self.batch, self.worker_id, key))

    def record_outcome(self, key: str, ok: bool, payload: bytes | None) -> None:
        """``done`` with the raw result body, or ``failed`` with the error JSON."""
        self._put(sql.OUTCOME, ("done" if ok else "failed", payload, self.batch, self.worker_id, key))

    def record_cancelled(self, key: str) -> None:
        """This worker cancelled the job of ``key`` (a later worker runs it again)."""
        self._put(sql.CANCELLED, (self.batch, self.worker_id, key))

    def discard_intent(self, key: str) -> None:
        """The submit created no job: the input is pending again (any worker may claim it)."""
        self._put(sql.DISCARD, (self.batch, self.worker_id, key))

    def record_not_created(self, key: str, payload: bytes, later: bool = False) -> None:
        """The submit created no job: pending again; ``later`` (a definite refusal): only workers
        started after now claim it (no loop on an input the gateway refuses)."""
        if not later:
            self.discard_intent(key)
            return
        self._put(sql.NOT_CREATED, (payload, self.batch, self.worker_id, key))

    async def record_retry(self, key: str, attempt: int, payload: bytes) -> None:
        """Durably: the job of ``key`` failed and attempt ``attempt`` is about to be submitted."""
        self._put(sql.RETRY, (attempt, payload, self.batch, self.worker_id, key))
        await self.commit()

    async def commit(self) -> None:
        """Wait until every record so far is committed."""
        self._check()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._wake.set()
        await fut

    flush = commit  # a PostgreSQL commit is durable (``synchronous_commit`` permitting)

    async def close(self) -> None:
        """Commit, give back claimed-but-unsent inputs, end the lease, disconnect (idempotent)."""
        if self._closed:
            return
        try:
            if self.failure is None:
                await self.commit()

                async def leave(conn: psycopg.AsyncConnection[Any]) -> None:
                    async with conn.transaction():
                        await self._pg.exec(conn, sql.RELEASE, (self.batch, self.worker_id))
                        await self._pg.exec(conn, sql.STOP_WORKER, (self.worker_id,))

                await self._pg.run(leave)
        finally:
            self._closed = True
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)
            await self._pg.close()

    async def __aenter__(self) -> PgJournal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- background tasks ---------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)

            async def renew(conn: psycopg.AsyncConnection[Any]) -> int:
                cur = await self._pg.exec(conn, sql.RENEW, (self.lease, self.worker_id))
                return cur.rowcount

            try:
                renewed = await self._pg.run(renew)
            except JournalError as exc:
                self._fail(exc)
                return
            if renewed != 1:
                self._fail(JournalError(f"worker {self.worker_id} lost its lease (stalled longer than it)"))
                return

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._ops and not (self._intents or self._waiters) and len(self._ops) < _MAX_BATCH:
                # Only batched records: give them ``flush_interval`` to gather (an awaited call or
                # a full batch sets the event again and commits at once).
                try:
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
            ops, self._ops = self._ops, []
            intents, self._intents = self._intents, []
            waiters, self._waiters = self._waiters, []
            keys = [k for batch, _ in intents for k in batch]
            try:
                moved = await self._pg.run(partial(self._commit, ops=ops, keys=keys))
            except JournalError as exc:
                self._fail(exc)
                for _, fut in intents:
                    if not fut.done():
                        fut.set_exception(exc)
                for w in waiters:
                    if not w.done():
                        w.set_exception(exc)
                return
            for _, fut in intents:
                if not fut.done():
                    fut.set_result(moved)
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def _commit(
        self, conn: psycopg.AsyncConnection[Any], ops: list[tuple[str, tuple[Any, ...]]], keys: list[str]
    ) -> set[str]:
        if not ops and not keys:
            return set()
        moved: set[str] = set()
        async with conn.transaction(), conn.cursor() as cur:
            if ops:
                for statement, group in groupby(ops, key=itemgetter(0)):
                    await cur.executemany(statement, [params for _, params in group])
                self.stats["statements"] += len(ops)
            if keys:
                await cur.execute(sql.INTENTS, (self.batch, self.worker_id, keys))
                self.stats["statements"] += 1
                moved = {row[0] for row in await cur.fetchall()}
        self.stats["transactions"] += 1
        return moved

    def _put(self, statement: str, params: tuple[Any, ...]) -> None:
        if self._closed:
            raise JournalError("the journal is closed")
        self._ops.append((statement, params))
        if len(self._ops) in (1, _MAX_BATCH):  # the first starts the flush_interval wait
            self._wake.set()

    def _fail(self, exc: JournalError) -> None:
        if self.failure is None:
            self.failure = exc

    def _check(self) -> None:
        if self._closed:
            raise JournalError("the journal is closed")
        if self.failure is not None:
            raise self.failure

    def __repr__(self) -> str:  # the DSN may hold a password: never shown
        return f"PgJournal(batch={self.batch!r}, endpoint={self.endpoint!r}, worker={self.worker_id!r})"
