"""A pass/fail pair for every check on real images built in the test, FROM the local bases.

Two images carry most pairs: `good` (multi-stage, non-root, meaningful healthcheck, .dockerignore) and `bad`
(one stage, root, `HEALTHCHECK CMD true`, caches, junk, secrets deleted in a later layer, a compiler name, waste).
The good one is built with the default back end (buildx when present), the bad one with the classic builder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from images import HEALTHCHECK, grader_containers, remove_test_images, write_app

from grader.api import GradeConfig, grade
from grader.model import Report, Status
from grader.settings import MB, ExerciseSettings

pytestmark = pytest.mark.docker

SETTINGS = replace(
    ExerciseSettings(exercise="fastapi"), size_threshold_bytes=155 * MB, size_band_bytes=158 * MB,
    reduction_min_percent=15.0, context_max_bytes=100_000, health_timeout_s=30.0,
    article=replace(ExerciseSettings(exercise="fastapi").article, after_bytes=155 * MB),
)

GOOD = f"""FROM debian:bookworm-slim AS build
RUN mkdir -p /out && echo 'VERSION = 1' > /out/version.py
FROM python:3.11-slim
WORKDIR /app
COPY server.py ./
COPY --from=build /out/version.py ./
RUN mkdir -p node_modules/express && echo '{{}}' > node_modules/express/package.json
USER nobody
{HEALTHCHECK}
CMD ["python", "server.py"]
"""
BAD = """FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN mkdir -p node_modules/typescript && echo '{}' > node_modules/typescript/package.json \\
 && mkdir -p /root/.cache/pip && head -c 3000000 /dev/urandom > /root/.cache/pip/blob \\
 && ln -s /bin/true /usr/bin/gcc-12
