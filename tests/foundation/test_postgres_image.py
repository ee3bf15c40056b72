"""postgres:15, the service image `workshop bases` makes: the official image's interface, offline, without network.

The grader's database launcher (grader/engine/database.py) is written against the official image's contract, so
these tests hold the image to that contract whether it is the official one or our stand-in: POSTGRES_USER,
POSTGRES_PASSWORD and POSTGRES_DB honoured on the first start, `docker-entrypoint.sh` with `postgres` as its command
(extra arguments passed through), the server running as `postgres`, pg_isready and psql on PATH, port 5432.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from grader.bases import recipes, stand_ins
from grader.bases.bundle import BundleImage, BundleManifest, check_tags
from grader.bases.catalog import (
    BASES_BY_TAG,
    REQUIRED_BASES,
    SERVICE_IMAGES,
    BaseGroup,
    BaseSpec,
    BaseState,
    base_status,
)
from grader.paths import PROJECT_LABEL

TAG = "postgres:15"
ENV = {"POSTGRES_USER": "workshop", "POSTGRES_PASSWORD": "s3cret pass", "POSTGRES_DB": "notes"}
READY_TIMEOUT_S = 120  # a safety net on a loaded machine; the measured cold start is a few seconds


def test_postgres_is_a_service_image_that_bases_and_bundles_carry() -> None:
    assert SERVICE_IMAGES == (TAG,)
    assert BASES_BY_TAG[TAG].group is BaseGroup.SERVICE and BASES_BY_TAG[TAG].parent == "debian:bookworm-slim"
    assert TAG in REQUIRED_BASES


def test_a_bundle_listing_postgres_passes_the_tag_check(tmp_path: Path) -> None:
    """check_tags refuses every tag that is not a base: postgres:15 must be one, or bundles could not carry it."""
    images_tar = tmp_path / "images.tar"
    with tarfile.open(images_tar, "w") as archive:
        data = json.dumps([{"Config": "x.json", "RepoTags": [TAG], "Layers": []}]).encode()
        member = tarfile.TarInfo("manifest.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    manifest = BundleManifest(1, "now", (BundleImage(TAG, "sha256:x", 1, "local stand-in"),), "0", 0)
    check_tags(manifest, images_tar)  # raises BundleError for a tag that is not a workshop base


@pytest.mark.docker
def test_postgres_is_present_and_a_stand_in_carries_its_labels(docker_client: docker.DockerClient) -> None:
    status = base_status(docker_client, TAG)
    assert status.present, "run `workshop bases`: postgres:15 is missing"
    if status.state is BaseState.OFFICIAL:
        return  # the official image is its own reference
    labels = docker_client.images.get(TAG).labels
    assert labels[recipes.LABEL_STAND_IN] == TAG
    assert labels[recipes.LABEL_RECIPE] == recipes.RECIPE_VERSION
    assert status.state is BaseState.STAND_IN


@pytest.mark.docker
def test_postgres_has_the_official_entrypoint_command_port_and_pgdata(docker_client: docker.DockerClient) -> None:
    config = docker_client.images.get(TAG).attrs["Config"]
    assert config["Entrypoint"] == ["docker-entrypoint.sh"]
    assert config["Cmd"] == ["postgres"]
    assert "5432/tcp" in config["ExposedPorts"]
    assert "PGDATA=/var/lib/postgresql/data" in config["Env"]


@pytest.fixture
def database(docker_client: docker.DockerClient) -> Iterator[Container]:
    """A cold postgres:15 with no network, listening on its loopback only, as the grader's probe starts it."""
    container = docker_client.containers.run(
        TAG, ["-c", "listen_addresses=127.0.0.1"], detach=True, network_mode="none", environment=ENV,
        labels={PROJECT_LABEL: "test"},
    )
    try:
        yield container
    finally:
        container.remove(force=True, v=True)  # v: the image declares PGDATA a volume, as the official one does


def _wait_ready(container: Container, user: str = ENV["POSTGRES_USER"]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        code, _ = container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1", "-U", user])
        if code == 0:
            return time.monotonic() - started
        container.reload()
        assert container.status == "running", container.logs().decode(errors="replace")[-3000:]
        time.sleep(0.1)
    pytest.fail(f"pg_isready never succeeded: {container.logs().decode(errors='replace')[-3000:]}")


def _psql(container: Container, sql: str, user: str = ENV["POSTGRES_USER"], database: str = ENV["POSTGRES_DB"],
          password: str = ENV["POSTGRES_PASSWORD"]) -> tuple[int, str]:
    code, out = container.exec_run(
        ["psql", "-h", "127.0.0.1", "-U", user, "-d", database, "-w", "-Atc", sql],
        environment={"PGPASSWORD": password}, user="postgres",
    )
    return code, out.decode(errors="replace").strip()


@pytest.mark.docker
def test_postgres_starts_without_network_and_answers_psql_on_loopback(database: Container) -> None:
    _wait_ready(database)
    code, out = _psql(database, "SELECT current_user, current_database(), "
                                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
                                "current_setting('listen_addresses'), current_setting('server_version_num')")
    assert code == 0, out
    user, db, superuser, listen, version = out.split("|")
    assert (user, db, superuser, listen) == ("workshop", "notes", "t", "127.0.0.1")
    assert version.startswith("15")
    code, out = _psql(database, "CREATE TABLE t (n int); INSERT INTO t VALUES (41), (1); SELECT sum(n) FROM t")
    assert (code, out.splitlines()[-1]) == (0, "42")


@pytest.mark.docker
def test_postgres_made_only_the_user_and_database_it_was_asked_for(database: Container) -> None:
    _wait_ready(database)
    code, out = _psql(database, "SELECT 1", database="missing")
    assert code != 0 and 'database "missing" does not exist' in out
    code, out = _psql(database, "SELECT 1", user="postgres", database="postgres")
    assert code != 0 and 'role "postgres" does not exist' in out  # POSTGRES_USER replaced the default superuser


@pytest.mark.docker
def test_postgres_server_processes_run_as_the_postgres_user(database: Container) -> None:
    _wait_ready(database)
    effective_uids = ("id -u postgres; for s in /proc/[0-9]*/status; do "
                      "grep -q '^Name:.*postgres' $s && awk '/^Uid:/{print $3}' $s; done; true")
    code, out = database.exec_run(["sh", "-c", effective_uids])
    assert code == 0
    postgres_uid, *server_uids = out.decode().split()
    assert len(server_uids) >= 3  # the postmaster and its background workers
    assert set(server_uids) == {postgres_uid} and postgres_uid != "0"


@pytest.mark.docker
def test_postgres_refuses_a_first_start_without_a_password(docker_client: docker.DockerClient) -> None:
    container = docker_client.containers.run(TAG, detach=True, network_mode="none", labels={PROJECT_LABEL: "test"})
    try:
        result = container.wait(timeout=READY_TIMEOUT_S)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True, v=True)
    assert result["StatusCode"] != 0
    assert "POSTGRES_PASSWORD" in logs and "POSTGRES_HOST_AUTH_METHOD=trust" in logs


