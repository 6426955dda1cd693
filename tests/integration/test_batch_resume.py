"""``odirouter batch`` interrupted (SIGKILL, Ctrl-C), then resumed, against an in-test emulator.

The real-process facts (a SIGKILLed process resumes; a real Ctrl-C exits 130) run ``python -m
odirouter_async batch`` once each, against the ``"random"`` variant (every gateway variant mixed,
per job).  The Ctrl-C behaviours that can differ per variant (re-attaching jobs by their stored
ids and URLs, a cancelled job's answer) run in-process on the test's virtual clock (``main_async``
with a real SIGINT to this process, caught by the command's own handler), once per variant that
matters.

Scenario (deterministic): 30 inputs, ``--concurrency 8``; inputs 0-3 take 0.2 s, inputs 4-11 are
"long" (1000 s), the rest take 0.2 s.  Once 0-3 are done, the window holds the eight long jobs and
nothing else is submitted: the journal then shows 4 done, 8 submitted and no submit in flight.
The test interrupts the process there, makes the long jobs finish (emulator state), and reruns the
same command to completion.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from cli_env import point_cli_at

from odirouter_async.cli import main_async
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

INPUTS = 30
LONG = range(4, 12)
ENDPOINT = "nano_banana_2"


# Jobs take 0.2 s unless an input says otherwise.  A cancelled job answers its own way in each
# variant: the --cancel-on-interrupt test runs once per variant (and "random").
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.0, keep_log=False)
# Re-attaching without a cancel: the variants whose ids or job URLs differ (status_200 and html_502
# differ from "documented" only in how a failed or cancelled job answers: none here).
reattach_emu = variant_emulator_fixture(
    name="reattach_emu",
    variants=("documented", "detail_500", "detail_422", "not_found", "foreign", "loose", "random"),
    job_duration=0.2,
    job_jitter=0.0,
    keep_log=False,
)
mixed_emu = variant_emulator_fixture(
    name="mixed_emu", variants=("random",), job_duration=0.2, job_jitter=0.0, keep_log=False
)


def write_inputs(path: Path) -> None:
    with path.open("w") as f:
        for i in range(INPUTS):
            args: dict[str, object] = {"prompt": f"image {i}"}
            if i in LONG:
                args["_emu"] = {"duration": 1000}
            f.write(json.dumps(args) + "\n")


def journal_states(path: Path) -> Counter[str]:
    """Entry counts by state, read through a read-only connection (empty before the file exists)."""
    if not path.exists():
        return Counter()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return Counter(dict(conn.execute("SELECT state, count(*) FROM entries GROUP BY state")))
        finally:
            conn.close()
    except sqlite3.OperationalError:  # created but the schema is not committed yet
        return Counter()


class Batch:
    """``odirouter batch`` against the emulator: as ``python -m odirouter_async`` (output to files)
    or in-process on the test's loop (``main_async``; output to the captured stderr)."""

    def __init__(self, emu: Emulator, tmp: Path) -> None:
        self.tmp = tmp
        self.inputs = tmp / "inputs.jsonl"
        self.out = tmp / "out"
        self.journal = self.out / "journal.sqlite"
        write_inputs(self.inputs)
        self.env = {
            **os.environ,
            "ODIROUTER_API_KEY": emu.api_key,
            "ODIROUTER_BASE_URL": emu.url,
            "PYTHONUNBUFFERED": "1",
        }
        self.runs = 0

    def argv(self, *extra: str) -> list[str]:
        """The command's arguments after ``odirouter``."""
        return ["batch", ENDPOINT, str(self.inputs), "--out", str(self.out), "--concurrency", "8", *extra]

    async def start(self, *extra: str) -> tuple[Process, Path]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        cmd = [sys.executable, "-m", "odirouter_async", *self.argv(*extra)]
        with log.open("wb") as f:
            proc = await anyio.open_process(cmd, env=self.env, stdout=f, stderr=f)
        return proc, log

    def quiet(self) -> bool:
        """The first short jobs are done and the window holds the long ones (no submit in flight)."""
        states = journal_states(self.journal)
        return states["done"] >= 4 and states["submitted"] == len(LONG) and states["intent"] == 0

    async def until_quiet(self, running: Callable[[], bool], log: Callable[[], str]) -> None:
        """Poll the journal until :meth:`quiet`; fail if the command ended first."""
        for _ in range(5000):
            if self.quiet():
                return
            assert running(), log()
            await anyio.sleep(0.01)
        raise AssertionError(f"the batch never reached the expected state: {journal_states(self.journal)}")

    async def interrupted_in_process(self, *extra: str) -> int:
        """Run the command in-process until :meth:`quiet`, then send this process SIGINT (a real
        Ctrl-C, caught by the command's own handler); its exit code."""
        codes: list[int] = []

        async def run() -> None:
            codes.append(await main_async(self.argv(*extra)))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await self.until_quiet(lambda: not codes, lambda: f"ended with {codes}")
            os.kill(os.getpid(), signal.SIGINT)
        return codes[0]

    def results(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.out / "results.jsonl").read_text().splitlines()]


def finish_long_jobs(emu: Emulator) -> None:
    """Make the emulator's long jobs complete now (the emulator keeps the loop's time)."""
    now = anyio.current_time()
    for job in emu.jobs.values():
        if job.duration >= 1000 and job.finished_at > now:
            job.started_at = min(job.started_at, now)
            job.finished_at = now


