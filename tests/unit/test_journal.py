"""The batch journal: keys, the entry life cycle, refusals, group commit and SIGKILL safety."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from hypothesis import given, strategies as st

from odirouter_async.batch.journal import SCHEMA_VERSION, InputKeys, Journal, JournalError, content_key
from odirouter_async.batch.journal_codec import pack_key, unpack_key

pytestmark = pytest.mark.anyio

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_key_ignores_dict_order(arguments: dict[str, object]) -> None:
    """The key depends on the arguments' content, not on the order of their keys."""
    reordered = dict(reversed(list(arguments.items())))
    assert Journal.keys_for([arguments]) == Journal.keys_for([reordered])
    assert Journal.keys_for([arguments]) == [f"{Journal.hash_arguments(arguments)[:32]}-1"]


@given(st.lists(st.dictionaries(st.text(max_size=3), json_values, max_size=2), max_size=8), st.randoms())
def test_keys_survive_insert_delete_and_reorder(inputs: list[dict[str, object]], rnd: object) -> None:
    """Editing the input list never gives an unchanged input another input's key; duplicates count."""
    keys = Journal.keys_for(inputs)
    assert len(set(keys)) == len(keys)  # identical inputs are distinct jobs
    shuffled = list(inputs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert sorted(Journal.keys_for(shuffled)) == sorted(keys)
    assert set(Journal.keys_for([{"new": "line"}, *inputs])) >= set(keys)
    assert set(Journal.keys_for(inputs[1:])) <= set(keys)


def test_key_depends_on_arguments_and_occurrence_not_position() -> None:
    """Other arguments give another key, identical ones an occurrence count; the hash is sha256 hex."""
    args = {"prompt": "a cat", "seed": 1}
    keys = InputKeys()
    first, digest = keys.next(args)
    assert keys.next({"other": 1})[0] != first
    assert keys.next(dict(args))[0] == content_key(digest, 2) != first
    assert first == content_key(digest, 1) and len(digest) == 64


async def open_journal(path: Path, endpoint: str = "nano_banana_2") -> Journal:
    return await Journal.open(path, endpoint=endpoint, flush_interval=0.01)


def intent(index: int, arguments: dict[str, object] | None = None) -> tuple[str, int, str]:
    args = arguments if arguments is not None else {"prompt": f"p{index}"}
    digest = Journal.hash_arguments(args)
    return content_key(digest, 1), index, digest


async def test_life_cycle_survives_reopen(tmp_path: Path) -> None:
    """intent -> submitted -> done is stored with URLs, outcome and times, and reads back after reopen."""
    path = tmp_path / "j.sqlite"
    (k0, i0, h0), (k1, i1, h1) = intent(0), intent(1)
    async with await open_journal(path) as journal:
        await journal.record_intents([(k0, i0, h0), (k1, i1, h1)])
        journal.record_submitted(k0, "req-0", "http://s", "http://r", "http://c")
        journal.record_submitted(k1, "req-1")
        journal.record_outcome(k0, True, b'{"outputs": []}')
        journal.record_outcome(k1, False, b'{"error": "boom"}')
        run_id = journal.run_id
    async with await open_journal(path) as journal:
        entries = await journal.load()
        assert journal.run_id == run_id
        assert journal.uncertain() == []
    e0, e1 = entries[k0], entries[k1]
    assert (e0.index, e0.args_hash, e0.state, e0.request_id) == (0, h0, "done", "req-0")
    assert (e0.status_url, e0.response_url, e0.cancel_url) == ("http://s", "http://r", "http://c")
    assert e0.outcome == b'{"outputs": []}' and e0.finished
    assert e0.submitted_at is not None and e0.finished_at is not None
    assert (e1.state, e1.outcome, e1.status_url) == ("failed", b'{"error": "boom"}', None)


async def test_intent_without_request_id_is_uncertain(tmp_path: Path) -> None:
    """An intent whose request id never landed is reported uncertain by the next run."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(7)
    async with await open_journal(path) as journal:
        await journal.record_intents([(k, i, h)])
    async with await open_journal(path) as journal:
        await journal.load()
        [entry] = journal.uncertain()
    assert (entry.key, entry.state, entry.request_id, entry.uncertain) == (k, "intent", None, True)


async def test_discard_and_state_guards(tmp_path: Path) -> None:
    """discard_intent drops only intents; re-intending keeps submitted/done entries and the attempt."""
    path = tmp_path / "j.sqlite"
    a, b, c = intent(0), intent(1), intent(2)
    async with await open_journal(path) as journal:
        await journal.record_intents([a, b, c])
        journal.record_submitted(b[0], "req-b")
        journal.discard_intent(a[0])
        journal.discard_intent(b[0])
        await journal.record_intents([b, c])  # no effect on submitted b; c stays attempt 1
        journal.record_submitted(c[0], "req-c")
        journal.record_submitted(c[0], "req-c-again")  # only an intent can become submitted
        entries = await journal.load()
    assert a[0] not in entries
    assert (entries[b[0]].state, entries[b[0]].request_id) == ("submitted", "req-b")
    assert (entries[c[0]].attempt, entries[c[0]].request_id) == (1, "req-c")


async def test_retrying_a_failed_entry_is_a_new_attempt(tmp_path: Path) -> None:
    """A failed entry re-intended starts attempt 2 with a fresh request id; the first keeps its id."""
    async with await open_journal(tmp_path / "j.sqlite") as journal:
        k, i, h = intent(3)
        await journal.record_intents([(k, i, h)])
        journal.record_submitted(k, "req-1")
        journal.record_outcome(k, False, b'{"error": "x"}')
        await journal.record_intents([(k, i, h)])
        entry = (await journal.load())[k]
        assert (entry.state, entry.attempt, entry.request_id, entry.outcome) == ("intent", 2, None, None)
        first, second = journal.request_id_for(k), journal.request_id_for(k, entry.attempt)
    assert first == f"jr-{journal.run_id}-{k}" and second == first + "-a2"


async def test_refuses_another_endpoint(tmp_path: Path) -> None:
    """A journal made for one endpoint cannot be opened for another."""
    path = tmp_path / "j.sqlite"
    await (await open_journal(path, "flux")).close()
    with pytest.raises(JournalError, match="'flux', not 'nano'"):
        await open_journal(path, "nano")


async def test_refuses_a_second_user(tmp_path: Path) -> None:
    """While one Journal holds the file, another open fails instead of double-submitting."""
    path = tmp_path / "j.sqlite"
    async with await open_journal(path):
        with pytest.raises(JournalError, match="in use by another process"):
            await open_journal(path)
    await (await open_journal(path)).close()


async def test_refuses_files_that_are_not_journals(tmp_path: Path) -> None:
    """Text files, foreign SQLite databases and newer schemas are refused with clear errors."""
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all" * 100)
    with pytest.raises(JournalError, match="cannot open"):
        await open_journal(text)
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(JournalError, match="not an odirouter journal"):
        await open_journal(other)
    newer = tmp_path / "newer.sqlite"
    await (await open_journal(newer)).close()
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="upgrade odirouter_async"):
        await open_journal(newer)
    with pytest.raises(JournalError, match="cannot open"):
        await open_journal(tmp_path / "missing-dir" / "j.sqlite")


async def test_closed_journal_refuses_use(tmp_path: Path) -> None:
    """After close, awaited and unawaited calls raise JournalError; close is idempotent."""
    journal = await open_journal(tmp_path / "j.sqlite")
    await journal.close()
    await journal.close()
    with pytest.raises(JournalError, match="closed"):
        await journal.record_intents([intent(0)])
    with pytest.raises(JournalError, match="closed"):
        journal.record_submitted("k", "r")


async def test_dropped_journal_commits_and_releases_the_file(tmp_path: Path) -> None:
    """A journal dropped without close warns, commits what it had and frees the file for the next run."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(0)
    journal = await open_journal(path)
    await journal.record_intents([(k, i, h)])
    journal.record_submitted(k, "req-0")
    with pytest.warns(ResourceWarning, match="was not closed"):
        del journal
        gc.collect()
    for _ in range(2000):
        try:
            reopened = await open_journal(path)
        except JournalError:
            await anyio.sleep(0.005)
            continue
        break
    else:
        raise AssertionError("the dropped journal never released its lock")
    async with reopened:
        assert (await reopened.load())[k].request_id == "req-0"


async def test_concurrent_intents_share_commits(tmp_path: Path) -> None:
    """Hundreds of concurrent record_intents callers are served by far fewer fsynced commits."""
    async with await open_journal(tmp_path / "j.sqlite") as journal:
        async with anyio.create_task_group() as tg:
            for n in range(500):
                tg.start_soon(journal.record_intents, [intent(n)])
        stats = journal.stats
        assert len(await journal.load()) == 500
    assert stats["records"] == 500
    assert stats["synced_commits"] < 250


async def test_unawaited_records_land_without_flush(tmp_path: Path) -> None:
    """A record_submitted becomes visible to other readers within the flush interval, unprompted."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(0)
    async with await open_journal(path) as journal:
        await journal.record_intents([(k, i, h)])
        journal.record_submitted(k, "req-0")
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for _ in range(2000):
                row = reader.execute(
                    "SELECT request_id FROM entries WHERE key = ?", (pack_key(k),)
                ).fetchone()
                if row[0] == "req-0":
                    break
                await anyio.sleep(0.005)
            assert row[0] == "req-0"
        finally:
            reader.close()


async def test_committed_records_are_all_in_the_one_main_file(tmp_path: Path) -> None:
    """After commit() a copy of journal.sqlite alone (no -wal / -journal file) holds every record."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(0)
    async with await Journal.open(path, endpoint="nano_banana_2", flush_interval=3600) as journal:
        await journal.record_intents([(k, i, h)])
        journal.record_submitted(k, "req-0")
        journal.record_outcome(k, True, b"{}")
        await journal.commit()
        # the lock file is empty and stays: it outlives a deleted journal (the lock, not a record)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["j.sqlite", "j.sqlite.lock"]
        assert (tmp_path / "j.sqlite.lock").stat().st_size == 0
        copy = tmp_path / "copy" / "j.sqlite"
        copy.parent.mkdir()
        copy.write_bytes(path.read_bytes())
    async with await open_journal(copy) as reopened:
        entry = (await reopened.load())[k]
    assert (entry.state, entry.request_id) == ("done", "req-0")


async def test_an_old_wal_journal_becomes_one_file(tmp_path: Path) -> None:
    """Opening a journal left in WAL mode folds its -wal file into the main file and removes it."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(0)
    async with await open_journal(path) as journal:
        await journal.record_intents([(k, i, h)])
    wal = tmp_path / "j.sqlite-wal"
    with closing(sqlite3.connect(path)) as holder:  # a version-1 writer that died: main + -wal
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("UPDATE entries SET request_id = 'req-wal'")
        holder.commit()
        main_bytes, wal_bytes = path.read_bytes(), wal.read_bytes()
    path.write_bytes(main_bytes)
    wal.write_bytes(wal_bytes)
    async with await open_journal(path) as journal:
        assert (await journal.load())[k].request_id == "req-wal"
    assert not (tmp_path / "j.sqlite-wal").exists()


@pytest.mark.parametrize("alias", ["symlink", "hardlink", "relative"])
async def test_lock_holds_whatever_name_opens_the_file(
    tmp_path: Path, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlink, a hard link or a relative path to an open journal cannot open it a second time."""
    path = tmp_path / "j.sqlite"
    other: Path
    if alias == "symlink":
        other = tmp_path / "link.sqlite"
        other.symlink_to(path)
    elif alias == "hardlink":
        other = tmp_path / "hard.sqlite"
    else:
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")
        other = Path("..") / "j.sqlite"
    async with await open_journal(path):
        if alias == "hardlink":
            os.link(path, other)
        with pytest.raises(JournalError, match="in use by another process"):
            await open_journal(other)
    await (await open_journal(other)).close()


def _v1_journal(path: Path, rows: list[tuple[str, int, str, str, str | None, bytes | None]]) -> None:
    """A schema-1 journal (position keys, WAL mode) as version 1 wrote it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        conn.execute(
            "CREATE TABLE entries (key TEXT PRIMARY KEY, idx INTEGER NOT NULL, args_hash TEXT NOT NULL,"
            " state TEXT NOT NULL CHECK (state IN ('intent', 'submitted', 'done', 'failed')),"
            " attempt INTEGER NOT NULL DEFAULT 1, request_id TEXT, status_url TEXT, response_url TEXT,"
            " cancel_url TEXT, outcome BLOB, created_at REAL NOT NULL, submitted_at REAL,"
            " finished_at REAL, updated_at REAL NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("endpoint", "nano_banana_2"), ("run_id", "abcd1234")]
        )
        conn.executemany(
            "INSERT INTO entries (key, idx, args_hash, state, request_id, outcome, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
            rows,
        )
        conn.execute("PRAGMA user_version = 1")


async def test_schema_1_journal_is_migrated_to_content_keys(tmp_path: Path) -> None:
    """Old position keys become the content keys of the unedited file; old keys and request ids are kept."""
    path = tmp_path / "j.sqlite"
    same, other = Journal.hash_arguments({"p": "same"}), Journal.hash_arguments({"p": "other"})
    _v1_journal(
        path,
        [
            (f"0-{same[:16]}", 0, same, "done", "r0", b"{}"),
            (f"1-{other[:16]}", 1, other, "submitted", "r1", None),
            (f"2-{same[:16]}", 2, same, "intent", None, None),
        ],
    )
    async with await open_journal(path) as journal:
        entries = await journal.load()
        keys = Journal.keys_for([{"p": "same"}, {"p": "other"}, {"p": "same"}])
        assert [entries[k].state for k in keys] == ["done", "submitted", "intent"]
        assert entries[keys[1]].request_id == "r1"
        assert journal.legacy_keys()[f"2-{same[:16]}"] == keys[2]
        legacy = entries[keys[2]].legacy_key
        assert legacy is not None
        assert journal.request_id_for(legacy) == f"jr-abcd1234-2-{same[:16]}"
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


async def test_cancelled_entry_is_rerun_as_a_new_attempt(tmp_path: Path) -> None:
    """record_cancelled marks a submitted job cancelled by us; a new intent is attempt 2, not a replay."""
    k, i, h = intent(0)
    async with await open_journal(tmp_path / "j.sqlite") as journal:
        await journal.record_intents([(k, i, h)])
        journal.record_cancelled(k)  # not submitted yet: ignored
        journal.record_submitted(k, "req-0")
        journal.record_cancelled(k)
        await journal.flush()
        entry = (await journal.load())[k]
        assert (entry.state, entry.finished, entry.uncertain) == ("cancelled", False, False)
        await journal.record_intents([(k, i, h)])
        assert (await journal.load())[k].attempt == 2


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from odirouter_async.batch.journal import Journal, content_key

    async def main():
        journal = await Journal.open(sys.argv[1], endpoint="nano", flush_interval=0.001)
        index = 0
        while True:
            batch = []
            for _ in range(8):
                args = {"prompt": f"p{index}"}
                digest = Journal.hash_arguments(args)
                batch.append((content_key(digest, 1), index, digest))
                index += 1
            await journal.record_intents(batch)
            for key, _, _ in batch:
                journal.record_submitted(key, "req-" + key)
            sys.stdout.write("".join(key + "\\n" for key, _, _ in batch))
            sys.stdout.flush()

    asyncio.run(main())
    """
)


def test_sigkill_keeps_every_acknowledged_intent(tmp_path: Path) -> None:
    """A process killed mid-write leaves an intact journal holding every intent it was told was stored."""
    path = tmp_path / "j.sqlite"
    acknowledged: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                acknowledged.append(line.strip())
                if len(acknowledged) >= 2000:
                    break
            os.kill(proc.pid, signal.SIGKILL)
            acknowledged.extend(line.strip() for line in proc.stdout if line.endswith("\n"))
        finally:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = {unpack_key(row[0]) for row in conn.execute("SELECT key FROM entries")}
    assert len(acknowledged) >= 2000
    assert set(acknowledged) <= keys
