"""Learners never share anything, and results are never stale.

- `Bob` and `bob-cd9fb1` used to map to one slug, so one image tag and one report folder: now each submission
  has its own tag and folder, and a real class run keeps their grades apart.
- Every cache key (grade-class state, run results, baselines) changes when the Dockerfile, the ignore file, the
  app, grading.toml, a base image's id or the grader changes; `--fresh` and `--no-cache` forget remembered runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import docker
import pytest

import grader.api
from grader.api import GradeConfig, exercise_fingerprints
from grader.cache_keys import inputs_digest
from grader.cli.workshop import main
from grader.course.classroom import _slug, find_jobs, grade_class, job_tag, read_state
from grader.engine.baseline import _key
from grader.paths import APPS_DIR, PROJECT_LABEL
from grader.settings import load_settings

EXERCISE = "fastapi"
QUICK = GradeConfig(baseline=False, lint=False, build_timeout_s=300)


def test_colliding_names_get_distinct_slugs_tags_and_folders(tmp_path: Path) -> None:
    names = ["Bob", "bob-cd9fb1", "bob", "BOB", "bob-" + "0" * 12, "élan", "e-lan", "a" * 70, "a" * 71]
    assert len({_slug(n) for n in names}) == len(names)
    for name in names:
        (tmp_path / name / EXERCISE).mkdir(parents=True)
        (tmp_path / name / EXERCISE / "Dockerfile").write_text("FROM python:3.11-slim\n")
    jobs = find_jobs(tmp_path, (EXERCISE,))
    tags = [job_tag(job) for job in jobs]
    assert len(set(tags)) == len(jobs) and all(len(tag) <= 128 for tag in tags)


def test_bob_and_bob_cd9fb1_keep_their_own_grades(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    subs = tmp_path / "subs"
    for name, code in (("Bob", 3), ("bob-cd9fb1", 4)):
        (subs / name / EXERCISE).mkdir(parents=True)
        (subs / name / EXERCISE / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN exit {code}\n")
    out = tmp_path / "grades"
    grade_class(subs, out, jobs=2, config=QUICK, exercises=(EXERCISE,))
    folders = sorted(p.name for p in (out / "reports").iterdir())
    pages = sorted(p.name for p in (out / "students").iterdir())
    assert len(folders) == 2 and len(pages) == 2
    import jsonschema

    from grader.reporters.json_report import schema

    for name, code in (("Bob", 3), ("bob-cd9fb1", 4)):
        report = json.loads((out / "reports" / _slug(name) / f"{EXERCISE}.json").read_text())
        assert f"exit code: {code}" in report["error"]["message"] + "".join(report["error"]["log_tail"])
        jsonschema.validate(report, schema())  # grade-class writes what its own schema accepts


# ---------------------------------------------------------------- nothing stale


def test_inputs_digest_changes_with_every_input() -> None:
    settings = load_settings(EXERCISE)
    base = dict(dockerfile="FROM python:3.11-slim\n", dockerignore=None, context_sha256="c1", settings=settings,
                base_ids={"python:3.11-slim": "sha256:a"})
    first = inputs_digest(**base)  # type: ignore[arg-type]
    variants = [dict(dockerfile="FROM python:3.11-slim\n#x\n"), dict(dockerignore=""), dict(context_sha256="c2"),
                dict(settings=replace(settings, size_threshold_bytes=1)), dict(base_ids={"python:3.11-slim": "b"})]
    assert all(inputs_digest(**{**base, **v}) != first for v in variants)  # type: ignore[arg-type]


def test_class_state_is_due_again_when_settings_app_or_a_base_change(
        tmp_path: Path, docker_client: docker.DockerClient) -> None:
    api = docker_client.api
    app = tmp_path / "app"
    shutil.copytree(APPS_DIR / EXERCISE, app, ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    settings = replace(load_settings(EXERCISE), extra_bases=("docker-diet-workshop-test/stale:base",))
    config = replace(QUICK, app_dir=app, settings=settings)
    first = exercise_fingerprints(api, (EXERCISE,), config)
    assert exercise_fingerprints(api, (EXERCISE,), config) == first
    changed_settings = replace(config, settings=replace(settings, size_threshold_bytes=1))
    assert exercise_fingerprints(api, (EXERCISE,), changed_settings) != first
    (app / "main_extra.py").write_text("# the instructor fixed the app\n")
    after_app = exercise_fingerprints(api, (EXERCISE,), config)
    assert after_app != first
    image, _ = docker_client.images.build(fileobj=io.BytesIO(b"FROM python:3.11-slim\nLABEL v=2\n"), rm=True,
                                          labels={PROJECT_LABEL + ".role": "stale-test"})
    try:
        docker_client.api.tag(image.id, "docker-diet-workshop-test/stale", "base", force=True)
        assert exercise_fingerprints(api, (EXERCISE,), config) != after_app, "a base image's id is in the key"
    finally:
        docker_client.images.remove("docker-diet-workshop-test/stale:base", force=True)


def test_baseline_key_includes_the_base_image_id(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    text = "FROM docker-diet-workshop-test/stale:baseline\n"
    (tmp_path / "app").mkdir()
    before = _key(docker_client.api, text, tmp_path / "app")
    image, _ = docker_client.images.build(fileobj=io.BytesIO(b"FROM python:3.11-slim\nLABEL v=3\n"), rm=True,
                                          labels={PROJECT_LABEL + ".role": "stale-test"})
    try:
        docker_client.api.tag(image.id, "docker-diet-workshop-test/stale", "baseline", force=True)
        assert _key(docker_client.api, text, tmp_path / "app") != before
    finally:
        docker_client.images.remove("docker-diet-workshop-test/stale:baseline", force=True)


@pytest.mark.parametrize("flag", ["--fresh", "--no-cache"])
def test_fresh_and_no_cache_forget_remembered_runs(flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    docker_client: docker.DockerClient) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "stale.pickle").write_bytes(b"an old run result")
    monkeypatch.setattr(grader.api, "RUN_CACHE_DIR", runs)
    subs = tmp_path / "subs"
    (subs / "ada" / EXERCISE).mkdir(parents=True)
    (subs / "ada" / EXERCISE / "Dockerfile").write_text("FROM python:3.11-slim\nRUN exit 5\n")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = main(["grade-class", str(subs), "--output", str(tmp_path / "out"), "--exercise", EXERCISE,
                     "--jobs", "1", flag])
    assert code == 0 and not (runs / "stale.pickle").exists()
    assert list(read_state(tmp_path / "out" / "state.jsonl")) == ["ada/fastapi"]