@pytest.mark.docker
def test_postgres_trust_mode_starts_without_a_password_and_passes_server_options(
        docker_client: docker.DockerClient) -> None:
    container = docker_client.containers.run(
        TAG, ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"], detach=True, network_mode="none",
        environment={"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_INITDB_ARGS": "--no-sync"},
        labels={PROJECT_LABEL: "test"},
    )
    try:
        _wait_ready(container, user="postgres")
        code, out = _psql(container, "SHOW fsync", user="postgres", database="postgres", password="")
        assert (code, out) == (0, "off")
    finally:
        container.remove(force=True, v=True)


@pytest.mark.docker
def test_postgres_runs_hardened_as_the_postgres_user_with_no_capabilities(docker_client: docker.DockerClient) -> None:
    """A launcher may drop every capability and start it as `postgres` on tmpfs: no chown or setpriv is needed."""
    container = docker_client.containers.run(
        TAG, ["-c", "listen_addresses=127.0.0.1"], detach=True, network_mode="none", environment=ENV,
        user="postgres", cap_drop=["ALL"], security_opt=["no-new-privileges"],
        tmpfs={"/var/lib/postgresql/data": "uid=999,gid=999,mode=0700", "/var/run/postgresql": "uid=999,gid=999"},
        labels={PROJECT_LABEL: "test"},
    )
    try:
        _wait_ready(container)
        code, out = _psql(container, "SELECT current_database()")
        assert (code, out) == (0, "notes")
    finally:
        container.remove(force=True, v=True)


@pytest.mark.docker
@pytest.mark.parametrize("group", [BaseGroup.SERVICE, BaseGroup.EXERCISE])
def test_a_service_image_that_cannot_be_built_is_reported_but_an_exercise_base_stops_the_run(
        docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, group: BaseGroup) -> None:
    """`workshop bases` still makes the exercise bases when postgres:15 cannot be made (the probe then notes that
    the database is not available); a failing exercise base stops it. A private tag, so nothing shared is touched."""
    spec = BaseSpec("docker-diet-workshop-test-unbuildable:1", "debian:bookworm-slim", 1, group=group)
    recipe = "FROM debian:bookworm-slim\nRUN echo no-apt; exit 3\n"  # fails, so the tag is never made
    monkeypatch.setattr(stand_ins, "_recipe", lambda spec, has_ca: recipe)
    monkeypatch.setattr(stand_ins, "LOG_DIR", tmp_path / "logs")  # the build log stays in the test's folder
    inputs = stand_ins._BuildInputs(tmp_path, (), None, None)  # postgres and this recipe need no prepared input
    if group is BaseGroup.EXERCISE:
        with pytest.raises(stand_ins.BaseBuildError, match="no-apt"):
            stand_ins._make_one(docker_client, spec, None, inputs, False, lambda _: None)
        return
    said: list[str] = []
    outcome = stand_ins._make_one(docker_client, spec, None, inputs, False, said.append)
    assert outcome.action == "failed" and not outcome.status.present
    assert "no-apt" in outcome.note and any("could not make" in line for line in said)


@pytest.mark.docker
def test_doctor_warns_for_a_missing_service_image_and_fails_for_a_missing_exercise_base(
        docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workshop runs without postgres:15 (the probe says the database is not available); not without a base."""
    from grader.bases import doctor

    service = BaseSpec("docker-diet-workshop-test-absent:service", None, 1, group=BaseGroup.SERVICE)
    exercise = BaseSpec("docker-diet-workshop-test-absent:exercise", None, 1)
    monkeypatch.setattr(doctor, "REQUIRED_BASES", (exercise.tag, service.tag, TAG))
    monkeypatch.setattr(doctor, "BASES_BY_TAG", {spec.tag: spec for spec in (exercise, service, BASES_BY_TAG[TAG])})
    lines = {line.name: line for line in doctor._base_lines(docker_client)}
    assert lines[f"base {exercise.tag}"].verdict is doctor.Verdict.FAIL
    assert lines[f"service {service.tag}"].verdict is doctor.Verdict.WARN
    assert "database not available" in lines[f"service {service.tag}"].detail
    assert lines[f"service {TAG}"].verdict is doctor.Verdict.OK
