"""docs/knobs.md cannot drift: each row's default is compared with the code, and every field of
Timeout, Limits, PollingOptions and RetryPolicy must have a row."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backoff
import pytest

import odirouter_async as odr
from odirouter_async import _client
from odirouter_async.queue.resource import Queue
from odirouter_async.videos.resource import Videos

PAGE = Path(__file__).resolve().parents[2] / "docs" / "knobs.md"
CLASSES: dict[str, Any] = {
    "Timeout": odr.Timeout,
    "Limits": odr.Limits,
    "PollingOptions": odr.PollingOptions,
    "RetryPolicy": odr.RetryPolicy,
}
CALLABLES: dict[str, Callable[..., Any]] = {
    "AsyncOdiRouter": odr.AsyncOdiRouter.__init__,
    "Job.result": odr.Job.result,
    "Job.download": odr.Job.download,
    "client.queue.download": Queue.download,
    "client.videos.download_content": Videos.download_content,
    "client.queue.run": Queue.run,
    "client.queue.map": Queue.map,
    "client.videos.wait": Videos.wait,
}
ENV_DEFAULTS: dict[str, Any] = {"ODIROUTER_BASE_URL": _client.DEFAULT_BASE_URL}
ROW = re.compile(r"^\| `([^`]+)` \| (`[^`]+`|[^|]+?) \|")


def rows(text: str | None = None) -> dict[str, str]:
    """knob -> default as written (backticks stripped), for every table row of the page."""
    found: dict[str, str] = {}
    for line in (PAGE.read_text() if text is None else text).splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in found, f"{match.group(1)} listed twice"
            found[match.group(1)] = match.group(2).strip("`")
    return found


def parse(text: str) -> Any:
    """A default as written on the page -> the value."""
    return eval(text, {"__builtins__": {}, "None": None, "True": True, "False": False, "backoff": backoff})


def actual(knob: str) -> Any:
    """The default in the code for a knob named as on the page."""
    if match := re.fullmatch(r"(\w+)\.(\w+)", knob):
        cls, name = match.groups()
        if cls in CLASSES:
            fields = {f.name: f for f in dataclasses.fields(CLASSES[cls])}
            return fields[name].default
    if match := re.fullmatch(r"([\w.]+)\((\w+)=\)", knob):
        func, name = match.groups()
        default = inspect.signature(CALLABLES[func]).parameters[name].default
        if func == "AsyncOdiRouter" and name == "max_retries" and repr(default) == "NOT_GIVEN":
            return odr.RetryPolicy().max_retries  # not given: the retry policy's own budget
        return default
    if knob in ENV_DEFAULTS:
        return ENV_DEFAULTS[knob]
    raise AssertionError(f"the test does not know how to check {knob!r}")


def mismatches(text: str) -> tuple[list[str], int]:
    """Rows whose default differs from the code, and how many rows were compared."""
    wrong, checked = [], 0
    for knob, written in rows(text).items():
        if knob in ("ODIROUTER_API_KEY", "SSL_CERT_FILE"):
            continue  # no default in the code: required / the system's
        if parse(written) != actual(knob):
            wrong.append(f"docs/knobs.md says {knob} = {written}, the code {actual(knob)!r}")
        checked += 1
    return wrong, checked


def test_every_default_on_the_page_is_the_code_default() -> None:
    """Each row's default equals the default in the code (dataclass field or keyword argument)."""
    wrong, checked = mismatches(PAGE.read_text())
    assert not wrong
    assert checked >= 40


@pytest.mark.parametrize("cls", sorted(CLASSES))
def test_every_field_has_a_row(cls: str) -> None:
    """A new field of a settings class cannot be added without documenting it."""
    listed = rows()
    for field in dataclasses.fields(CLASSES[cls]):
        assert f"{cls}.{field.name}" in listed, f"docs/knobs.md has no row for {cls}.{field.name}"


def test_the_check_bites() -> None:
    """A page with a wrong default is caught (so the comparison above is not vacuous)."""
    text = PAGE.read_text().replace("| `Timeout.read` | `600.0` |", "| `Timeout.read` | `300.0` |")
    assert text != PAGE.read_text()
    wrong, _ = mismatches(text)
    assert wrong == ["docs/knobs.md says Timeout.read = 300.0, the code 600.0"]
