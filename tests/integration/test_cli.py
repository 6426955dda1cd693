"""The ``odirouter`` command line: in-process ``main_async([...])`` on the test's loop against an
emulator on that loop, and ``odirouter emulator`` as a real process (Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cli_env import point_cli_at

from odirouter_async.batch.journal import Journal
from odirouter_async.cli import main, main_async
from odirouter_async.testing import Emulator

COMMANDS = [[], ["demo"], ["models"], ["chat"], ["run"], ["batch"], ["emulator"], ["videos"]]


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    """An emulator on the test's loop; the environment points the CLI at it (run in-process on
    that loop: ``main_async``)."""
    async with Emulator(job_duration=0.1, job_jitter=0.0, echo=True) as e:
        point_cli_at(e.url, e.api_key, monkeypatch)
        yield e


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "odirouter")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` works on the tool and on every command, and exits 0."""
    assert main([*command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: odirouter {' '.join(command)}".rstrip())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the package version."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("odirouter_async 0.")


def test_usage_errors_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Missing arguments, no API key and bad JSON are usage errors (2) with a clear message."""
    assert main(["batch", "nano_banana_2"]) == 2
    monkeypatch.delenv("ODIROUTER_API_KEY", raising=False)
    assert main(["models"]) == 2
    assert "ODIROUTER_API_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("ODIROUTER_API_KEY", "k")
    assert main(["run", "nano_banana_2", "--json", "{not json"]) == 2
    assert "--json is not valid JSON" in capsys.readouterr().err
    assert main(["batch", "nano_banana_2", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.anyio
async def test_models_prints_ids(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """``models`` prints one id per line."""
    assert await main_async(["models"]) == 0
    ids = capsys.readouterr().out.split()
    assert "gpt-4.1" in ids and "nano_banana_2" in ids


@pytest.mark.anyio
async def test_chat_streams_the_prompt_from_stdin(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``chat`` without a prompt reads stdin and streams the answer to stdout."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello from stdin"))
    assert await main_async(["chat", "--system", "be brief"]) == 0
    assert capsys.readouterr().out == "You said: hello from stdin\n"
    assert emu.stats.count("chat") == 1


@pytest.mark.anyio
async def test_run_prints_result_and_downloads(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``run`` submits, waits, prints the result JSON and downloads the outputs."""
    assert (
        await main_async(
            ["run", "nano_banana_2", "--json", '{"prompt": "a red apple"}', "--out", str(tmp_path)]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    name = result["outputs"][0]["file_name"]
    assert (tmp_path / name).stat().st_size == result["outputs"][0]["file_size"]


@pytest.mark.anyio
async def test_failed_job_exits_1_with_request_id(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """A job that fails is exit code 1 and the message names the job's request id."""
    arguments = json.dumps({"prompt": "x", "_emu": {"fail": "VALIDATION_ERROR"}})
    assert await main_async(["run", "nano_banana_2", "--json", arguments]) == 1
    [job] = emu.jobs.values()
    err = capsys.readouterr().err
    assert "JobFailed" in err and "VALIDATION_ERROR" in err and f"request_id={job.request_id}" in err


@pytest.mark.anyio
async def test_batch_reports_malformed_lines_and_goes_on(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Malformed lines are reported with their numbers and skipped; the other lines all run."""
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n{"prompt": \n\n[1, 2]\n{"prompt": "b"}\n"text"\n{"prompt": "c"}\n')
    out = tmp_path / "out"
    assert await main_async(["batch", "nano_banana_2", str(inputs), "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "line 2: invalid JSON" in err
    assert "line 4: expected a JSON object of model arguments, got an array" in err
    assert "line 6: expected a JSON object of model arguments, got a string" in err
    assert "malformed lines: 2, 4, 6" in err
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted((r["line"], r["status"]) for r in results) == [(1, "ok"), (5, "ok"), (7, "ok")]
    assert sorted(p.name for p in (out / "outputs").iterdir()) == [
        "000001_0.png",
        "000005_0.png",
        "000007_0.png",
    ]
    assert await main_async(["batch", "nano_banana_2", str(inputs), "--out", str(out), "-q"]) == 1
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert emu.stats.count("queue.submit") == 3


@pytest.mark.anyio
async def test_batch_uncertain_input_is_reported_and_resubmitted_only_on_request(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An intent left by a crashed run is skipped and reported; --resubmit-uncertain sends it with its key."""
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n{"prompt": "b"}\n')
    out = tmp_path / "out"
    out.mkdir()
    arguments = {"prompt": "b"}
    key = Journal.keys_for([arguments])[0]

    async def crashed_run() -> str:
        async with await Journal.open(out / "journal.sqlite", endpoint="nano_banana_2") as journal:
            await journal.record_intents([(key, 1, Journal.hash_arguments(arguments))])
            return journal.request_id_for(key)

    request_id = await crashed_run()
    assert await main_async(["batch", "nano_banana_2", str(inputs), "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "1 inputs may have been submitted" in err and "(lines 2)" in err
    assert emu.stats.count("queue.submit") == 1
    assert (
        await main_async(
            ["batch", "nano_banana_2", str(inputs), "--out", str(out), "-q", "--resubmit-uncertain"]
        )
        == 0
    )
    assert emu.stats.submits_by_request_id_header[request_id] == 1
    assert emu.stats.count("queue.submit") == 2


@pytest.mark.anyio
async def test_batch_retry_failed_is_a_new_attempt(emu: Emulator, tmp_path: Path) -> None:
    """A failed input is replayed as failed on rerun; --retry-failed submits it again, and
    results.jsonl ends with one line per input: the latest attempt."""
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "ok"}\n{"prompt": "bad", "_emu": {"fail": "VALIDATION_ERROR"}}\n')
    out = tmp_path / "out"
    command = ["batch", "nano_banana_2", str(inputs), "--out", str(out), "-q"]
    assert await main_async(command) == 1
    assert await main_async(command) == 1
    assert emu.stats.count("queue.submit") == 2
    assert await main_async([*command, "--retry-failed"]) == 1
    assert emu.stats.count("queue.submit") == 3
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted((r["line"], r["attempt"], r["status"]) for r in lines) == [(1, 1, "ok"), (2, 2, "failed")]
    assert any(k.endswith("-a2") for k in emu.stats.submits_by_request_id_header)


@pytest.mark.anyio
async def test_demo_runs_offline_to_completion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``odirouter demo`` without a key runs on the embedded emulator and finishes (in-process on
    the test's virtual clock: the demo's jobs take realistic seconds)."""
    for name in [k for k in os.environ if k.startswith("ODIROUTER_")]:
        monkeypatch.delenv(name)
    assert await main_async(["demo", "--out", str(tmp_path / "demo")]) == 0
    out, err = capsys.readouterr()
    assert "embedded gateway emulator" in err
    assert re.search(r"2\. chat \(gpt-4\.1, streamed\):\n   \w.{20,}\n3\. images", out)
    assert "4. summary: 12/12 images" in out
    assert "queue requests per job:" in out
    assert len(list((tmp_path / "demo").iterdir())) == 12


def test_videos_reports_when_unavailable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the videos module the command still parses and says it is not available (exit 1)."""
    import odirouter_async.cli as cli_package

    monkeypatch.setitem(sys.modules, "odirouter_async.cli._videos", None)
    monkeypatch.delattr(cli_package, "_videos", raising=False)
    assert main(["videos", "list"]) == 1
    assert "odirouter: error: videos are not available" in capsys.readouterr().err


def test_emulator_command_serves_until_ctrl_c() -> None:
    """``odirouter emulator --port 0`` prints its URL and key, serves, and stops cleanly on SIGINT."""
    command = [sys.executable, "-m", "odirouter_async", "emulator", "--port", "0", "--api-key", "k1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("OdiRouter emulator listening on http://127.0.0.1:")
        rest = [proc.stdout.readline() for _ in range(4)]
        assert "  api key: k1\n" in rest
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
    assert proc.returncode == 0, err
