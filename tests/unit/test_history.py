"""Poll history (warm starts): the file store, merging, bounds, corruption, and seeding a schedule."""

from __future__ import annotations

import json
import logging
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from property_budget import scaled

from odirouter_async._config import PollingOptions
from odirouter_async.queue.history import (
    QUANTILES,
    EndpointHistory,
    FileHistory,
    MemoryHistory,
    default_history_path,
    open_history,
    restore,
    store_snapshot,
    summarize,
)
from odirouter_async.queue.schedule import Outcome, PollSchedule

NOW = time.time()


def entry(value: float = 2.0, n: int = 100, early: int = 0, used: float = NOW) -> EndpointHistory:
    """An entry whose quantiles are all ``value``."""
    return EndpointHistory(q=[value] * (QUANTILES + 1), n=n, early=early, used=used)


def test_file_round_trip(tmp_path: Path) -> None:
    """What one store saves, a new store (another process) reads back."""
    path = tmp_path / "sub" / "h.json"
    store = FileHistory(path)
    store.put("flux", entry(2.0))
    store.save()
    again = FileHistory(path)
    got = again.get("flux")
    assert got is not None and got.q == [2.0] * (QUANTILES + 1)
    assert again.get("other") is None


def test_file_holds_only_names_and_statistics(tmp_path: Path) -> None:
    """The file is small JSON: endpoint names mapped to quantiles, counts and a timestamp."""
    path = tmp_path / "h.json"
    store = FileHistory(path)
    store.put("flux", entry(2.0))
    store.save()
    data = json.loads(path.read_bytes())
    assert set(data) == {"version", "endpoints"}
    assert set(data["endpoints"]["flux"]) == {"q", "n", "early", "used"}
    assert path.stat().st_size < 1000


def test_corrupt_file_is_ignored_with_a_warning_and_rewritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbage file is read as empty (logged), and the next save replaces it."""
    path = tmp_path / "h.json"
    path.write_bytes(b"{not json")
    store = FileHistory(path)
    with caplog.at_level(logging.WARNING, logger="odirouter_async"):
        assert store.get("flux") is None
    assert "corrupt" in caplog.text
    store.put("flux", entry())
    store.save()
    assert FileHistory(path).get("flux") is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"q": [3.0, 2.0] + [4.0] * (QUANTILES - 1), "n": 5},  # unsorted
        {"q": [1.0] * 3, "n": 5},  # wrong length
        {"q": [1e8] * (QUANTILES + 1), "n": 5},  # beyond 10^7 s
        {"q": [-1.0] * (QUANTILES + 1), "n": 5},
        {"q": [1.0] * (QUANTILES + 1), "n": 0},
    ],
)
def test_invalid_entries_are_dropped(tmp_path: Path, bad: dict[str, object]) -> None:
    """Entries that are not sorted, finite, non-negative quantiles with a count are not used."""
    path = tmp_path / "h.json"
    good = {"q": [1.0] * (QUANTILES + 1), "n": 5}
    raw = json.dumps({"version": 1, "endpoints": {"bad": bad, "good": good}})
    path.write_text(raw)
    store = FileHistory(path)
    assert store.get("bad") is None
    assert store.get("good") is not None


def test_wrong_shape_is_corrupt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Valid JSON of the wrong shape is ignored like garbage, never a bare exception."""
    path = tmp_path / "h.json"
    path.write_text('{"endpoints": {"a": {"q": "x"}}}')
    with caplog.at_level(logging.WARNING, logger="odirouter_async"):
        assert FileHistory(path).get("a") is None
    assert "corrupt" in caplog.text


