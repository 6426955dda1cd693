"""The journal's worker thread: it owns the sqlite3 connection and does group commits.

Only ``journal.py`` uses this module.  The event loop talks to the thread through one
``queue.SimpleQueue`` of ``(Msg, payload, future)`` tuples; the thread answers by resolving
asyncio futures with ``loop.call_soon_threadsafe`` (one wake-up per commit, not per caller).

The loop of the thread: block for a message (or until the oldest unawaited write is
``flush_interval`` old), drain whatever else is queued, and when something waits (an awaited
write, a flush, a read, the close), ``max_batch`` writes are pending, or the deadline passed, run
all pending writes in ONE transaction (``synchronous=FULL``: sqlite's rollback journal, so the
transaction is fsynced into the main file before ``COMMIT`` returns), then answer every waiter.
Writes keep their arrival order, so a record can never overtake the intent it refers to.

Opening locks the sibling ``<real path>.lock`` (so deleting the journal file mid-run cannot let a
second run start) and the file itself (``flock`` on the database file's inode, so a symlink, a
relative path or a hard link cannot open it twice), then checks, creates or migrates it
(``journal_schema.prepare``).
"""

from __future__ import annotations

import asyncio
import enum
import os
import queue
import sqlite3
import sys
import threading
import time
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from .._exceptions import JournalError
from .journal_schema import SCHEMA_VERSION, prepare

__all__ = ("SCHEMA_VERSION", "JournalError", "Msg", "Worker", "WriteOp")

#: One SQL statement and its parameters.
WriteOp = tuple[str, tuple[Any, ...]]


class Msg(enum.Enum):
    """What a queued message asks of the worker."""

    OPEN = "open"
    LAZY = "lazy"  # payload: one WriteOp; nobody waits
    DURABLE = "durable"  # payload: list[WriteOp]; answered after an fsynced commit
    FLUSH = "flush"
    COMMIT = "commit"  # like FLUSH, without the fsync
    READ = "read"  # payload: a function of the connection, run after pending writes
    CLOSE = "close"


_Waiter = tuple[Msg, Any, "asyncio.Future[Any]"]


