"""`workshop doctor`: one checklist that says whether this machine can run the workshop, and how to fix it if not."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from enum import Enum

import docker
from docker.errors import DockerException

from grader.bases.catalog import BASES_BY_TAG, REQUIRED_BASES, BaseGroup, BaseState, base_status
from grader.bases.stand_ins import extra_ca_certificates
from grader.engine.daemon import EngineUnavailable, buildx_available, connect, engine_info
from grader.engine.engine_kind import CLASSIC, engine_kind
from grader.engine.toolbox import BUSYBOX_FIX, ToolboxMissing, find_busybox

__all__ = [
    "MIN_FREE_GB",
    "PYTHON_PACKAGES",
    "DoctorLine",
    "Verdict",
    "busybox_line",
    "diagnose",
    "render",
    "run_doctor",
]

#: Below this much free space on the engine's disk a cold build of the three naive images may not fit.
MIN_FREE_GB = 15.0

#: Python packages the workshop uses, and the extra that brings each.
PYTHON_PACKAGES = {
    "docker": "core",
    "rich": "core",
    "jupyterlab": "lab",
    "ipywidgets": "lab",
    "nbclient": "lab",
    "pytest": "test",
}


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class DoctorLine:
    """One line of the checklist: what was checked, the verdict, what was seen, and the fix when not OK."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


def diagnose() -> list[DoctorLine]:
    """Every check, in the order a learner would fix them."""
    try:
        client = connect(timeout=30)
    except EngineUnavailable as exc:
        return [
            DoctorLine("engine", Verdict.FAIL, "no Docker engine answers", str(exc).split("\n(detail")[0]),
            busybox_line(), *_python_lines(),
        ]
    try:
        return [*_engine_lines(client), *_base_lines(client), _registry_line(client), _extra_ca_line(),
                busybox_line(), *_python_lines()]
    finally:
        client.close()


def _reading_line(client: docker.DockerClient) -> DoctorLine:
    """How a grade will read images on this engine (README "Where you run Docker")."""
    kind = engine_kind(client.api)
    in_place = kind.local and kind.image_store == CLASSIC and kind.storage_driver == "overlay2"
    how = ("the engine's overlay2 folders, in place (when this user may read them)" if in_place else
           f"one streamed docker save ({kind.image_store} image store, engine over {kind.transport})")
    return DoctorLine("image reading", Verdict.OK, how)


def _engine_lines(client: docker.DockerClient) -> list[DoctorLine]:
    info = engine_info(client)
    lines = [
        DoctorLine("engine", Verdict.OK, f"Docker {info.version}, API {info.api_version}, {info.operating_system}"),
        DoctorLine(
            "storage driver",
            Verdict.OK if info.storage_driver in ("overlay2", "overlayfs") else Verdict.WARN,
            info.storage_driver,
            "" if info.storage_driver in ("overlay2", "overlayfs") else
            "Grading still works but reads images with `docker save`, which is slower.",
        ),
    ]
    lines.append(_reading_line(client))
    root = info.docker_root if os.path.isdir(info.docker_root) else "/"
    free_gb = shutil.disk_usage(root).free / 1e9
    lines.append(
        DoctorLine(
            "free disk",
            Verdict.OK if free_gb >= MIN_FREE_GB else Verdict.WARN,
            f"{free_gb:.0f} GB free under {root}",
            "" if free_gb >= MIN_FREE_GB else
            f"Free at least {MIN_FREE_GB:.0f} GB (`docker system prune` removes unused images).",
        )
    )
    has_buildx = buildx_available()
    lines.append(
        DoctorLine(
            "BuildKit (buildx)",
            Verdict.OK if has_buildx else Verdict.WARN,
            "docker buildx works" if has_buildx else "not installed: the classic builder will be used",
            "" if has_buildx else "Optional: `sudo workshop engine install-buildx` for cache mounts and COPY --chmod.",
        )
    )
    return lines


