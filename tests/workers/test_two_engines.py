"""Two workers on two real engines (the shared one and a second dockerd, tests/workers/second_engine.py) grade one
class through one Redis: every submission graded exactly once, both engines did some of the work, and the shared
engine's docker0 bridge is untouched. The class builds offline (the second engine has no network)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import docker
import redis
from course.helpers import EXERCISE

from grader.api import GradeConfig
from grader.course.classroom import grade_class
from grader.queue.submit import QueueRun
from grader.queue.tasks import tag_prefix

from .conftest import RedisServer, Worker
from .second_engine import BASES, SecondEngine, docker0_state, offline_class
from .test_queue import Recorder, graded_once

COUNT = 8


def _graded_by(events: Recorder) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, event, _ in events.seen:
        if event.state == "graded":
            counts[event.worker] = counts.get(event.worker, 0) + 1
    return counts


def test_two_workers_on_two_engines_grade_each_submission_once(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    subs = offline_class(tmp_path / "subs", COUNT)
    bridge = docker0_state()
    with SecondEngine() as engine:
        engine.load(BASES)
        second = docker.DockerClient(base_url=engine.url)
        since = int(time.time())
        client = redis.Redis(port=redis_server.port)
        workers = [Worker(redis_server.url, "main-engine", tmp_path / "a.log", concurrency=2),
                   Worker(redis_server.url, "second-engine", tmp_path / "b.log", concurrency=2,
                          env=dict(os.environ, DOCKER_HOST=engine.url))]
        events = Recorder()
        try:
            for worker in workers:
                worker.wait_ready(client)
            result = grade_class(subs, tmp_path / "out", config=GradeConfig(baseline=False), exercises=(EXERCISE,),
                                 queue=QueueRun(redis_server.url, on_event=events, wait_s=600))
        finally:
            codes = [worker.stop() for worker in workers]
        starts = list(second.events(since=since, until=int(time.time()) + 1, decode=True,
                                    filters={"type": "container", "event": "start"}))
        left = [tag for image in second.images.list() for tag in image.tags if tag_prefix("second-engine") in tag]
        second.close()
        assert docker0_state() == bridge, "the second engine leaves the shared engine's bridge alone"
    assert docker0_state() == bridge
    assert codes == [0, 0], [w.output()[-2000:] for w in workers]
    assert not result.interrupted and len(result.graded) == COUNT
    assert all(not outcome.report.get("error") for outcome in result.graded), result.graded[0].report
    assert graded_once(redis_server.url, events) == {f"learner{i:03d}/{EXERCISE}": 1 for i in range(COUNT)}
    by = _graded_by(events)
    assert sum(by.values()) == COUNT and by.get("main-engine", 0) > 0 and by.get("second-engine", 0) > 0, by
    assert len(starts) >= by["second-engine"], "the second worker ran its containers on the second engine"
    assert left == [], "the second engine's worker removed its images"