RUN head -c 12000000 /dev/urandom > /app/big.tmp
RUN rm /app/.env.production /app/big.tmp
HEALTHCHECK CMD ["true"]
CMD ["python", "server.py"]
"""
BASELINE = "FROM python:3.11-slim\nRUN head -c 40000000 /dev/urandom > /ballast\n"


@pytest.fixture(scope="module")
def built(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Report]]:
    root = tmp_path_factory.mktemp("real")
    (root / "baseline").mkdir()
    (root / "baseline" / "Dockerfile").write_text(BASELINE)
    reports: dict[str, Report] = {}
    for name, text, ignore, backend in (("good", GOOD, "*\n!server.py\n", "auto"), ("bad", BAD, None, "classic")):
        folder = root / name
        folder.mkdir()
        dockerfile = write_app(folder, text, ignore)
        config = GradeConfig(backend=backend, settings=SETTINGS, app_dir=folder,
                             tag=f"docker-diet-workshop/test-{name}:t",
                             baseline_dockerfile=root / "baseline" / "Dockerfile", no_cache=False)
        reports[name] = grade("fastapi", dockerfile, config=config)
    yield reports
    remove_test_images(docker_client)
    for image in docker_client.images.list(filters={"label": "io.docker-diet-workshop.role=naive"}):
        if any("custom" in tag for tag in image.tags):
            docker_client.images.remove(image.id, force=True)


def status(report: Report, check_id: str) -> Status:
    return report.check(check_id).status


CHECKS = ["builds", "size", "beats-article", "reduction", "non-root", "no-compilers", "healthcheck",
          "healthcheck-meaningful", "no-dev-dependencies", "no-caches", "no-junk", "no-secrets", "multi-stage",
          "layer-waste", "context-size"]


def test_good_and_bad_images_were_graded_and_left_no_container(
    built: dict[str, Report], docker_client: docker.DockerClient
) -> None:
    for report in built.values():
        assert report.error is None, report.error
        assert report.build is not None and grader_containers(docker_client, report.build.image_id) == []


@pytest.mark.parametrize("check_id", CHECKS)
def test_check_passes_on_the_good_image(built: dict[str, Report], check_id: str) -> None:
    check = built["good"].check(check_id)
    assert check.status is Status.PASS, check.message


@pytest.mark.parametrize("check_id", [c for c in CHECKS if c not in ("builds", "healthcheck")])
def test_check_fails_on_the_bad_image(built: dict[str, Report], check_id: str) -> None:
    check = built["bad"].check(check_id)
    assert check.status is Status.FAIL, check.message


def test_good_image_scores_full_marks_and_exits_0(built: dict[str, Report]) -> None:
    assert built["good"].exit_code == 0 and built["good"].percent == 100.0


def test_bad_image_exits_1_and_names_what_it_found(built: dict[str, Report]) -> None:
    bad = built["bad"]
    assert bad.exit_code == 1
    messages = {c.id: c.message for c in bad.checks}
    assert "gcc-12" in messages["no-compilers"]
    assert ".env.production" in messages["no-secrets"]
    assert "typescript" in messages["no-dev-dependencies"]
    assert "pip cache" in messages["no-caches"]
    assert "RUN head -c 12000000" in messages["layer-waste"]


def test_a_build_failure_skips_everything_and_exits_2(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    dockerfile = write_app(tmp_path, "FROM debian:bookworm-slim\nRUN echo one\nRUN echo before-failing && false\n")
    report = grade("fastapi", dockerfile, config=GradeConfig(backend="classic", settings=SETTINGS, app_dir=tmp_path,
                                                             tag="docker-diet-workshop/test-fail:t", baseline=False))
    assert report.exit_code == 2 and report.error is not None and report.error.kind == "build-failed"
    assert report.error.line == 3 and "false" in (report.error.step or "")
    assert any("before-failing" in line for line in report.error.log_tail)
    assert status(report, "builds") is Status.FAIL
    assert all(c.status is Status.SKIPPED for c in report.checks[1:])
    assert docker_client.images.list(filters={"label": "io.docker-diet-workshop.role=graded", "dangling": True}) == []



RUN_FAILURES = {
    "no-healthcheck": ('FROM debian:bookworm-slim\nCMD ["sleep", "60"]\n', "no HEALTHCHECK"),
    "exits-at-once": ('FROM python:3.11-slim\nUSER nobody\n' + HEALTHCHECK + '\n'
                      'CMD ["python", "-c", "import sys; print(\'config missing\'); sys.exit(3)"]\n', "code 3"),
    "command-not-found": ('FROM debian:bookworm-slim\nHEALTHCHECK CMD ["true"]\nCMD ["/app/server"]\n',
                          "could not start"),
    "unknown-user": ('FROM debian:bookworm-slim\nUSER ghost\nHEALTHCHECK CMD ["true"]\nCMD ["sleep", "60"]\n',
                     "could not start"),
}


@pytest.mark.parametrize("case", sorted(RUN_FAILURES))
def test_healthcheck_fails_with_a_clear_message(case: str, tmp_path: Path, docker_client: docker.DockerClient) -> None:
    text, expected = RUN_FAILURES[case]
    dockerfile = write_app(tmp_path, text, "*\n")
    try:
        report = grade("fastapi", dockerfile, config=GradeConfig(settings=SETTINGS, app_dir=tmp_path, baseline=False,
                                                                 tag=f"docker-diet-workshop/test-{case}:t"))
        assert report.build is not None, report.error
        assert grader_containers(docker_client, report.build.image_id) == [], "a grader container was left behind"
    finally:
        remove_test_images(docker_client)
    check = report.check("healthcheck")
    assert report.exit_code == 1 and check.status is Status.FAIL, (report.error, check, report.run)
    assert expected in check.message, (check.message, report.run)
    assert status(report, "size") is Status.FAIL  # health gates size
    if case == "exits-at-once":
        assert "config missing" in check.message, (check.message, report.run)


def test_healthcheck_meaningful_is_judged_when_the_image_has_nothing_that_waits(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    text = ('FROM debian:bookworm-slim\nRUN rm /usr/bin/sleep\nHEALTHCHECK CMD ["true"]\n'
            'CMD ["tail", "-f", "/dev/null"]\n')
    dockerfile = write_app(tmp_path, text, "*\n")
    try:
        report = grade("fastapi", dockerfile, config=GradeConfig(settings=SETTINGS, app_dir=tmp_path, baseline=False,
                                                                 tag="docker-diet-workshop/test-nowaiter:t"))
    finally:
        remove_test_images(docker_client)
    check = report.check("healthcheck-meaningful")
    assert status(report, "healthcheck") is Status.PASS
    assert check.status is Status.FAIL and check.max_points == 5, (check, report.run)
    assert "passed when the app never started" in check.message, check.message
