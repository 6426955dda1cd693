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

from odirouter_async._journal import SCHEMA_VERSION, Journal, JournalError

pytestmark = pytest.mark.anyio

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.integers(0, 10**6))
def test_key_ignores_dict_order(arguments: dict[str, object], index: int) -> None:
    """The key depends on the arguments' content, not on the order of their keys."""
    reordered = dict(reversed(list(arguments.items())))
    key = Journal.key_for(index, arguments)
    assert key == Journal.key_for(index, reordered)
    assert key == f"{index}-{Journal.hash_arguments(arguments)[:16]}"


def test_key_depends_on_index_and_arguments() -> None:
    """Another index or other arguments give another key; the hash is full sha256 hex."""
    args = {"prompt": "a cat", "seed": 1}
    assert Journal.key_for(0, args) != Journal.key_for(1, args)
    assert Journal.key_for(0, args) != Journal.key_for(0, {**args, "seed": 2})
    assert len(Journal.hash_arguments(args)) == 64


async def open_journal(path: Path, endpoint: str = "nano_banana_2") -> Journal:
    return await Journal.open(path, endpoint=endpoint, flush_interval=0.01)


def intent(index: int, arguments: dict[str, object] | None = None) -> tuple[str, int, str]:
    args = arguments if arguments is not None else {"prompt": f"p{index}"}
    digest = Journal.hash_arguments(args)
    return Journal.key_for(index, args, digest), index, digest


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
                row = reader.execute("SELECT request_id FROM entries WHERE key = ?", (k,)).fetchone()
                if row[0] == "req-0":
                    break
                await anyio.sleep(0.005)
            assert row[0] == "req-0"
        finally:
            reader.close()


async def test_commit_publishes_records_without_fsync(tmp_path: Path) -> None:
    """After commit() other readers see the queued records at once; no fsynced commit was spent."""
    path = tmp_path / "j.sqlite"
    k, i, h = intent(0)
    async with await Journal.open(path, endpoint="nano_banana_2", flush_interval=3600) as journal:
        await journal.record_intents([(k, i, h)])
        synced = journal.stats["synced_commits"]
        journal.record_submitted(k, "req-0")
        journal.record_outcome(k, True, b"{}")
        await journal.commit()
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as reader:
            row = reader.execute("SELECT state, request_id FROM entries").fetchone()
        assert row == ("done", "req-0")
        assert journal.stats["synced_commits"] == synced


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from odirouter_async._journal import Journal

    async def main():
        journal = await Journal.open(sys.argv[1], endpoint="nano", flush_interval=0.001)
        index = 0
        while True:
            batch = []
            for _ in range(8):
                args = {"prompt": f"p{index}"}
                digest = Journal.hash_arguments(args)
                batch.append((Journal.key_for(index, args, digest), index, digest))
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
        keys = {row[0] for row in conn.execute("SELECT key FROM entries")}
    assert len(acknowledged) >= 2000
    assert set(acknowledged) <= keys
