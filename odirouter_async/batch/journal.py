"""The durable journal of a resumable queue batch: one sqlite3 file, written by one worker thread.

Batch identity comes from the content of the inputs.  Each input's *key* is
``content_key(sha256(canonical JSON of its arguments), n)`` -- canonical: sorted keys, msgspec
encoding; ``n`` counts identical inputs (1 for the first, 2 for the second identical one, in input
order).  The journal is per endpoint, so the endpoint is part of the identity too.  Inserting,
deleting or reordering inputs therefore never changes the key of another input: a resume
replays, re-attaches or skips everything already submitted, and two identical inputs are two
jobs (after any number of resumes, still exactly two).  :class:`InputKeys` assigns the keys.

Its journal entry moves through::

    (none) --record_intents--> intent --record_submitted--> submitted --record_outcome--> done | failed
                                  |--record_not_created--> not_created    |--record_cancelled--> cancelled
                                  `--discard_intent--> (none)            `--record_retry--> intent (attempt+1)

``not_created`` means the gateway provably made no job (401, 402, 403, 404, 422, 429 / 503 after
the retries, a request never sent or refused locally): nothing was paid, and a resume submits
the input again without any flag -- it is never ``failed``.  ``record_retry`` (``job_retries``)
moves a failed job's entry to a new attempt durably before the new submit, keeping the failed
attempt's error JSON in ``outcome`` until the new attempt ends.

``cancelled`` means *this client* cancelled the job (Ctrl-C with cancel-on-exit, a map timeout):
a resume submits the input again, as a new attempt.  An ``intent`` left by an earlier run is
*uncertain*: its submit was in flight when that process stopped, and the gateway documents no
idempotency, so nobody knows whether a (billed) job exists.  A resume reports such entries and
resubmits them only when asked, with the same ``X-Request-Id`` (``journal.request_id_for``) so
that a gateway which deduplicates can.  ``done`` stores the raw result body as the gateway sent
it; a replay decodes it with the live path's decoder.

Crash safety.  ONE file: the journal uses sqlite's rollback journal (``journal_mode=DELETE``,
``synchronous=FULL``), so every committed transaction is in ``journal.sqlite`` itself -- copying
or moving that one file (between runs) loses nothing.  A ``journal.sqlite-journal`` exists only
while a transaction is open; after a crash mid-transaction it is the "hot journal" sqlite rolls
back on the next open: keep it with the main file in that case.  ``await record_intents(...)``
returns only after its transaction committed (fsynced): an acknowledged intent survives SIGKILL
and power loss, and the caller sends the submit only after that.  The other records
(``record_submitted``, ``record_outcome``, ``record_cancelled``, ``discard_intent``) are queued
without waiting and committed in batches (at most ``flush_interval`` later, or at the next
awaited call).  A record still queued when the process dies is lost, which is safe: a missing
request id leaves the entry uncertain (reported, never silently resubmitted), a missing outcome
makes the resume re-attach to the job and fetch it again (free).  ``await commit()`` /
``await flush()`` wait until everything queued is committed -- the CLI commits before it writes
a ``results.jsonl`` line, so that file never gets ahead of the journal.

Threading.  All sqlite work happens in one daemon thread per journal, never on the event loop.
The loop side puts tuples on a ``queue.SimpleQueue`` (about a microsecond); the thread drains
everything queued, runs it in ONE transaction (group commit: many concurrent ``record_intents``
callers share one fsync) and wakes the awaiting tasks with ``call_soon_threadsafe``.  A failed
commit makes the journal fail-stop: every later awaited call raises :class:`JournalError`.

One process at a time: ``open`` takes exclusive ``flock``s on the sibling ``<real path>.lock``
(created next to the journal and left there) and on the database file itself (POSIX; released by
the kernel when the process dies), so two runs of one batch cannot both submit -- whatever name
(symlink, relative path, hard link) each uses, and even when the journal file was deleted while
the first run was going on.

Migration.  A schema-1 journal (keys ``{line index}-{hash16}``, WAL mode) is migrated on open, in
one transaction: the n-th entry with given arguments (by old index) gets the n-th content key,
which is what the unedited input file maps to; the old key is kept as ``Entry.legacy_key`` (the
request ids of its submits were made from it; ``legacy_keys()`` maps old keys for the CLI's
``results.jsonl``).  Resume with the input file as it was before editing it.

Storage (schema 3, #12).  About 280 bytes per finished job: content keys and argument hashes are
stored as blobs (``journal_codec``), the table is clustered on the key (``WITHOUT ROWID``), result
bodies of 96 bytes or more are deflated with a preset dictionary (stored ``\\x00`` + deflate;
``load`` gives back the exact bytes), and job URLs are stored only when they differ from the
documented ones (``journal_hooks`` derives those from the base URL, endpoint and request id).
A schema-2 journal is rewritten in this form on open, in one transaction.  Another store, shared
by many processes, is ``pg_store`` (the interface: ``journal_store``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from .dsn import is_postgres_dsn, redact_dsn
from .journal_codec import pack_hash, pack_key, pack_outcome, unpack_hash, unpack_key, unpack_outcome
from .journal_schema import SCHEMA_VERSION, content_key
from .journal_worker import JournalError, Msg, Worker, WriteOp

__all__ = ("SCHEMA_VERSION", "Entry", "InputKeys", "Journal", "JournalError", "State", "content_key")

State = Literal["intent", "submitted", "done", "failed", "cancelled", "not_created"]

_canonical: Final = msgspec.json.Encoder(order="sorted").encode

_INTENT: Final = (
    "INSERT INTO entries(key, idx, args_hash, state, attempt, created_at, updated_at)"
    " VALUES (?, ?, ?, 'intent', 1, ?, ?) ON CONFLICT(key) DO UPDATE SET"
    " state = 'intent', attempt = attempt + (state IN ('failed', 'cancelled')), request_id = NULL,"
    " status_url = NULL, response_url = NULL, cancel_url = NULL, outcome = NULL,"
    " submitted_at = NULL, finished_at = NULL, updated_at = excluded.updated_at,"
    " idx = excluded.idx WHERE state IN ('intent', 'failed', 'cancelled', 'not_created')"
)
_SUBMITTED: Final = (
    "UPDATE entries SET state = 'submitted', request_id = ?, status_url = ?, response_url = ?,"
    " cancel_url = ?, submitted_at = ?, updated_at = ? WHERE key = ? AND state = 'intent'"
)
_OUTCOME: Final = (
    "UPDATE entries SET state = ?, outcome = ?, finished_at = ?, updated_at = ?"
    " WHERE key = ? AND state IN ('intent', 'submitted')"
)
_CANCELLED: Final = (
    "UPDATE entries SET state = 'cancelled', finished_at = ?, updated_at = ?"
    " WHERE key = ? AND state = 'submitted'"
)
_DISCARD: Final = "DELETE FROM entries WHERE key = ? AND state = 'intent'"
_NOT_CREATED: Final = (
    "UPDATE entries SET state = 'not_created', outcome = ?, finished_at = ?, updated_at = ?"
    " WHERE key = ? AND state = 'intent'"
)
_RETRY: Final = (
    "UPDATE entries SET state = 'intent', attempt = ?, request_id = NULL, status_url = NULL,"
    " response_url = NULL, cancel_url = NULL, outcome = ?, submitted_at = NULL, updated_at = ?"
    " WHERE key = ? AND state = 'submitted'"
)
_COLUMNS: Final = (
    "key, idx, args_hash, state, attempt, request_id, status_url, response_url, cancel_url,"
    " outcome, created_at, submitted_at, finished_at, updated_at, legacy_key"
)


class InputKeys:
    """Assigns content keys to a batch's inputs, in input order (see the module docstring).

    ``next(arguments)`` returns ``(key, args_hash)``; the n-th call with equal arguments (same
    canonical JSON) gets occurrence ``n``.  Use one instance per pass over the inputs.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def next(self, arguments: object) -> tuple[str, str]:
        """The key and arguments hash of the next input."""
        digest = Journal.hash_arguments(arguments)
        n = self._seen[digest] = self._seen.get(digest, 0) + 1
        return content_key(digest, n), digest


