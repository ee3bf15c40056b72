"""`workshop serve` with a real Redis, real workers and the real engine: tokens, privacy, limits, the room.

The browser half (a learner submits, the instructor's page updates without a reload) is test_serve_browser.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis
from sqlalchemy import inspect

from grader.paths import REPO_ROOT
from grader.serve.records import add_person, holder_of, open_database, upgrade_database

from .conftest import RedisServer, Worker
from .postgres_server import PostgresServer
from .serving import QUICK_DOCKERFILE, Server, issue_token

EXERCISE = "fastapi"


@pytest.fixture
def server(tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> Iterator[Server]:
    """The live view on a fresh SQLite file; the engine is needed for the jobs' fingerprints."""
    live = Server(redis_server.url, f"sqlite:///{tmp_path / 'serve.sqlite'}", tmp_path / "serve.log")
    try:
        yield live
    finally:
        live.stop()


def _database(server: Server) -> str:
    return server.process.args[server.process.args.index("--db") + 1]  # type: ignore[union-attr,index]


def test_tokens_are_kept_as_digests_and_a_new_one_replaces_the_old(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sessions = open_database(url)
    first = add_person(sessions, "ada")
    assert holder_of(sessions, first) is not None and holder_of(sessions, first).name == "ada"  # type: ignore[union-attr]
    second = add_person(sessions, "ada")
    assert holder_of(sessions, first) is None and holder_of(sessions, second) is not None
    assert first.encode() not in (tmp_path / "db.sqlite").read_bytes()
    assert holder_of(sessions, "") is None and holder_of(sessions, "x" * 10_000) is None


def test_the_schema_comes_from_alembic_and_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    upgrade_database(url)
    sessions = open_database(url)
    tables = set(inspect(sessions.kw["bind"]).get_table_names())
    assert {"people", "submissions", "alembic_version"} <= tables


def test_a_learner_sees_only_their_own_work_and_the_room_needs_the_instructor(server: Server) -> None:
    database = _database(server)
    ada, bob = issue_token(database, "ada"), issue_token(database, "bob")
    teacher = issue_token(database, "teacher", instructor=True)
    with server.client(ada) as as_ada, server.client(bob) as as_bob, server.client(None) as nobody:
        mine = as_ada.post("/api/submissions", json={"exercise": EXERCISE, "files": {"Dockerfile": QUICK_DOCKERFILE}})
        assert mine.status_code == 202, mine.text
        assert mine.json()["state"] == "queued"
        assert as_bob.get(f"/api/submissions/{mine.json()['id']}").status_code == 404
        assert as_bob.get("/api/submissions").json()["submissions"] == []
        assert [s["learner"] for s in as_ada.get("/api/submissions").json()["submissions"]] == ["ada"]
        assert as_ada.get("/api/room").status_code == 403
        assert nobody.get("/api/room").status_code == 401
        assert nobody.post("/api/submissions", json={"exercise": EXERCISE, "files": {}}).status_code == 401
    with server.client(teacher) as as_teacher:
        room = as_teacher.get("/api/room").json()
        assert room["learners"] == ["ada", "bob"] and room["cells"]["ada"][EXERCISE]["state"] == "queued"
        assert as_teacher.post("/api/submissions", json={"exercise": EXERCISE, "files": {"Dockerfile": "x"}}) \
            .status_code == 403, "the instructor's token does not submit as a learner"


def test_uploads_are_size_limited_and_carry_only_the_learners_files(server: Server) -> None:
    token = issue_token(_database(server), "ada")
    with server.client(token) as client:
        huge = client.post("/api/submissions", json={"exercise": EXERCISE, "files": {"Dockerfile": "#" * 300_000}})
        assert huge.status_code == 413 and "KB" in huge.json()["detail"]
        app_file = client.post("/api/submissions", json={"exercise": EXERCISE,
                                                         "files": {"Dockerfile": "FROM scratch\n",
                                                                   "requirements.txt": "evil\n"}})
        assert app_file.status_code == 400 and "Dockerfile" in app_file.json()["detail"]
        assert client.post("/api/submissions", json={"exercise": "../etc", "files": {"Dockerfile": ""}}) \
            .status_code == 400
        assert client.post("/api/submissions", content=b"not json").status_code == 400
        assert client.get("/api/submissions").json()["submissions"] == [], "nothing refused was queued"


def test_a_submission_is_graded_by_a_worker_and_reaches_the_room(
        tmp_path: Path, server: Server, redis_server: RedisServer) -> None:
    database = _database(server)
    ada, teacher = issue_token(database, "ada"), issue_token(database, "teacher", instructor=True)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(QUICK_DOCKERFILE)
    worker = Worker(redis_server.url, "serve-w1", tmp_path / "w1.log")
    try:
        worker.wait_ready(redis.Redis(port=redis_server.port))
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "grader.cli", "submit", EXERCISE, "--to", server.url,
                                 "--token", ada, "--dockerfile", str(dockerfile), "--timeout", "600"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=700)
        print(f"submit -> graded: {time.monotonic() - started:.1f} s")
    finally:
        assert worker.stop() == 0, worker.output()[-2000:]
    assert result.returncode == 1, result.stdout + result.stderr  # graded, and its healthcheck checks fail
    assert "queued" in result.stdout and "Score:" in result.stdout and "healthcheck" in result.stdout
    with server.client(teacher) as as_teacher:
        room = as_teacher.get("/api/room").json()
    cell = room["cells"]["ada"][EXERCISE]
    assert cell["state"] == "graded" and cell["max_score"] > 0 and cell["size_bytes"] > 100_000_000
    assert {"id": "healthcheck", "learners": 1} in room["failing_checks"]
    assert room["sizes"][EXERCISE]["count"] == 1 and room["sizes"][EXERCISE]["article_after_bytes"] > 0


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_results_can_live_in_postgresql_by_url(tmp_path: Path, postgres: PostgresServer,
                                                   redis_server: RedisServer,
                                                   docker_client: docker.DockerClient) -> None:
    live = Server(redis_server.url, postgres.url, tmp_path / "serve.log")
    try:
        ada, teacher = issue_token(postgres.url, "ada"), issue_token(postgres.url, "teacher", instructor=True)
        with live.client(ada) as as_ada:
            posted = as_ada.post("/api/submissions",
                                 json={"exercise": EXERCISE, "files": {"Dockerfile": QUICK_DOCKERFILE}})
            assert posted.status_code == 202, posted.text + live.output()
        with live.client(teacher) as as_teacher:
            assert as_teacher.get("/api/room").json()["cells"]["ada"][EXERCISE]["state"] == "queued"
    finally:
        live.stop()
    sessions = open_database(postgres.url)
    tables = set(inspect(sessions.kw["bind"]).get_table_names())
    assert {"people", "submissions", "alembic_version"} <= tables
    assert holder_of(sessions, ada) is not None


def test_the_notebooks_grade_panel_submits_to_the_room(tmp_path: Path, server: Server,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.notebook.panel import GradePanel

    token = issue_token(_database(server), "ada")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(QUICK_DOCKERFILE)
    (tmp_path / ".dockerignore").write_text("tests\n")
    assert "No live view" in GradePanel(EXERCISE, dockerfile).submit()
    monkeypatch.setenv("WORKSHOP_SERVE_URL", server.url)
    monkeypatch.setenv("WORKSHOP_TOKEN", token)
    panel = GradePanel(EXERCISE, dockerfile)
    said = panel.submit()
    assert said.startswith("Submitted: queued") and said.endswith(f"{server.url}/me"), said
    with server.client(token) as client:
        rows = client.get("/api/submissions").json()["submissions"]
        assert [row["exercise"] for row in rows] == [EXERCISE]
        assert client.get(f"/api/submissions/{rows[0]['id']}").json()["state"] == "queued"
    monkeypatch.setenv("WORKSHOP_TOKEN", "not-a-token")
    assert "401" in GradePanel(EXERCISE, dockerfile).submit()
