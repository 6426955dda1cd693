"""The emulator's probabilistic and burst faults (``emu.faults.add(probability=, burst=, every=)``)."""

from __future__ import annotations

import aiohttp
import pytest

from odirouter_async.testing import VIDEO_VARIANTS, Emulator

pytestmark = pytest.mark.anyio


async def statuses(emu: Emulator, n: int) -> list[int]:
    """Send ``n`` chat POSTs one after another; the status of each (0: connection dropped)."""
    out = []
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    # POST: aiohttp silently resends an idempotent GET whose connection was dropped.
    async with aiohttp.ClientSession() as http:
        for _ in range(n):
            try:
                async with http.post(f"{emu.url}/v1/chat/completions", json=body, headers=headers) as resp:
                    await resp.read()
                    out.append(resp.status)
            except aiohttp.ClientConnectionError:
                out.append(0)
    return out


async def run_probabilistic(seed: int) -> tuple[list[int], int, int]:
    """200 requests with 20% 503s and 10% drops; the statuses and each fault's hits."""
    async with Emulator(seed=seed) as emu:
        f503 = emu.faults.add("chat", status=503, probability=0.2, times=None)
        fdrop = emu.faults.add("chat", drop=True, probability=0.1, times=None)
        seen = await statuses(emu, 200)
    return seen, f503.hits, fdrop.hits


async def test_probabilistic_faults_are_seeded() -> None:
    """The same seed injects the same faults on the same requests; another seed others."""
    a, hits503, hitsdrop = await run_probabilistic(1)
    assert (a.count(503), a.count(0)) == (hits503, hitsdrop)
    assert 20 <= hits503 <= 60 and 5 <= hitsdrop <= 40
    assert a.count(200) == 200 - hits503 - hitsdrop
    assert (await run_probabilistic(1))[0] == a
    assert (await run_probabilistic(2))[0] != a


@pytest.mark.parametrize(("offset", "hit"), [(None, range(7, 10)), (0, range(0, 3)), (4, range(4, 7))])
async def test_burst_hits_n_of_every_m(offset: int | None, hit: range) -> None:
    """burst=3, every=10: exactly three consecutive requests of every ten (the last three by default)."""
    async with Emulator() as emu:
        fault = emu.faults.add(
            "chat", status=429, headers={"Retry-After": "1"}, burst=3, every=10, offset=offset, times=None
        )
        seen = await statuses(emu, 30)
    assert [i for i, s in enumerate(seen) if s == 429] == [w + i for w in (0, 10, 20) for i in hit]
    assert fault.hits == 9 and fault.seen == 30


async def test_burst_counts_requests_another_fault_answered() -> None:
    """A burst's window counts every request of the route, even those a one-shot fault answered first."""
    async with Emulator() as emu:
        emu.faults.add("chat", status=500, times=2)
        emu.faults.add("chat", status=429, burst=1, every=4, times=None)
        seen = await statuses(emu, 8)
    assert seen == [500, 500, 200, 429, 200, 200, 200, 429]


@pytest.mark.parametrize(
    "options",
    [
        {"status": 503, "probability": 0},
        {"status": 503, "probability": 1.5},
        {"status": 429, "burst": 3},
        {"status": 429, "burst": 5, "every": 4},
        {"status": 429, "burst": 1, "every": 4, "probability": 0.5},
        {"status": 429, "burst": 2, "every": 4, "offset": 3},
        {"status": 429, "offset": 1},
    ],
)
async def test_bad_fault_options_are_refused(options: dict[str, object]) -> None:
    """Impossible probabilities and burst windows raise ValueError when added."""
    emu = Emulator()
    with pytest.raises(ValueError):
        emu.faults.add("chat", **options)  # type: ignore[arg-type]


def test_video_variant_random_follows_the_seed() -> None:
    """video_variant="random" is one of VIDEO_VARIANTS, the same for the same seed; unknown names fail."""
    picked = {Emulator(seed=s, video_variant="random").video_variant.name for s in range(40)}
    assert picked <= set(VIDEO_VARIANTS) and len(picked) > 1
    assert (
        Emulator(seed=7, video_variant="random").video_variant
        == Emulator(seed=7, video_variant="random").video_variant
    )
    with pytest.raises(ValueError, match="video_variant"):
        Emulator(video_variant="nope")
