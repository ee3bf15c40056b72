"""app-works on the real engine: the reference solutions pass; images that do not run the app fail it (and so earn
no size points) although their healthcheck passes; fastapi talks to a real PostgreSQL, and without the database
image the probe still runs and says why. Every container the probe makes is gone afterwards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from images import remove_test_images

from grader.api import GradeConfig, grade
from grader.model import Report, Status
from grader.paths import APPS_DIR, PROJECT_LABEL, SOLUTIONS_DIR

pytestmark = pytest.mark.docker

PREFIX = "docker-diet-workshop/test-appworks-"
#: Only the health endpoint, answered by one line of node; the app's files are in the image but never run.
_ONE_LINE = ("require('http').createServer((q,s)=>{s.writeHead(200,{'content-type':'application/json'});"
             "s.end(JSON.stringify({status:'ok',bcrypt:true}))}).listen(3000)")
_FETCH = "fetch('http://127.0.0.1:3000/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ONE_LINE_SERVER = f"""FROM node:20-slim
WORKDIR /app
COPY . .
USER node
HEALTHCHECK --interval=5s CMD ["node", "-e", "{_FETCH}"]
CMD ["node", "-e", "{_ONE_LINE}"]
"""
#: None of the app: the healthcheck tests a file that the CMD itself writes.
NO_APP = """FROM debian:bookworm-slim
USER nobody
HEALTHCHECK --interval=5s CMD ["test", "-f", "/tmp/ready"]
CMD ["sh", "-c", "touch /tmp/ready && exec sleep 600"]
"""


def _grade(exercise: str, name: str, dockerfile: Path, app_dir: Path | None = None) -> Report:
    return grade(exercise, dockerfile, SOLUTIONS_DIR / exercise / "Dockerfile.dockerignore",
                 config=GradeConfig(tag=f"{PREFIX}{name}:t", baseline=False, rerun=True, app_dir=app_dir))


def _probe_containers(client: docker.DockerClient) -> list[object]:
    return [c for role in ("app-probe", "app-probe-database")
            for c in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}.role={role}"})]


@pytest.fixture(scope="module")
def reports(docker_client: docker.DockerClient,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Report]]:
    root = tmp_path_factory.mktemp("appworks")
    variants = {
        "combined-no-page": ("combined", (SOLUTIONS_DIR / "combined" / "Dockerfile").read_text().replace(
            "COPY --from=frontend /src/frontend/dist ./public", "")),
        "node-api-one-line": ("node-api", ONE_LINE_SERVER),
        "node-api-no-app": ("node-api", NO_APP),
    }
    found: dict[str, Report] = {}
    for app in ("node-api", "fastapi", "combined"):
        found[app] = _grade(app, app, SOLUTIONS_DIR / app / "Dockerfile")
    for name, (app, text) in variants.items():
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text(text)
        found[name] = _grade(app, name, root / name / "Dockerfile")
    no_db = root / "fastapi-app"
    shutil.copytree(APPS_DIR / "fastapi", no_db, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    contract = (no_db / "probe.toml").read_text().replace('env = "DATABASE_URL"', 'env = "DATABASE_URL"\n'
                                                          f'image = "{PREFIX}no-such-database:none"')
    assert "no-such-database" in contract
    (no_db / "probe.toml").write_text(contract)
    found["fastapi-no-db"] = _grade("fastapi", "fastapi-no-db", SOLUTIONS_DIR / "fastapi" / "Dockerfile", no_db)
    yield found
    remove_test_images(docker_client, prefix=PREFIX)


@pytest.mark.parametrize("app", ["node-api", "fastapi", "combined"])
def test_app_works_passes_for_the_reference_solution_with_full_marks(reports: dict[str, Report], app: str) -> None:
    report = reports[app]
    assert report.error is None, report.error
    check = report.check("app-works")
    assert check.status is Status.PASS and check.points == check.max_points == 15, check.message
    assert report.percent == 100.0, [(c.id, c.message) for c in report.checks if not c.passed]


def test_app_works_reaches_a_real_database_for_fastapi(reports: dict[str, Report]) -> None:
    probe = reports["fastapi"].run.app_probe  # type: ignore[union-attr]
    assert probe is not None and probe.database_note is None
    db = probe.exchanges[-1]
    assert db.path == "/health/db" and db.status == 200 and '"ok"' in db.body


def test_app_works_fails_for_combined_without_its_built_page(reports: dict[str, Report]) -> None:
    report = reports["combined-no-page"]
    assert report.check("healthcheck").status is Status.PASS  # /health still answers
    check = report.check("app-works")
    assert check.status is Status.FAIL and "open the page" in check.message
    assert report.check("size").points == 0 and report.check("reduction").points == 0


def test_app_works_fails_for_a_one_line_server_that_answers_health(reports: dict[str, Report]) -> None:
    report = reports["node-api-one-line"]
    assert report.check("healthcheck").status is Status.PASS
    check = report.check("app-works")
    assert check.status is Status.FAIL and "create a user" in check.message and "status 201" in (check.hint or "")
    assert report.check("size").points == 0


def test_app_works_fails_for_an_image_with_none_of_the_app(reports: dict[str, Report]) -> None:
    report = reports["node-api-no-app"]
    assert report.check("healthcheck").status is Status.PASS
    check = report.check("app-works")
    assert check.status is Status.FAIL and "no answer" in check.message
    assert report.check("size").points == 0 and report.exit_code == 1 and report.percent < 100


def test_without_the_database_image_the_probe_runs_and_says_why(reports: dict[str, Report]) -> None:
    report = reports["fastapi-no-db"]
    assert report.error is None, report.error
    check = report.check("app-works")
    assert check.status is Status.PASS and "database not available" in check.message
    assert "no-such-database" in check.message and "`workshop bases` makes it" in check.message
    assert check.measured["the database answers"] == "not counted"


def test_the_probe_leaves_no_container_behind(reports: dict[str, Report], docker_client: docker.DockerClient) -> None:
    assert len(reports) == 7 and _probe_containers(docker_client) == []


def test_the_naive_starting_point_earns_nothing_from_app_works(docker_client: docker.DockerClient) -> None:
    """The naive image has no HEALTHCHECK, so it never turns healthy and the probe sends nothing: app-works adds a
    failed check and a stricter size gate, so a naive starting point scores what it did before, or less."""
    try:
        report = grade("node-api", config=GradeConfig(tag=f"{PREFIX}naive:t", baseline=False, rerun=True))
        assert report.error is None, report.error
        check = report.check("app-works")
        assert check.status is Status.FAIL and check.points == 0 and "never turned healthy" in check.message
        assert report.check("size").points == 0 and report.check("healthcheck").status is Status.FAIL
    finally:
        remove_test_images(docker_client, prefix=f"{PREFIX}naive")
