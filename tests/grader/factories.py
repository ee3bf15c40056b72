"""Hand-made facts for the pure check tests: every check is tested in milliseconds, without Docker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grader.app_contract import load_contract
from grader.engine.layers import LayerIndex, merge_layers
from grader.model import (
    AppFacts,
    AppProbeFacts,
    BaselineFacts,
    BuildFacts,
    Exchange,
    FileEntry,
    Healthcheck,
    ImageFacts,
    LayerFacts,
    ProbeFacts,
    ProbeWay,
    ProcessSeen,
    RunFacts,
)
from grader.paths import APPS_DIR
from grader.registry import Evidence
from grader.settings import ExerciseSettings

HEALTHCHECK = Healthcheck(test=("CMD", "node", "-e", "require('http').get('http://127.0.0.1:3000/health')"))
SETTINGS = ExerciseSettings(exercise="node-api")


def make_layer(files: Mapping[str, int | str], *, base: bool = False, deleted: Iterable[str] = (),
               opaque: Iterable[str] = (), instruction: str = "RUN something", keys: Iterable[str] = ()) -> LayerFacts:
    """files: path -> size (a file) or "dir" / "symlink"; parents are added as directories."""
    entries: dict[str, FileEntry] = {}
    for path, value in files.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), FileEntry(0, "dir"))
        entries[path] = FileEntry(0, value) if isinstance(value, str) else FileEntry(value, "file")
    return LayerFacts(digest=f"sha256:{abs(hash(tuple(files))):064x}", size_bytes=sum(
        e.size for e in entries.values()), instruction=instruction, from_base=base, files=entries,
        deleted=frozenset(deleted), opaque_dirs=frozenset(opaque), private_keys=frozenset(keys))


def make_image(*layers: LayerFacts, user: str = "", healthcheck: Healthcheck | None = HEALTHCHECK,
               users: Mapping[str, int] | None = None, dpkg: Iterable[str] = (), apk: Iterable[str] = (),
               workdir: str = "/app", size: int = 150_000_000) -> ImageFacts:
    if not layers:
        layers = (make_layer({"usr/bin/node": 90_000_000, "etc/passwd": 500}, base=True),)
    merged = merge_layers([LayerIndex(dict(layer.files), layer.deleted, layer.opaque_dirs, {}, layer.private_keys)
                           for layer in layers])
    return ImageFacts(
        image_id="sha256:" + "ab" * 32, size_bytes=size, user=user, healthcheck=healthcheck, env=(),
        exposed_ports=("3000/tcp",), cmd=("node", "dist/main.js"), entrypoint=None, workdir=workdir,
        layers=tuple(layers), merged=merged, users=users if users is not None else {"root": 0, "node": 1000},
        groups={"root": 0}, dpkg_packages=frozenset(dpkg), apk_packages=frozenset(apk),
    )


def make_ways(probe: str) -> tuple[ProbeWay, ...]:
    """Both ways with the verdict `probe` on the first and "failed-as-expected" on the second."""
    first = ProbeWay("never-started", probe, "detail", runs=5, passes=1 if probe == "passed-without-app" else 0)
    return first, ProbeWay("app-killed", "failed-as-expected", "detail", runs=4)


RANDOM = "0a1b2c3d4e5f"
EMAIL = f"probe-{RANDOM}@example.test"
NOTE = f"Probe note {RANDOM}"
TASK = f"Probe task {RANDOM}"
JSON = "application/json; charset=utf-8"
#: What the real apps answer to their probe.toml's requests (status, content type, body), in order.
GOOD_ANSWERS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "node-api": (
        (201, JSON, f'{{"id":1,"email":"{EMAIL}","name":"Probe User","createdAt":"2026-12-04T15:00:00.000Z"}}'),
        (200, JSON, f'{{"ok":true,"user":{{"id":1,"email":"{EMAIL}","name":"Probe User"}}}}'),
        (401, JSON, '{"error":"invalid credentials"}'),
        (200, JSON, f'[{{"id":1,"email":"{EMAIL}","name":"Probe User"}}]'),
    ),
    "fastapi": (
        (201, "application/json", f'{{"title":"{NOTE}","body":"Written by the grader\'s probe ({RANDOM}).",'
                                  '"id":1,"created_at":"2026-12-04T15:00:00Z"}'),
        (200, "application/json", f'{{"title":"{NOTE}","body":"Written by the grader\'s probe ({RANDOM}).",'
                                  '"id":1,"created_at":"2026-12-04T15:00:00Z"}'),
        (200, "application/json", '{"status":"ok","psycopg2":"2.9.9","libpq":150010,"libpq_major":15}'),
        (200, "application/json", '{"status":"ok"}'),
    ),
    "combined": (
        (200, "text/html; charset=UTF-8", '<!doctype html><html><head><script type="module" crossorigin '
                                          'src="/assets/index-abc.js"></script></head><body><div id="root"></div>'),
        (201, JSON, f'{{"id":4,"title":"{TASK}","done":false}}'),
        (200, JSON, f'[{{"id":1,"title":"Measure","done":false}},{{"id":4,"title":"{TASK}","done":false}}]'),
        (200, JSON, f'{{"id":4,"title":"{TASK}","done":true}}'),
    ),
}
SCRIPT = Exchange("script /assets/index-abc.js", "GET", "/assets/index-abc.js", 200,
                  "application/javascript; charset=UTF-8", "(function(){const e=1;})()", kind="script")


def make_app_probe(app: str = "node-api", answers: dict[int, tuple[int, str, str]] | None = None,
                   assets: tuple[Exchange, ...] = (SCRIPT,), database_note: str | None = None,
                   saved: dict[str, Any] | None = None) -> AppProbeFacts:
    """The app probe of a working app (its real probe.toml); `answers` replaces some by index."""
    contract = load_contract(APPS_DIR / app)
    assert contract is not None
    exchanges = []
    for index, (request, good) in enumerate(zip(contract.requests, GOOD_ANSWERS[app], strict=True)):
        status, content_type, body = (answers or {}).get(index, good)
        exchanges.append(Exchange(request.name, request.method, request.path, status, content_type, body,
                                  assets=assets if request.expect.assets else ()))
    values = {"random": RANDOM, "email": EMAIL, "password": f"right-{RANDOM}", "wrong_password": f"wrong-{RANDOM}",
              "title": NOTE, "body": f"Written by the grader's probe ({RANDOM}).", "task": TASK,
              "user_id": 1, "note_id": 1, "task_id": 4, **(saved or {})}
    return AppProbeFacts("probed", "4 requests sent", contract, tuple(exchanges), tuple(values.items()),
                         database_note, 0.5)


def make_run(health: str | None = "healthy", uid: int | None = 1000, probe: str = "failed-as-expected",
             started: bool = True, exit_code: int | None = None, start_error: str | None = None,
             logs: tuple[str, ...] = (), ways: tuple[ProbeWay, ...] | None = None,
             processes: tuple[ProcessSeen, ...] | None = None, setid_root: tuple[str, ...] | None = (),
             app_probe: AppProbeFacts | None = None) -> RunFacts:
    ways = make_ways(probe) if ways is None else ways
    if processes is None:
        processes = (ProcessSeen(uid, "node"),) if uid is not None else ()
    return RunFacts(started=started, start_error=start_error, health_status=health,
                    health_seconds=0.4 if health == "healthy" else None, exit_code=exit_code, uid=uid,
                    logs_tail=logs, health_log=(),
                    probe=ProbeFacts(probe, "probe detail", ("/.workshop-x/busybox", "sleep", "1"), ways),
                    seconds=1.0, processes=processes, setid_root=setid_root, app_probe=app_probe or make_app_probe())


def make_build(context_bytes: int = 200_000, context_paths: tuple[str, ...] = ()) -> BuildFacts:
    return BuildFacts(image_id="sha256:" + "ab" * 32, tag="t", backend="classic", seconds=3.0,
                      context_bytes=context_bytes, cached_steps=0, total_steps=8, context_paths=context_paths)


def make_evidence(**changes: Any) -> Evidence:
    """A healthy, small, well-built image; each test changes the one thing it is about."""
    values: dict[str, Any] = dict(
        settings=SETTINGS, build=make_build(), image=make_image(user="node"), run=make_run(),
        app=AppFacts(dev_dependencies=frozenset({"typescript", "jest"}), prod_dependencies=frozenset({"express"})),
        baseline=BaselineFacts("sha256:" + "cd" * 32, 1_200_000_000, 300.0), lint_findings=(),
    )
    values.update(changes)
    return Evidence(**values)
