"""The sqlite journal's schema: create a journal file, check it, migrate older ones to schema 3.

:func:`prepare` runs once per open (in the journal's worker thread, ``journal_worker``): it puts
the file in rollback-journal mode (``journal_mode=DELETE``, ``synchronous=FULL``: ONE file holds
every committed transaction), creates the tables of a new file, migrates a schema-1 journal
(keys ``{index}-{hash16}``, WAL mode) or a schema-2 one (text keys, plain outcomes) to schema 3
(content keys in the compact encodings of ``journal_codec``, see ``journal``) in one
transaction, refuses a newer schema or another endpoint's journal (unless every input of it was refused,
none reached a job: a batch stopped on an unknown endpoint is rerun with the right one), and returns
the ``run_id``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

from .._exceptions import JournalError
from .journal_codec import pack_hash, pack_key, pack_outcome

__all__ = ("SCHEMA_VERSION", "content_key", "prepare")

#: ``PRAGMA user_version`` of journals this version writes; newer files are refused, schema 1
#: (position-based keys) and schema 2 (text keys, plain outcomes) are migrated on open.
SCHEMA_VERSION: Final = 4

# Schema 3: ``key`` and ``args_hash`` have no type affinity (a content key / hex hash is stored as
# a BLOB, anything else as TEXT: ``journal_codec``), the table is clustered on the key (WITHOUT
# ROWID: no second copy of the key in an index), outcomes are compressed when large.
_ENTRIES: Final = (
    "CREATE TABLE {name} ("
    " key NOT NULL PRIMARY KEY, idx INTEGER NOT NULL, args_hash NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('intent', 'submitted', 'done', 'failed', 'cancelled',"
    " 'not_created')),"
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
    conn.execute("UPDATE entries_v3 SET state = 'not_created' WHERE state = 'failed' AND request_id IS NULL")
    conn.execute("DROP TABLE entries")
    conn.execute("ALTER TABLE entries_v3 RENAME TO entries")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def prepare(conn: sqlite3.Connection, path: Path, endpoint: str) -> str:
    # ONE file: in rollback-journal mode every committed transaction is in the main file
    # (a schema-1 journal in WAL mode is checkpointed into it here, and its -wal removed).
    mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    if str(mode).lower() != "delete":
        raise JournalError(f"the journal {path} cannot leave {mode} mode (is it read-only?)")
    conn.execute("PRAGMA synchronous = FULL")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise JournalError(f"{path} is an SQLite database but not an odirouter journal")
        _create(conn, endpoint)
    elif version == 1:
        _migrate_v1(conn)
    elif version == 2:
        _migrate_v2(conn)
    elif version == 3:
        _migrate_v3(conn)
    elif version > SCHEMA_VERSION:
        raise JournalError(
            f"the journal {path} has schema version {version}; this odirouter_async "
            f"reads up to {SCHEMA_VERSION}: upgrade odirouter_async"
        )
    meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    if meta.get("endpoint") != endpoint and _nothing_created(conn):
        # e.g. a batch halted on an unknown endpoint (404): rerun with the right one
        conn.execute("UPDATE meta SET v = ? WHERE k = 'endpoint'", (endpoint,))
        meta["endpoint"] = endpoint
    if meta.get("endpoint") != endpoint:
        raise JournalError(
            f"the journal {path} belongs to a batch on endpoint {meta.get('endpoint')!r}, "
            f"not {endpoint!r}: use another journal file"
        )
    return str(meta["run_id"])


def _nothing_created(conn: sqlite3.Connection) -> bool:
    """Whether the journal's inputs were all refused: some entries, every one ``not_created``."""
    row = conn.execute("SELECT count(*), coalesce(sum(state != 'not_created'), 0) FROM entries").fetchone()
    return bool(row[0] > 0 and row[1] == 0)


def _create(conn: sqlite3.Connection, endpoint: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for statement in _SCHEMA:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO meta (k, v) VALUES (?, ?)",
        [
            ("endpoint", endpoint),
            ("run_id", os.urandom(4).hex()),
            ("created_at", repr(time.time())),
        ],
    )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def _migrate_v1(conn: sqlite3.Connection) -> None:
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


def _migrate_v3(conn: sqlite3.Connection) -> None:
    """Schema 3 -> 4 in one transaction: the ``not_created`` state (#19).

    The same rows; a ``failed`` entry without a request id (a submit the gateway refused, which
    schema 3 recorded as failed) becomes ``not_created``, so the resume submits it again.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_ENTRIES.format(name="entries_v4"))
        conn.execute("INSERT INTO entries_v4 SELECT * FROM entries")
        conn.execute(
            "UPDATE entries_v4 SET state = 'not_created' WHERE state = 'failed' AND request_id IS NULL"
        )
        conn.execute("DROP TABLE entries")
        conn.execute("ALTER TABLE entries_v4 RENAME TO entries")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Schema 2 -> 3 in one transaction: the same rows in the compact encodings."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _rewrite(conn, conn.execute(f"SELECT {_V1_COLUMNS}, legacy_key FROM entries").fetchall())
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
