"""`workshop worker --queue redis://HOST:PORT/N`: serve grading jobs for the engine this machine reaches.

One worker per Docker host, next to its engine: images are built, probed and removed where they live. The worker
serves one queue per exercise, named after its own copy's fingerprint (grader.queue.fingerprint), so it only
receives jobs submitted against the same apps, bases, settings and grader; it checks again before each job and
refuses (the job goes back to the queue) if its copy changed. Ctrl-C or SIGTERM is Celery's warm shutdown: the
running jobs finish and are acknowledged, nothing new is taken; then every image and container tagged by this
worker is removed (grader.queue.tasks.tag_prefix), as they are at start (after a SIGKILL).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import docker

from grader.api import ENGINE_ERRORS, GradeConfig, connect_engine
from grader.paths import EXERCISES, PROJECT_LABEL
from grader.queue.app import default_concurrency, make_app, queue_name, visibility_timeout
from grader.queue.fingerprint import copy_fingerprint, fingerprint_parts
from grader.queue.store import HEARTBEAT_S, Store
from grader.queue.tasks import WorkerContext, set_context, tag_prefix

__all__ = [
    "WorkerPlan",
    "plan_worker",
    "run_worker",
    "sweep",
]


class WorkerPlan:
    """What a worker will serve: its name, concurrency, queues and fingerprints (also its heartbeat)."""

    def __init__(self, name: str, concurrency: int, engine: str, prints: dict[str, dict[str, str]]) -> None:
        self.name, self.concurrency, self.engine, self.prints = name, concurrency, engine, prints

    @property
    def queues(self) -> list[str]:
        return [queue_name(exercise, copy_fingerprint(parts)) for exercise, parts in self.prints.items()]

    def heartbeat(self) -> dict[str, Any]:
        return {"name": self.name, "engine": self.engine, "concurrency": self.concurrency, "queues": self.queues,
                "fingerprints": self.prints, "pid": os.getpid(), "seen": time.time()}


def plan_worker(api: Any, *, name: str | None = None, concurrency: int | None = None,
                exercises: Sequence[str] = EXERCISES) -> WorkerPlan:
    cpus = None
    try:
        cpus = int(api.info().get("NCPU") or 0) or None
    except ENGINE_ERRORS:
        pass
    prints = {exercise: fingerprint_parts(api, exercise, GradeConfig()) for exercise in exercises}
    return WorkerPlan(name or f"{socket.gethostname()}-{os.getpid()}", concurrency or default_concurrency(cpus),
                      str(getattr(api, "base_url", "")), prints)


def sweep(api: Any, worker: str) -> int:
    """Remove this worker's images (and any container made from them); returns how many images went."""
    prefix = tag_prefix(worker)
    removed = 0
    try:
        images = api.images(filters={"label": PROJECT_LABEL})
        mine = {image["Id"] for image in images
                if any(tag.split(":", 1)[-1].startswith(prefix) for tag in image.get("RepoTags") or ())}
        for container in api.containers(all=True, filters={"label": PROJECT_LABEL}):
            if container.get("ImageID") in mine:
                api.remove_container(container["Id"], force=True)
        for image_id in mine:
            try:
                api.remove_image(image_id, force=True)
                removed += 1
            except docker.errors.APIError:
                pass
    except ENGINE_ERRORS:
        pass  # the engine is gone; the next start sweeps
    return removed


def _beat(store: Store, plan: WorkerPlan, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            store.heartbeat(plan.name, plan.heartbeat())
        except Exception:  # noqa: BLE001 - a broker restart: beat again when it is back
            continue


def run_worker(url: str, *, name: str | None = None, concurrency: int | None = None,
               build_timeout_s: float = GradeConfig().build_timeout_s, exercises: Sequence[str] = EXERCISES,
               visibility_s: float | None = None, log_level: str = "WARNING") -> int:
    """Serve jobs until Ctrl-C or SIGTERM; returns the exit code. Raises NoEngine without an engine."""
    api = connect_engine()
    plan = plan_worker(api, name=name, concurrency=concurrency, exercises=exercises)
    store = Store(url)
    set_context(WorkerContext(plan.name, store, api, prints=plan.prints))
    sweep(api, plan.name)
    store.heartbeat(plan.name, plan.heartbeat())
    stop = threading.Event()
    threading.Thread(target=_beat, args=(store, plan, stop), daemon=True, name="heartbeat").start()
    print(f"Worker {plan.name}: engine {plan.engine}, {plan.concurrency} jobs at once, visibility timeout "
          f"{visibility_s or visibility_timeout(build_timeout_s):.0f} s, queues {', '.join(plan.queues)}", flush=True)
    app = make_app(url, build_timeout_s=build_timeout_s, visibility_s=visibility_s)
    argv = ["worker", "--pool=threads", f"--concurrency={plan.concurrency}", f"--hostname={plan.name}@ddw",
            f"--queues={','.join(plan.queues)}", "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--loglevel={log_level}"]
    code = 0
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        stop.set()
        try:
            store.leave(plan.name)
        except Exception:  # noqa: BLE001 - the broker is gone; the heartbeat expires on its own
            pass
        removed = sweep(api, plan.name)
        print(f"Worker {plan.name} stopped; removed {removed} image(s) it had made.", flush=True)
    return code