def assert_each_input_once(emu: Emulator, batch: Batch) -> None:
    assert emu.stats.duplicate_submits == 0
    assert len(emu.stats.submits_by_body) == INPUTS
    assert set(emu.stats.submits_by_body.values()) == {1}
    headers = emu.stats.submits_by_request_id_header
    assert len(headers) == INPUTS and all(k.startswith("jr-") for k in headers)
    results = batch.results()
    assert sorted(r["index"] for r in results) == list(range(INPUTS))
    assert {r["status"] for r in results} == {"ok"}
    for r in results:
        outputs = r["outputs"]
        assert isinstance(outputs, list) and outputs
        assert all((batch.out / str(p)).is_file() for p in outputs)


# -- real processes (real time: the process polls the emulator on the real clock) ------------------


@pytest.mark.realtime
async def test_sigkill_then_resume_submits_every_input_exactly_once(
    mixed_emu: Emulator, tmp_path: Path
) -> None:
    """A batch process killed with SIGKILL mid-run resumes: re-attaches, submits the rest, pays
    nothing twice (the variants mixed per job; re-attaching per variant: the Ctrl-C tests below)."""
    emu = mixed_emu
    batch = Batch(emu, tmp_path)
    proc, log = await batch.start()
    async with proc:
        await batch.until_quiet(lambda: proc.returncode is None, log.read_text)
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
    assert emu.stats.count("queue.submit") == 12
    finish_long_jobs(emu)
    proc, log = await batch.start()
    async with proc:
        assert await proc.wait() == 0, log.read_text()
    text = log.read_text()
    assert "8 submitted earlier (re-attaching)" in text
    assert journal_states(batch.journal) == Counter(done=INPUTS)
    assert_each_input_once(emu, batch)


@pytest.mark.realtime
async def test_ctrl_c_to_the_process_exits_130_and_the_rerun_completes(
    mixed_emu: Emulator, tmp_path: Path
) -> None:
    """A real Ctrl-C (SIGINT) to an ``odirouter batch`` process: exit status 130, the resume hint,
    no remote cancel; the same command completes the batch, each input paid once."""
    emu = mixed_emu
    batch = Batch(emu, tmp_path)
    proc, log = await batch.start()
    async with proc:
        await batch.until_quiet(lambda: proc.returncode is None, log.read_text)
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == 130, log.read_text()
    assert "resume with: odirouter batch nano_banana_2" in log.read_text()
    assert emu.stats.count("queue.cancel") == 0
    finish_long_jobs(emu)
    proc, log = await batch.start()
    async with proc:
        assert await proc.wait() == 0, log.read_text()
    assert_each_input_once(emu, batch)


# -- in-process, once per gateway variant, on the virtual clock -----------------------------------


async def test_ctrl_c_stops_cleanly_and_resumes_without_remote_cancels(
    reattach_emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C exits 130 with a resume hint, cancels nothing remotely, and the rerun re-attaches the
    8 running jobs (by the ids and URLs of this variant) and completes the batch."""
    emu = reattach_emu
    point_cli_at(emu.url, emu.api_key, monkeypatch)
    batch = Batch(emu, tmp_path)
    assert await batch.interrupted_in_process() == 130
    text = capsys.readouterr().err
    assert "resume with: odirouter batch nano_banana_2" in text
    assert f"({len(LONG)} running jobs left running on the gateway)" in text  # counted at exit
    assert emu.stats.count("queue.cancel") == 0
    assert journal_states(batch.journal)["submitted"] == len(LONG)
    finish_long_jobs(emu)
    assert await main_async(batch.argv()) == 0
    assert "8 submitted earlier (re-attaching)" in capsys.readouterr().err
    assert journal_states(batch.journal) == Counter(done=INPUTS)
    assert_each_input_once(emu, batch)


async def test_ctrl_c_cancels_remote_jobs_and_the_resume_runs_them_again(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --cancel-on-interrupt, Ctrl-C cancels the running jobs (each variant answers a cancelled
    job its own way); the rerun runs them again (not failed)."""
    point_cli_at(emu.url, emu.api_key, monkeypatch)
    batch = Batch(emu, tmp_path)
    assert await batch.interrupted_in_process("--cancel-on-interrupt") == 130
    text = capsys.readouterr().err
    assert f"{len(LONG)} jobs cancelled on the gateway" in text and "(0 running jobs left" in text
    assert emu.stats.count("queue.cancel") == len(LONG)
    assert all(job.cancelled for job in emu.jobs.values() if job.duration >= 1000)
    assert journal_states(batch.journal)["cancelled"] == len(LONG)
    codes: list[int] = []

    async def rerun() -> None:
        codes.append(await main_async(batch.argv()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(rerun)
        while not codes:  # the resubmitted long inputs: finish them as they come
            finish_long_jobs(emu)
            await anyio.sleep(0.02)
    assert codes == [0]
    results = batch.results()
    assert sorted(r["index"] for r in results) == list(range(INPUTS))
    assert {r["status"] for r in results} == {"ok"}
    assert {r["attempt"] for r in results if r["index"] in LONG} == {2}
    counts = emu.stats.submits_by_body
    assert len(counts) == INPUTS
    assert sorted(counts.values()) == [1] * (INPUTS - len(LONG)) + [2] * len(LONG)
    assert sum(k.endswith("-a2") for k in emu.stats.submits_by_request_id_header) == len(LONG)
