"""Checks about what the learner's layers put in the image: dev dependencies, caches, junk, secrets.

The base image's own files are not the learner's doing (they cannot delete them), so these checks look at the
files that the learner's layers provide; `no-secrets` looks at every learner layer, deleted files included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from grader.apps import normalize_python_name
from grader.checks.lessons import lesson
from grader.checks.unread import unindexed_outcome
from grader.model import ImageFacts, MergedEntry
from grader.registry import Evidence, Outcome, check
from grader.units import human_bytes

__all__ = ["CACHE_PATTERNS", "JUNK_DIRS", "learner_files", "no_caches", "no_dev_dependencies", "no_junk", "no_secrets"]

_NODE_PACKAGE = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@][^/]*)/package\.json$")
_PYTHON_DIST = re.compile(r"(?:site|dist)-packages/([^/]+?)-[^-/]+\.dist-info/METADATA$")
_VENDORED = ("node_modules/", "site-packages/", "dist-packages/", "__pycache__/")

#: (label, regex on the path) for package-manager caches.
CACHE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("npm cache", re.compile(r"(?:^|/)\.npm/_cacache/")),
    ("yarn cache", re.compile(r"(?:^|/)(?:\.cache/yarn|\.yarn/cache|\.yarn-cache)/")),
    ("pip cache", re.compile(r"(?:^|/)\.cache/pip/")),
    ("apt lists", re.compile(r"^var/lib/apt/lists/(?!lock$|partial/?$|auxfiles/?$)[^/]+$")),
    ("apt archives", re.compile(r"^var/cache/apt/(?:archives/[^/]+\.deb|[^/]+\.bin)$")),
    ("apk cache", re.compile(r"^(?:var/cache/apk|etc/apk/cache)/.+")),
)

JUNK_DIRS = {".git": ".git", "tests": "tests/", "test": "tests/", "__tests__": "tests/", "coverage": "coverage/",
             ".nyc_output": "coverage/", "docs": "docs/"}
_SYSTEM_ROOTS = ("usr/", "lib/", "lib64/", "bin/", "sbin/", "etc/", "var/", "opt/", "proc/", "sys/", "dev/", "run/")
_SECRET_NAME = re.compile(r"^\.env(?:\.(?!example$|sample$|template$|dist$)[^/]+)?$")


def is_secret_file_name(name: str) -> bool:
    """`.env` and `.env.<anything>`, except the example/sample/template/dist files, which hold no secrets.
    The one rule for `no-secrets` and for the lessons that list what a build context sends."""
    return bool(_SECRET_NAME.match(name))


def learner_files(image: ImageFacts) -> Iterator[tuple[str, MergedEntry]]:
    """Paths of the final file system that the learner's layers (not the base image) provide."""
    first = image.base_layer_count
    for path, entry in image.merged.items():
        if entry.layer >= first:
            yield path, entry


@check("no-dev-dependencies", title="No devDependencies shipped", points=5,
       lesson=lesson("principles", "Production dependencies only"), needs=("image", "app"))
def no_dev_dependencies(ev: Evidence) -> Outcome:
    """No package listed in the app's devDependencies is in any node_modules of the final image (nor, for a
    Python app, a distribution from requirements-dev.txt in any site-packages).

    Names that are also production dependencies of the app are allowed.
    """
    assert ev.image is not None and ev.app is not None
    if (unindexed := unindexed_outcome(ev.image, "no devDependency is installed")) is not None:
        return unindexed
    dev_only = ev.app.dev_dependencies - ev.app.prod_dependencies
    found: dict[str, str] = {}
    for path, entry in learner_files(ev.image):
        match = _NODE_PACKAGE.search(path)
        if match and match.group(1) in dev_only and entry.kind != "dir":
            found.setdefault(match.group(1), "/" + path[: -len("/package.json")])
        elif path.endswith("/METADATA") and (match := _PYTHON_DIST.search(path)):
            name = normalize_python_name(match.group(1))
            if name in dev_only:
                found.setdefault(name.removeprefix("py:"), "/" + path.rsplit("/", 1)[0])
    if not found:
        return Outcome(True, [], "none of " + str(len(dev_only)) + " devDependencies",
                       "No devDependency is installed in the final image.")
    names = sorted(found)
    return Outcome(False, names, "none", f"{len(names)} devDependencies shipped: {', '.join(names[:8])}"
                   + (" ..." if len(names) > 8 else "") + f" (e.g. {found[names[0]]}).",
                   hint="Install with `npm ci --omit=dev` in the final stage, or prune (`npm prune --omit=dev`) "
                        "in the builder before copying node_modules.")


@check("no-caches", title="No package-manager caches", points=5,
       lesson=lesson("mistakes", "Forgetting to clean caches"), needs=("image",))
