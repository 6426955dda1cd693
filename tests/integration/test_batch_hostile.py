"""Hostile rounds of a batch user (#19 point 5): colliding output names, a full disk and other
download failures, PostgreSQL DSNs in libpq's keyword=value / service= forms, passwords in output,
and a journal file deleted while its run goes on.

Downloads run against the emulator, a raw asyncio server that stalls mid-body, and a child process
whose file-size limit makes every write past it fail (``EFBIG``: what a full disk does to the
writer, without filling one).  DSN tests that need a database use the throwaway PostgreSQL cluster
of ``pg_fixtures`` (skipped, with the reason, where none can run).
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pg_fixtures
import psycopg
import pytest
from pg_fixtures import ServedEmulator, Workers
from thread_emulator import threaded_emulator

import odirouter_async as odr
from odirouter_async.batch.journal import Journal, JournalError
from odirouter_async.cli import main
from odirouter_async.testing import Emulator
from odirouter_async.types.queue import JobOutput, JobResult

pg = pg_fixtures.pg
dsn = pg_fixtures.dsn
emulator = pg_fixtures.emulator

EP = "nano_banana_2"
SECRET = "s3cret-Pw"


def parts(directory: Path) -> list[str]:
    """The temporary ``.part`` files left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def keyword_form(url: str, **extra: str) -> str:
    """``postgresql://user@host:port/db`` in libpq's keyword=value form (plus ``extra``)."""
    rest = url.split("://", 1)[1]
    user, _, rest = rest.partition("@")
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.partition(":")
    pairs = {"host": host, "port": port, "dbname": db, "user": user, **extra}
    return " ".join(f"{k}={v}" for k, v in pairs.items())


def rows(url: str) -> int:
    """Inputs in the shared batch tables (0 before they exist)."""
    return sum(pg_fixtures.states(url).values())


# ----------------------------------------------------------------------------------------------
# Output names
# ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("overwrite", [True, False])
async def test_generated_names_never_collide(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path, overwrite: bool
) -> None:
    """Outputs named a_2.png, a.png, a.png give three files, each with its own bytes."""
    result = await client.queue.run(
        EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 3, "output_bytes": 5000}}
    )
    reference = await client.queue.download(result, tmp_path / "ref")
    names = ["a_2.png", "a.png", "a.png"]
    renamed = [JobOutput(url=o.url, file_name=n) for o, n in zip(result.outputs, names, strict=True)]
    paths = await client.queue.download(JobResult(outputs=renamed), tmp_path / "d", overwrite=overwrite)
    assert len(set(paths)) == 3
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == sorted(p.name for p in paths)
    for path, ref in zip(paths, reference, strict=True):
        assert path.read_bytes() == ref.read_bytes()