@dataclass(frozen=True, slots=True)
class Entry:
    """One input's row in the journal (times are ``time.time()`` seconds).

    ``state`` is ``intent`` (submit about to be sent / in flight / uncertain when loaded from an
    earlier run), ``submitted`` (``request_id`` and the job URLs known), ``done`` or ``failed``
    (``outcome``: the raw result body, or the error JSON), ``cancelled`` (cancelled by this
    client; a resume runs it again).  ``attempt`` counts deliberate resubmissions (see
    ``Journal.request_id_for``).  ``index`` is the input's position when it was last submitted
    (informational: the key does not depend on it).  ``legacy_key``: the schema-1 key of a
    migrated entry.
    """

    key: str
    index: int
    args_hash: str
    state: State
    attempt: int
    request_id: str | None
    status_url: str | None
    response_url: str | None
    cancel_url: str | None
    outcome: bytes | None
    created_at: float
    submitted_at: float | None
    finished_at: float | None
    updated_at: float
    legacy_key: str | None = None

    @property
    def uncertain(self) -> bool:
        """Whether a submit may have been sent without its request id being recorded."""
        return self.state == "intent"

    @property
    def finished(self) -> bool:
        """Whether the outcome is recorded (``done`` or ``failed``)."""
        return self.state in ("done", "failed")


