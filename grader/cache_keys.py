"""What every remembered result is keyed on, so that no cache returns a stale grade.

A result depends on the learner's Dockerfile and ignore file, the app's context, the exercise's settings
(grading.toml), the base images (their ids: `workshop bases` or a bundle may replace one under the same tag),
the app's probe contract (apps/<app>/probe.toml: the requests app-works sends) and the grader itself (a fixed check
changes scores). Every cache key (run results, baselines, grade-class state)
is a digest of all of them; change any one and the result is computed again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from grader.app_contract import AppContract
from grader.dockerfile_model import DockerfileInfo
from grader.model import ImageFacts
from grader.settings import ExerciseSettings

__all__ = ["RUN_CONTEXT", "grader_version", "inputs_digest", "run_key", "run_relevant_text", "settings_digest"]

_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def grader_version() -> str:
    """The package version plus a digest of the grader's own source and data files (edits in a checkout count)."""
    try:
        version = metadata.version("docker-diet-workshop")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".json", ".Dockerfile") and path.is_file():
            digest.update(str(path.relative_to(_PACKAGE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{version}+{digest.hexdigest()[:12]}"


def settings_digest(settings: ExerciseSettings | None) -> str:
    """The exercise's settings as graded (thresholds, points, allowed bases): a frozen dataclass's repr."""
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


def inputs_digest(*, dockerfile: str, dockerignore: str | None, context_sha256: str,
                  settings: ExerciseSettings | None, base_ids: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """One digest of everything that decides a grade (see the module docstring)."""
    pairs = sorted(base_ids.items() if isinstance(base_ids, Mapping) else base_ids)
    parts = ("dockerfile", dockerfile, "dockerignore", "<none>" if dockerignore is None else dockerignore,
             "context", context_sha256, "settings", settings_digest(settings), "bases", repr(pairs),
             "grader", grader_version())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


#: What a remembered run takes for the context: its files reach the container only through the image's layers, and
#: run_key has those (the context's tar also carries the Dockerfile, which would make a LABEL edit run it again).
RUN_CONTEXT = "in the image's layers"


def run_relevant_text(info: DockerfileInfo) -> str:
    """The Dockerfile as a container run depends on it: every stage's FROM and instructions but LABEL (metadata
    that no run, healthcheck probe or app probe reads). A LABEL edit then reuses the remembered run (a regrade
    on save in about a second, `workshop watch`); any other edit runs the container again."""
    return "\n".join(f"FROM {stage.base} AS {stage.name}\n" + "\n".join(
        i.text for i in stage.instructions if i.keyword.upper() != "LABEL") for stage in info.stages)


def run_key(facts: ImageFacts, limits: object, inputs: str, contract: AppContract | None) -> str:
    """The key of one remembered container run: the image's content (not its id: BuildKit's --load gives an
    unchanged image a new id), how it is run (the limits), the inputs digest and the app probe's contract."""
    content = (tuple(layer.digest for layer in facts.layers), facts.user, facts.healthcheck, facts.cmd,
               facts.entrypoint, facts.env, facts.workdir, limits, inputs, contract)
    return hashlib.sha256(repr(content).encode()).hexdigest()[:32]
