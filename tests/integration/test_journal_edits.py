"""Batch identity comes from content: an edited input list resumes without paying twice.

Each scenario runs a list of inputs to completion with a journal (two of them identical), then
runs an edited list (a line inserted at the top, lines deleted, the order reversed, one more
duplicate) on the same journal -- through ``queue.map(..., journal=...)`` and through the
``odirouter batch`` command -- and counts the submits the emulator received per request body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

import odirouter_async as odr
from odirouter_async.batch.journal import Journal
from odirouter_async.cli import main
from odirouter_async.testing import QUEUE_VARIANTS, Emulator, variant_emulator_fixture

EP = "nano_banana_2"

# Every scenario runs once per queue gateway variant (and "random").
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.25, video_duration=0.2)
BASE: list[dict[str, Any]] = [
    {"prompt": "a"},
    {"prompt": "b"},
    {"prompt": "dup"},
    {"prompt": "c"},
    {"prompt": "dup"},
]
NEW = {"prompt": "new"}

#: edit name -> (edited inputs, how many inputs the edit adds that were never submitted)
EDITS: dict[str, tuple[list[dict[str, Any]], int]] = {
    "insert_at_top": ([NEW, *BASE], 1),
    "delete_lines": ([BASE[0], BASE[3], BASE[4]], 0),
    "reorder": (list(reversed(BASE)), 0),
    "one_more_duplicate": ([*BASE, {"prompt": "dup"}], 1),
    "unchanged": (list(BASE), 0),
}


def body_counts(emu: Emulator) -> list[int]:
    return sorted(emu.stats.submits_by_body.values())


@pytest.mark.anyio
@pytest.mark.parametrize("edit", list(EDITS))
async def test_map_resumes_an_edited_input_list_without_paying_twice(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path, edit: str
) -> None:
    """queue.map with a journal: after an edit only never-submitted inputs are submitted; 2 dups = 2 jobs."""
    path = tmp_path / "j.sqlite"
    async with client.queue.map(EP, BASE, journal=path) as results:
        first = {o.index: o async for o in results}
    assert all(o.ok for o in first.values())
    assert emu.stats.count("queue.submit") == 5 and body_counts(emu) == [1, 1, 1, 2]
    edited, added = EDITS[edit]
    async with client.queue.map(EP, edited, journal=path) as results:
        second = {o.index: o async for o in results}
    assert len(second) == len(edited) and all(o.ok for o in second.values())
    assert emu.stats.count("queue.submit") == 5 + added
    by_prompt: dict[str, set[str | None]] = {}
    for o in [*first.values(), *second.values()]:
        by_prompt.setdefault(o.input["prompt"], set()).add(o.request_id)
    assert len(by_prompt["a"]) == len(by_prompt["b"]) == len(by_prompt["c"]) == 1  # replayed, same job
    assert len(by_prompt["dup"]) == 2 + (edit == "one_more_duplicate")
    async with client.queue.map(EP, BASE, journal=path) as results:  # and back: nothing new
        assert all([o.ok async for o in results])
    assert emu.stats.count("queue.submit") == 5 + added


@pytest.fixture(params=[*QUEUE_VARIANTS, "random"])
def thread_emu(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator on its own thread and loop (the CLI runs its own), per queue gateway variant."""
    emulator = Emulator(job_duration=0.05, job_jitter=0.0, variant=request.param)
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(emulator) as e,
    ):
        monkeypatch.setenv("ODIROUTER_API_KEY", e.api_key)
        monkeypatch.setenv("ODIROUTER_BASE_URL", e.url)
        yield e


def write_lines(path: Path, inputs: list[dict[str, Any] | str]) -> None:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in inputs))


def batch(inputs: Path, out: Path) -> int:
    return main(["batch", EP, str(inputs), "--out", str(out), "-q", "--no-download"])