def no_caches(ev: Evidence) -> Outcome:
    """No npm, yarn or pip caches, apt lists, apt archives or apk caches left in the final image."""
    assert ev.image is not None
    if (unindexed := unindexed_outcome(ev.image, "no package-manager cache is left")) is not None:
        return unindexed
    totals: dict[str, int] = {}
    for path, entry in learner_files(ev.image):
        if entry.kind == "dir":
            continue
        for label, pattern in CACHE_PATTERNS:
            if pattern.search(path):
                totals[label] = totals.get(label, 0) + entry.size
                break
    total = sum(totals.values())
    limit = ev.settings.cache_max_bytes
    measured = {label: human_bytes(size) for label, size in sorted(totals.items())}
    if total <= limit:
        return Outcome(True, measured or "none", f"<= {human_bytes(limit)}",
                       "No package-manager cache left behind." if not totals else
                       f"Only {human_bytes(total)} of caches left (tolerated).")
    shown = ", ".join(f"{label} {size}" for label, size in measured.items())
    return Outcome(False, measured, f"<= {human_bytes(limit)}", f"Caches left in the image: {shown}.",
                   hint="Clean in the same RUN that fills them: `npm ci ... && npm cache clean --force`, "
                        "`pip install --no-cache-dir`, `apt-get ... && rm -rf /var/lib/apt/lists/*`.")


def _app_relative(path: str, workdir: str) -> str | None:
    """The path relative to the app folder, or None when it is outside it (system and vendored files)."""
    root = workdir.strip("/")
    if root:
        if not path.startswith(root + "/"):
            return None
        path = path[len(root) + 1:]
    elif path.startswith(_SYSTEM_ROOTS) or path.startswith(("root/.local/", "home/")):
        return None
    if any(part in path for part in _VENDORED) or path.startswith(_VENDORED):
        return None
    return path


@check("no-junk", title="No .git, tests, docs or sources", points=5,
       lesson=lesson("mistakes", "Copying .git and test files"), needs=("image",))
def no_junk(ev: Evidence) -> Outcome:
    """No .git, tests, coverage, docs, README/*.md of the app, or TypeScript sources beside dist/ in the app
    folder (the final stage's WORKDIR); files inside node_modules and site-packages are not the app's."""
    assert ev.image is not None
    if (unindexed := unindexed_outcome(ev.image, "the app folder is free of junk")) is not None:
        return unindexed
    found: dict[str, list[str]] = {}
    for path, entry in learner_files(ev.image):
        relative = _app_relative(path, ev.image.workdir)
        if relative is None:
            continue
        parts = relative.split("/")
        label = next((JUNK_DIRS[p] for p in parts[:-1] if p in JUNK_DIRS), None)
        if label is None and entry.kind != "dir":
            if parts[-1].lower().endswith(".md"):
                label = "*.md"
            elif parts[-1].endswith((".ts", ".tsx")) and not parts[-1].endswith(".d.ts"):
                label = "TypeScript sources"
        if label is None and entry.kind == "dir" and parts[-1] in JUNK_DIRS:
            label = JUNK_DIRS[parts[-1]]
        if label is not None:
            found.setdefault(label, []).append("/" + path)
    if not found:
        return Outcome(True, [], "none", "No .git, tests, docs, markdown or TypeScript sources in the app folder.")
    measured = {label: len(paths) for label, paths in sorted(found.items())}
    shown = "; ".join(f"{label} ({len(paths)}, e.g. {sorted(paths)[0]})" for label, paths in sorted(found.items()))
    return Outcome(False, measured, "none", f"Found {shown}.",
                   hint="Add Dockerfile.dockerignore beside your Dockerfile (.git, tests/, docs/, *.md, src/ ...) "
                        "and copy only dist/ into the final stage.")


@check("no-secrets", title="No secrets in any layer", points=5,
       lesson=lesson("mistakes", "Not using .dockerignore"), needs=("image",))
def no_secrets(ev: Evidence) -> Outcome:
    """No .env* files or private keys in ANY learner layer: a file deleted by a later layer still ships,
    because layers are immutable."""
    assert ev.image is not None
    if (unindexed := unindexed_outcome(ev.image, "no layer holds a secret")) is not None:
        return unindexed
    found: list[str] = []
    for index, layer in enumerate(ev.image.layers):
        if layer.from_base:
            continue
        for path, entry in layer.files.items():
            if entry.kind != "dir" and is_secret_file_name(path.rsplit("/", 1)[-1]) and not any(
                v in path for v in _VENDORED
            ):
                found.append(f"/{path} (layer {index + 1})")
        found.extend(f"/{path} (private key, layer {index + 1})" for path in sorted(layer.private_keys)
                     if not any(v in path for v in _VENDORED))
    if not found:
        return Outcome(True, [], "none", "No .env files or private keys in any layer.")
    return Outcome(False, sorted(found), "none", f"Secrets in the image's layers: {', '.join(sorted(found)[:5])}.",
                   hint="Keep secrets out of the build context (Dockerfile.dockerignore: .env*, *.pem) and pass "
                        "them at run time (`docker run --env-file`); deleting them in a later layer does not "
                        "remove them.")
