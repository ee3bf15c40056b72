"""The queue when things go wrong, on a real Redis and the real engine: a worker SIGKILLed mid-build, the broker
restarted mid-run, and a worker whose copy of the apps differs from the submitter's."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import docker
import redis
from course.helpers import EXERCISE, write_submission

from grader.api import GradeConfig, connect_engine
from grader.course.classroom import STATE_NAME, ClassResult, grade_class, read_state
from grader.paths import REPO_ROOT
from grader.queue.store import Store
from grader.queue.submit import QueueRun
from grader.queue.worker import sweep

from .conftest import RedisServer, Worker
from .test_queue import Recorder, csv_rows, graded_once

VISIBILITY = "40"  # seconds before a lost worker's job goes to another; above any grading of these tiny builds


def slow_class(root: Path, count: int, seconds: int) -> Path:
    """`count` learners: the solution plus a step that takes `seconds` and is their own (never a cache hit)."""
    for i in range(count):
        folder = write_submission(root / f"learner{i:02d}" / EXERCISE, "solution")
        text = (folder / "Dockerfile").read_text()
        (folder / "Dockerfile").write_text(f"{text}RUN sleep {seconds} && echo 'learner {i} {time.time_ns()}'\n")
    return root


class Run(threading.Thread):
    """grade-class --queue in a thread, so the test can break things while it runs."""

    def __init__(self, subs: Path, output: Path, url: str, events: Recorder) -> None:
        super().__init__(daemon=True)
        self.args = (subs, output, url, events)
        self.result: ClassResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        subs, output, url, events = self.args
        try:
            self.result = grade_class(subs, output, config=GradeConfig(), exercises=(EXERCISE,),
                                      queue=QueueRun(url, on_event=events, wait_s=900))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            self.error = exc

    def finish(self, timeout: float = 900) -> ClassResult:
        self.join(timeout)
        assert not self.is_alive(), "the run did not finish"
        assert self.error is None, repr(self.error)
        assert self.result is not None and not self.result.interrupted
        return self.result


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_worker_killed_mid_build_has_its_job_graded_by_another_exactly_once(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    subs, out = slow_class(tmp_path / "subs", 4, 8), tmp_path / "out"
    client = redis.Redis(port=redis_server.port)
    doomed = Worker(redis_server.url, "doomed", tmp_path / "doomed.log", extra=("--visibility-timeout", VISIBILITY))
    doomed.wait_ready(client)
    events = Recorder()
    run = Run(subs, out, redis_server.url, events)
    run.start()
    wait_for(lambda: any(e.state == "building" and e.worker == "doomed" for _, e, _ in events.seen), 300,
             "the first build")
    victim = next(key for key, e, _ in events.seen if e.state == "building" and e.worker == "doomed")
    doomed.kill()  # SIGKILL, mid-build: no acknowledgement, no clean-up
    rescuer = Worker(redis_server.url, "rescuer", tmp_path / "rescuer.log", concurrency=2,
                     extra=("--visibility-timeout", VISIBILITY))
    try:
        result = run.finish()
    finally:
        assert rescuer.stop() == 0, rescuer.output()[-3000:]
        sweep(connect_engine(), "doomed")  # what `workshop worker --name doomed` does when it starts again
    assert len(result.graded) == 4
    rows = csv_rows(out / "grades.csv")
    assert {row["status"] for row in rows.values()} == {"graded"}, rows
    assert len(read_state(out / STATE_NAME)) == 4
    assert graded_once(redis_server.url, events) == {f"learner{i:02d}/{EXERCISE}": 1 for i in range(4)}
    graders = {key: e.worker for key, e, _ in events.seen if e.state == "graded"}
    assert graders[victim] == "rescuer", (victim, graders)


def test_the_run_completes_when_the_broker_restarts_mid_run(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    subs, out = slow_class(tmp_path / "subs", 6, 3), tmp_path / "out"
    client = redis.Redis(port=redis_server.port)
    workers = [Worker(redis_server.url, f"r{i}", tmp_path / f"r{i}.log", extra=("--visibility-timeout", "60"))
               for i in range(2)]
    try:
        for worker in workers:
            worker.wait_ready(client)
        events = Recorder()
        run = Run(subs, out, redis_server.url, events)
        run.start()
        wait_for(lambda: any(e.state == "graded" for _, e, _ in events.seen), 600, "the first result")
        redis_server.stop()
        time.sleep(3)
        redis_server.start()  # the same port and data folder: the append-only file brings everything back
        result = run.finish()
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0], [w.output()[-3000:] for w in workers]
    assert len(result.graded) == 6
    assert {row["status"] for row in csv_rows(out / "grades.csv").values()} == {"graded"}
    assert set(graded_once(redis_server.url, events).values()) == {1}, "each submission stored once"


def _copy_of_the_workshop(folder: Path) -> Path:
    """Another machine's checkout: the grader, the apps and the exercises' settings."""
    for name in ("grader", "apps", "exercises"):
        shutil.copytree(REPO_ROOT / name, folder / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", ".venv"))
    return folder


def test_a_worker_whose_apps_differ_refuses_the_job_and_the_submitter_sees_why(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    subs = slow_class(tmp_path / "subs", 1, 1)
    copy = _copy_of_the_workshop(tmp_path / "elsewhere")
    client = redis.Redis(port=redis_server.port)
    env = dict(os.environ, PYTHONPATH=str(copy))
    odd = Worker(redis_server.url, "odd", tmp_path / "odd.log", env=env, cwd=copy)
    odd.wait_ready(client)
    assert Store(redis_server.url).workers()["odd"]["queues"], "it serves its copy's queue, the same as ours"
    main_py = next((copy / "apps" / EXERCISE).rglob("*.py"))
    main_py.write_text(main_py.read_text() + "\n# edited on the other machine\n")  # its copy changes under it
    events = Recorder()
    run = Run(subs, tmp_path / "out", redis_server.url, events)
    run.start()
    good: Worker | None = None
    try:
        wait_for(lambda: any(e.state == "refused" for _, e, _ in events.seen), 300, "the refusal")
        refusal = next(e for _, e, _ in events.seen if e.state == "refused")
        assert refusal.worker == "odd" and f"the app's files (apps/{EXERCISE}/)" in refusal.message, refusal
        wait_for(lambda: any(e.state == "waiting" and "worker odd differs in the app's files" in e.message
                             for _, e, _ in events.seen), 60, "the submitter's notice that no worker matches")
        good = Worker(redis_server.url, "good", tmp_path / "good.log")
        result = run.finish()
    finally:
        for worker in (odd, *([good] if good else [])):
            worker.stop()
    assert len(result.graded) == 1 and not result.graded[0].report.get("error")
    assert [e.worker for _, e, _ in events.seen if e.state == "graded"] == ["good"]


def test_an_engine_that_stops_mid_build_is_retried_never_the_learners_fail(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    from .conftest import EngineProxy

    subs = slow_class(tmp_path / "subs", 1, 6)
    proxy = EngineProxy(tmp_path / "engine.sock")
    proxy.start()
    client = redis.Redis(port=redis_server.port)
    flaky = Worker(redis_server.url, "flaky", tmp_path / "flaky.log", env=dict(os.environ, DOCKER_HOST=proxy.url))
    flaky.wait_ready(client)
    events = Recorder()
    run = Run(subs, tmp_path / "out", redis_server.url, events)
    run.start()
    try:
        wait_for(lambda: any(e.state == "building" for _, e, _ in events.seen), 300, "the build")
        time.sleep(1.5)
        proxy.cut()  # the worker's engine stops answering mid-build
        wait_for(lambda: any(e.state == "retried" for _, e, _ in events.seen), 300, "the retry")
        proxy.start()  # and comes back: the retry grades it
        result = run.finish()
    finally:
        proxy.cut()
        flaky.stop()
        sweep(connect_engine(), "flaky")
    retried = next(e for _, e, _ in events.seen if e.state == "retried")
    assert retried.message.startswith("could not grade, retried"), retried
    report = result.graded[0].report
    assert not report.get("error") and report["score"] > 0, report.get("error")


def test_sigterm_finishes_the_running_job_then_leaves_no_image_or_container(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    from grader.paths import PROJECT_LABEL
    from grader.queue.tasks import tag_prefix

    subs = slow_class(tmp_path / "subs", 1, 8)
    client = redis.Redis(port=redis_server.port)
    leaving = Worker(redis_server.url, "leaving", tmp_path / "leaving.log")
    leaving.wait_ready(client)
    events = Recorder()
    run = Run(subs, tmp_path / "out", redis_server.url, events)
    run.start()
    wait_for(lambda: any(e.state == "building" for _, e, _ in events.seen), 300, "the build")
    assert leaving.stop() == 0, leaving.output()[-3000:]  # SIGTERM mid-build: Celery's warm shutdown
    result = run.finish(timeout=60)  # nothing else serves the queue: the job was finished, not dropped
    assert len(result.graded) == 1 and not result.graded[0].report.get("error")
    assert [e.worker for _, e, _ in events.seen if e.state == "graded"] == ["leaving"]
    assert "removed" in leaving.output()
    mine = [tag for image in docker_client.images.list(filters={"label": PROJECT_LABEL}) for tag in image.tags
            if tag.split(":", 1)[-1].startswith(tag_prefix("leaving"))]
    assert mine == []
    containers = docker_client.api.containers(all=True, filters={"label": PROJECT_LABEL})  # no per-container look-up:
    assert not [c["Id"] for c in containers if tag_prefix("leaving") in c.get("Image", "")]  # others' come and go
