"""Small, tested helpers that the lessons call, so the notebooks stay prose and short cells.

Everything that talks to Docker here builds tiny images (FROM the local bases, seconds once cached) or reads
images the grader already built. Every image and container carries grader.paths.PROJECT_LABEL; containers are
always removed; `remove_lesson_images()` removes the lesson images (their build cache goes with them).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import docker

from grader.context import assemble_context
from grader.model import ImageFacts
from grader.paths import APPS_DIR, PROJECT_LABEL, STATE_DIR
from grader.units import human_bytes

LESSON_REPO = "docker-diet-workshop/lesson"
LESSON_LABELS = {PROJECT_LABEL: "lesson"}
BASE_TAGS = ("debian:bookworm-slim", "node:20-slim", "node:20", "python:3.11-slim", "python:3.11")
STAND_IN_LABEL = f"{PROJECT_LABEL}.stand-in"


def _client() -> docker.DockerClient:
    from grader.engine import connect

    return connect()


# --------------------------------------------------------------------------------------------- tiny builds
@dataclass(frozen=True)
class LessonImage:
    """A lesson image: its tag, id and size."""

    tag: str
    image_id: str
    size_bytes: int
    seconds: float


def _context_tar(dockerfile: str, files: Mapping[str, bytes | str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile, **files}.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(raw), 0o644
            tar.addfile(info, io.BytesIO(raw))
    buffer.seek(0)
    return buffer


def build_lesson_image(name: str, dockerfile: str, files: Mapping[str, bytes | str] | None = None, *,
                       target: str | None = None, timeout_s: float = 900) -> LessonImage:
    """Build a small image with the classic builder (cached between runs) and tag it `lesson:<name>`.

    Raises RuntimeError with the build's last lines when a step fails.
    """
    return _build_tagged(name, _context_tar(dockerfile, files or {}), target=target, timeout_s=timeout_s)


def build_context_image(name: str, dockerfile_path: str | Path, app: str, *, target: str | None = None,
                        dockerignore_path: str | Path | None = None, timeout_s: float = 1800) -> LessonImage:
    """Build a Dockerfile against apps/<app> (e.g. one stage of a solution with `target`), classic builder."""
    text = Path(dockerfile_path).read_text()
    ignore = Path(dockerignore_path).read_text() if dockerignore_path else None
    context = assemble_context(APPS_DIR / app, text, ignore)
    context.tar.seek(0)
    return _build_tagged(name, context.tar, target=target, timeout_s=timeout_s)


def _build_tagged(name: str, context_tar: IO[bytes], *, target: str | None, timeout_s: float) -> LessonImage:
    """One classic build of a ready context tar, tagged `lesson:<name>`, with the log's tail on failure."""
    import time

    tag = f"{LESSON_REPO}:{name}"
    client = _client()
    started = time.monotonic()
    tail: list[str] = []
    image_id = None
    try:
        for chunk in client.api.build(fileobj=context_tar, custom_context=True, tag=tag, labels=LESSON_LABELS,
                                      rm=True, forcerm=True, pull=False, decode=True, target=target,
                                      timeout=int(timeout_s)):
            if "stream" in chunk:
                tail.extend(str(chunk["stream"]).splitlines())
                del tail[:-30]
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
            elif "error" in chunk:
                raise RuntimeError(f"Building {tag} failed: {chunk['error']}\n" + "\n".join(tail))
        if image_id is None:
            raise RuntimeError(f"Building {tag} produced no image.\n" + "\n".join(tail))
        size = int(client.api.inspect_image(image_id)["Size"])
        return LessonImage(tag, image_id, size, round(time.monotonic() - started, 1))
    finally:
        client.close()


def run_in_image(image: str, command: Sequence[str] | str | None = None, *, user: str | None = None,
                 timeout_s: float = 60) -> tuple[int, str]:
    """Run a command in a throw-away container (no network), return (exit code, output). Always removed."""
    client = _client()
    container = None
    try:
        container = client.containers.create(image, command=command, user=user or "", network_disabled=True,
                                             labels={PROJECT_LABEL: "lesson"})
        container.start()
        result = container.wait(timeout=timeout_s)
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        return int(result.get("StatusCode", -1)), output.strip()
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass
        client.close()


def remove_lesson_images() -> list[str]:
    """Remove every image the lessons built (label io.docker-diet-workshop=lesson); returns their tags."""
    client = _client()
    removed = []
    try:
        for image in client.images.list(filters={"label": f"{PROJECT_LABEL}=lesson"}):
            for tag in image.tags or [image.id]:
                try:
                    client.images.remove(tag)
                    removed.append(tag)
                except docker.errors.APIError:
                    pass
    finally:
        client.close()
    return removed


