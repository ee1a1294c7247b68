"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s docs``.

Each session installs the locked dev dependencies with uv (``docs``, the docs group), so it runs
what CI runs. One more,
``nox -s compat``, is not run by default: it adds gpt4free to test `replicatehome.compat.g4f`.
Nor is ``nox -s peer_v2``, which runs Replicate's new SDK (replicate 2.x) against the emulator.
Nor are ``nox -s bench`` and ``nox -s soak`` (ten minutes of faults; ``-- --short`` for 30 s).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"

COVERAGE = (
    "--cov=replicatehome",
    "--cov-report=term-missing:skip-covered",
    "--cov-fail-under=90",
)
"""The coverage gate: here and in .ci/run, not in pytest's addopts, so one file runs alone."""

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]


def _sync(session: nox.Session, *options: str) -> None:
    session.run_install(
        "uv",
        "sync",
        "--locked",
        *options,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with coverage, and fail under 90 %."""
    _sync(session)
    session.run("pytest", *COVERAGE, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package and tests with mypy --strict."""
    _sync(session)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into ``site/``, strictly: a warning fails the build.

    A broken link or anchor, a page left out of the nav and an API reference entry or
    cross-reference that does not resolve are warnings (mkdocs.yml). The venv has the docs group
    and the package with its emulator extra, not the dev tools. ``nox -s docs -- --dirty`` and
    other ``mkdocs build`` options pass through.
    """
    _sync(session, "--no-default-groups", "--group", "docs", "--extra", "emulator")
    # Material prints a notice of its end of life (2027) on every build; it is not a warning.
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def compat(session: nox.Session) -> None:
    """Test the gpt4free provider with the latest g4f installed (never a dependency of the SDK)."""
    _sync(session)
    session.install("g4f")
    # Fail here, rather than let the g4f tests skip, if what they import is missing.
    session.run(
        "python",
        "-c",
        "import g4f, g4f.client, g4f.cookies, g4f.providers.base_provider, "
        "g4f.providers.response; print('g4f', g4f.__version__)",
    )
    session.run(
        "pytest",
        "tests/integration/test_compat_g4f.py",
        "tests/integration/test_compat_g4f_installed.py",
        "--no-cov",
        *session.posargs,
    )


@nox.session
def peer_v2(session: nox.Session) -> None:
    """Run replicate 2.0.0b4, Replicate's new SDK, against the emulator (tests/peer_v2).

    It replaces the lock's replicate 1.x in this session's venv only: the lock never has it.
    """
    _sync(session)
    session.install("replicate==2.0.0b4")
    session.run(
        "python", "-c", "import replicate; print('replicate', replicate.__version__)", silent=False
    )
    session.run("pytest", "tests/peer_v2", "--no-cov", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure this project against replicate-python 1.0.7 and replicate 2.0.0b4, side by side.

    The peers get venvs of their own under ``.nox/bench-venvs/`` (built by ``--setup``), so
    they never enter the project's lock; so does this project, without its dev tools. matplotlib,
    for the plot, is installed in this session only. ``nox -s bench -- --quick`` tries it in
    under 3 minutes and writes nothing; the full run rewrites ``docs/benchmarks.md``.
    """
    _sync(session)
    session.install("matplotlib")
    session.run("python", "benchmarks/bench.py", "--setup", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """Hold the SDK's promises against a faulty emulator for minutes (docs/reliability.md)."""
    _sync(session)
    session.run("python", "benchmarks/soak.py", *session.posargs)
