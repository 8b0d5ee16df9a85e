"""
Development sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``demo``, ``bench``.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.10", "3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """
    Run the test suite against the installed package.
    """
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """
    ruff check and ruff format --check.
    """
    session.install("ruff")
    session.run("ruff", "check", "cio_async", "tests", "examples", "benchmarks")
    session.run("ruff", "format", "--check", "cio_async", "tests", "examples")


@nox.session
def typecheck(session: nox.Session) -> None:
    """
    mypy --strict on the package and the typing test module.
    """
    session.install("-e", ".[test]")
    session.run("mypy", "--strict", "cio_async")
    session.run("mypy", "--strict", "tests/typing_check.py")


@nox.session
def demo(session: nox.Session) -> None:
    """
    Run the main job against the embedded fake Customer.io.
    """
    session.install("-e", ".")
    session.run("cio-async", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """
    Benchmarks side by side with the alternatives (not part of the tests).
    """
    session.install("-e", ".[fast]", "-r", "benchmarks/requirements.txt")
    session.run("python", "benchmarks/run.py", *session.posargs)
