"""Per-endpoint job-duration history that outlives the process (warm starts).  File I/O only.

The poll schedule learns, per endpoint, when jobs tend to finish; without a history every new
process starts cold (a lone 2 s job then costs about 5 polls instead of 2).  A history store keeps
a small summary per endpoint between runs: nothing but the endpoint name, ``QUANTILES`` + 1
duration quantiles (seconds since submit), how many finishes they summarise, how many jobs in a
row were found done on their very first poll (``early``: a hint that the endpoint got faster,
see ``EndpointHistory.trusted``) and when the entry was last written (wall clock, for LRU).

- ``MemoryHistory``: a dict (tests; several clients of one process).
- ``FileHistory(path)``: one JSON file (msgspec).  Read once, lazily; written by ``save()``:
  under an exclusive ``fcntl`` lock on ``path + ".lock"`` (where available) the file is re-read,
  this process's entries replace theirs (last writer wins per endpoint, other endpoints are kept:
  several processes may save at once), the ``max_endpoints`` most recently used are kept, and the
  result is written to a temporary file and ``os.replace``d (readers never see half a file).
  A corrupt or unreadable file is ignored with a warning logged on ``odirouter_async`` (and
  rewritten by the next save); a save that fails logs too and never raises (history is an
  optimisation, never a reason for a job to fail).

``default_history_path()``: ``$XDG_CACHE_HOME/odirouter_async/poll-history.json``, else
``~/.cache/odirouter_async/poll-history.json`` (what the CLI uses).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from .schedule import PollSchedule

__all__ = (
    "QUANTILES",
    "EndpointHistory",
    "FileHistory",
    "HistoryStore",
    "MemoryHistory",
    "default_history_path",
    "open_history",
    "restore",
    "save_quietly",
    "store_snapshot",
    "summarize",
)

logger = logging.getLogger("odirouter_async")

QUANTILES = 16  # an entry holds QUANTILES + 1 points: min, 1/16, ..., max
OLD_WEIGHT = 32  # an old entry weighs as much as this many new finishes at most
MAX_COUNT = 1_000_000
_MAX_NAME = 512
_MAX_FILE = 4 << 20  # a history file larger than this is not read  # longer endpoint names are not stored
_EARLY_DISTRUST = 3  # this many first-poll finishes in a row: the entry is not trusted
_MAX_AGE = 30 * 86400.0  # entries older than this (seconds) are not trusted

try:  # POSIX only; elsewhere saves rely on the atomic replace alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class EndpointHistory(msgspec.Struct, kw_only=True, frozen=True):
    """One endpoint's duration summary (seconds since submit)."""

    q: list[float]  # QUANTILES + 1 sorted duration quantiles
    n: int  # finishes behind them
    early: int = 0  # jobs in a row found done on their first poll
    used: float = 0.0  # wall-clock time of the last write

    def valid(self) -> bool:
        """Sorted, finite, non-negative quantiles of the right length and a positive count."""
        q = self.q
        return (
            len(q) == QUANTILES + 1
            and self.n > 0
            and self.early >= 0
            and all(math.isfinite(v) and 0.0 <= v <= 1e7 for v in q)
            and all(a <= b for a, b in itertools.pairwise(q))
            and math.isfinite(self.used)
        )

    def trusted(self, now_wall: float) -> bool:
        """Worth seeding a schedule with: recent, and not contradicted by a run of early finishes."""
        return self.early < _EARLY_DISTRUST and now_wall - self.used <= _MAX_AGE


class _File(msgspec.Struct, kw_only=True):
    version: int = 1
    endpoints: dict[str, EndpointHistory] = msgspec.field(default_factory=dict)


_DECODER = msgspec.json.Decoder(_File)
_ENCODER = msgspec.json.Encoder()


def summarize(
    durations: list[float],
    n: int,
    early: int,
    used: float,
    *,
    old: EndpointHistory | None = None,
) -> EndpointHistory | None:
    """The entry for sorted ``durations`` learned now, merged with the ``old`` entry if given.

    The old quantiles count as ``min(old.n, OLD_WEIGHT)`` finishes, so a history accumulates over
    runs of one job each and still follows an endpoint that changed within ``OLD_WEIGHT`` finishes.
    ``None`` when there is nothing to keep.
    """
    weighted = [(d, 1.0) for d in durations]
    total_n = n
    if old is not None:
        w = min(old.n, OLD_WEIGHT) / len(old.q)
        weighted += [(d, w) for d in old.q]
        total_n += old.n
        if not durations:
            return EndpointHistory(q=list(old.q), n=old.n, early=max(0, early), used=used)
    if not weighted:
        return None
    weighted.sort()
    total = sum(w for _, w in weighted)
    q, acc, i = [], 0.0, 0
    for k in range(QUANTILES + 1):
        target = total * k / QUANTILES
        while i < len(weighted) - 1 and acc + weighted[i][1] < target:
            acc += weighted[i][1]
            i += 1
        q.append(weighted[i][0])
    return EndpointHistory(q=q, n=max(1, min(total_n, MAX_COUNT)), early=max(0, early), used=used)


@runtime_checkable
class HistoryStore(Protocol):
    """What the scheduler needs from a history store (``PollingOptions(history=...)``)."""

    def get(self, endpoint: str) -> EndpointHistory | None:
        """The entry of ``endpoint``, if any."""
        ...

    def put(self, endpoint: str, entry: EndpointHistory) -> None:
        """Remember ``entry`` (kept in memory until ``save``)."""
        ...

    def save(self) -> None:
        """Persist what was ``put`` (never raises)."""
        ...


