"""The sans-IO core is a folder: every module under ``_core/`` (and the wire types beneath it)
imports nothing from aiohttp, anyio or asyncio, nor from the floors above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "odirouter_async"
#: the core folder, and the vocabulary below it that every floor may use
CORE_FILES = sorted((PKG / "_core").glob("*.py"))
BELOW_CORE = [
    *sorted((PKG / "types").glob("*.py")),
    PKG / "_exceptions.py",
    PKG / "_config.py",
    PKG / "_closing.py",
]
FORBIDDEN_LIBS = {"aiohttp", "anyio", "asyncio"}
#: the floors above the core (relative to the package)
ABOVE = {"_http", "_llm", "_queue", "resources", "_client", "cli", "testing"}
#: known exceptions, each to be removed (none left: downloads go through the client).
KNOWN: set[tuple[str, str]] = set()


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Absolute names of every module the file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = _module(path).rpartition(".")[0] if path.name != "__init__.py" else _module(path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{a.name}" for a in node.names]
    return names


def test_core_folder_exists() -> None:
    """The pure core is a folder with the decoders, protocols and decisions in it."""
    names = {p.stem for p in CORE_FILES}
    assert {"sse", "stream_decode", "retry", "poll_schedule", "jobstate", "job_answers"} <= names


@pytest.mark.parametrize("path", CORE_FILES + BELOW_CORE, ids=lambda p: str(p.relative_to(PKG)))
def test_core_module_imports_no_io_and_nothing_above(path: Path) -> None:
    """No aiohttp/anyio/asyncio import, and no import from _http, _llm, _queue, resources, cli..."""
    bad = []
    for name in _imports(path):
        top = name.split(".")[0]
        if top in FORBIDDEN_LIBS:
            bad.append(name)
        parts = name.split(".")
        above = parts[0] == "odirouter_async" and len(parts) > 1 and parts[1] in ABOVE
        if above and (str(path.relative_to(PKG)), ".".join(parts[:3])) not in KNOWN:
            bad.append(name)
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(set(bad))}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.stem)
def test_core_module_loads_no_io_library(path: Path) -> None:
    """Importing a core module (without the package's __init__) loads neither aiohttp nor anyio."""
    code = (
        "import sys, types, importlib, importlib.util\n"
        "spec = importlib.util.find_spec('odirouter_async')\n"
        "pkg = types.ModuleType('odirouter_async'); pkg.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['odirouter_async'] = pkg\n"
        "importlib.import_module(sys.argv[1])\n"
        "bad = [m for m in ('aiohttp', 'anyio') if m in sys.modules]; print(','.join(bad))\n"
    )
    module = _module(path)
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"


@pytest.mark.parametrize("path", [PKG / "_exceptions.py", PKG / "_config.py"], ids=lambda p: p.name)
def test_vocabulary_imports_nothing_from_the_package(path: Path) -> None:
    """The error tree and the config values, which every floor uses, import nothing of the package."""
    own = [n for n in _imports(path) if n.split(".")[0] == "odirouter_async"]
    assert own == [], f"{path.name} imports {own}"
