"""Developer sessions: tests, lint, typecheck, docs, bench, demo.  ``nox -l`` lists them."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (the same command as the README and CI) on every supported Python."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", "odirouter_async", "tests", "benchmarks", "tools", "examples")
    session.run("ruff", "format", "--check", "odirouter_async", "tests", "benchmarks", "tools", "examples")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the examples; pyright over the examples; the tests
    marked ``typecheck`` (mypy and pyright over tests/typing/ and the README example)."""
    session.install("-e", ".[test,lint,examples]")
    session.run("mypy", "--strict", "odirouter_async")
    session.run("mypy", "--strict", "examples")
    session.run("pyright", "examples")
    session.run("python", "-m", "pytest", "--typecheck", "-m", "typecheck", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs + mkdocstrings); warnings are errors.  ``-- serve`` to preview."""
    session.install("-e", ".[docs]")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve")
    else:
        session.run("mkdocs", "build", "--strict")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks against openai-python, fal-client and raw aiohttp (writes benchmarks/out/)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The demo, on the embedded emulator unless ODIROUTER_API_KEY is set."""
    session.install("-e", ".")
    session.run("odirouter", "demo", *session.posargs)
