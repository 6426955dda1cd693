"""The docs site builds with warnings as errors and documents every public name; the testing
page's example test module passes when run with pytest, as a user would copy it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

import odirouter_async as odr
import odirouter_async.testing as testing
import odirouter_async.types as types
from odirouter_async.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
PAGES = {odr: "client", types: "types", testing: "testing"}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_docs_build_strict_and_cover_every_public_name(docs_site: Path) -> None:
    """``mkdocs build --strict`` succeeds and each name in ``__all__`` has its own reference entry."""
    site = docs_site
    for module, page in PAGES.items():
        html = (site / "reference" / page / "index.html").read_text()
        anchors = set(re.findall(r'id="([^"]+)"', html))
        names = [n for n in module.__all__ if not n.startswith("__")]
        missing = [n for n in names if f"{module.__name__}.{n}" not in anchors]
        assert not missing, f"reference/{page}.md does not document {missing}"
    knobs = (site / "knobs" / "index.html").read_text()
    assert "PollingOptions.max_rate" in knobs and "Timeout.read" in knobs


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)


@pytest.mark.slow
def test_testing_page_example_passes(tmp_path: Path) -> None:
    """docs/testing.md's conftest and test module, copied into a fresh project, pass under pytest."""
    blocks = _python_blocks("testing.md")
    conftest = next(b for b in blocks if b.startswith("# conftest.py"))
    module = next(b for b in blocks if "async def test_describe(" in b)
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_app.py").write_text(module)
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "."], tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout


def test_readme_recipes_point_at_every_example() -> None:
    """The README's recipes link every file of examples/, and docs/recipes.md names each one."""
    readme = (ROOT / "README.md").read_text()
    recipes = (ROOT / "docs" / "recipes.md").read_text()
    for path in sorted((ROOT / "examples").glob("*.py")):
        assert f"(examples/{path.name})" in readme, path.name
        assert f"examples/{path.name}" in recipes, path.name


@pytest.mark.anyio
async def test_readme_dict_conversion_claims(env: Emulator) -> None:
    """What the migration table promises: ``.raw`` is plain JSON, ``msgspec.to_builtins`` gives dicts."""
    async with odr.AsyncOdiRouter() as client:
        completion = await client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
        )
        result = await client.queue.run("nano_banana_2", {"prompt": "x"})
    plain = msgspec.to_builtins(completion)
    assert plain["choices"][0]["message"]["content"] == completion.choices[0].message.content
    assert completion.raw["choices"][0]["message"]["content"] == completion.choices[0].message.content
    assert result.raw["outputs"][0]["url"] == result.outputs[0].url


def test_one_default_concurrency_everywhere() -> None:
    """queue.map, ``odirouter batch`` and every number the README states share DEFAULT_CONCURRENCY."""
    import inspect

    from odirouter_async._config import DEFAULT_CONCURRENCY
    from odirouter_async.cli import build_parser
    from odirouter_async.queue.resource import Queue

    assert inspect.signature(Queue.map).parameters["concurrency"].default == DEFAULT_CONCURRENCY
    args = build_parser().parse_args(["batch", "nano_banana_2", "in.jsonl", "--out", "o"])
    assert args.concurrency == DEFAULT_CONCURRENCY
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"concurrency=(\d+)|(\d+) jobs at once|default concurrency, (\d+)", readme)
    numbers = {int(n) for groups in stated for n in groups if n}
    assert len(stated) >= 3 and numbers == {DEFAULT_CONCURRENCY}, stated