def lesson_containers_left() -> list[str]:
    """Containers the lessons or the grader made that still exist (should always be none)."""
    client = _client()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": PROJECT_LABEL})]
    finally:
        client.close()


def inspect_lesson_image(image: str) -> ImageFacts:
    """ImageFacts of any local image, through the grader's one inspection (cached by image id)."""
    from grader.inspect import inspect_image

    client = _client()
    try:
        return inspect_image(client.api, image)
    finally:
        client.close()


# --------------------------------------------------------------------------------------------- lesson 01
GCC_INSTALL = ("FROM debian:bookworm-slim\n"
               "RUN apt-get update && apt-get install -y --no-install-recommends gcc\n")
GCC_TWO_LAYERS = GCC_INSTALL + "RUN apt-get remove -y --purge gcc && apt-get autoremove -y --purge \\\n" \
                               " && rm -rf /var/lib/apt/lists/*\n"
GCC_ONE_LAYER = ("FROM debian:bookworm-slim\n"
                 "RUN apt-get update && apt-get install -y --no-install-recommends gcc \\\n"
                 " && gcc --version | head -n1 \\\n"
                 " && apt-get remove -y --purge gcc && apt-get autoremove -y --purge \\\n"
                 " && rm -rf /var/lib/apt/lists/*\n")


@dataclass(frozen=True)
class LayerExperiment:
    """The gcc install-then-remove experiment of lesson 01."""

    base: LessonImage
    installed: LessonImage
    removed_later: LessonImage
    one_layer: LessonImage

    def rows(self) -> list[tuple[str, str, str]]:
        base = self.base.size_bytes
        return [(label, human_bytes(image.size_bytes), f"+{human_bytes(image.size_bytes - base)}")
                for label, image in (("debian:bookworm-slim", self.base),
                                     ("install gcc (one RUN)", self.installed),
                                     ("install, then remove in a second RUN", self.removed_later),
                                     ("install, use and remove in the same RUN", self.one_layer))]


def gcc_layer_experiment() -> LayerExperiment:
    """Build the three gcc images FROM debian:bookworm-slim (a minute the first time, cached after)."""
    client = _client()
    try:
        attrs = client.api.inspect_image("debian:bookworm-slim")
    finally:
        client.close()
    base = LessonImage("debian:bookworm-slim", attrs["Id"], int(attrs["Size"]), 0.0)
    return LayerExperiment(
        base=base,
        installed=build_lesson_image("gcc-installed", GCC_INSTALL),
        removed_later=build_lesson_image("gcc-removed-later", GCC_TWO_LAYERS),
        one_layer=build_lesson_image("gcc-one-layer", GCC_ONE_LAYER),
    )


@dataclass(frozen=True)
class BaseImageRow:
    tag: str
    size_bytes: int | None
    stand_in: bool


def base_image_sizes(tags: Sequence[str] = BASE_TAGS) -> list[BaseImageRow]:
    """The local base images' sizes, and whether each is the workshop's local stand-in."""
    client = _client()
    rows = []
    try:
        for tag in tags:
            try:
                attrs = client.api.inspect_image(tag)
            except docker.errors.ImageNotFound:
                rows.append(BaseImageRow(tag, None, False))
                continue
            labels = (attrs.get("Config") or {}).get("Labels") or {}
            rows.append(BaseImageRow(tag, int(attrs["Size"]), STAND_IN_LABEL in labels))
    finally:
        client.close()
    return rows


@dataclass(frozen=True)
class PackageSize:
    name: str
    size_bytes: int
    dev: bool


def _lock_dev_flags(lockfile: Path) -> dict[str, bool]:
    """node_modules/<name> -> True when the lockfile marks it dev-only (lockfile v2/v3 `"dev": true`)."""
    data = json.loads(lockfile.read_text())
    flags: dict[str, bool] = {}
    for key, meta in data.get("packages", {}).items():
        if key.startswith("node_modules/") and key.count("node_modules/") == 1:
            flags[key.removeprefix("node_modules/")] = bool(meta.get("dev") or meta.get("devOptional"))
    return flags


