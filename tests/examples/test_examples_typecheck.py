"""Every file in examples/ type-checks under mypy --strict and pyright (strict), and is tested here.

The examples are what users copy: a type error in them is a bug report waiting to happen.

The checks are marked ``typecheck``: the default run deselects them, ``pytest --typecheck``
(``.ci/run``, ``nox -s typecheck``) runs them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from examples_support import EXAMPLES

ROOT = EXAMPLES.parent
FILES = sorted(EXAMPLES.glob("*.py"))


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_every_example_has_a_test_and_strict_pyright() -> None:
    """Each example is named in a test file here and opts into pyright's strict mode."""
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    assert len(FILES) >= 4
    for path in FILES:
        assert f'"{path.stem}"' in tests, f"{path.name} is not run by any test"
        assert "# pyright: strict" in path.read_text().splitlines()[0], path.name


@pytest.mark.typecheck
def test_examples_pass_mypy_strict() -> None:
    """mypy --strict finds no error in examples/."""
    out = _run([sys.executable, "-m", "mypy", "--strict", *map(str, FILES)])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.typecheck
def test_examples_pass_pyright() -> None:
    """pyright (strict, per file) finds no error in examples/."""
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if exe is None:
        pytest.skip("pyright is not installed (pip install '.[lint]')")
    out = _run([exe, "--pythonpath", sys.executable, "--pythonversion", "3.10", *map(str, FILES)])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 errors" in out.stdout