def _select_all(conn: Any) -> dict[str, Entry]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY idx").fetchall()
    entries = [
        Entry(
            unpack_key(r[0]),
            r[1],
            unpack_hash(r[2]),
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            unpack_outcome(r[9]),
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
        )
        for r in rows
    ]
    entries.sort(key=lambda e: (e.index, e.key))
    return {e.key: e for e in entries}


class Journal:
    """A batch journal; create it with ``await Journal.open(path, endpoint=...)``.

    Use it as ``async with journal:`` or call ``await journal.close()`` (which flushes).
    """

    def __init__(self, worker: Worker, path: Path, endpoint: str, run_id: str) -> None:
        """Internal: use :meth:`open`."""
        self._worker = worker
        self._loop = worker.loop
        self.path = path
        self.endpoint = endpoint
        self.run_id = run_id
        self._closed = False
        self._snapshot: dict[str, Entry] = {}

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        endpoint: str,
        flush_interval: float = 0.05,
        max_batch: int = 1024,
    ) -> Journal:
        """Open (or create) the journal at ``path`` for queue endpoint ``endpoint``.

        Args:
            path: the sqlite file; its directory must exist.  ``<path>.lock`` is created next to it.
            endpoint: the model id; a journal made for another endpoint is refused.
            flush_interval: longest delay (seconds) before an unawaited record is committed.
            max_batch: unawaited records that force a commit before ``flush_interval``.

        Raises:
            JournalError: another endpoint's journal, a newer schema, not a journal, in use by
                another process, the file cannot be opened, or ``path`` is a ``str`` naming a
                PostgreSQL database (``batch.dsn.is_postgres_dsn``).
        """
        if not endpoint:
            raise ValueError("endpoint must not be empty")
        if flush_interval < 0 or max_batch < 1:
            raise ValueError("flush_interval must be >= 0 and max_batch >= 1")
        if is_postgres_dsn(path):  # never a local file named after a connection string
            raise JournalError(
                f"{redact_dsn(str(path))!r} is a PostgreSQL connection string, not a file: pass it "
                "as queue.map(journal=...) (for a file of that name, pass a pathlib.Path)"
            )
        p = Path(path)
        worker = Worker(p, endpoint, asyncio.get_running_loop(), flush_interval, max_batch)
        run_id = await worker.start()
        return cls(worker, p, endpoint, run_id)

    # -- keys -----------------------------------------------------------------------------

    @staticmethod
    def hash_arguments(arguments: object) -> str:
        """sha256 hex of the arguments as canonical JSON (sorted keys, msgspec encoding)."""
        return hashlib.sha256(_canonical(arguments)).hexdigest()

    @staticmethod
    def keys_for(inputs: Iterable[object]) -> list[str]:
        """The content keys of ``inputs`` (in order), as ``InputKeys`` assigns them."""
        keys = InputKeys()
        return [keys.next(arguments)[0] for arguments in inputs]

    def request_id_for(self, key: str, attempt: int = 1) -> str:
        """The ``X-Request-Id`` to submit ``key`` with: ``jr-{run_id}-{key}`` (``-a{n}`` from attempt 2).

        The journal's random ``run_id`` keeps identical inputs of *different* batches apart at a
        gateway that deduplicates; resubmitting an uncertain entry reuses the id, so such a
        gateway can recognise the first submit.  A deliberate retry of a failed (or cancelled)
        input is a new attempt and gets a new id.  For a migrated entry pass its ``legacy_key``.
        """
        suffix = f"-a{attempt}" if attempt > 1 else ""
        return f"jr-{self.run_id}-{key}{suffix}"

    # -- reading --------------------------------------------------------------------------

    async def load(self) -> dict[str, Entry]:
        """Every entry, by key (ordered by index).  Also the snapshot ``uncertain()`` reads."""
        self._check_open()
        entries: dict[str, Entry] = await self._call(Msg.READ, _select_all)
        self._snapshot = entries
        return entries

    def legacy_keys(self) -> dict[str, str]:
        """``schema-1 key -> key`` of the migrated entries of the last :meth:`load`."""
        return {e.legacy_key: e.key for e in self._snapshot.values() if e.legacy_key}

    def uncertain(self) -> list[Entry]:
        """The ``intent`` entries of the last :meth:`load` (call it before submitting in this run)."""
        return [e for e in self._snapshot.values() if e.state == "intent"]

    # -- writing --------------------------------------------------------------------------

    async def record_intents(self, items: Iterable[tuple[str, int, str]]) -> None:
        """Durably record ``(key, index, args_hash)`` intents; send the submits only after this returns.

        Concurrent callers share one transaction and one fsync.  An existing ``intent`` entry is
        kept (an uncertain one being resubmitted keeps its attempt, hence its request id); a
        ``failed`` or ``cancelled`` one starts a new attempt; ``submitted`` and ``done`` entries
        are left alone.
        """
        self._check_open()
        now = time.time()
        ops: list[WriteOp] = [
            (_INTENT, (pack_key(key), index, pack_hash(h), now, now)) for key, index, h in items
        ]
        if ops:
            await self._call(Msg.DURABLE, ops)

    def record_submitted(
        self,
        key: str,
        request_id: str,
        status_url: str | None = None,
        response_url: str | None = None,
        cancel_url: str | None = None,
    ) -> None:
        """Record the gateway's answer to the submit of ``key`` (queued, committed in a batch)."""
        now = time.time()
        self._write((_SUBMITTED, (request_id, status_url, response_url, cancel_url, now, now, pack_key(key))))

    def record_outcome(self, key: str, ok: bool, payload: bytes | None) -> None:
        """Record how ``key`` ended: ``ok`` with the raw result body, else the error JSON (batched)."""
        now = time.time()
        self._write((_OUTCOME, ("done" if ok else "failed", pack_outcome(payload), now, now, pack_key(key))))

    def record_cancelled(self, key: str) -> None:
        """Record that this client cancelled the ``submitted`` job of ``key`` (a resume reruns it)."""
        now = time.time()
        self._write((_CANCELLED, (now, now, pack_key(key))))

    def discard_intent(self, key: str) -> None:
        """Forget an ``intent`` whose submit provably created no job (never sent, or refused)."""
        self._write((_DISCARD, (pack_key(key),)))

    def record_not_created(self, key: str, payload: bytes, later: bool = False) -> None:
        """The submit of ``key`` provably created no job (batched): ``not_created`` with the
        error JSON; a resume submits it again (same attempt).  ``later`` is for shared stores."""
        now = time.time()
        self._write((_NOT_CREATED, (pack_outcome(payload), now, now, pack_key(key))))

    async def record_retry(self, key: str, attempt: int, payload: bytes) -> None:
        """Durably: the job of ``key`` failed (``payload``) and attempt ``attempt`` is about to be
        submitted (``job_retries``); the entry is an ``intent`` again until its submit answers."""
        self._check_open()
        now = time.time()
        await self._call(Msg.DURABLE, [(_RETRY, (attempt, pack_outcome(payload), now, pack_key(key)))])

    async def flush(self) -> None:
        """Commit (and fsync) everything recorded so far."""
        self._check_open()
        await self._call(Msg.FLUSH, None)

    async def commit(self) -> None:
        """Commit everything recorded so far, without an fsync.

        After it returns the records survive the death of this process (not an OS crash).  Use
        it before publishing something derived from a record (the CLI's ``results.jsonl`` line),
        so that the published thing never gets ahead of the journal.  Concurrent callers share
        one commit.
        """
        self._check_open()
        await self._call(Msg.COMMIT, None)

    async def close(self) -> None:
        """Flush, close the database and stop the worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._worker.call(Msg.CLOSE, None)

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def stats(self) -> dict[str, float]:
        """Worker counters: ``records``, ``commits``, ``synced_commits``, ``thread_seconds``."""
        return self._worker.stats()

    # -- internals ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(f"the journal {self.path} is closed")
        failure = self._worker.failure
        if failure is not None:
            raise JournalError(f"the journal {self.path} failed: {failure}") from failure

    def _write(self, op: WriteOp) -> None:
        if self._closed:
            raise JournalError(f"the journal {self.path} is closed")
        self._worker.put_lazy(op)

    async def _call(self, kind: Msg, payload: Any) -> Any:
        return await self._worker.call(kind, payload)

    def __repr__(self) -> str:
        return f"Journal(path={str(self.path)!r}, endpoint={self.endpoint!r}, run_id={self.run_id!r})"

    def __del__(self) -> None:
        # Never touch the event loop here: ask the worker to commit, close and release the lock.
        if not getattr(self, "_closed", True):
            self._closed = True
            self._worker.put_close()
            warnings.warn(
                f"Journal {self.path} was not closed; use `async with` or `await journal.close()`",
                ResourceWarning,
                stacklevel=1,
            )
