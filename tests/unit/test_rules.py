"""One place per rule, data flow a reader can follow: checks over the package's source (AST scans)."""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import odirouter_async

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "odirouter_async"
#: The emulator (``testing/``) is a fake gateway, not the SDK: its statuses are what it answers.
SDK_FILES = sorted(p for p in PKG.rglob("*.py") if "testing" not in p.relative_to(PKG).parts)
STATUS_RULES = PKG / "http" / "status_rules.py"


def _trees(paths: list[Path]) -> Iterator[tuple[Path, ast.Module]]:
    for path in paths:
        yield path, _parse(path)


@functools.cache
def _parse(path: Path) -> ast.Module:
    """One parse per file for every scan here (the scans only read the trees)."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_no_locals_in_the_package() -> None:
    """No ``locals()`` anywhere in the package: parameters are passed on by name."""
    found = [
        _where(path, node)
        for path, tree in _trees(sorted(PKG.rglob("*.py")))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == "locals"
    ]
    assert found == []


def test_job_timeout_is_constructed_in_one_module() -> None:
    """``JobTimeout(...)`` is built only by ``queue.job_state.job_timeout`` (every wait asks it)."""
    found = {
        path.relative_to(PKG).as_posix()
        for path, tree in _trees(SDK_FILES)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == "JobTimeout"
    }
    assert found == {"queue/job_state.py"}


def _status_codes(node: ast.AST) -> list[int] | None:
    """The HTTP status codes a set/frozenset/tuple literal holds, when it holds only those (2+)."""
    if isinstance(node, ast.Call) and _name(node.func) in {"frozenset", "set"} and node.args:
        node = node.args[0]
    if not isinstance(node, (ast.Set, ast.Tuple, ast.List)) or len(node.elts) < 2:
        return None
    codes = [e.value for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
    if len(codes) != len(node.elts) or not all(100 <= c <= 599 for c in codes):
        return None
    return codes


def _status_sets(tree: ast.Module) -> Iterator[ast.AST]:
    """Set literals of status codes, and tuples / lists of them used in ``in`` / ``not in``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in {"frozenset", "set"}:
            if _status_codes(node) is not None:
                yield node
        elif isinstance(node, ast.Set) and _status_codes(node) is not None:
            yield node
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            for right in node.comparators:
                if _status_codes(right) is not None:
                    yield right


def test_status_sets_live_only_in_the_rules_module() -> None:
    """Every set of HTTP statuses the SDK decides on is defined in ``http/status_rules.py``.

    One exception, on purpose: ``_exceptions.py`` (the error tree imports nothing from the
    package) words a 404/405 hint about the base URL in its message.
    """
    allowed = {PKG / "_exceptions.py": 1}
    found: dict[Path, list[str]] = {}
    for path, tree in _trees(SDK_FILES):
        if path == STATUS_RULES:
            continue
        hits = [_where(path, node) for node in _status_sets(tree)]
        if len(hits) > allowed.get(path, 0):
            found[path] = hits
    assert found == {}
    rules = ast.parse(STATUS_RULES.read_text(encoding="utf-8"))
    assert len(list(_status_sets(rules))) >= 6  # the scan sees the sets where they are defined


_PY_REF = re.compile(r"`{1,2}((?:[\w.]+/)*\w+\.py)\b")
_DOTTED_REF = re.compile(r"`{1,2}(_[a-z]\w*)\.\w+")
_FILES = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("[!.]*/**/*.py") if "venv" not in p.parts}
_MODULES = {p.stem for p in PKG.rglob("*.py")} | {p.name for p in PKG.rglob("*") if p.is_dir()}


def _stale_refs(text: str) -> list[str]:
    """Module names ``text`` mentions (``x/y.py``, ``_mod.name``) that name no module."""
    out = [ref for ref in _PY_REF.findall(text) if not any(f == ref or f.endswith("/" + ref) for f in _FILES)]
    out += [ref for ref in _DOTTED_REF.findall(text) if ref not in _MODULES and ref != "_emu"]
    return out


def test_docstrings_and_architecture_name_modules_that_exist() -> None:
    """Every module a docstring or ARCHITECTURE.md names (``http/sse.py``, ``http.sse.X``) exists."""
    stale = []
    for path, tree in _trees(sorted(PKG.rglob("*.py"))):
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False) or ""
                stale += [f"{_where(path, node)}: {ref}" for ref in _stale_refs(doc)]
    arch = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    stale += [f"ARCHITECTURE.md: {ref}" for ref in _stale_refs(arch)]
    assert stale == []


def test_the_version_is_written_once() -> None:
    """``__version__``, the ``User-Agent`` and pyproject.toml say the same version."""
    from odirouter_async.http.transport import USER_AGENT

    if sys.version_info >= (3, 11):
        import tomllib

        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        assert project["version"] == odirouter_async.__version__
    assert USER_AGENT.startswith(f"odirouter-async/{odirouter_async.__version__} ")


def test_unused_polling_knobs_warn() -> None:
    """``PollingOptions(lag_target/lag_fraction/tick=...)`` read by nothing: setting one warns."""
    import pytest

    odirouter_async.PollingOptions(max_rate=50.0, seed=1)  # no warning (filterwarnings=error)
    with pytest.warns(DeprecationWarning, match=r"tick=\.\.\.\) has no effect"):
        odirouter_async.PollingOptions(tick=0.1)


def test_deprecated_polling_knobs_change_nothing() -> None:
    """A scheduler given ``lag_target``/``lag_fraction`` places polls exactly as one without them."""
    import pytest

    from odirouter_async.queue.scheduler import Scheduler

    with pytest.warns(DeprecationWarning):
        odd = odirouter_async.PollingOptions(lag_target=9.0, lag_fraction=0.9, seed=1)
    plain = odirouter_async.PollingOptions(seed=1)
    placed = []
    for options in (odd, plain):
        sched = Scheduler(options)._sched
        sched.seed("ep", [20.0 + i / 10 for i in range(100)], now=0.0)  # a warm endpoint: spaced polls
        for i in range(50):
            sched.add(i, "ep", now=0.0)
        times, now = [], 0.0
        while (wake := sched.next_wakeup(now)) is not None and wake < 60.0:
            now = wake
            times += [(now, key) for key in sched.due(now, 1000)]
        placed.append(times)
    assert placed[0] == placed[1] and len(placed[0]) >= 50


def test_max_retries_is_checked_the_same_per_client_and_per_call() -> None:
    """The client's ``max_retries=`` and a call's are refused by the same rule."""
    import pytest

    from odirouter_async._config import RequestOptions

    for bad in (-1, True, 2.0):
        with pytest.raises(ValueError, match="max_retries must be a non-negative integer"):
            RequestOptions.of(max_retries=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_retries must be a non-negative integer"):
            odirouter_async.AsyncOdiRouter(api_key="k", base_url="http://127.0.0.1:1", max_retries=bad)  # type: ignore[arg-type]
    assert RequestOptions.of(max_retries=0).max_retries == 0