def node_modules_breakdown(facts: ImageFacts, lockfile: Path, root: str = "app/node_modules") -> list[PackageSize]:
    """Bytes per top-level package in the image's node_modules, marked dev-only or production (from the lock)."""
    flags = _lock_dev_flags(lockfile)
    sizes: dict[str, int] = {}
    prefix = root.strip("/") + "/"
    for path, entry in facts.merged.items():
        if not path.startswith(prefix) or entry.kind == "dir":
            continue
        parts = PurePosixPath(path[len(prefix):]).parts
        if not parts or parts[0].startswith("."):
            continue
        name = "/".join(parts[:2]) if parts[0].startswith("@") and len(parts) > 1 else parts[0]
        sizes[name] = sizes.get(name, 0) + entry.size
    return sorted((PackageSize(name, size, flags.get(name, False)) for name, size in sizes.items()),
                  key=lambda p: -p.size_bytes)


def node_modules_summary(packages: Sequence[PackageSize]) -> dict[str, int]:
    dev = sum(p.size_bytes for p in packages if p.dev)
    prod = sum(p.size_bytes for p in packages if not p.dev)
    return {"dev-only packages": dev, "production packages": prod, "total": dev + prod}


# --------------------------------------------------------------------------------------------- lesson 03
def tiny_wheel(name: str = "greeting", version: str = "1.0") -> tuple[str, bytes]:
    """A pure-Python wheel built in memory, so `pip install` works offline in the lesson's images."""
    module = f'def hello():\n    return "hello from {name}"\n'.encode()
    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    wheel = b"Wheel-Version: 1.0\nGenerator: docker-diet-workshop\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {f"{name}.py": module, f"{dist}/METADATA": metadata, f"{dist}/WHEEL": wheel}

    def record_hash(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in {**files, f"{dist}/RECORD": record.encode()}.items():
            archive.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


USER_INSTALL = """\
FROM python:3.11-slim AS builder
COPY {wheel} /tmp/
RUN pip install --user --no-index --no-cache-dir /tmp/{wheel}

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
COPY --from=builder /root/.local /root/.local
ENV PATH=/root/.local/bin:$PATH
USER app
CMD ["python", "-c", "import greeting; print(greeting.hello())"]
"""

VENV_INSTALL = """\
FROM python:3.11-slim AS builder
COPY {wheel} /tmp/
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-index --no-cache-dir /tmp/{wheel}

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
USER app
CMD ["python", "-c", "import greeting; print(greeting.hello())"]
"""


@dataclass(frozen=True)
class RunResult:
    dockerfile: str
    exit_code: int
    output: str


def user_install_experiment() -> dict[str, RunResult]:
    """`pip install --user` copied from /root/.local, then run as a non-root user; and the venv fix."""
    wheel_name, wheel = tiny_wheel()
    results = {}
    for name, template in (("pip-user", USER_INSTALL), ("venv", VENV_INSTALL)):
        dockerfile = template.format(wheel=wheel_name)
        image = build_lesson_image(f"python-{name}", dockerfile, {wheel_name: wheel})
        code, output = run_in_image(image.tag)
        results[name] = RunResult(dockerfile, code, output.splitlines()[-1] if output else "")
    return results


# --------------------------------------------------------------------------------------------- lesson 05
@dataclass(frozen=True)
class ContextSummary:
    size_bytes: int
    file_count: int
    top: list[tuple[str, int]]  # top-level entry -> bytes
    secrets: list[str]  # .env* files that went in
    has_git: bool


def summarize_context(app_dir: Path, dockerfile_text: str, dockerignore_text: str | None) -> ContextSummary:
    """What `docker build` would send from app_dir with this .dockerignore, grouped by top-level entry."""
    context = assemble_context(app_dir, dockerfile_text, dockerignore_text)
    top: dict[str, int] = {}
    secrets: list[str] = []
    has_git = False
    context.tar.seek(0)
    with tarfile.open(fileobj=context.tar, mode="r:*") as tar:
        for member in tar:
            head = member.name.split("/", 1)[0]
            top[head] = top.get(head, 0) + member.size
            leaf = member.name.rsplit("/", 1)[-1]
            if leaf.startswith(".env"):
                secrets.append(member.name)
            has_git = has_git or head == ".git"
    return ContextSummary(context.size_bytes, context.file_count,
                          sorted(top.items(), key=lambda item: -item[1]), secrets, has_git)


def app_copy_with_git(app: str, destination: Path, *, with_node_modules_mb: int = 0) -> Path:
    """Copy apps/<app> to destination as a real working copy: `git init` + a commit (a .git like yours).

    `with_node_modules_mb` adds a stand-in node_modules/ folder of that size, as `npm install` on the host leaves.
    """
    target = destination / app
    shutil.copytree(APPS_DIR / app, target, ignore=shutil.ignore_patterns("node_modules", "dist", ".pytest_cache",
                                                                         ".ruff_cache", "__pycache__"))
    env = {"GIT_AUTHOR_NAME": "learner", "GIT_AUTHOR_EMAIL": "learner@example.invalid",
           "GIT_COMMITTER_NAME": "learner", "GIT_COMMITTER_EMAIL": "learner@example.invalid", "PATH": "/usr/bin:/bin"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(command, cwd=target, env=env, check=True, capture_output=True)
    if with_node_modules_mb:
        folder = target / "node_modules" / "left-by-npm-install"
        folder.mkdir(parents=True)
        (folder / "index.js").write_bytes(b"\0" * (with_node_modules_mb * 1_000_000))
    return target


def context_before_after(app: str, dockerfile: Path, dockerignore: Path) -> dict[str, ContextSummary]:
    """The context of a real working copy of the app (with .git and a host node_modules), without and with
    the .dockerignore."""
    with tempfile.TemporaryDirectory(prefix="lesson-context-") as tmp:
        copy = app_copy_with_git(app, Path(tmp), with_node_modules_mb=30 if "node" in app else 0)
        text = dockerfile.read_text()
        return {"without .dockerignore": summarize_context(copy, text, None),
                "with .dockerignore": summarize_context(copy, text, dockerignore.read_text())}


# --------------------------------------------------------------------------------------------- lesson 06
@dataclass(frozen=True)
class RegistryEstimate:
    tags: int
    naive_bytes: int  # every tag stored in full
    shared_bytes: int  # base layers stored once, the app's own layers once per tag


def registry_storage(facts: ImageFacts, tags: int = 40) -> RegistryEstimate:
    """Compressed registry storage for `tags` builds of this image: base layers are shared between tags.

    Each layer is compressed at the ratio the grader measured for it (gzip on a sample of its files), or at the
    grader's typical ratio where it could not measure."""
    from grader.inspect import COMPRESSION_RATIO

    def compressed(from_base: bool) -> float:
        return sum(layer.size_bytes * (layer.compression_ratio or COMPRESSION_RATIO)
                   for layer in facts.layers if layer.from_base == from_base)

    base, own = compressed(True), compressed(False)
    return RegistryEstimate(tags, int((base + own) * tags), int(base + own * tags))


def pull_seconds(compressed_bytes: int, mbps: float) -> float:
    """Seconds to pull at `mbps` megabits per second (transfer only; unpacking adds more)."""
    return compressed_bytes * 8 / (mbps * 1e6) if mbps > 0 else float("inf")


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], css_class: str = "ddw-table") -> str:
    """A small HTML table for lesson cells (values escaped)."""
    from html import escape

    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --------------------------------------------------------------------------------------------- shared