class Worker:
    """The thread and its queue (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        endpoint: str,
        loop: asyncio.AbstractEventLoop,
        flush_interval: float,
        max_batch: int,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.loop = loop
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.failure: JournalError | None = None
        self._q: queue.SimpleQueue[tuple[Msg, Any, asyncio.Future[Any] | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="odirouter-journal", daemon=True)
        self._lock_fds: list[int] = []
        self._stats = {"records": 0.0, "commits": 0.0, "synced_commits": 0.0, "thread_seconds": 0.0}

    # -- loop side --------------------------------------------------------------------------

    async def start(self) -> str:
        """Start the thread, open the database; returns the journal's ``run_id``."""
        self._thread.start()
        try:
            run_id: str = await self.call(Msg.OPEN, None)
        except asyncio.CancelledError:
            self._q.put((Msg.CLOSE, None, None))
            raise
        return run_id

    async def call(self, kind: Msg, payload: Any) -> Any:
        """Queue a message and wait for the thread's answer."""
        fut: asyncio.Future[Any] = self.loop.create_future()
        self._q.put((kind, payload, fut))
        return await fut

    def put_lazy(self, op: WriteOp) -> None:
        """Queue a write nobody waits for."""
        self._q.put((Msg.LAZY, op, None))

    def put_close(self) -> None:
        """Ask the thread to commit, close and stop, without waiting (safe from ``__del__``)."""
        self._q.put((Msg.CLOSE, None, None))

    def stats(self) -> dict[str, float]:
        """A copy of the counters."""
        return dict(self._stats)

    # -- thread side ------------------------------------------------------------------------

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        _, _, fut = self._q.get()  # always the OPEN message (``start`` sends it first)
        try:
            conn, run_id = self._open()
        except Exception as exc:
            error = exc if isinstance(exc, JournalError) else JournalError(f"cannot open: {exc!r}")
            self._resolve([(fut, None, error)] if fut else [])
            self._unlock()
            return
        if fut is not None:
            self._resolve([(fut, run_id, None)])
        try:
            self._serve(conn)
        except Exception as exc:  # a bug or an OS failure: fail every caller, never hang one
            self.failure = JournalError(f"the journal {self.path} stopped: {exc!r}")
            self._refuse_all()
        finally:
            conn.close()
            self._unlock()

    def _refuse_all(self) -> None:
        """Answer every message with the failure until the journal is closed."""
        while True:
            kind, _, fut = self._q.get()
            if fut is not None:
                self._resolve([(fut, None, None if kind is Msg.CLOSE else self.failure)])
            if kind is Msg.CLOSE:
                return

    def _serve(self, conn: sqlite3.Connection) -> None:
        ops: list[WriteOp] = []
        waiters: list[_Waiter] = []
        deadline: float | None = None
        q = self._q
        drain_cap = 4 * self.max_batch
        while True:
            msg: tuple[Msg, Any, asyncio.Future[Any] | None] | None
            if deadline is None:
                msg = q.get()
            else:
                try:
                    msg = q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    msg = None
            taken = 0
            while msg is not None:
                kind, payload, fut = msg
                if kind is Msg.LAZY:
                    ops.append(payload)
                    if deadline is None:
                        deadline = time.monotonic() + self.flush_interval
                elif fut is not None:
                    if kind is Msg.DURABLE:
                        ops.extend(payload)
                    waiters.append((kind, payload, fut))
                elif kind is Msg.CLOSE:  # an abandoned open or journal: commit and stop quietly
                    try:
                        self._commit(conn, ops)
                    except Exception as exc:
                        self.failure = JournalError(f"cannot write the journal {self.path}: {exc}")
                    return
                taken += 1
                if taken >= drain_cap:
                    break
                try:
                    msg = q.get_nowait()
                except queue.Empty:
                    msg = None
            due = deadline is not None and time.monotonic() >= deadline
            if not waiters and len(ops) < self.max_batch and not due:
                continue
            if self._flush(conn, ops, waiters):
                return
            ops, waiters, deadline = [], [], None

    def _flush(self, conn: sqlite3.Connection, ops: list[WriteOp], waiters: list[_Waiter]) -> bool:
        """Commit ``ops``, answer ``waiters``; True when one of them closed the journal."""
        started = time.perf_counter()
        error: JournalError | None = None
        try:
            self._commit(conn, ops)
        except Exception as exc:  # sqlite3.Error, OSError, MemoryError ...
            error = JournalError(f"cannot write the journal {self.path}: {exc}")
            self.failure = error
        answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        closing = False
        for kind, payload, fut in waiters:
            if kind is Msg.READ and error is None:
                try:
                    answers.append((fut, payload(conn), None))
                except Exception as exc:
                    answers.append((fut, None, JournalError(f"cannot read the journal: {exc}")))
            elif kind is Msg.CLOSE:
                closing = True
                answers.append((fut, None, error))
            else:
                answers.append((fut, None, error))
        self._stats["thread_seconds"] += time.perf_counter() - started
        if closing:
            conn.close()
            self._unlock()
        self._resolve(answers)
        return closing

    def _commit(self, conn: sqlite3.Connection, ops: list[WriteOp]) -> None:
        # Rollback-journal mode: every commit is fsynced into the main file (synchronous=FULL;
        # NORMAL could corrupt the file on power loss in this mode).
        if not ops:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, group in groupby(ops, key=itemgetter(0)):
                conn.executemany(sql, [params for _, params in group])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._stats["records"] += len(ops)
        self._stats["commits"] += 1
        self._stats["synced_commits"] += 1

    def _open(self) -> tuple[sqlite3.Connection, str]:
        self._lock()
        try:
            real = os.path.realpath(self.path)  # the -journal file goes next to the real file
            conn = sqlite3.connect(real, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            self._unlock()
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
        try:
            return conn, prepare(conn, self.path, self.endpoint)
        except sqlite3.Error as exc:
            conn.close()
            self._unlock()
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
        except JournalError:
            conn.close()
            self._unlock()
            raise

    def _lock(self) -> None:
        if sys.platform == "win32":  # no flock: one process at a time is the caller's job
            return
        # Two locks, both released by the kernel when the process dies:
        # - ``<real path>.lock`` next to the journal, created if needed and never removed (removing
        #   it would let a waiter lock an orphan inode): it outlives the journal file, so deleting
        #   ``run.sqlite`` mid-run does not let a second run create a new one and start submitting;
        # - the database file's inode (every name of the file -- symlink, hard link -- shares it).
        # Both are ``flock``s (sqlite itself uses POSIX locks, which are independent on Linux and
        # BSD); the descriptors are closed only after the sqlite connection (closing them earlier
        # would drop sqlite's POSIX locks).
        sibling = Path(os.path.realpath(self.path) + ".lock")
        self._lock_fds.append(self._flock(sibling, what=f"its lock file {sibling}"))
        try:
            self._lock_fds.append(self._flock(self.path, what="it"))
        except BaseException:
            self._unlock()
            raise

    def _flock(self, path: Path, *, what: str) -> int:
        import fcntl

        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path} ({what}): {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(
                f"the journal {self.path} is in use by another process (it holds {what})"
            ) from None
        return fd

    def _unlock(self) -> None:
        fds, self._lock_fds = self._lock_fds, []
        for fd in reversed(fds):
            os.close(fd)  # closing the descriptor releases the flock

    # -- answering the loop -------------------------------------------------------------------

    def _resolve(self, answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
        if not answers:
            return

        def deliver() -> None:
            for fut, value, exc in answers:
                if fut.done():  # the caller was cancelled
                    continue
                if exc is None:
                    fut.set_result(value)
                else:
                    fut.set_exception(exc)

        try:
            self.loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass
