"""The sans-IO core, slice by slice: each feature slice names its pure modules, and every one of
them imports nothing from aiohttp, anyio or asyncio, and of the package only other pure modules
and the vocabulary below every slice (the wire types, ``_config``, ``_exceptions``, ``_closing``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "odirouter_async"
#: the pure modules of each slice: bytes, bodies and times in, decisions out
PURE = {
    "http": ["sse", "retry", "status_rules", "request_id", "urls", "error_body"],
    "llm": [
        "stream_decode",
        "stream_protocol",
        "chat_protocol",
        "responses_protocol",
        "stream_resume",
        "chat_quirks",
        "chat_state",
        "responses_state",
        "strict_schema",
    ],
    "queue": ["job_state", "schedule", "budget"],
    "batch": ["dsn"],
    "videos": ["video_state"],
}
CORE_FILES = [PKG / slice_ / f"{name}.py" for slice_, names in PURE.items() for name in names]
BELOW_CORE = [
    *sorted((PKG / "types").glob("*.py")),
    PKG / "_exceptions.py",
    PKG / "_config.py",
    PKG / "_closing.py",
]
FORBIDDEN_LIBS = {"aiohttp", "anyio", "asyncio"}
#: what a pure module may import from the package: other pure modules and the vocabulary
ALLOWED = {"odirouter_async.types"} | {
    "odirouter_async." + ".".join(p.relative_to(PKG).with_suffix("").parts) for p in CORE_FILES + BELOW_CORE
}


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


def test_every_slice_names_existing_pure_modules() -> None:
    """Each slice's pure list names real modules (a renamed module must be renamed here too)."""
    missing = [str(p.relative_to(PKG)) for p in CORE_FILES if not p.exists()]
    assert missing == []
    assert {p.stem for p in CORE_FILES} >= {"sse", "stream_decode", "retry", "schedule", "job_state"}


def _impure(names: list[str]) -> list[str]:
    """The names a pure module may not import."""
    # ``from ..http.retry import parse_retry_after`` lists the module and the name: either may pass
    own = [n for n in names if n.split(".")[0] == "odirouter_async"]
    return [
        n
        for n in names
        if n.split(".")[0] in FORBIDDEN_LIBS
        or (n in own and n not in ALLOWED and n.rpartition(".")[0] not in ALLOWED)
    ]


@pytest.mark.parametrize("path", CORE_FILES + BELOW_CORE, ids=lambda p: str(p.relative_to(PKG)))
def test_pure_module_imports_no_io_and_only_pure_modules(path: Path) -> None:
    """No aiohttp/anyio/asyncio import; of the package only pure modules and the vocabulary."""
    bad = _impure(_imports(path))
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(set(bad))}"


def test_the_rule_flags_io_and_shell_imports() -> None:
    """The check itself: an I/O library, a shell module or the client are refused, pure ones pass."""
    names = [
        "aiohttp.web",
        "odirouter_async.http.transport",
        "odirouter_async._client",
        "odirouter_async.http.retry",
        "odirouter_async.http.retry.parse_retry_after",
        "odirouter_async.types.queue.JobResult",
    ]
    assert _impure(names) == ["aiohttp.web", "odirouter_async.http.transport", "odirouter_async._client"]


_LOADS = (
    "import sys, types, importlib, importlib.util\n"
    "spec = importlib.util.find_spec('odirouter_async')\n"
    "pkg = types.ModuleType('odirouter_async'); pkg.__path__ = list(spec.submodule_search_locations)\n"
    "sys.modules['odirouter_async'] = pkg\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "    print(name, ','.join(m for m in ('aiohttp', 'anyio') if m in sys.modules))\n"
)


@pytest.fixture(scope="module")
def io_loaded() -> dict[str, str]:
    """Per pure module, the I/O libraries loaded once it is imported (without the package's
    __init__), all in one fresh interpreter, one module after the other: a module that pulls
    in aiohttp or anyio is the first one whose line names it (imports are the same alone)."""
    modules = [_module(path) for path in CORE_FILES]
    out = subprocess.run([sys.executable, "-c", _LOADS, *modules], capture_output=True, text=True, check=True)
    return dict((line + " ").split(" ", 1) for line in out.stdout.splitlines())


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_core_module_loads_no_io_library(path: Path, io_loaded: dict[str, str]) -> None:
    """Importing a pure module (without the package's __init__) loads neither aiohttp nor anyio."""
    module = _module(path)
    assert io_loaded[module].strip() == "", f"{module} imports {io_loaded[module].strip()}"


@pytest.mark.parametrize("path", [PKG / "_exceptions.py", PKG / "_config.py"], ids=lambda p: p.name)
def test_vocabulary_imports_nothing_from_the_package(path: Path) -> None:
    """The error tree and the config values, which every floor uses, import nothing of the package."""
    own = [n for n in _imports(path) if n.split(".")[0] == "odirouter_async"]
    assert own == [], f"{path.name} imports {own}"
