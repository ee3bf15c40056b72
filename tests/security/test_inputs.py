"""Submissions read safely and never a traceback: one test per attack of issue 9's sections 4 and 5.

Each learner file is a link, a FIFO, a device, too big, not UTF-8 or malformed; each ends in exit 2 with a
message naming the file (and line), and a class run with such folders still grades everyone. The Dockerfile
front end accepts what Docker builds (BOM, CRLF, blank and comment lines inside a continuation), checked by real
builds on both back ends, and a dropped engine connection is "could not grade", not the learner's fault.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from grader.api import GradeConfig, grade
from grader.context import assemble_context
from grader.course.classroom import grade_class, read_state
from grader.dockerfile import parse_dockerfile
from grader.engine.build import BuildRequest, choose_builder
from grader.engine.daemon import buildx_available
from grader.paths import PROJECT_LABEL, REPO_ROOT

EXERCISE = "fastapi"
QUICK = GradeConfig(baseline=False, lint=False, build_timeout_s=300)


def _error(folder: Path, **kwargs: object) -> tuple[str, str]:
    report = grade(EXERCISE, folder / "Dockerfile", config=QUICK, **kwargs)  # type: ignore[arg-type]
    assert report.exit_code == 2 and report.error is not None and report.score == 0
    return report.error.kind, report.error.message


def test_symlinked_dockerfile_to_environ_is_refused_and_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").symlink_to("/proc/self/environ")
    kind, message = _error(tmp_path)
    assert kind == "dockerfile" and str(tmp_path / "Dockerfile") in message and "symbolic link" in message
    assert "PATH=" not in message


def test_symlinked_dockerignore_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / ".dockerignore").symlink_to("/proc/self/environ")
    kind, message = _error(tmp_path)
    assert ".dockerignore" in message and "symbolic link" in message


def test_fifo_dockerfile_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "Dockerfile")
    kind, message = _error(tmp_path)
    assert "FIFO" in message and "Dockerfile" in message


def test_device_dockerfile_is_refused(tmp_path: Path) -> None:
    os.mknod(tmp_path / "Dockerfile", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero
    kind, message = _error(tmp_path)
    assert "character device" in message


def test_dockerfile_over_1_mb_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n" + "# padding\n" * 110_000)
    kind, message = _error(tmp_path)
    assert "limit is 1,000,000" in message


def test_non_utf8_dockerfile_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM python:3.11-slim\n# caf\xe9\n")
    kind, message = _error(tmp_path)
    assert "line 2" in message and "UTF-8" in message


def test_non_utf8_dockerignore_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / ".dockerignore").write_bytes(b"\xff\xfe*.pyc\n")
    kind, message = _error(tmp_path)
    assert ".dockerignore" in message and "UTF-8" in message


@pytest.mark.docker  # the .dockerignore is compiled with the build context, after the engine answers
def test_invalid_dockerignore_pattern_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / ".dockerignore").write_text("node_modules\n[z-a]\n")
    kind, message = _error(tmp_path)
    assert ".dockerignore, line 2" in message and "[z-a]" in message


def test_unclosed_quote_in_from_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM "node:20\n')
    kind, message = _error(tmp_path)
    # Read as the builder reads it (grader/build_args.py): the message names the line and the unclosed quote.
    assert kind == "dockerfile" and "Line 1" in message and "matching double-quote" in message


def test_unreadable_files_and_folders_as_a_normal_user() -> None:
    """Root reads everything, so the permission case runs as `nobody`: a per-file error, not an exception.

    Everything `nobody` needs (a copy of the grader package, the submission) sits in a folder it may enter, so the
    only thing it cannot read is the Dockerfile itself, wherever the repository is checked out."""
    base = Path(tempfile.mkdtemp(prefix="workshop-nobody-"))
    try:
        base.chmod(0o755)
        shutil.copytree(REPO_ROOT / "grader", base / "code" / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        dockerfile = base / "subs" / "locked" / EXERCISE / "Dockerfile"
        dockerfile.parent.mkdir(parents=True)
        dockerfile.write_text("FROM python:3.11-slim\n")
        dockerfile.chmod(0o000)
        for folder in (base / "code", *(p for p in dockerfile.parents if base in p.parents)):
            folder.chmod(0o755)
        code = ("import sys; from pathlib import Path; from grader.submission_files import read_text;"
                "from grader.errors import UnsafeFile\n"
                "try:\n    read_text(Path(sys.argv[1]))\nexcept UnsafeFile as e:\n    print('REFUSED', e.message)\n")
        python = "/usr/bin/python3"  # the venv may live where `nobody` cannot enter
        result = subprocess.run([python, "-c", code, str(dockerfile)], user="nobody", capture_output=True, text=True,
                                timeout=60, cwd="/", env={"PYTHONPATH": str(base / "code"), "HOME": "/tmp"},
                                check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert "REFUSED" in result.stdout and "Permission denied" in result.stdout, result.stderr[-2000:]


@pytest.fixture
def bad_class(tmp_path: Path) -> Path:
    """A class where every folder is bad in a different way, plus one good (tiny) submission."""
    root = tmp_path / "subs"
    for name in ("link", "fifo", "big", "notutf8", "badignore", "good"):
        (root / name / EXERCISE).mkdir(parents=True)
    (root / "link" / EXERCISE / "Dockerfile").symlink_to("/proc/self/environ")
    os.mkfifo(root / "fifo" / EXERCISE / "Dockerfile")
    (root / "big" / EXERCISE / "Dockerfile").write_bytes(b"#" * 1_200_000)
    (root / "notutf8" / EXERCISE / "Dockerfile").write_bytes(b"FROM python:3.11-slim\nRUN echo \xff\n")
    (root / "badignore" / EXERCISE / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (root / "badignore" / EXERCISE / ".dockerignore").write_text("[z-a]\n")
    (root / "good" / EXERCISE / "Dockerfile").write_text("FROM python:3.11-slim\nRUN exit 3\n")
    (root / "elsewhere").symlink_to(root / "good")  # a student folder that is a link
    return root


def test_bad_folders_never_stop_the_class_run(bad_class: Path, tmp_path: Path,
                                              docker_client: docker.DockerClient) -> None:
    result = grade_class(bad_class, tmp_path / "grades", jobs=2, config=QUICK)
    state = read_state(tmp_path / "grades" / "state.jsonl")
    assert len(state) == 7 and all(entry["summary"].startswith("could not grade") for entry in state.values())
    reports = {o.job.student: o.report["error"]["message"] for o in result.graded}
    assert "symbolic link" in reports["link"] and "FIFO" in reports["fifo"] and "symbolic link" in reports["elsewhere"]
    assert "UTF-8" in reports["notutf8"] and "[z-a]" in reports["badignore"] and "1,000,000" in reports["big"]
    assert "exit code" in reports["good"] or "failed" in reports["good"]


# ---------------------------------------------------------------- accept what Docker accepts, on both back ends

ACCEPTED = {
    "bom-crlf": "\ufeffFROM debian:bookworm-slim\r\nRUN echo one \\\r\n    two > /out\r\n",
    "blank-continuation": "FROM debian:bookworm-slim\nRUN echo one \\\n\n    two > /out\n",
    "comment-continuation": "FROM debian:bookworm-slim\nRUN echo one \\\n# a note\n    two > /out\n",
}


def _backends() -> list[str]:
    return ["classic", "buildx"] if buildx_available() else ["classic"]


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_what_docker_builds_parses_and_builds(name: str, backend: str, tmp_path: Path,
                                              docker_client: docker.DockerClient) -> None:
    text = ACCEPTED[name]
    info = parse_dockerfile(text)
    assert [i.text.split()[:3] for i in info.all_instructions()] == [["RUN", "echo", "one"]]
    (tmp_path / "app").mkdir()
    tag = f"docker-diet-workshop/security-test:accept-{name}-{backend}"
    builder = choose_builder(docker_client.api, backend)
    labels = {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "test"}
    facts = builder.build(BuildRequest(assemble_context(tmp_path / "app", text, None), info, tag, labels,
                                       timeout_s=300))
    try:
        out = docker_client.containers.run(facts.image_id, ["cat", "/out"], remove=True, network_mode="none")
        assert out.decode().split() == ["one", "two"]
    finally:
        docker_client.images.remove(tag, force=True)


# ---------------------------------------------------------------- the engine drops the connection mid-run


@pytest.fixture
def dropping_engine(tmp_path: Path) -> Iterator[str]:
    """A unix socket that answers the ping and the version like an engine, then drops every other request."""
    path = str(tmp_path / "engine.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(65536).decode("latin-1")
                if "/_ping" in request or "/version" in request:
                    body = b'{"ApiVersion": "1.41", "Version": "20.10.24"}' if "/version" in request else b"OK"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"unix://{path}"
    stop.set()
    server.close()


def test_engine_dropping_mid_run_is_could_not_grade_not_the_learner(tmp_path: Path, dropping_engine: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", dropping_engine)
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    report = grade(EXERCISE, tmp_path / "Dockerfile", config=QUICK)
    assert report.exit_code == 2 and report.error is not None
    assert report.error.kind == "error" and "not a problem with the submission" in report.error.message


# ---------------------------------------------------------------- a failed step's message carries its cause


def test_psycopg2_failure_shows_pg_config_under_buildkit(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    assert buildx_available(), "the buildx plugin is needed here (`workshop engine install-buildx`)"
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install --no-binary :all: psycopg2==2.9.9\n")
    report = grade(EXERCISE, tmp_path / "Dockerfile", config=GradeConfig(baseline=False, lint=False,
                                                                         backend="buildx", build_timeout_s=600))
    assert report.error is not None and report.error.kind == "build-failed"
    assert any("pg_config executable not found" in line for line in report.error.log_tail), report.error.log_tail
    assert report.error.message.endswith("The log says: Error: pg_config executable not found."), report.error.message


def test_the_build_context_never_follows_a_link_out_of_the_app(tmp_path: Path) -> None:
    """A link inside the app goes into the context as a link (as `docker build` sends it), never as the file or
    folder it points to, and no ignore pattern reaches outside the app."""
    import tarfile

    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.py").write_text("print('hi')\n")
    (app / "secret").symlink_to("/proc/self/environ")
    (app / "etc").symlink_to("/etc")
    context = assemble_context(app, "FROM python:3.11-slim\n", "!../../etc/passwd\n!/etc/shadow\n")
    with tarfile.open(fileobj=context.tar) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["secret"].issym() and members["etc"].issym()
    assert not any(name.startswith("etc/") or "passwd" in name or "shadow" in name for name in members)
    assert members["src/main.py"].isfile() and members["src/main.py"].size == len("print('hi')\n")
