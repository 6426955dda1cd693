"""The CLI's progress display: counters, rate and ETA from an injected clock, TTY vs log output."""

from __future__ import annotations

import io

from odirouter_async.cli._progress import Progress, format_duration


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_format_duration() -> None:
    """Seconds below a minute keep a decimal; longer spans are m:ss or h:mm:ss."""
    assert format_duration(4.25) == "4.2s"
    assert format_duration(75.3) == "1:15"
    assert format_duration(3725) == "1:02:05"


def test_line_shows_counts_rate_and_eta() -> None:
    """The line has done/failed/in flight, the rate over the recent window and the ETA."""
    clock = Clock()
    progress = Progress(100, label="nano", stream=io.StringIO(), tty=False, clock=clock)
    clock.now += 10
    progress.done, progress.failed, progress.in_flight = 18, 2, 16
    line = progress.line()
    assert line.startswith("nano 20/100 (20%) done 18 failed 2 in flight 16 2.0/s")
    assert line.endswith("ETA 40.0s")


def test_log_output_prints_lines_at_the_log_interval() -> None:
    """Off a terminal, one full line per log interval and one at the end; no carriage returns."""
    clock, out = Clock(), io.StringIO()
    progress = Progress(3, stream=out, tty=False, log_interval=2.0, clock=clock)
    progress.tick()
    progress.done = 1
    clock.now += 1
    progress.tick()
    clock.now += 1.5
    progress.tick()
    progress.done = 3
    progress.close()
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[-1].startswith("3/3 (100%) done 3")


def test_terminal_output_redraws_in_place() -> None:
    """On a terminal the line is redrawn with a carriage return and messages go above it."""
    clock, out = Clock(), io.StringIO()
    progress = Progress(4, stream=out, tty=True, interval=0.1, clock=clock)
    progress.tick()
    progress.message("line 3: failed: boom")
    progress.done = 4
    progress.close()
    text = out.getvalue()
    assert text.startswith("\r[") and "\r\x1b[Kline 3: failed: boom\n" in text
    assert text.endswith("\x1b[K\n") and "[####################] 4/4" in text


def test_disabled_progress_prints_nothing_but_messages() -> None:
    """A disabled display (``--quiet``) still prints messages, and nothing else."""
    out = io.StringIO()
    progress = Progress(2, stream=out, tty=True, enabled=False)
    progress.tick(force=True)
    progress.message("hello")
    progress.close()
    assert out.getvalue() == "hello\n"
