"""The public API type-checks as users write it: mypy --strict and pyright over tests/typing/.

``tests/typing/check_*.py`` exercise the client, chat, Responses (``event.type`` narrowing),
queue, videos and errors; they are checked here, never run.  The README's "Use" example is
checked too, wrapped in an ``async def`` exactly as ``tests/integration/test_readme.py`` runs it.

The checks are marked ``typecheck``: the default run deselects them, ``pytest --typecheck``
(``.ci/run``, ``nox -s typecheck``) runs them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPING = ROOT / "tests" / "typing"
CHECKS = sorted(TYPING.glob("check_*.py"))


def _readme_example(tmp_path: Path) -> Path:
    """The README's "Use" block as a module (the way test_readme.py executes it)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    code = next(b for b in blocks if "async with odr.AsyncOdiRouter() as client" in b)
    path = tmp_path / "readme_use.py"
    path.write_text("async def _readme() -> None:\n" + textwrap.indent(code, "    "))
    return path


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_typing_checks_exist() -> None:
    """The check files cover the client, chat, responses, queue, videos and the types package."""
    names = {p.stem for p in CHECKS}
    assert {"check_client", "check_chat", "check_responses", "check_queue", "check_videos"} <= names


@pytest.mark.typecheck
def test_mypy_strict(tmp_path: Path) -> None:
    """mypy --strict finds no error in tests/typing/ nor in the README example (unused ignores fail too)."""
    readme = _readme_example(tmp_path)
    out = _run([sys.executable, "-m", "mypy", "--strict", *map(str, CHECKS), str(readme)])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found" in out.stdout


def _pyright() -> list[str]:
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if exe is None:
        pytest.skip("pyright is not installed (pip install '.[lint]'): only mypy checked the API")
    probe = _run([exe, "--version"])
    if probe.returncode != 0:  # the PyPI wrapper needs node and its npm package
        pytest.skip(f"pyright is installed but cannot run here: {(probe.stdout + probe.stderr)[-300:]}")
    return [exe, "--pythonpath", sys.executable, "--pythonversion", "3.10"]


@pytest.mark.typecheck
def test_pyright_strict(tmp_path: Path) -> None:
    """pyright (``# pyright: strict`` in each check file) finds no error; the README example neither."""
    pyright = _pyright()
    out = _run([*pyright, *map(str, CHECKS)])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 errors" in out.stdout
    out = _run([*pyright, str(_readme_example(tmp_path))])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.typecheck
def test_narrowing_is_what_is_checked(tmp_path: Path) -> None:
    """A check that reads ``.delta`` from an un-narrowed Responses event fails mypy (the checks bite)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import odirouter_async as odr\n"
        "async def f(client: odr.AsyncOdiRouter) -> None:\n"
        "    async with client.responses.stream(model='m', input='x') as s:\n"
        "        async for event in s:\n"
        "            if event.type == 'response.output_text.done':\n"
        "                print(event.delta)\n"
    )
    out = _run([sys.executable, "-m", "mypy", "--strict", str(bad)])
    assert out.returncode == 1
    assert '"ResponseTextDoneEvent" has no attribute "delta"' in out.stdout


@pytest.mark.typecheck
def test_pytest_does_not_collect_the_checks() -> None:
    """tests/typing/ holds no test pytest would run (the check files are never executed)."""
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", str(TYPING)]
    out = _run([sys.executable, "-m", "pytest", *args])
    assert out.returncode == 5, out.stdout  # 5: no tests collected
