"""Issue 10's stretch references (solutions/stretch/<app>): graded by the same checks as a learner's file, a third
or more under the article, healthy offline, non-root, and without a shell or a package manager.

The budgets live here, not in exercises/*/grading.toml: the exercises keep grading learners against the article,
and these tests hold the stretch references to their own, tighter numbers from the report's measured size.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from grader.api import GradeConfig, grade
from grader.model import Report, Status
from grader.paths import EXERCISES, PROJECT_LABEL, SOLUTIONS_DIR
from grader.settings import MB, load_settings

from .image_probes import exported_members, wait_healthy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STRETCH_DIR = SOLUTIONS_DIR / "stretch"
#: Decimal MB, as `docker images` prints them.
STRETCH_BUDGET_MB = {"node-api": 120, "fastapi": 110, "combined": 120}
HEALTHY_WITHIN_S = 90
#: Base names that would let a process (or an attacker in it) run a shell or install software.
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "busybox"})
PACKAGE_MANAGERS = frozenset({"apt", "apt-get", "apt-cache", "dpkg", "dpkg-deb", "apk", "pip", "pip3", "pip3.11",
                              "npm", "npx", "yarn", "corepack", "easy_install"})
#: Package managers that ship as library folders rather than commands.
PACKAGE_MANAGER_DIRS = ("site-packages/pip/", "dist-packages/pip/", "python3.11/ensurepip/", "node_modules/npm/",
                        "node_modules/corepack/", "var/lib/dpkg/", "etc/apt/")


#: One real request per app, run inside its container with the image's own runtime (there is no curl), and what it
#: must print: node-api hashes and checks a password with bcrypt, fastapi stores a note and reports libpq's version,
#: combined serves the React build and its API.
_NODE_API_REQUESTS = (
    "const post=(p,b)=>fetch('http://127.0.0.1:3000'+p,{method:'POST',"
    "headers:{'content-type':'application/json'},body:JSON.stringify(b)});(async()=>{"
    "const u=await post('/users',{email:'a@b.c',name:'A',password:'correct horse'});"
    "const ok=await post('/login',{email:'a@b.c',password:'correct horse'});"
    "const bad=await post('/login',{email:'a@b.c',password:'wrong password'});"
    "console.log(u.status,ok.status,bad.status)})()"
)
_FASTAPI_REQUESTS = (
    "import json, urllib.request as u\n"
    "r = u.urlopen(u.Request('http://127.0.0.1:8000/notes', data=b'{\"title\": \"t\"}', "
    "headers={'content-type': 'application/json'}), timeout=5)\n"
    "h = json.load(u.urlopen('http://127.0.0.1:8000/health', timeout=5))\n"
    "print(r.status, u.urlopen('http://127.0.0.1:8000/notes/1', timeout=5).status, h['libpq_major'])"
)
_COMBINED_REQUESTS = (
    "(async()=>{const i=await fetch('http://127.0.0.1:3000/');"
    "const t=await fetch('http://127.0.0.1:3000/api/tasks');const h=await i.text();"
    "console.log(i.status,h.includes('<div id=\"root\">'),t.status,(await t.json()).length)})()"
)
REQUESTS: dict[str, tuple[list[str], str]] = {
    "node-api": (["/usr/local/bin/node", "-e", _NODE_API_REQUESTS], "201 200 401"),
    "fastapi": (["/opt/venv/bin/python", "-c", _FASTAPI_REQUESTS], "201 200 15"),
    "combined": (["/usr/local/bin/node", "-e", _COMBINED_REQUESTS], "200 true 200 3"),
}


def stretch_tag(app: str) -> str:
    return f"workshop-test/{app}:stretch"


@pytest.fixture(scope="module")
def stretch_reports(docker_client: docker.DockerClient) -> Iterator[dict[str, Report]]:
    """Each app graded once (lazily) with `grade()`, exactly as `workshop grade APP --dockerfile ...` does."""

    class Lazy(dict[str, Report]):
        def __missing__(self, app: str) -> Report:
            folder = STRETCH_DIR / app
            config = GradeConfig(tag=stretch_tag(app))
            self[app] = grade(app, folder / "Dockerfile", folder / "Dockerfile.dockerignore", config=config)
            return self[app]

    reports = Lazy()
    yield reports
    for app in reports:
        try:
            docker_client.images.remove(stretch_tag(app), force=True)
        except docker.errors.APIError:
            pass


def _file_names(client: docker.DockerClient, image: str) -> list[str]:
    """Every path of the image's exported file system (read as a tar, so the image needs no shell)."""
    return [member.name for member in exported_members(client, image) if not member.isdir()]


