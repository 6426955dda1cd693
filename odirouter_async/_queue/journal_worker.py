"""The journal's worker thread: it owns the sqlite3 connection and does group commits.

Only ``_journal.py`` uses this module.  The event loop talks to the thread through one
``queue.SimpleQueue`` of ``(Msg, payload, future)`` tuples; the thread answers by resolving
asyncio futures with ``loop.call_soon_threadsafe`` (one wake-up per commit, not per caller).

The loop of the thread: block for a message (or until the oldest unawaited write is
``flush_interval`` old), drain whatever else is queued, and when something waits (an awaited
write, a flush, a read, the close), ``max_batch`` writes are pending, or the deadline passed, run
all pending writes in ONE transaction (``synchronous=FULL``: sqlite's rollback journal, so the
transaction is fsynced into the main file before ``COMMIT`` returns), then answer every waiter.
Writes keep their arrival order, so a record can never overtake the intent it refers to.

Opening also migrates a schema-1 journal (keys ``{index}-{hash16}``, WAL mode) or a schema-2
one (text keys, plain outcomes) to schema 3 (content keys in the compact encodings of
``journal_codec``, see ``journal``), in one transaction, and locks the file itself (``flock`` on
the database file's inode, so a symlink, a relative path or a hard link cannot open it twice).
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
from typing import Any, Final

from .._exceptions import JournalError
from .journal_codec import pack_hash, pack_key, pack_outcome

__all__ = ("SCHEMA_VERSION", "JournalError", "Msg", "Worker", "WriteOp")

#: ``PRAGMA user_version`` of journals this version writes; newer files are refused, schema 1
#: (position-based keys) and schema 2 (text keys, plain outcomes) are migrated on open.
SCHEMA_VERSION: Final = 3

#: One SQL statement and its parameters.
WriteOp = tuple[str, tuple[Any, ...]]

# Schema 3: ``key`` and ``args_hash`` have no type affinity (a content key / hex hash is stored as
# a BLOB, anything else as TEXT: ``journal_codec``), the table is clustered on the key (WITHOUT
# ROWID: no second copy of the key in an index), outcomes are compressed when large.
_ENTRIES: Final = (
    "CREATE TABLE {name} ("
    " key NOT NULL PRIMARY KEY, idx INTEGER NOT NULL, args_hash NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('intent', 'submitted', 'done', 'failed', 'cancelled')),"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " request_id TEXT, status_url TEXT, response_url TEXT, cancel_url TEXT, outcome BLOB,"
    " created_at REAL NOT NULL, submitted_at REAL, finished_at REAL, updated_at REAL NOT NULL,"
    " legacy_key TEXT) WITHOUT ROWID"
)
_SCHEMA: Final = (
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    _ENTRIES.format(name="entries"),
)
_V1_COLUMNS: Final = (
    "key, idx, args_hash, state, attempt, request_id, status_url, response_url, cancel_url,"
    " outcome, created_at, submitted_at, finished_at, updated_at"
)


def content_key(args_hash: str, occurrence: int) -> str:
    """The key of the ``occurrence``-th (1-based) input whose arguments hash to ``args_hash``."""
    return f"{args_hash[:32]}-{occurrence}"


def _rewrite(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Replace ``entries`` by a schema-3 table holding ``rows`` (schema-2 columns, plain values)."""
    conn.execute(_ENTRIES.format(name="entries_v3"))
    packed = [(pack_key(r[0]), r[1], pack_hash(r[2]), *r[3:9], pack_outcome(r[9]), *r[10:]) for r in rows]
    conn.executemany(f"INSERT INTO entries_v3 VALUES ({', '.join('?' * 15)})", packed)
    conn.execute("DROP TABLE entries")
    conn.execute("ALTER TABLE entries_v3 RENAME TO entries")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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
        self._lock_fd: int | None = None
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
            return conn, self._prepare(conn)
        except sqlite3.Error as exc:
            conn.close()
            self._unlock()
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
        except JournalError:
            conn.close()
            self._unlock()
            raise

    def _prepare(self, conn: sqlite3.Connection) -> str:
        # ONE file: in rollback-journal mode every committed transaction is in the main file
        # (a schema-1 journal in WAL mode is checkpointed into it here, and its -wal removed).
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise JournalError(f"the journal {self.path} cannot leave {mode} mode (is it read-only?)")
        conn.execute("PRAGMA synchronous = FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise JournalError(f"{self.path} is an SQLite database but not an odirouter journal")
            self._create(conn)
        elif version == 1:
            self._migrate_v1(conn)
        elif version == 2:
            self._migrate_v2(conn)
        elif version > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {self.path} has schema version {version}; this odirouter_async "
                f"reads up to {SCHEMA_VERSION}: upgrade odirouter_async"
            )
        meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
        if meta.get("endpoint") != self.endpoint:
            raise JournalError(
                f"the journal {self.path} belongs to a batch on endpoint {meta.get('endpoint')!r}, "
                f"not {self.endpoint!r}: use another journal file"
            )
        return str(meta["run_id"])

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO meta (k, v) VALUES (?, ?)",
            [
                ("endpoint", self.endpoint),
                ("run_id", os.urandom(4).hex()),
                ("created_at", repr(time.time())),
            ],
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")

    def _migrate_v1(self, conn: sqlite3.Connection) -> None:
        """Schema 1 -> 2 in one transaction: position keys become content keys.

        The n-th entry (by old index) with given arguments gets ``content_key(hash, n)`` -- the
        key the unedited input file gives that input now -- and keeps its old key in
        ``legacy_key`` (its ``X-Request-Id`` was made from it, and ``results.jsonl`` names it).
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(f"SELECT {_V1_COLUMNS} FROM entries ORDER BY idx, key").fetchall()
            seen: dict[str, int] = {}
            new_rows = []
            for row in rows:
                n = seen[row[2]] = seen.get(row[2], 0) + 1
                new_rows.append((content_key(row[2], n), *row[1:], row[0]))
            _rewrite(conn, new_rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _migrate_v2(self, conn: sqlite3.Connection) -> None:
        """Schema 2 -> 3 in one transaction: the same rows in the compact encodings."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            _rewrite(conn, conn.execute(f"SELECT {_V1_COLUMNS}, legacy_key FROM entries").fetchall())
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _lock(self) -> None:
        if sys.platform == "win32":  # no flock: one process at a time is the caller's job
            return
        import fcntl

        # The lock is on the database file's inode (flock; sqlite itself uses POSIX locks, which
        # are independent on Linux and BSD), so every name of the file shares it.  The descriptor
        # is closed only after the sqlite connection (closing it earlier would drop sqlite's
        # POSIX locks).
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(f"the journal {self.path} is in use by another process") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
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