def test_unwritable_path_logs_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A save that cannot write (the path is a directory) is logged; nothing raises."""
    path = tmp_path / "dir"
    path.mkdir()
    store = FileHistory(path)
    store.put("a", entry())
    with caplog.at_level(logging.WARNING, logger="odirouter_async"):
        store.save()
        assert store.get("b") is None
    assert "not saved" in caplog.text


def test_endpoints_are_capped_least_recently_used_first(tmp_path: Path) -> None:
    """At most max_endpoints entries are kept; the oldest ``used`` go first."""
    path = tmp_path / "h.json"
    store = FileHistory(path, max_endpoints=3)
    for i in range(5):
        store.put(f"ep{i}", entry(used=NOW + i))
    store.save()
    names = set(json.loads(path.read_bytes())["endpoints"])
    assert names == {"ep2", "ep3", "ep4"}
    memory = MemoryHistory(max_endpoints=2)
    for i in range(4):
        memory.put(f"ep{i}", entry(used=NOW + i))
    assert set(memory.entries) == {"ep2", "ep3"}


def test_long_names_are_not_stored() -> None:
    """An endpoint name over 512 characters is not kept (bounded file)."""
    memory = MemoryHistory()
    memory.put("x" * 600, entry())
    assert memory.entries == {}


_WRITER = """
import sys
from odirouter_async.queue.history import FileHistory, EndpointHistory, QUANTILES
path, name = sys.argv[1], sys.argv[2]
for i in range(20):
    store = FileHistory(path)
    store.get(name)
    store.put(f"{name}-{i % 4}", EndpointHistory(q=[1.0] * (QUANTILES + 1), n=1, used=float(i)))
    store.save()
"""


@pytest.mark.slow
def test_several_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four processes saving to one file in parallel: every endpoint each wrote is in the file."""
    path = tmp_path / "h.json"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"p{k}"], stderr=subprocess.PIPE)
        for k in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err
    names = set(json.loads(path.read_bytes())["endpoints"])
    assert names == {f"p{k}-{i}" for k in range(4) for i in range(4)}
    assert not list(tmp_path.glob("*.tmp"))


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$XDG_CACHE_HOME when absolute, else ~/.cache; always .../odirouter_async/poll-history.json."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_history_path() == tmp_path / "odirouter_async" / "poll-history.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert default_history_path() == Path.home() / ".cache" / "odirouter_async" / "poll-history.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_history_path().parent == Path.home() / ".cache" / "odirouter_async"


def test_open_history_accepts_paths_and_stores() -> None:
    """PollingOptions.history: None, a path or a store; anything else is a TypeError."""
    assert open_history(PollingOptions().history) is None
    assert isinstance(open_history("/tmp/x.json"), FileHistory)
    memory = MemoryHistory()
    assert open_history(memory) is memory
    with pytest.raises(TypeError, match="history"):
        open_history(42)


