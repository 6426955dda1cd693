"""A small dependency-free progress display on stderr: done, failed, in flight, rate, ETA.

On a terminal it redraws one line in place (``\\r`` + erase to end of line) at most every
``interval`` seconds; elsewhere (a pipe, a log file, CI) it prints a full line every
``log_interval`` seconds and at the end, so logs stay readable.  The caller updates the counters
and calls :meth:`Progress.tick` (cheap: it only renders when due); :meth:`Progress.run` is a
ticker task that keeps rate and ETA moving while nothing finishes.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

import anyio

__all__ = ("Progress", "format_duration")

_WINDOW = 30.0  # seconds of history the rate is measured over


def format_duration(seconds: float) -> str:
    """``75.3`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``; sub-minute values keep one decimal."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counters of a batch and their display.

    Attributes:
        total: inputs this run will finish (``done + failed`` reaches it at the end).
        done / failed / in_flight: set by the caller.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        stream: TextIO | None = None,
        tty: bool | None = None,
        interval: float = 0.1,
        log_interval: float = 2.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if self.tty else log_interval
        self.enabled = enabled
        self.clock = clock
        self.done = 0
        self.failed = 0
        self.in_flight = 0
        self._started = clock()
        self._last_render = float("-inf")
        self._samples: deque[tuple[float, int]] = deque([(self._started, 0)])
        self._drawn = False
        self._closed = False

    @property
    def finished(self) -> int:
        """``done + failed``."""
        return self.done + self.failed

    def rate(self) -> float:
        """Inputs finished per second over the last ``_WINDOW`` seconds (0 before the first)."""
        now = self.clock()
        samples = self._samples
        samples.append((now, self.finished))
        while len(samples) > 2 and samples[1][0] < now - _WINDOW:
            samples.popleft()
        then, count = samples[0]
        return (self.finished - count) / (now - then) if now > then else 0.0

    def line(self) -> str:
        """The status line (no newline)."""
        rate = self.rate()
        elapsed = self.clock() - self._started
        total = max(self.total, 1)
        parts = [
            f"{self.label} " if self.label else "",
            f"{self.finished}/{self.total} ({100 * self.finished // total}%)",
            f" done {self.done} failed {self.failed} in flight {self.in_flight}",
            f" {rate:.1f}/s",
        ]
        remaining = self.total - self.finished
        if remaining > 0 and rate > 0:
            parts.append(f" ETA {format_duration(remaining / rate)}")
        else:
            parts.append(f" {format_duration(elapsed)}")
        text = "".join(parts)
        if self.tty:
            width = max(shutil.get_terminal_size((100, 24)).columns - 24, 10)
            filled = min(self.finished * 20 // total, 20)
            text = f"[{'#' * filled}{'.' * (20 - filled)}] {text}"[: width + 24 - 1]
        return text

    def tick(self, *, force: bool = False) -> None:
        """Render if ``interval`` passed since the last render (or ``force``)."""
        if not self.enabled or self._closed:
            return
        now = self.clock()
        if not force and now - self._last_render < self.interval:
            return
        self._last_render = now
        self._write(self.line())

    def message(self, text: str) -> None:
        """Print a line above the progress line (it is redrawn at the next tick)."""
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Draw the final state and end the line (idempotent)."""
        if self._closed:
            return
        if self.enabled:
            self._write(self.line())
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
        self._closed = True

    async def run(self) -> None:
        """Tick forever (run it in a task group and cancel it when the batch ends)."""
        while True:
            self.tick()
            await anyio.sleep(self.interval)

    def _write(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
