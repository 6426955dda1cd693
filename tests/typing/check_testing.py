"""Type check: the emulator as users script it in their own tests (checked, never run)."""
# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing_extensions import assert_type

import odirouter_async as odr
from odirouter_async.testing import EmuJob, Emulator, Fault, RequestRecord, emulator_fixture

slow_gateway = emulator_fixture(job_duration=5.0, poll_rate_limit=20)


async def script_the_emulator() -> None:
    """Options, faults, endpoints, statistics: the names docs/testing.md uses."""
    async with Emulator(job_duration=0.05, permissive=True, echo=True, tokens_per_second=60) as emu:
        assert_type(emu.url, str)
        assert_type(emu.api_key, str)
        fault = emu.faults.add("chat", status=429, headers={"Retry-After": "0"}, times=2)
        assert_type(fault, Fault)
        emu.faults.add("queue.submit", drop=True)
        emu.set_endpoint("my_model", duration=0.1, outputs=2)
        emu.unknown_endpoints.add("gone_model")
        async with odr.AsyncOdiRouter(api_key=emu.api_key, base_url=emu.url) as client:
            job = await client.queue.submit("my_model", {"prompt": "x", "_emu": {"duration": 0.01}})
            assert_type(emu.jobs[job.request_id], EmuJob)
        assert_type(emu.stats.count("queue.submit"), int)
        records = emu.stats.records("chat")
        assert_type(records, list[RequestRecord])
        assert_type(records[0].status, int)
        assert_type(emu.stats.duplicate_submits, int)
        emu.reset_stats()
    Emulator(job_duration="fast")  # type: ignore[arg-type]