def shells_and_package_managers(names: list[str]) -> list[str]:
    """The paths among `names` that are a shell or a package manager (commands or their library folders)."""
    found = []
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base in SHELLS or base in PACKAGE_MANAGERS or any(part in name + "/" for part in PACKAGE_MANAGER_DIRS):
            found.append(name)
    return found


@pytest.mark.parametrize("app", EXERCISES)
def test_stretch_scores_full_marks_with_exit_0(stretch_reports, app: str) -> None:
    report = stretch_reports[app]
    assert report.error is None, f"{app}: could not grade: {report.error}"
    failed = [f"{c.id}: {c.message}" for c in report.checks if c.scored and c.status is not Status.PASS]
    skipped = [c.id for c in report.checks if c.scored and c.status is Status.SKIPPED]
    assert not failed, f"{app}: checks not passed: {failed}"
    assert not skipped, f"{app}: scored checks skipped: {skipped}"
    assert report.percent == 100.0 and report.exit_code == 0, (report.percent, report.exit_code)


@pytest.mark.parametrize("app", EXERCISES)
def test_stretch_is_within_its_budget_and_a_third_under_the_article(stretch_reports, app: str) -> None:
    report = stretch_reports[app]
    assert report.image_size_bytes is not None, f"{app}: no image ({report.error})"
    size = report.image_size_bytes
    budget = STRETCH_BUDGET_MB[app] * MB
    article_after = load_settings(app).article.after_bytes
    assert size <= budget, f"{app}: {size:,} B ({size / MB:.1f} MB); the stretch budget is {budget / MB:.0f} MB"
    assert size <= article_after * 2 / 3, (
        f"{app}: {size / MB:.1f} MB is not a third under the article's {article_after / MB:.0f} MB"
    )


@pytest.mark.parametrize("app", EXERCISES)
def test_stretch_turns_healthy_offline_as_non_root_and_serves(docker_client, stretch_reports, app: str) -> None:
    """Our own run, beside the grader's: the image's HEALTHCHECK asks the app's /health on 127.0.0.1, the app
    runs as uid 10001, and a real request through its API works."""
    assert stretch_reports[app].error is None, stretch_reports[app].error
    container = docker_client.containers.run(stretch_tag(app), detach=True, network_mode="none",
                                             labels={PROJECT_LABEL: "test"})
    try:
        status = wait_healthy(container, HEALTHY_WITHIN_S)
        assert status == "healthy", f"{app}: health {status}; logs:\n{container.logs(tail=30).decode()}"
        processes = container.top(ps_args="-o pid,uid,args")["Processes"]
        assert {int(row[1]) for row in processes} == {10001}, f"{app}: processes {processes}"
        command, expected = REQUESTS[app]
        code, output = container.exec_run(command)
        assert (code, output.decode().strip()) == (0, expected), f"{app}: {output.decode()[-500:]}"
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("app", EXERCISES)
def test_stretch_has_no_shell_and_no_package_manager(docker_client, stretch_reports, app: str) -> None:
    assert stretch_reports[app].error is None, stretch_reports[app].error
    names = _file_names(docker_client, stretch_tag(app))
    assert len(names) > 100, f"{app}: the export looks empty ({len(names)} files)"
    found = shells_and_package_managers(names)
    assert not found, f"{app}: a shell or package manager in the final image: {found[:10]}"


def test_the_scan_finds_the_shell_and_package_manager_of_a_slim_base(docker_client) -> None:
    """The pair of the test above: the same scan does find /bin/sh, apt and dpkg in debian:bookworm-slim."""
    found = {name.rsplit("/", 1)[-1] for name in shells_and_package_managers(
        _file_names(docker_client, "debian:bookworm-slim"))}
    assert {"sh", "bash", "apt-get", "dpkg"} <= found, found
