"""Developer sessions: tests, lint, typecheck, bench, demo.  ``nox -l`` lists them."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
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
    session.run("ruff", "check", "odirouter_async", "tests", "benchmarks", "tools")
    session.run("ruff", "format", "--check", "odirouter_async", "tests", "benchmarks", "tools")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[test,lint]")
    session.run("mypy", "--strict", "odirouter_async")


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
