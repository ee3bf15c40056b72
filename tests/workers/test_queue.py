"""`grade-class --queue` with real workers, a real Redis and the real engine: the same outputs as the local pool,
fair order, positions in line, and a third worker (simulated: a third worker process on the same engine, with
its own name and image tags, standing in for a second Docker host)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import docker
import pytest
import redis
from course.helpers import EXERCISE, write_submission

from grader.api import GradeConfig, connect_engine, exercise_fingerprints
from grader.course.classroom import STATE_NAME, Job, grade_class, read_state
from grader.queue.app import default_concurrency, visibility_timeout
from grader.queue.fingerprint import combine, fingerprint_parts
from grader.queue.store import Event, QueuedJob, Store
from grader.queue.submit import QueueRun, fair_order
from grader.queue.tasks import config_from_job, config_to_job, tag_prefix

from .conftest import RedisServer, Worker

CLASS = {"ada": "solution", "bob": "partial", "cy": "naive", "dee": "broken", "eve": "missing"}


def make_class(root: Path, students: dict[str, str] = CLASS) -> Path:
    for student, kind in students.items():
        write_submission(root / student / EXERCISE, kind)
    return root


def labelled_class(root: Path, count: int, prefix: str = "learner") -> Path:
    """`count` learners with the solution plus a label of their own: one tiny build step each (cache hits)."""
    for i in range(count):
        folder = write_submission(root / f"{prefix}{i:02d}" / EXERCISE, "solution")
        (folder / "Dockerfile").write_text((folder / "Dockerfile").read_text() + f'LABEL learner="{prefix}{i}"\n')
    return root


class Recorder:
    """Collects the progress stream: (key, event, place) in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Event, int | None]] = []

    def __call__(self, key: str, event: Event, place: int | None) -> None:
        self.seen.append((key, event, place))

    def states(self, key: str) -> list[str]:
        return [event.state for k, event, _ in self.seen if k == key]


def graded_once(url: str, run_events: Recorder) -> dict[str, int]:
    """How many times each job's result was stored, read back from the workers' own events in Redis."""
    store = Store(url)
    ids = {event.job_id: key for key, event, _ in run_events.seen if event.job_id != "*"}
    runs = {job_id.split("-")[0] for job_id in ids}
    counts = dict.fromkeys(ids.values(), 0)
    for run in runs:
        for _, event in store.events(run, "0", block_ms=1):
            if event.state == "graded" and "delivered twice" not in event.message and event.job_id in ids:
                counts[ids[event.job_id]] += 1
    return counts


def csv_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_fair_order_puts_every_learners_first_job_before_anyones_second() -> None:
    jobs = [Job(s, e, Path(f"/x/{s}/{e}"), "d") for s in ("a", "b") for e in ("node-api", "fastapi", "combined")]
    jobs.append(Job("c", "fastapi", Path("/x/c/fastapi"), "d"))
    assert [(j.student, j.exercise) for j in fair_order(jobs)] == [
        ("a", "node-api"), ("b", "node-api"), ("c", "fastapi"), ("a", "fastapi"), ("b", "fastapi"),
        ("a", "combined"), ("b", "combined")]


def _job(job_id: str, learner: str) -> QueuedJob:
    return QueuedJob(job_id=job_id, run="r1", learner=learner, exercise=EXERCISE, digest=job_id, fingerprint="f",
                     parts={}, files={"Dockerfile": "FROM scratch\n"}, config={})


def test_twenty_resubmissions_do_not_hold_up_another_learners_first(redis_server: RedisServer) -> None:
    store = Store(redis_server.url)
    for i in range(20):
        store.enqueue(_job(f"a{i}", "ann"))
    store.enqueue(_job("b0", "ben"))
    assert store.position("b0") == 2, "only ann's newest submission is ahead of ben's first"
    assert store.position("a19") == 1 and store.position("a0") is None
    assert not store.is_latest(_job("a0", "ann")) and store.is_latest(_job("a19", "ann"))
    store.take("a19")
    assert store.position("b0") == 1


def test_a_result_is_stored_once_per_digest_and_fingerprint(redis_server: RedisServer) -> None:
    from grader.queue.store import JobResult

    store = Store(redis_server.url)
    job = _job("a1", "ann")
    assert store.store_result(job, JobResult({"score": 1}, "<p>first</p>", 1.0, "w1"))
    assert not store.store_result(job, JobResult({"score": 2}, "<p>second</p>", 1.0, "w2"))
    result = store.result(job)
    assert result is not None and result.worker == "w1" and result.report == {"score": 1}