def _base_lines(client: docker.DockerClient) -> list[DoctorLine]:
    """One line per image `workshop bases` makes; a missing service image warns (the exercises still work)."""
    lines = []
    for tag in REQUIRED_BASES:
        service = BASES_BY_TAG[tag].group is BaseGroup.SERVICE
        name = f"{'service' if service else 'base'} {tag}"
        status = base_status(client, tag)
        size = f"{status.size_bytes / 1e6:.0f} MB" if status.present else ""
        match status.state:
            case BaseState.OFFICIAL | BaseState.STAND_IN:
                lines.append(DoctorLine(name, Verdict.OK, f"{status.state.value}, {size}"))
            case BaseState.STALE_STAND_IN:
                lines.append(DoctorLine(name, Verdict.WARN, f"{status.state.value}, {size}",
                                        "Run `workshop bases` to rebuild it from the current recipe."))
            case BaseState.ABSENT if service:
                lines.append(DoctorLine(name, Verdict.WARN, "absent: the app probe notes 'database not available'",
                                        "Run `workshop bases` (pulls it, or builds a local stand-in offline)."))
            case BaseState.ABSENT:
                lines.append(DoctorLine(name, Verdict.FAIL, "absent",
                                        "Run `workshop bases` (pulls it, or builds a local stand-in offline)."))
    return lines


def _registry_line(client: docker.DockerClient) -> DoctorLine:
    """Ask the engine for a manifest (no layers are downloaded): tells whether `docker pull` can work here."""
    try:
        client.api.inspect_distribution("debian:bookworm-slim")  # type: ignore[no-untyped-call]
    except DockerException as exc:
        explanation = getattr(exc, "explanation", None) or str(exc)
        reason = str(explanation).splitlines()[0][:100]
        return DoctorLine(
            "container registry", Verdict.WARN, f"not reachable ({reason})",
            "Fine for the workshop: local stand-ins replace the official bases (`workshop bases`).",
        )
    return DoctorLine("container registry", Verdict.OK, "reachable: official base images can be pulled")


def _extra_ca_line() -> DoctorLine:
    certificates = extra_ca_certificates()
    if not certificates:
        return DoctorLine("extra CA certificates", Verdict.OK, "none found (no TLS-inspecting proxy to trust)")
    names = ", ".join(c.name for c in certificates)
    return DoctorLine(
        "extra CA certificates", Verdict.OK,
        f"{len(certificates)} found ({names}): local stand-ins trust them; set WORKSHOP_EXTRA_CA=off to opt out",
    )


def busybox_line() -> DoctorLine:
    """The static busybox the grader copies into its probe containers (healthcheck-meaningful, non-root)."""
    try:
        path = find_busybox()
    except ToolboxMissing as exc:
        return DoctorLine("grader's busybox", Verdict.FAIL, str(exc).split(":")[0], BUSYBOX_FIX)
    return DoctorLine("grader's busybox", Verdict.OK, f"{path} (static): the probes bring their own tools")


def _python_lines() -> list[DoctorLine]:
    missing = {name: extra for name, extra in PYTHON_PACKAGES.items() if importlib.util.find_spec(name) is None}
    if not missing:
        return [DoctorLine("Python packages", Verdict.OK, ", ".join(PYTHON_PACKAGES))]
    core = [name for name, extra in missing.items() if extra == "core"]
    extras = sorted({extra for extra in missing.values() if extra != "core"})
    return [
        DoctorLine(
            "Python packages",
            Verdict.FAIL if core else Verdict.WARN,
            "missing: " + ", ".join(missing),
            f"pip install -e '.[{','.join(extras)}]'" if extras else "pip install -e .",
        )
    ]


def render(lines: list[DoctorLine]) -> str:
    """The checklist as plain text: a verdict column, then the detail, then the fix on its own line."""
    width = max(len(line.name) for line in lines)
    out = []
    for line in lines:
        out.append(f"[{line.verdict.value:>4}] {line.name:<{width}}  {line.detail}")
        if line.fix:
            out.append(f"       {'':<{width}}  -> {line.fix}")
    failures = sum(line.verdict is Verdict.FAIL for line in lines)
    out.append("Ready for the workshop." if not failures else f"{failures} problem(s) to fix before the workshop.")
    return "\n".join(out)


def run_doctor() -> int:
    """Print the checklist; exit 0 when nothing blocks the workshop, 1 otherwise."""
    lines = diagnose()
    print(render(lines))
    sys.stdout.flush()
    return 1 if any(line.verdict is Verdict.FAIL for line in lines) else 0