class MemoryHistory:
    """A history store in a dict, bounded to ``max_endpoints`` (least recently used go first)."""

    def __init__(self, max_endpoints: int = 256) -> None:
        self.max_endpoints = max_endpoints
        self.entries: dict[str, EndpointHistory] = {}

    def get(self, endpoint: str) -> EndpointHistory | None:
        """The entry of ``endpoint``, if any."""
        return self.entries.get(endpoint)

    def put(self, endpoint: str, entry: EndpointHistory) -> None:
        """Remember ``entry`` (names longer than 512 characters are not stored)."""
        if len(endpoint) <= _MAX_NAME and entry.valid():
            self.entries[endpoint] = entry
            self.entries = _bounded(self.entries, self.max_endpoints)

    def save(self) -> None:
        """Nothing to do."""


def _bounded(entries: dict[str, EndpointHistory], cap: int) -> dict[str, EndpointHistory]:
    if len(entries) <= cap:
        return entries
    keep = sorted(entries.items(), key=lambda kv: kv[1].used, reverse=True)[:cap]
    return dict(keep)


class FileHistory:
    """A history store in one JSON file, safe with several processes saving (module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_endpoints: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_endpoints = max_endpoints
        self._clock = clock
        self._loaded: dict[str, EndpointHistory] | None = None
        self._dirty: dict[str, EndpointHistory] = {}

    def __repr__(self) -> str:
        return f"FileHistory({str(self.path)!r})"

    def _read(self) -> dict[str, EndpointHistory]:
        try:
            if self.path.stat().st_size > _MAX_FILE:
                raise OSError(f"larger than {_MAX_FILE} bytes")
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            logger.warning("poll history %s unreadable, ignored: %s", self.path, exc)
            return {}
        try:
            parsed = _DECODER.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            logger.warning("poll history %s is corrupt, ignored (rewritten on save): %s", self.path, exc)
            return {}
        return {k: v for k, v in parsed.endpoints.items() if len(k) <= _MAX_NAME and v.valid()}

    def get(self, endpoint: str) -> EndpointHistory | None:
        """The entry of ``endpoint`` (the file is read on the first call)."""
        if endpoint in self._dirty:
            return self._dirty[endpoint]
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded.get(endpoint)

    def put(self, endpoint: str, entry: EndpointHistory) -> None:
        """Remember ``entry`` until ``save``."""
        if len(endpoint) <= _MAX_NAME and entry.valid():
            self._dirty[endpoint] = entry

    def save(self) -> None:
        """Merge this process's entries into the file (lock, re-read, replace); logs a failure."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked():
                merged = {**self._read(), **self._dirty}
                merged = _bounded(merged, self.max_endpoints)
                body = _ENCODER.encode(_File(endpoints=merged))
                fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
                try:
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(body)
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            self._loaded, self._dirty = merged, {}
        except OSError as exc:
            logger.warning("poll history %s not saved: %s", self.path, exc)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        with open(str(self.path) + ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def now(self) -> float:
        """The store's wall clock (entries are stamped with it)."""
        return self._clock()


def default_history_path() -> Path:
    """``$XDG_CACHE_HOME/odirouter_async/poll-history.json``, else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "odirouter_async" / "poll-history.json"


def open_history(history: Any) -> HistoryStore | None:
    """``PollingOptions.history`` -> a store: ``None``, a path (``FileHistory``) or a store object."""
    if history is None:
        return None
    if isinstance(history, (str, os.PathLike)):
        return FileHistory(history)
    if isinstance(history, HistoryStore):
        return history
    raise TypeError(f"PollingOptions.history must be a path or a history store, not {type(history).__name__}")


def restore(store: HistoryStore, schedule: PollSchedule[Any], endpoint: str, now: float) -> bool:
    """Seed ``schedule`` with ``endpoint``'s entry on its first job (once); True if seeded."""
    if endpoint in schedule.endpoints():
        return False
    try:
        entry = store.get(endpoint)
    except Exception:  # a custom store's bug must not fail the job: start cold
        logger.exception("poll history lookup failed for %r", endpoint)
        entry = None
    wall = time.time()
    if entry is None or not entry.trusted(wall):
        schedule.seed(endpoint, [], now)  # registers the endpoint: not looked up again
        return False
    return schedule.seed(endpoint, list(entry.q), now, early=entry.early, count=entry.n)


def store_snapshot(store: HistoryStore, schedule: PollSchedule[Any]) -> int:
    """``put`` what ``schedule`` learned per endpoint (merged with the stored entries); returns how many.

    Never raises: a custom store's failure is logged (history must not break ``aclose()``).
    """
    count, wall = 0, time.time()
    for endpoint in schedule.endpoints():
        snap = schedule.snapshot(endpoint)
        if snap is None:
            continue
        real, seen, early, stale = snap
        try:
            old = None if stale else store.get(endpoint)
            if old is not None and not old.trusted(wall):  # it was not used: do not mix it in
                old = None
            entry = summarize(real, seen, early, wall, old=old)
            if entry is not None:
                store.put(endpoint, entry)
                count += 1
        except Exception:
            logger.exception("poll history update failed for %r", endpoint)
    return count


def save_quietly(store: HistoryStore) -> None:
    """``store.save()``, a failure logged instead of raised."""
    try:
        store.save()
    except Exception:
        logger.exception("poll history save failed")
