"""Fixtures for the course and classroom tests: real nbgrader and real Docker (never mocked, never skipped)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def nbgrader_cmd() -> Iterator[list[str]]:
    """`python -m nbgrader` from this interpreter; fails (never skips) without it, naming the fix."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        pytest.fail("nbgrader is not installed: pip install -e '.[course]' (nbgrader==0.9.6).", pytrace=False)
    yield [sys.executable, "-m", "nbgrader"]