@pytest.mark.anyio
async def test_case_insensitive_and_chained_duplicates(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A.png / a.png / a_1.png / a_1.png: four distinct names, even on a case-insensitive disk."""
    result = await client.queue.run(EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 4}})
    names = ["A.png", "a.png", "a_1.png", "a_1.png"]
    renamed = [JobOutput(url=o.url, file_name=n) for o, n in zip(result.outputs, names, strict=True)]
    paths = await client.queue.download(JobResult(outputs=renamed), tmp_path)
    assert len({p.name.lower() for p in paths}) == 4


# ----------------------------------------------------------------------------------------------
# .part files on every failure path
# ----------------------------------------------------------------------------------------------

_FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    import odirouter_async as odr
    from odirouter_async.types.queue import JobOutput, JobResult

    url, key, dest, limit, outputs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG

    async def main():
        async with odr.AsyncOdiRouter(api_key=key, base_url=url) as client:
            result = JobResult(outputs=[JobOutput(url=u) for u in outputs])
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            try:
                if outputs[0].startswith("video:"):
                    await client.videos.download_content(outputs[0][6:], dest + "/clip.mp4")
                else:
                    await client.queue.download(result, dest)
            except OSError as exc:
                print(json.dumps({"error": type(exc).__name__, "errno": exc.errno}))
            else:
                print(json.dumps({"error": None}))

    asyncio.run(main())
    """
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("limit", "size"), [(0, 5000), (4096, 5000), (0, 2_500_000), (300_000, 2_500_000), (1_500_000, 2_500_000)]
)
async def test_full_disk_leaves_no_part_files(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path, limit: int, size: int
) -> None:
    """Writes failing (EFBIG, as ENOSPC would; small files fail at the flush) leave nothing behind."""
    result = await client.queue.run(
        EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 4, "output_bytes": size}}
    )
    dest = tmp_path / "out"
    dest.mkdir()
    argv = [sys.executable, "-c", _FULL_DISK, emu.url, emu.api_key, str(dest), str(limit)]
    argv += [str(o.url) for o in result.outputs]
    proc = await anyio.run_process(argv, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report == {"error": "OSError", "errno": errno.EFBIG}
    assert list(dest.iterdir()) == []


@pytest.mark.anyio
async def test_full_disk_video_content_leaves_no_part_file(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """videos.download_content on a full disk (EFBIG mid-file): the OS error, no .part, no file."""
    video = await client.videos.create(model="sora-2", prompt="p")
    await client.videos.wait(video.id)
    dest = tmp_path / "out"
    dest.mkdir()
    argv = [sys.executable, "-c", _FULL_DISK, emu.url, emu.api_key, str(dest), "1000", f"video:{video.id}"]
    proc = await anyio.run_process(argv, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == {"error": "OSError", "errno": errno.EFBIG}
    assert list(dest.iterdir()) == []


@pytest.mark.anyio
async def test_bad_status_and_cut_bodies_leave_no_part_files(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A 404 on a file, and bodies always cut short, raise typed errors and leave the directory empty."""
    result = await client.queue.run(
        EP, {"prompt": "x", "_emu": {"duration": 0.05, "outputs": 3, "output_bytes": 200_000}}
    )
    emu.faults.add("files", status=404, times=None)
    with pytest.raises(odr.NotFoundError):
        await client.queue.download(result, tmp_path / "a")
    assert list((tmp_path / "a").iterdir()) == []
    emu.faults.clear()
    emu.faults.add("files", truncate_after=150_000, times=None)
    with pytest.raises(odr.APIConnectionError):
        await client.queue.download(result, tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []


@pytest.fixture
async def stalling_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A file server that sends 3 MiB of a promised 10 MiB, sets the event, then goes silent."""
    sent = asyncio.Event()
    stop = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10485760\r\n\r\n")
        writer.write(b"\x89" * (3 << 20))
        await writer.drain()  # the client has read most of it: past the first 1 MiB write
        sent.set()
        await stop.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/big.png", sent
    finally:
        stop.set()
        server.close()
        await server.wait_closed()


@pytest.mark.anyio
async def test_cancelled_download_leaves_no_part_file(
    client: odr.AsyncOdiRouter, stalling_server: tuple[str, asyncio.Event], tmp_path: Path
) -> None:
    """Cancelling a download mid-body (Ctrl-C, a timeout around it) removes its temporary file."""
    url, sent = stalling_server
    result = JobResult(outputs=[JobOutput(url=url, file_name="big.png")])
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.queue.download, result, tmp_path)
        await sent.wait()
        tg.cancel_scope.cancel()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# The journal lock
# ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_deleted_journal_file_still_locks(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """Deleting run.sqlite while its run goes on does not let a second run start (no submit)."""
    path = tmp_path / "run.sqlite"
    first = await Journal.open(path, endpoint=EP)
    try:
        path.unlink()
        with pytest.raises(JournalError, match="in use"):
            await Journal.open(path, endpoint=EP)
        with pytest.raises(JournalError, match="in use"):
            async with client.queue.map(EP, [{"prompt": "p"}], journal=path) as results:
                _ = [o async for o in results]
        assert emu.stats.count("queue.submit") == 0
    finally:
        await first.close()
    second = await Journal.open(path, endpoint=EP)  # free again once the first run ends
    await second.close()


@pytest.mark.anyio
async def test_journal_lock_file_is_shared_by_a_symlink(tmp_path: Path) -> None:
    """A symlink to the journal locks the same sibling lock file (the real path's)."""
    path = tmp_path / "run.sqlite"
    first = await Journal.open(path, endpoint=EP)
    try:
        (tmp_path / "link.sqlite").symlink_to(path)
        path.unlink()  # the symlink now dangles: it still names the locked journal
        with pytest.raises(JournalError, match="in use"):
            await Journal.open(tmp_path / "link.sqlite", endpoint=EP)
    finally:
        await first.close()


# ----------------------------------------------------------------------------------------------
# DSNs: libpq forms are databases; no driver is a typed refusal; no password shown
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg cannot be imported (as without the ``postgres`` extra)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)


KEYWORD_DSNS = [
    f"host=db.internal password={SECRET} dbname=jobs",
    f"dbname=jobs user=me password='{SECRET}'",
    "service=batchdb",
    f"postgresql://me:{SECRET}@db.internal/jobs",
    f"postgresql://me@db.internal/jobs?password={SECRET}",
]


@pytest.mark.anyio
@pytest.mark.parametrize("journal", KEYWORD_DSNS)
async def test_dsn_without_driver_is_refused_before_any_submit(
    client: odr.AsyncOdiRouter,
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_driver: None,
    journal: str,
) -> None:
    """queue.map(journal=<any libpq form>) without psycopg: a JournalError, no submit, no file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match="psycopg") as caught:
        async with client.queue.map(EP, [{"prompt": "p"}], journal=journal) as results:
            _ = [o async for o in results]
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    assert emu.stats.count("queue.submit") == 0
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def thread_emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread; the environment points the CLI at it."""
    with threaded_emulator(Emulator(job_duration=0.05, job_jitter=0.0), monkeypatch) as e:
        yield e


@pytest.mark.parametrize("journal", KEYWORD_DSNS)
def test_cli_dsn_without_driver_is_a_usage_error(
    thread_emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_driver: None,
    journal: str,
) -> None:
    """odirouter batch --journal <any libpq form> without psycopg: exit 2, no submit, no file."""
    monkeypatch.chdir(tmp_path)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n')
    code = main(["batch", EP, str(inputs), "--out", str(tmp_path / "out"), "--journal", journal, "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "psycopg" in err and SECRET not in err
    assert thread_emu.stats.count("queue.submit") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.anyio
@pytest.mark.parametrize("form", ["keyword", "service"])
async def test_libpq_dsn_runs_on_postgresql(
    client: odr.AsyncOdiRouter,
    emu: Emulator,
    dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    """queue.map(journal="host=... dbname=... password=..." / "service=NAME") journals in PostgreSQL."""
    monkeypatch.chdir(tmp_path)
    if form == "keyword":
        journal = keyword_form(dsn, password=SECRET)  # trust auth: the password is not checked
    else:
        services = tmp_path.parent / "pg_service.conf"
        services.write_text("[batchdb]\n" + keyword_form(dsn).replace(" ", "\n") + "\n")
        monkeypatch.setenv("PGSERVICEFILE", str(services))
        journal = "service=batchdb"
    inputs = [{"prompt": f"p{i}", "_emu": {"duration": 0.05}} for i in range(6)]
    async with client.queue.map(EP, inputs, concurrency=3, journal=journal) as results:
        outcomes = [o async for o in results]
    assert sorted(o.index for o in outcomes if o.ok) == list(range(6))
    assert rows(dsn) == 6 and pg_fixtures.states(dsn)["done"] == 6
    assert list(tmp_path.iterdir()) == []
    async with client.queue.map(EP, inputs, concurrency=3, journal=journal) as results:
        again = [o async for o in results]  # a second worker: nothing left to claim, nothing paid
    assert again == [] and emu.stats.count("queue.submit") == 6


@pytest.mark.anyio
async def test_driver_error_quoting_the_dsn_shows_no_password(
    client: odr.AsyncOdiRouter, emu: Emulator
) -> None:
    """A DSN the driver rejects while quoting a piece of it: the JournalError shows no password."""
    journal = f"postgresql://me:{SECRET}%zz@127.0.0.1:1/jobs"
    with pytest.raises(JournalError) as caught:
        async with client.queue.map(EP, [{"prompt": "p"}], journal=journal) as results:
            _ = [o async for o in results]
    assert SECRET not in str(caught.value)
    assert emu.stats.count("queue.submit") == 0


@pytest.mark.parametrize("form", ["userinfo", "query", "keyword"])
def test_cli_never_prints_the_password(
    emulator: ServedEmulator,
    dsn: str,
    tmp_path: Path,
    form: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """odirouter batch --journal <DSN with a password>: the run works and stderr shows no password
    (the userinfo form as a real process: all it prints up to its exit; the others in-process)."""
    if form == "userinfo":
        journal = dsn.replace("postgres@", f"postgres:{SECRET}@")
    elif form == "query":
        journal = f"{dsn}?password={SECRET}&application_name=hostile"
    else:
        journal = keyword_form(dsn, password=SECRET)
    workers = Workers(emulator, journal, tmp_path, 5, "--no-download")
    if form == "userinfo":
        workers.start()
        assert workers.wait_all() == [0]
        log = workers.log(0)
    else:
        for name in ("ODIROUTER_API_KEY", "ODIROUTER_BASE_URL"):
            monkeypatch.setenv(name, workers.env[name])
        argv = ["batch", EP, str(workers.inputs), "--out", str(tmp_path / "w0"), "--journal", journal]
        code = main([*argv, "-q", "--no-download"])
        log = capsys.readouterr().err
        assert code == 0, log
    assert "batch-status" in log and "***" in log
    assert SECRET not in log
    assert rows(dsn) == 5
    stats: dict[str, Any] = emulator.stats()
    assert len(stats["jobs"]) == 5


def test_batch_status_error_shows_no_password(capsys: pytest.CaptureFixture[str]) -> None:
    """odirouter batch-status with a DSN the driver rejects: exit 2, the message names no password."""
    code = main(["batch-status", f"postgresql://me:{SECRET}%zz@127.0.0.1:1/jobs"])
    assert code == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "journal database" in err


def test_psycopg_is_importable_here() -> None:
    """The DSN tests above need the driver in this environment (the postgres extra of dev)."""
    assert psycopg.__version__


@pytest.mark.parametrize("journal", KEYWORD_DSNS)
def test_resume_command_line_shows_no_password(journal: str) -> None:
    """The 'resume with:' command line keeps the DSN's shape with *** for its password."""
    import argparse

    from odirouter_async.cli._batch import _command_line

    for argv in (["batch", EP, "in.jsonl", "--journal", journal], ["batch", EP, f"--journal={journal}"]):
        line = _command_line(argparse.Namespace(argv=argv, journal=journal))
        assert SECRET not in line and line.startswith("odirouter batch ")


@pytest.mark.anyio
@pytest.mark.parametrize("journal", KEYWORD_DSNS)
async def test_sqlite_journal_refuses_a_dsn_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, journal: str
) -> None:
    """Journal.open("host=... password=...") is a JournalError naming no password, and no file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match="PostgreSQL") as caught:
        await Journal.open(journal, endpoint=EP)
    assert SECRET not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
