"""``odirouter`` as a real process in bad conditions: Ctrl-C at a terminal prompt, a closed stderr
pipe, a full disk, a journal that cannot be written.  Each must end with ONE clear line on stderr
and a non-zero exit code, and leave the journal consistent (a rerun pays nothing twice).

The emulator runs on a thread of the test process.  A full disk is real ENOSPC: ``results.jsonl``
is a symlink to ``/dev/full`` (no root tricks, no tiny file system needed).  A journal write
failure is made with ``ulimit -f`` (RLIMIT_FSIZE, which binds root too -- a read-only directory
would not, the tests may run as root): sqlite then fails to grow the file mid-batch.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from cli_env import point_cli_at

from odirouter_async.cli import main
from odirouter_async.testing import Emulator

EP = "nano_banana_2"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator with short jobs, served from a thread."""
    emulator = Emulator(job_duration=0.05, job_jitter=0.0, keep_log=False)
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(emulator) as e,
    ):
        yield e


def env(emu: Emulator) -> dict[str, str]:
    return {**os.environ, "ODIROUTER_API_KEY": emu.api_key, "ODIROUTER_BASE_URL": emu.url}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "odirouter_async", *args]


def write_inputs(path: Path, n: int, pad: int = 0) -> None:
    path.write_text("".join(json.dumps({"prompt": f"image {i} " + "x" * pad}) + "\n" for i in range(n)))


def journal_states(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT state, count(*) FROM entries GROUP BY state").fetchall())


def assert_one_error_line(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr and "ExceptionGroup" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("odirouter: ")]
    assert len(errors) == 1, stderr
    assert all(n in errors[0] for n in needles), stderr


def test_chat_prompt_at_a_terminal_exits_130_on_ctrl_c(emu: Emulator) -> None:
    """Ctrl-C while `odirouter chat` waits for a prompt typed at a terminal ends it with exit code 130."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        command("chat"), stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(emu)
    ) as proc:
        os.close(terminal)
        assert proc.stderr is not None
        assert "Type the prompt" in proc.stderr.readline().decode()  # it is reading the terminal now
        proc.send_signal(signal.SIGINT)
        assert proc.wait() == 130
        assert "aborted" in proc.stderr.read().decode()
    os.close(controller)
    assert emu.stats.count("chat.completions") == 0


def test_batch_with_a_closed_stderr_exits_non_zero_and_keeps_the_journal(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reader of stderr leaves: the batch ends non-zero, its journal is consistent, no double pay."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_inputs(inputs, 20)
    argv = command("batch", EP, str(inputs), "--out", str(out), "--no-download")
    with subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env(emu)) as proc:
        assert proc.stderr is not None
        assert "20 inputs" in proc.stderr.readline().decode()
        proc.stderr.close()  # like `odirouter batch ... 2>&1 | head -1`
        assert proc.wait() != 0
    submitted = emu.stats.count("queue.submit")
    states = journal_states(out / "journal.sqlite")
    assert "intent" not in states and sum(states.values()) == submitted
    point_cli_at(emu.url, emu.api_key, monkeypatch)  # the rerun in-process: no pipe involved
    assert main([*argv[3:], "-q"]) == 0, capsys.readouterr().err
    assert emu.stats.duplicate_submits == 0 and emu.stats.count("queue.submit") == 20


def test_models_with_a_closed_stdout_exits_non_zero(emu: Emulator) -> None:
    """`odirouter models` whose stdout reader left: exit code 1 and a message, not a silent success."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run(
        command("models"), stdout=write_end, stderr=subprocess.PIPE, text=True, env=env(emu)
    )
    os.close(write_end)
    assert proc.returncode == 1
    assert_one_error_line(proc.stderr, "broken pipe")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_batch_on_a_full_disk_is_one_error_line(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC writing results.jsonl: one error line, exit 1; the journal holds the outcomes for the
    rerun (in-process ``main``: the same stderr and exit code, without a process start)."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_inputs(inputs, 6)
    out.mkdir()
    (out / "results.jsonl").symlink_to("/dev/full")
    point_cli_at(emu.url, emu.api_key, monkeypatch)
    argv = ["batch", EP, str(inputs), "--out", str(out), "--no-download", "-q"]
    assert main(argv) == 1
    assert_one_error_line(capsys.readouterr().err, "No space left on device")
    assert "intent" not in journal_states(out / "journal.sqlite")
    submitted = emu.stats.count("queue.submit")
    (out / "results.jsonl").unlink()
    assert main(argv) == 0, capsys.readouterr().err
    assert emu.stats.duplicate_submits == 0 and emu.stats.count("queue.submit") == 6 >= submitted


def test_batch_whose_journal_cannot_grow_is_one_error_line(emu: Emulator, tmp_path: Path) -> None:
    """A JournalError mid-batch (the file cannot grow): one error line, exit 1, an intact journal."""
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_inputs(inputs, 300, pad=200)
    argv = command("batch", EP, str(inputs), "--out", str(out), "--no-download", "-q")
    limited = ["bash", "-c", 'ulimit -f 48 && exec "$@"', "bash", *argv]  # 48 KiB per file
    proc = subprocess.run(limited, capture_output=True, text=True, env=env(emu))
    assert proc.returncode == 1
    assert_one_error_line(proc.stderr, "JournalError")
    journal_states(out / "journal.sqlite")  # integrity_check passes


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is built in from 3.11")
def test_errors_inside_task_groups_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A JournalError or ENOSPC wrapped in (nested) exception groups with cancellations: one line, exit 1."""
    import asyncio
    import builtins
    import errno

    from odirouter_async._exceptions import JournalError
    from odirouter_async.cli._common import run_command

    def failing(error: BaseException) -> Any:
        async def command(args: object) -> int:
            raise error

        return command

    group: Any = getattr(builtins, "BaseExceptionGroup")  # noqa: B009 (absent on 3.10: skipped)
    nested = group("outer", [asyncio.CancelledError(), group("inner", [JournalError("disk I/O error")])])
    assert run_command(failing(nested), argparse.Namespace()) == 1
    assert_one_error_line(capsys.readouterr().err, "JournalError", "disk I/O error")
    full = OSError(errno.ENOSPC, "No space left on device", "out/results.jsonl")
    assert run_command(failing(group("g", [full])), argparse.Namespace()) == 1
    assert_one_error_line(capsys.readouterr().err, "No space left on device", "out/results.jsonl")
