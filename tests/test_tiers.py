"""The test tiers (tests/conftest.py): every engine test is marked `docker`, and the fast lane has no engine.

The marks come from the fixtures a test uses, so these tests hold the rule, the module lists and the lane's
engine-less environment together; each could fail if the conftest stopped doing its part.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tiers import ENGINE_MODULES, LINT_MODULES, NO_ENGINE_SOCKET, SLOW_MODULES, tier_markers

REPO = Path(__file__).resolve().parent.parent


def _collect(marker_expression: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker_expression],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_a_test_that_asks_for_the_engine_is_marked_docker() -> None:
    assert tier_markers("tests/grader/test_checks.py", {"docker_client", "tmp_path"}) == {"docker"}


def test_a_pure_test_gets_no_tier() -> None:
    assert tier_markers("tests/grader/test_checks.py", {"tmp_path"}) == set()


def test_nbgrader_flows_are_slow_and_the_static_checks_are_lint() -> None:
    assert "slow" in tier_markers("tests/course/test_course.py", {"nbgrader_cmd"})
    assert tier_markers("tests/test_static.py", set()) == {"lint"}


def test_every_listed_module_exists() -> None:
    listed = ENGINE_MODULES | SLOW_MODULES | LINT_MODULES
    assert listed
    missing = sorted(module for module in listed if not (REPO / module).is_file())
    assert not missing, f"tests/conftest.py lists modules that do not exist: {missing}"


def test_the_fast_lane_leaves_out_every_engine_test() -> None:
    fast, engine = _collect("not docker"), _collect("docker")
    assert len(fast) > 100 and len(engine) > 100
    assert not set(fast) & set(engine)
    assert not [test for test in fast if test.split("::")[0] in ENGINE_MODULES]
    assert any("docker_client" in (REPO / test.split("::")[0]).read_text() for test in engine)


def test_the_fast_lane_points_docker_at_no_engine(tmp_path: Path) -> None:
    """A test that reaches the engine without its mark fails in the fast lane, whatever the machine has."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import os, docker, pytest\n"
        "def test_engine_is_unreachable():\n"
        f"    assert os.environ['DOCKER_HOST'] == {NO_ENGINE_SOCKET!r}\n"
        "    with pytest.raises(docker.errors.DockerException):\n"
        "        docker.from_env().ping()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest", "-m", "not docker",
         "--rootdir", str(tmp_path), str(probe)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "tests"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
