"""Hand-made facts for the pure check tests: every check is tested in milliseconds, without Docker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grader.engine.layers import LayerIndex, merge_layers
from grader.model import (
    AppFacts,
    BaselineFacts,
    BuildFacts,
    FileEntry,
    Healthcheck,
    ImageFacts,
    LayerFacts,
    ProbeFacts,
    ProbeWay,
    ProcessSeen,
    RunFacts,
)
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


def make_run(health: str | None = "healthy", uid: int | None = 1000, probe: str = "failed-as-expected",
             started: bool = True, exit_code: int | None = None, start_error: str | None = None,
             logs: tuple[str, ...] = (), ways: tuple[ProbeWay, ...] | None = None,
             processes: tuple[ProcessSeen, ...] | None = None, setid_root: tuple[str, ...] | None = ()) -> RunFacts:
    ways = make_ways(probe) if ways is None else ways
    if processes is None:
        processes = (ProcessSeen(uid, "node"),) if uid is not None else ()
    return RunFacts(started=started, start_error=start_error, health_status=health,
                    health_seconds=0.4 if health == "healthy" else None, exit_code=exit_code, uid=uid,
                    logs_tail=logs, health_log=(),
                    probe=ProbeFacts(probe, "probe detail", ("/.workshop-x/busybox", "sleep", "1"), ways),
                    seconds=1.0, processes=processes, setid_root=setid_root)


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
