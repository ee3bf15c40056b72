"""The test tiers' rule, in one place: which mark a test gets from its module and the fixtures it uses.

tests/conftest.py applies it at collection; tests/test_tiers.py holds it to its promises.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ENGINE_MODULES", "LINT_MODULES", "NO_ENGINE_SOCKET", "SLOW_MODULES", "TESTS_DIR", "tier_markers"]

TESTS_DIR = Path(__file__).resolve().parent
#: Modules that reach the engine through a subprocess (`workshop grade`, notebooks), not through the fixture.
ENGINE_MODULES = frozenset({
    "tests/lessons/test_lesson_notebooks.py",
    "tests/lessons/test_lesson_browser.py",
    "tests/foundation/test_bootstrap.py",
})
#: Minutes-long flows: the nbgrader course, the class runner, the queue's workers, every notebook on a fresh kernel.
SLOW_MODULES = frozenset({
    "tests/course/test_nbgrader_flow.py",
    "tests/course/test_classroom.py",
    "tests/lessons/test_lesson_notebooks.py",
    "tests/lessons/test_lesson_browser.py",
    "tests/workers/test_queue.py",
    "tests/workers/test_queue_failures.py",
    "tests/workers/test_serve_browser.py",
    "tests/workers/test_two_engines.py",
})
LINT_MODULES = frozenset({"tests/test_static.py"})
NO_ENGINE_SOCKET = "unix:///nonexistent/docker-diet-workshop-fast-lane.sock"


def tier_markers(module: str, fixtures: set[str]) -> set[str]:
    """The tier marks one test gets from its module and the fixtures it uses."""
    marks = set()
    if "docker_client" in fixtures or module in ENGINE_MODULES:
        marks.add("docker")
    if module in SLOW_MODULES or "nbgrader_cmd" in fixtures:
        marks.add("slow")
    if module in LINT_MODULES:
        marks.add("lint")
    return marks