def test_fingerprint_parts_combine_per_exercise_and_the_config_travels(docker_client: docker.DockerClient) -> None:
    config = GradeConfig(build_timeout_s=42.0, class_mode=True, lint=False)
    assert config_from_job(json.loads(json.dumps(config_to_job(config)))) == config
    api = connect_engine()
    parts = fingerprint_parts(api, EXERCISE, config)
    assert set(parts) == {"settings", "app", "bases", "grader", "how"}
    assert combine(parts) == combine(fingerprint_parts(api, EXERCISE, config))
    assert combine(parts) != combine(fingerprint_parts(api, EXERCISE, GradeConfig()))
    assert exercise_fingerprints(api, [EXERCISE], config)[EXERCISE]  # the local run's own key is untouched
    assert visibility_timeout(600) > 600 + 60 and 2 <= default_concurrency(1) <= default_concurrency(64) == 8
    assert tag_prefix("Host A/1") == "queue-host-a-1-"


def test_three_workers_grade_a_class_exactly_like_the_local_pool(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    subs = make_class(tmp_path / "subs")
    local = grade_class(subs, tmp_path / "local", jobs=2, config=GradeConfig(), exercises=(EXERCISE,))
    assert len(local.graded) == len(CLASS)
    client = redis.Redis(port=redis_server.port)
    workers = [Worker(redis_server.url, f"w{i}", tmp_path / f"w{i}.log") for i in range(3)]
    events = Recorder()
    try:
        for worker in workers:
            worker.wait_ready(client)
        started = time.monotonic()
        queued = grade_class(subs, tmp_path / "queued", config=GradeConfig(), exercises=(EXERCISE,),
                             queue=QueueRun(redis_server.url, on_event=events, wait_s=900))
        print(f"queued run: {time.monotonic() - started:.1f} s")
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0, 0], [w.output()[-2000:] for w in workers]
    assert not queued.interrupted and len(queued.graded) == len(CLASS)
    assert (tmp_path / "queued" / "grades.csv").read_text() == (tmp_path / "local" / "grades.csv").read_text()
    local_json = json.loads((tmp_path / "local" / "grades.json").read_text())
    queued_json = json.loads((tmp_path / "queued" / "grades.json").read_text())
    assert [(e["student"], e["report"]["score"], sorted(e["report"])) for e in queued_json] == \
        [(e["student"], e["report"]["score"], sorted(e["report"])) for e in local_json]
    for student in CLASS:
        page = (tmp_path / "queued" / "students" / f"{student}.html").read_text()
        assert page.split("<ul>")[1].split("</ul>")[0] == \
            (tmp_path / "local" / "students" / f"{student}.html").read_text().split("<ul>")[1].split("</ul>")[0]
    assert set(read_state(tmp_path / "queued" / STATE_NAME)) == {f"{s}/{EXERCISE}" for s in CLASS}
    built = [s for s in CLASS if s != "eve"]  # eve has no Dockerfile: said at once, never queued
    for student in built:
        states = events.states(f"{student}/{EXERCISE}")
        assert states[0] == "queued" and states[-1] == "graded" and "building" in states, (student, states)
    assert any(place for _, event, place in events.seen if event.state == "queued"), "positions are shown"
    assert graded_once(redis_server.url, events) == {f"{s}/{EXERCISE}": 1 for s in built}
    leftovers = [tag for image in docker_client.images.list(name=f"docker-diet-workshop/{EXERCISE}")
                 for tag in image.tags if any(f":{tag_prefix(w.name)}" in tag for w in workers)]
    assert leftovers == [], "each worker removes every image it made"


def test_the_command_line_streams_each_state_with_the_place_in_line(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    import contextlib
    import io

    from grader.cli.workshop import main

    subs = labelled_class(tmp_path / "subs", 2, prefix="cli")
    worker = Worker(redis_server.url, "cli", tmp_path / "cli.log", concurrency=2)
    try:
        worker.wait_ready(redis.Redis(port=redis_server.port))
        with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as said:
            code = main(["grade-class", str(subs), "--output", str(tmp_path / "out"), "--exercise", EXERCISE,
                         "--queue", redis_server.url])
    finally:
        worker.stop()
    assert code == 0, err.getvalue()
    assert f"cli00/{EXERCISE}: queued (#1 in line)" in err.getvalue()
    assert f"cli01/{EXERCISE}: queued (#2 in line)" in err.getvalue()
    assert f"cli00/{EXERCISE}: building on cli" in err.getvalue()
    assert f"cli01/{EXERCISE}: graded on cli: " in err.getvalue()
    assert "Graded 2 submissions" in said.getvalue()


def test_bad_queue_urls_and_a_missing_engine_exit_2_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import io

    from grader.cli.workshop import main

    subs = make_class(tmp_path / "subs", {"ada": "solution"})
    for argv in (["grade-class", str(subs), "--queue", "http://broker:6379"], ["worker", "--queue", "broker:6379"]):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            assert main(argv) == 2
        assert "redis://HOST:6379/0" in err.getvalue()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["worker", "--queue", "redis://127.0.0.1:1/0"]) == 2
    assert "No Docker engine answers" in err.getvalue()
