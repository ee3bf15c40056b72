"""Issue 2's promises about the six images: naive ones are fat; solutions small, healthy, non-root, compiler-free."""

from __future__ import annotations

import docker
import pytest

from grader.paths import EXERCISES, PROJECT_LABEL

from .image_probes import exported_members, wait_healthy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

#: The reference solutions' budgets (decimal MB), each at or under the article's after-number.
SOLUTION_BUDGET_MB = {"node-api": 180, "fastapi": 160, "combined": 200}
NAIVE_MIN_MB = 900
COMPILER_NAMES = {"gcc", "g++", "cc", "make"}
HEALTHY_WITHIN_S = 90


def _run_detached(client: docker.DockerClient, tag: str) -> docker.models.containers.Container:
    return client.containers.run(tag, detach=True, network_mode="none", labels={PROJECT_LABEL: "test"})


@pytest.mark.parametrize("app", EXERCISES)
def test_naive_image_builds_and_is_fat(app_images, app: str) -> None:
    naive = app_images[(app, "naive")]
    assert naive.size_bytes >= NAIVE_MIN_MB * 1e6, f"{app} naive image is only {naive.size_bytes / 1e6:.0f} MB"


@pytest.mark.parametrize("app", EXERCISES)
def test_solution_is_under_its_budget(app_images, app: str) -> None:
    solution = app_images[(app, "solution")]
    assert solution.size_bytes <= SOLUTION_BUDGET_MB[app] * 1e6, (
        f"{app} solution is {solution.size_bytes / 1e6:.1f} MB; the budget is {SOLUTION_BUDGET_MB[app]} MB"
    )


@pytest.mark.parametrize("app", EXERCISES)
def test_solution_turns_healthy_offline_and_runs_as_non_root(docker_client, app_images, app: str) -> None:
    container = _run_detached(docker_client, app_images[(app, "solution")].tag)
    try:
        status = wait_healthy(container, HEALTHY_WITHIN_S)
        assert status == "healthy", f"{app}: health {status}; logs:\n{container.logs(tail=30).decode()}"
        processes = container.top(ps_args="-o pid,uid,args")["Processes"]
        uids = {int(row[1]) for row in processes}
        assert 0 not in uids, f"{app}: processes running as root: {processes}"
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("app", EXERCISES)
def test_solution_file_system_has_no_compilers(docker_client, app_images, app: str) -> None:
    """Reads the exported file system, so it works whether or not the image has a shell."""
    found = [member.name for member in exported_members(docker_client, app_images[(app, "solution")].tag)
             if member.name.rsplit("/", 1)[-1] in COMPILER_NAMES and (member.isfile() or member.issym())]
    assert not found, f"{app}: compilers in the final image: {found}"


def test_naive_node_image_has_the_compilers_the_lesson_removes(docker_client, app_images) -> None:
    """The pair of the test above: the same scan does find gcc in a naive image, so it can fail."""
    names = {member.name.rsplit("/", 1)[-1] for member in exported_members(docker_client,
                                                                           app_images[("node-api", "naive")].tag)}
    assert {"gcc", "make"} <= names