LESSON_STATE = STATE_DIR / "lessons"


def starting_dockerfile_path(app: str) -> Path:
    """The exercise's starting Dockerfile (as committed), copied where a lesson may grade it without touching
    exercises/ (which belongs to the learner). No .dockerignore sits beside it, as at the start."""
    from grader.baseline import starting_dockerfile

    folder = LESSON_STATE / f"{app}-start"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    text = starting_dockerfile(app)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def replace_healthcheck(dockerfile_text: str, new_instruction: str) -> str:
    """The Dockerfile with its HEALTHCHECK instruction (and its continuation lines) replaced."""
    out: list[str] = []
    lines = dockerfile_text.splitlines()
    index = 0
    replaced = False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().upper().startswith("HEALTHCHECK"):
            while lines[index].rstrip().endswith("\\") and index + 1 < len(lines):
                index += 1
            out.append(new_instruction)
            replaced = True
        else:
            out.append(line)
        index += 1
    if not replaced:
        raise ValueError("The Dockerfile has no HEALTHCHECK to replace.")
    return "\n".join(out) + "\n"


def variant_of(app: str, name: str, dockerfile: Path, dockerignore: Path | None, text: str) -> tuple[Path, Path | None]:
    """Write a variant Dockerfile (and a copy of its .dockerignore) under the lessons' state folder."""
    folder = LESSON_STATE / f"{app}-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    path.write_text(text)
    ignore = None
    if dockerignore is not None:
        ignore = folder / ".dockerignore"
        ignore.write_text(Path(dockerignore).read_text())
    return path, ignore


