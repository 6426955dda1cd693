"""The package's import graph: no cycle, and every arrow points down the floors of the layout.

Every module under ``odirouter_async/`` is parsed (``ast``) and every import counted: top-level,
inside functions and under ``if TYPE_CHECKING:`` alike, since a typing-only import back up is
still a circle in the design.  Floors, top to bottom:
``cli -> __init__ -> _client -> _raw -> the namespaces (queue.resource, videos.resource, llm.chat,
llm.responses, llm.models) -> batch -> videos -> queue / llm -> http -> types/_config/_exceptions``:
the feature slices (``llm/``, ``queue/``, ``batch/``, ``videos/``) stand on ``http/``, ``batch``
(``queue.map``'s machinery) on ``queue``'s jobs and scheduler, and each slice's namespace (what
``client.queue`` etc. are) on top, since ``client.queue.map`` reaches into ``batch``;
``testing/`` (the emulator) is imported by nothing but ``cli`` and itself.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import odirouter_async

PKG = "odirouter_async"
ROOT = Path(odirouter_async.__file__).resolve().parent

#: floor of each top-level part of the package (higher imports lower, never the reverse)
FLOORS = {
    "cli": 8,
    "": 7,  # odirouter_async/__init__.py: the public face
    "_client": 6,
    "_raw": 5.5,
    "resource": 5,  # the namespaces below (see NAMESPACES)
    "batch": 4,
    "videos": 3.5,
    "queue": 3,
    "llm": 3,
    "http": 2,
    "types": 0,
    "_config": 0,
    "_exceptions": 0,
    "_closing": 0,
}
#: the user-facing namespaces of each slice, a floor above every slice's machinery
NAMESPACES = {
    f"odirouter_async.{m}"
    for m in ("queue.resource", "videos.resource", "llm.chat", "llm.responses", "llm.models")
}
#: known arrows, each to be removed by the branch that owns it (issue #10):
KNOWN: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name, found with pkgutil (as importlib sees them)."""
    found = {PKG: ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix=PKG + "."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None, info.name
        found[info.name] = Path(spec.origin)
    return found


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """``(imported module of this package, line)`` for every import statement in ``module``."""
    path = MODULES[module]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            # ``from pkg import sub`` imports the submodule ``pkg.sub`` when there is one
            targets = [
                f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names
            ]
        else:
            continue
        for name in targets:
            while name and name not in MODULES:  # ``import odirouter_async.x.y`` -> the deepest module
                name = name.rpartition(".")[0]
            if name.startswith(PKG) and name != module:
                yield name, node.lineno


GRAPH = {m: {t for t, _ in _imports(m)} for m in MODULES}


def _floor(module: str) -> str:
    if module in NAMESPACES:
        return "resource"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if (v, w) in KNOWN:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_every_module_is_seen() -> None:
    """The walk finds the modules of every floor (a broken walk would prove nothing)."""
    assert {_floor(m) for m in MODULES} >= set(FLOORS) | {"testing"}
    assert len(MODULES) > 60
    assert f"{PKG}.http.transport" in GRAPH[f"{PKG}._client"]


def test_no_import_cycle() -> None:
    """No group of modules imports itself around, at runtime or for type checking."""
    assert _cycles() == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_arrows_point_down(module: str) -> None:
    """A module imports only its own floor or the floors below; only cli may import testing."""
    floor = _floor(module)
    bad = []
    for target, line in _imports(module):
        if (module, target) in KNOWN:
            continue
        to = _floor(target)
        if to == "testing":
            if floor not in ("testing", "cli"):
                bad.append(f"line {line}: {target} (the emulator)")
        elif floor in FLOORS and FLOORS[to] > FLOORS[floor]:
            bad.append(f"line {line}: {target} (floor {to or '__init__'} is above {floor or '__init__'})")
    assert not bad, f"{module} imports upward: {bad}"


def test_the_checker_sees_a_cycle() -> None:
    """The cycle finder reports a circle when one is added (so an empty answer means something)."""
    a, b = f"{PKG}.http.retry", f"{PKG}.http.urls"
    GRAPH[b].add(a)
    GRAPH[a].add(b)
    try:
        assert any({a, b} <= set(c) for c in _cycles())
    finally:
        GRAPH[a].discard(b)
        GRAPH[b].discard(a)