def test_summarize_merges_with_the_old_entry() -> None:
    """New finishes merge with the stored quantiles, which weigh at most 32 finishes."""
    old = entry(10.0, n=1000)
    merged = summarize([2.0] * 96, 96, 0, NOW, old=old)
    assert merged is not None and merged.valid()
    assert merged.q[0] == 2.0 and merged.q[-1] == 10.0
    assert merged.q[QUANTILES // 2] == 2.0  # 96 new vs. 32 old: the median moved
    assert merged.n == 1096
    fresh = summarize([1.0, 2.0, 3.0], 3, 0, NOW)
    assert fresh is not None and fresh.q[0] == 1.0 and fresh.q[-1] == 3.0
    assert summarize([], 0, 0, NOW) is None


@settings(max_examples=scaled(80), deadline=None)
@given(
    durations=st.lists(st.floats(min_value=0.0, max_value=1e5), max_size=50),
    old_values=st.one_of(st.none(), st.lists(st.floats(min_value=0.0, max_value=1e5), min_size=1)),
    n=st.integers(min_value=0, max_value=10**7),
)
def test_summaries_are_always_valid(durations: list[float], old_values: list[float] | None, n: int) -> None:
    """Whatever was learned, the entry written is valid (sorted, bounded) or nothing."""
    old = summarize(sorted(old_values), len(old_values), 0, NOW) if old_values else None
    got = summarize(sorted(durations), n, 0, NOW, old=old)
    if got is None:
        assert not durations and old is None
    else:
        assert got.valid()


def test_history_module_is_sans_io() -> None:
    """Importing _history loads neither aiohttp nor anyio (file I/O only)."""
    code = (
        "import sys, types, importlib, importlib.util\n"
        "spec = importlib.util.find_spec('odirouter_async')\n"
        "pkg = types.ModuleType('odirouter_async'); pkg.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['odirouter_async'] = pkg\n"
        "importlib.import_module('odirouter_async.queue.history')\n"
        "print(','.join(m for m in ('aiohttp', 'anyio') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------------------------------------
# A schedule seeded from a history
# ---------------------------------------------------------------------------------------------


def lone_job(sched: PollSchedule[str], endpoint: str, duration: float, start: float = 0.0) -> list[float]:
    """Poll one job of ``duration`` to the end (instant answers); the ages of its polls."""
    sched.add("job", endpoint, start)
    now, ages = start, []
    while True:
        wake = sched.next_wakeup(now)
        assert wake is not None
        now = wake
        for key in sched.due(now):
            ages.append(now - start)
            if now - start >= duration:
                sched.observe(key, Outcome.DONE, now)
                return ages
            sched.observe(key, Outcome.RUNNING, now)


def test_store_then_restore_makes_the_next_process_warm() -> None:
    """A process that learned 2 s saves it; the next one polls its lone 2 s job <= 3 times."""
    store = MemoryHistory()
    first = PollSchedule[str](random.Random(1), max_rate=math.inf)
    cold = lone_job(first, "my-model", 2.0)
    assert store_snapshot(store, first) == 1
    assert store.get("my-model") is not None
    second = PollSchedule[str](random.Random(2), max_rate=math.inf)
    assert restore(store, second, "my-model", 0.0)
    warm = lone_job(second, "my-model", 2.0)
    assert len(warm) <= 3 < len(cold)
    assert warm[-1] - 2.0 <= 0.5


def test_restore_only_once_and_never_over_learning() -> None:
    """The history is looked up on an endpoint's first job only."""
    store = MemoryHistory()
    store.put("a", entry(5.0))
    sched = PollSchedule[str](random.Random(1), max_rate=math.inf)
    assert restore(store, sched, "a", 0.0)
    assert not restore(store, sched, "a", 0.0)
    estimate = sched.estimate("a")
    assert estimate is not None and estimate.low <= 5.0 <= estimate.high


def test_untrusted_entries_are_not_seeded() -> None:
    """An entry after 3 first-poll finishes in a row (the endpoint got faster?) or too old is not used."""
    store = MemoryHistory()
    store.put("fast", entry(20.0, early=3))
    store.put("old", entry(20.0, used=0.0))
    for name in ("fast", "old"):
        sched = PollSchedule[str](random.Random(1), max_rate=math.inf)
        assert not restore(store, sched, name, 0.0)
        assert sched.estimate(name) is None


def test_a_contradicted_history_is_replaced_not_merged() -> None:
    """History says 2 s, the job takes 20 s: the schedule resets, and the saved entry forgets 2 s."""
    store = MemoryHistory()
    store.put("ep", entry(2.0))
    sched = PollSchedule[str](random.Random(1), max_rate=math.inf)
    restore(store, sched, "ep", 0.0)
    ages = lone_job(sched, "ep", 20.0)
    assert ages[-1] - 20.0 <= 0.35 * 20  # past the window: the prior curve, not a doubling backoff
    store_snapshot(store, sched)
    saved = store.get("ep")
    assert saved is not None and min(saved.q) > 10.0


def test_first_poll_finishes_are_counted_for_the_next_process() -> None:
    """Jobs found done on their first poll (history too slow?) raise ``early`` in the saved entry."""
    store = MemoryHistory()
    store.put("ep", entry(20.0))
    sched = PollSchedule[str](random.Random(1), max_rate=math.inf)
    restore(store, sched, "ep", 0.0)
    lone_job(sched, "ep", 2.0)
    store_snapshot(store, sched)
    saved = store.get("ep")
    assert saved is not None and saved.early == 1


class BrokenStore:
    """A custom store whose every method fails."""

    def get(self, endpoint: str) -> EndpointHistory | None:
        """Fails."""
        raise RuntimeError("boom")

    def put(self, endpoint: str, entry: EndpointHistory) -> None:
        """Fails."""
        raise RuntimeError("boom")

    def save(self) -> None:
        """Fails."""
        raise RuntimeError("boom")


def test_a_broken_custom_store_never_breaks_scheduling(caplog: pytest.LogCaptureFixture) -> None:
    """Lookup, update and save errors of a custom store are logged; the schedule starts cold."""
    from odirouter_async.queue.history import save_quietly

    store = BrokenStore()
    sched = PollSchedule[str](random.Random(1), max_rate=math.inf)
    with caplog.at_level(logging.ERROR, logger="odirouter_async"):
        assert not restore(store, sched, "ep", 0.0)
        lone_job(sched, "ep", 1.0)
        assert store_snapshot(store, sched) == 0
        save_quietly(store)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 3
