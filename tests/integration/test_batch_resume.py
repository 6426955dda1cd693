"""``odirouter batch`` as a real process against an in-test emulator: SIGKILL and Ctrl-C, then resume.

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
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

from odirouter_async.testing import Emulator, variant_emulator_fixture

# A real `odirouter batch` process polls the emulator: both must keep real time.
pytestmark = [pytest.mark.anyio, pytest.mark.realtime]

INPUTS = 30
LONG = range(4, 12)
ENDPOINT = "nano_banana_2"


# Every test runs once per queue gateway variant (and "random"): jobs take 0.2 s unless an input
# says otherwise.
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.0, keep_log=False)


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
    """Runs ``python -m odirouter_async batch`` against the emulator; output goes to files."""

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

    async def start(self, *extra: str) -> tuple[Process, Path]:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        cmd = [sys.executable, "-m", "odirouter_async", "batch", ENDPOINT, str(self.inputs)]
        cmd += ["--out", str(self.out), "--concurrency", "8", *extra]
        with log.open("wb") as f:
            proc = await anyio.open_process(cmd, env=self.env, stdout=f, stderr=f)
        return proc, log

    async def until_quiet(self, proc: Process, log: Path) -> None:
        """Poll the journal until the first short jobs are done and the window holds the long ones."""
        for _ in range(5000):
            states = journal_states(self.journal)
            if states["done"] >= 4 and states["submitted"] == len(LONG) and states["intent"] == 0:
                return
            assert proc.returncode is None, log.read_text()
            await anyio.sleep(0.01)
        raise AssertionError(f"the batch never reached the expected state: {states}\n{log.read_text()}")

    def results(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.out / "results.jsonl").read_text().splitlines()]


def finish_long_jobs(emu: Emulator) -> None:
    """Make the emulator's long jobs complete now."""
    now = time.monotonic()
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


async def test_sigkill_then_resume_submits_every_input_exactly_once(emu: Emulator, tmp_path: Path) -> None:
    """A batch killed with SIGKILL mid-run resumes: re-attaches, submits the rest, pays nothing twice."""
    batch = Batch(emu, tmp_path)
    proc, log = await batch.start()
    async with proc:
        await batch.until_quiet(proc, log)
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


async def test_ctrl_c_stops_cleanly_and_resumes_without_remote_cancels(emu: Emulator, tmp_path: Path) -> None:
    """SIGINT exits 130 with a resume hint, cancels nothing remotely, and the rerun completes the batch."""
    batch = Batch(emu, tmp_path)
    proc, log = await batch.start()
    async with proc:
        await batch.until_quiet(proc, log)
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == 130, log.read_text()
    text = log.read_text()
    assert "resume with: odirouter batch nano_banana_2" in text
    assert f"({len(LONG)} running jobs left running on the gateway)" in text  # counted at exit
    assert emu.stats.count("queue.cancel") == 0
    assert journal_states(batch.journal)["submitted"] == len(LONG)
    finish_long_jobs(emu)
    proc, log = await batch.start()
    async with proc:
        assert await proc.wait() == 0, log.read_text()
    assert_each_input_once(emu, batch)


async def test_ctrl_c_cancels_remote_jobs_and_the_resume_runs_them_again(
    emu: Emulator, tmp_path: Path
) -> None:
    """With --cancel-on-interrupt, Ctrl-C cancels the running jobs; the rerun runs them again (not failed)."""
    batch = Batch(emu, tmp_path)
    proc, log = await batch.start("--cancel-on-interrupt")
    async with proc:
        await batch.until_quiet(proc, log)
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == 130, log.read_text()
    text = log.read_text()
    assert f"{len(LONG)} jobs cancelled on the gateway" in text and "(0 running jobs left" in text
    assert emu.stats.count("queue.cancel") == len(LONG)
    assert all(job.cancelled for job in emu.jobs.values() if job.duration >= 1000)
    assert journal_states(batch.journal)["cancelled"] == len(LONG)
    proc, log = await batch.start()
    async with proc:
        while proc.returncode is None:  # the resubmitted long inputs: finish them as they come
            finish_long_jobs(emu)
            with anyio.move_on_after(0.02):
                await proc.wait()
        assert await proc.wait() == 0, log.read_text()
    results = batch.results()
    assert sorted(r["index"] for r in results) == list(range(INPUTS))
    assert {r["status"] for r in results} == {"ok"}
    assert {r["attempt"] for r in results if r["index"] in LONG} == {2}
    counts = emu.stats.submits_by_body
    assert len(counts) == INPUTS
    assert sorted(counts.values()) == [1] * (INPUTS - len(LONG)) + [2] * len(LONG)
    assert sum(k.endswith("-a2") for k in emu.stats.submits_by_request_id_header) == len(LONG)
