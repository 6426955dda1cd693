"""``odirouter batch`` tunes the garbage collector for its own duration only (``cli/_gc.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from thread_emulator import threaded_emulator

from odirouter_async.cli import _gc, main
from odirouter_async.testing import Emulator


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread and loop; the environment points the CLI at it."""
    with threaded_emulator(Emulator(job_duration=0.01, job_jitter=0.0), monkeypatch) as e:
        yield e


def test_batch_collector_restores_the_settings() -> None:
    """Inside: the batch thresholds and a freeze; after: the thresholds before and nothing frozen."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with _gc.batch_collector():
        assert gc.get_threshold() == _gc.BATCH_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_batch_collector_keeps_a_programs_own_freeze() -> None:
    """A program that froze objects itself still has them frozen after a batch."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _gc.batch_collector():
            assert gc.get_threshold() == _gc.BATCH_THRESHOLDS
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_odirouter_batch_collects_with_the_batch_thresholds(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Collections during ``odirouter batch`` run under its thresholds; the caller's come back after."""
    monkeypatch.setattr(_gc, "BATCH_THRESHOLDS", (300, 10, 10))  # often enough to be seen
    seen: set[tuple[int, int, int]] = set()

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.add(gc.get_threshold())

    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(f'{{"prompt": "p{i}"}}\n' for i in range(20)))
    before = gc.get_threshold()
    gc.callbacks.append(record)
    try:
        assert main(["batch", "nano_banana_2", str(inputs), "--out", str(tmp_path / "out"), "-q"]) == 0
    finally:
        gc.callbacks.remove(record)
    assert (300, 10, 10) in seen
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