def cold_build_seconds(app: str, dockerfile: Path, dockerignore: Path | None = None) -> float:
    """Build without any cache (classic builder), then remove the image: how long a fresh CI runner waits."""
    client = _client()
    text = Path(dockerfile).read_text()
    context = assemble_context(APPS_DIR / app, text, Path(dockerignore).read_text() if dockerignore else None)
    tag = f"{LESSON_REPO}:cold-{app}"
    import time

    started = time.monotonic()
    image_id = None
    error = None
    try:
        context.tar.seek(0)
        for chunk in client.api.build(fileobj=context.tar, custom_context=True, tag=tag, labels=LESSON_LABELS,
                                      rm=True, forcerm=True, pull=False, decode=True, nocache=True, timeout=1800):
            if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            elif "error" in chunk:
                error = chunk["error"]
        seconds = time.monotonic() - started
        if error or image_id is None:
            raise RuntimeError(f"The cold build of {dockerfile} failed: {error}")
        return round(seconds, 1)
    finally:
        try:
            client.images.remove(tag)
        except docker.errors.APIError:
            pass
        client.close()


def files_in_layers(facts: ImageFacts, path: str) -> list[tuple[int, str, int]]:
    """Every layer that holds `path` (1-based layer number, instruction, size), whether or not it is visible."""
    key = path.strip("/")
    return [(index + 1, layer.instruction, layer.files[key].size)
            for index, layer in enumerate(facts.layers) if key in layer.files]


# --------------------------------------------------------------------------------------------- lessons 06, 09
def registry_rows(reports: Mapping[str, Any], tags: int = 40) -> list[tuple[str, str, str, str]]:
    """Per graded image: compressed size of one tag, and of `tags` tags without and with shared base layers."""
    from grader.widgets import image_facts

    rows = []
    for name, report in reports.items():
        estimate = registry_storage(image_facts(report), tags=tags)
        rows.append((name, human_bytes(report.compressed_bytes_estimate or 0), human_bytes(estimate.naive_bytes),
                     human_bytes(estimate.shared_bytes)))
    return rows


def real_numbers_rows(before: Any, mine: Any, after: Any, cold: Mapping[str, float],
                      mbps: float = 100) -> list[tuple[str, str, str, str]]:
    """The article's "Real Numbers" rows beside the learner's start, the learner's image now and the reference."""
    from grader.units import human_seconds

    def pull(report: Any) -> str:
        return human_seconds(pull_seconds(report.compressed_bytes_estimate or 0, mbps))

    return [
        ("image size", "1.2 GB → 180 MB",
         f"{human_bytes(before.image_size_bytes or 0)} → {human_bytes(mine.image_size_bytes or 0)}",
         human_bytes(after.image_size_bytes or 0)),
        ("build time, cold", "8m30s → 2m15s", f"{human_seconds(cold['starting Dockerfile'])} → (yours: not timed)",
         human_seconds(cold["reference"])),
        (f"pull at {mbps:g} Mbit/s", "2m10s → 18s", f"{pull(before)} → {pull(mine)}", pull(after)),
    ]


QUICK_WIN_HEADER = ("exercise", "1 smaller base", "2 production deps only", "3 second FROM", "4 non-root USER",
                    "5 measured", "score")


def quick_win_rows(reports: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The article's five quick wins, ticked off from each exercise's grade."""

    def passed(report: Any, check_id: str) -> str:
        check = next((c for c in report.checks if c.id == check_id), None)
        return "✔" if check is not None and check.passed else "✘"

    rows: list[tuple[str, ...]] = []
    for app, report in reports.items():
        base = report.base_image or "?"
        small = "✔" if any(word in base for word in ("slim", "alpine", "distroless")) else "✘"
        after = human_bytes(report.comparison.article.after_bytes) if report.comparison else "?"
        size = human_bytes(report.image_size_bytes) if report.image_size_bytes else "not built"
        rows.append((app, f"{small} {base}", passed(report, "no-dev-dependencies"), passed(report, "multi-stage"),
                     passed(report, "non-root"), f"{size} (article: {after})",
                     f"{report.score:g}/{report.max_score:g}"))
    return rows


def base_image_bars(tags: Sequence[str] = BASE_TAGS) -> list[Any]:
    """The base images as size-chart bars: full images red, slim ones green, stand-ins marked."""
    from grader.widgets import SizeBar

    return [SizeBar(row.tag + (" (stand-in)" if row.stand_in else ""), row.size_bytes or 0,
                    "reference" if "slim" in row.tag else "naive")
            for row in base_image_sizes(tags)]
