"""client.queue.map(..., journal=...): resume without paying twice, uncertain inputs, submit failures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import odirouter_async as odr
from odirouter_async.batch.journal import Journal, JournalError, content_key
from odirouter_async.batch.journal_hooks import JournalHooks, UncertainSubmit
from odirouter_async.batch.map import MapHooks, MapOutcome
from odirouter_async.testing import Emulator, variant_emulator_fixture

pytestmark = pytest.mark.anyio

# Every test runs once per queue gateway variant (and "random").
emu = variant_emulator_fixture(name="emu", job_duration=0.2, job_jitter=0.25, video_duration=0.2)

EP = "nano_banana_2"


def args(i: int, duration: float = 0.05) -> dict[str, Any]:
    """Arguments of input ``i``."""
    return {"prompt": f"dog {i}", "_emu": {"duration": duration}}


async def collect(client: odr.AsyncOdiRouter, inputs: list[dict[str, Any]], **kw: Any) -> list[MapOutcome]:
    async with client.queue.map(EP, inputs, **kw) as results:
        return sorted([done async for done in results], key=lambda o: o.index)


def finish_all(emu: Emulator) -> None:
    """Make every running emulator job complete now."""
    now = time.monotonic()
    for job in emu.jobs.values():
        if job.finished_at > now:
            job.started_at, job.finished_at = min(job.started_at, now), now


async def test_left_early_then_resumed_pays_nothing_twice(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A map left early resumes: finished outcomes replay, running jobs re-attach, the rest submit once."""
    inputs = [args(i, 1000.0 if i in (1, 2) else 0.05) for i in range(8)]
    path = tmp_path / "run.sqlite"
    taken = 0
    async with client.queue.map(EP, inputs, concurrency=4, cancel_on_exit=False, journal=path) as results:
        async for _ in results:
            taken += 1
            if taken == 2:
                break
    first_run = emu.stats.count("queue.submit")
    assert 4 <= first_run < 8
    finish_all(emu)
    outcomes = await collect(client, inputs, concurrency=4, journal=path)
    assert [o.index for o in outcomes] == list(range(8))
    assert all(o.ok and o.result is not None for o in outcomes)
    assert emu.stats.duplicate_submits == 0 and emu.stats.count("queue.submit") == 8
    assert all(k.startswith("jr-") for k in emu.stats.submits_by_request_id_header)
    again = await collect(client, inputs, concurrency=4, journal=path)
    assert emu.stats.count("queue.submit") == 8
    assert [o.request_id for o in again] == [o.request_id for o in outcomes]
    replayed = again[0].result
    assert replayed is not None
    files = await client.queue.download(replayed, tmp_path / "files")
    assert files[0].stat().st_size == replayed.outputs[0].file_size
    (again_file,) = await replayed.download(tmp_path / "again")  # a replayed result downloads too
    assert again_file.read_bytes() == files[0].read_bytes()


async def test_uncertain_input_needs_explicit_resubmission(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """An intent without a job id is an UncertainSubmit outcome; resubmit_uncertain sends it, same id."""
    path = tmp_path / "run.sqlite"
    inputs = [args(0), args(1)]
    digest = Journal.hash_arguments(inputs[1])
    key = content_key(digest, 1)
    async with await Journal.open(path, endpoint=EP) as journal:
        await journal.record_intents([(key, 1, digest)])
        request_id = journal.request_id_for(key)
    first = await collect(client, inputs, journal=path)
    assert first[0].ok and isinstance(first[1].error, UncertainSubmit)
    assert emu.stats.count("queue.submit") == 1
    second = await collect(client, inputs, journal=path, resubmit_uncertain=True)
    assert second[1].ok
    assert emu.stats.submits_by_request_id_header[request_id] == 1


async def test_submit_failures_are_journaled_by_what_they_prove(
    client: odr.AsyncOdiRouter, emu: Emulator, tmp_path: Path
) -> None:
    """A 422 refusal is *not created* (never failed: the rerun submits it); so is a 503 after the retries."""
    path = tmp_path / "run.sqlite"
    emu.faults.add("queue.submit", status=422, body={"detail": "bad prompt"}, times=1)
    first = await collect(client, [args(0)], journal=path)
    assert isinstance(first[0].error, odr.UnprocessableEntityError) and first[0].submit == "not_created"
    async with await Journal.open(path, endpoint=EP) as journal:
        assert [e.state for e in (await journal.load()).values()] == ["not_created"]
    rerun = await collect(client, [args(0)], journal=path)
    assert rerun[0].ok and not rerun[0].replayed
    assert emu.stats.count("queue.submit") == 2
    other = tmp_path / "other.sqlite"
    emu.faults.add("queue.submit", status=503, times=3)
    failed = await collect(client, [args(1)], journal=other)
    assert isinstance(failed[0].error, odr.InternalServerError)
    retried = await collect(client, [args(1)], journal=other)
    assert retried[0].ok
    async with await Journal.open(other, endpoint=EP) as journal:
        assert [e.state for e in (await journal.load()).values()] == ["done"]


async def test_journal_misuse_is_refused(client: odr.AsyncOdiRouter, tmp_path: Path) -> None:
    """journal with hooks, resubmit_uncertain without a journal, another endpoint's journal: errors."""
    with pytest.raises(ValueError, match="either hooks or journal"):
        client.queue.map(EP, [], hooks=MapHooks(), journal=tmp_path / "j.sqlite")
    with pytest.raises(ValueError, match="needs a journal"):
        client.queue.map(EP, [], resubmit_uncertain=True)
    await (await Journal.open(tmp_path / "j.sqlite", endpoint="flux_pro_11")).close()
    with pytest.raises(JournalError, match="flux_pro_11"):
        await collect(client, [args(0)], journal=tmp_path / "j.sqlite")
    hooks = JournalHooks(tmp_path / "k.sqlite", client=client)
    with pytest.raises(JournalError, match="opened when the map starts"):
        _ = hooks.journal