@pytest.mark.parametrize("edit", list(EDITS))
def test_batch_resumes_an_edited_input_file_without_paying_twice(
    thread_emu: Emulator, tmp_path: Path, edit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """odirouter batch: after editing a finished input file, a rerun submits only new inputs."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_lines(inputs, list(BASE))
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 5
    edited, added = EDITS[edit]
    write_lines(inputs, list(edited))
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 5 + added
    assert body_counts(thread_emu)[-1] == 2 + (edit == "one_more_duplicate")
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len({r["key"] for r in results}) == len(BASE) + added
    assert batch(inputs, out) == 0  # a third run: everything finished earlier
    assert thread_emu.stats.count("queue.submit") == 5 + added
    assert f"{len(edited)} finished earlier" in capsys.readouterr().err


def test_batch_deleting_malformed_lines_pays_nothing_again(thread_emu: Emulator, tmp_path: Path) -> None:
    """Deleting malformed lines above a finished input (lines 9-10 of the report) re-pays nothing."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines: list[dict[str, Any] | str] = [{"prompt": f"p{i}"} for i in range(8)]
    lines += ["{not json", "[1, 2]", {"prompt": "line 11"}, {"prompt": "line 12"}]
    write_lines(inputs, lines)
    assert batch(inputs, out) == 1  # malformed lines make the exit code 1
    assert thread_emu.stats.count("queue.submit") == 10
    write_lines(inputs, lines[:8] + lines[10:])
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 10 and thread_emu.stats.duplicate_submits == 0


def downgrade(journal: Path, version: int) -> list[tuple[str, int, str]]:
    """Rewrite a journal as schema ``version`` wrote it (1: position keys, 2: text keys, plain
    outcomes and URLs, a rowid table); returns ``(key, idx, args_hash)`` of its entries."""
    import sqlite3
    from contextlib import closing

    from odirouter_async.batch.journal_codec import unpack_hash, unpack_key, unpack_outcome

    with closing(sqlite3.connect(journal, isolation_level=None)) as conn:
        rows = [list(r) for r in conn.execute("SELECT * FROM entries").fetchall()]
        found = []
        for r in rows:
            r[0], r[2], r[9] = unpack_key(r[0]), unpack_hash(r[2]), unpack_outcome(r[9])
            found.append((r[0], r[1], r[2]))
            if version == 1:
                r[0] = f"{r[1]}-{r[2][:16]}"
        columns = (
            "key TEXT PRIMARY KEY, idx INTEGER NOT NULL, args_hash TEXT NOT NULL, state TEXT NOT NULL,"
            " attempt INTEGER NOT NULL DEFAULT 1, request_id TEXT, status_url TEXT, response_url TEXT,"
            " cancel_url TEXT, outcome BLOB, created_at REAL NOT NULL, submitted_at REAL,"
            " finished_at REAL, updated_at REAL NOT NULL"
        )
        conn.execute("DROP TABLE entries")
        if version == 1:
            conn.execute(f"CREATE TABLE entries ({columns})")
            conn.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * 14)})", [r[:14] for r in rows])
        else:
            conn.execute(f"CREATE TABLE entries ({columns}, legacy_key TEXT)")
            conn.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * 15)})", rows)
        conn.execute(f"PRAGMA user_version = {version}")
    return found


def test_batch_migrates_a_schema_2_journal(thread_emu: Emulator, tmp_path: Path) -> None:
    """A schema-2 journal (text keys, plain outcomes) resumes and replays exactly after migration."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_lines(inputs, list(BASE))
    assert batch(inputs, out) == 0
    journal = out / "journal.sqlite"
    downgrade(journal, 2)
    (out / "results.jsonl").unlink()  # the outcomes come back from the migrated journal
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 5
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 5 and all(r["status"] == "ok" and r["urls"] for r in records)
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(journal)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (4,)  # schema 4: not_created (#19)


def test_batch_migrates_a_schema_1_journal(thread_emu: Emulator, tmp_path: Path) -> None:
    """A journal written by schema 1 (position keys) resumes: nothing finished or running is paid again."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_lines(inputs, list(BASE))
    assert batch(inputs, out) == 0
    journal = out / "journal.sqlite"
    results = out / "results.jsonl"
    # Turn the journal and results.jsonl back into what schema 1 wrote (key = index-hash16).
    old_keys = {}
    rows = downgrade(journal, 1)
    for key, idx, digest in rows:
        old_keys[key] = f"{idx}-{digest[:16]}"
    records = [json.loads(line) for line in results.read_text().splitlines()]
    results.write_text("".join(json.dumps({**r, "key": old_keys[r["key"]]}) + "\n" for r in records))
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 5
    assert len(results.read_text().splitlines()) == 5  # legacy result lines were recognised
    write_lines(inputs, [NEW, *BASE])  # and content keys work from now on
    assert batch(inputs, out) == 0
    assert thread_emu.stats.count("queue.submit") == 6

    async def states() -> list[str]:
        async with await Journal.open(journal, endpoint=EP) as j:
            return sorted(e.state for e in (await j.load()).values())

    assert asyncio.run(states()) == ["done"] * 6
