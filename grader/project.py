"""`workshop grade --context DIR`: the same checks on a learner's own project, not only on our three apps.

A project brings its contract (port and the requests that prove it works) in the same format as our apps'
probe.toml (DIR/probe.toml or DIR/.workshop/probe.toml), or through flags (`--port`, `--health-path`,
`--expect`); optional budgets in DIR/workshop.toml (grading.toml's format). Its "before" is the learner's own
first Dockerfile (copied under the state folder the first time they grade), a file they name, or a naive one
written for the stack we detect (package.json: Node; requirements.txt or pyproject.toml: Python). The report
then shows their before and after where our apps show the article's numbers.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.api import ENGINE_ERRORS, GradeConfig, connect_engine, grade
from grader.app_contract import CONTRACT_FILE, AppContract, contract_from_mapping, load_contract
from grader.engine.baseline import ensure_baseline
from grader.engine.build import choose_builder
from grader.errors import GradeError
from grader.model import ArticleNumbers, BaselineFacts, ProgressCallback, ProjectFacts, Report
from grader.paths import STATE_DIR
from grader.settings import ExerciseSettings, settings_from_mapping

__all__ = [
    "CONTRACT_PLACES",
    "PROJECTS_DIR",
    "SETTINGS_FILES",
    "ProjectOptions",
    "detect_stack",
    "grade_project",
    "naive_dockerfile",
    "parse_expect",
    "project_contract",
    "project_name",
    "project_settings",
    "resolve_baseline",
]

PROJECTS_DIR = STATE_DIR / "projects"
CONTRACT_PLACES = (CONTRACT_FILE, f".workshop/{CONTRACT_FILE}")
SETTINGS_FILES = ("workshop.toml", ".workshop/workshop.toml")
_NAIVE_BASE = {"node": "node:20", "python": "python:3.11"}
_EXPECT_FORM = "'METHOD /path STATUS [contains TEXT]', e.g. --expect 'GET /health 200 contains ok'"


@dataclass(frozen=True)
class ProjectOptions:
    """What `grade --context` was given; every field but `context` is optional."""

    context: Path
    dockerfile: Path | None = None  # default DIR/Dockerfile
    dockerignore: Path | None = None  # default as for exercises: Dockerfile.dockerignore, else DIR/.dockerignore
    port: int | None = None
    health_path: str | None = None
    expects: tuple[str, ...] = ()
    baseline_dockerfile: Path | None = None
    baseline: str = "auto"  # "auto" (naive for a known stack, else your first), "naive" or "first"


def project_name(context: Path) -> str:
    """A name for tags and the state folder: the folder's name, made tag-safe, and a hash of its full path."""
    slug = re.sub(r"[^a-z0-9]+", "-", context.resolve().name.lower()).strip("-")[:30] or "app"
    return f"project-{slug}-{hashlib.sha256(str(context.resolve()).encode()).hexdigest()[:8]}"


def parse_expect(text: str, index: int) -> dict[str, Any]:
    """One `--expect` as a probe.toml request table: 'GET /path 200 contains some text'."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise GradeError(f"--expect {text!r}: {exc}. Write {_EXPECT_FORM}.") from exc
    if len(words) < 3 or not words[2].isdigit() or (len(words) > 3 and words[3] != "contains"):
        raise GradeError(f"--expect {text!r} is not understood. Write {_EXPECT_FORM}.")
    expect: dict[str, Any] = {"status": int(words[2])}
    if len(words) > 4:
        expect["body_contains"] = [" ".join(words[4:])]
    return {"name": f"#{index + 1} {words[0].upper()} {words[1]}", "method": words[0].upper(), "path": words[1],
            "expect": expect}


def project_contract(options: ProjectOptions, name: str) -> AppContract | None:
    """From flags when any is given (port required), else DIR/probe.toml or DIR/.workshop/probe.toml, else None."""
    if options.port is None and (options.expects or options.health_path):
        raise GradeError("--expect and --health-path need --port (the port your app listens on inside the image).")
    if options.port is not None:
        requests = [parse_expect(text, i) for i, text in enumerate(options.expects)]
        if options.health_path:
            requests.insert(0, {"name": "health", "path": options.health_path, "expect": {"status": 200}})
        if not requests:
            requests = [{"name": "home page", "path": "/", "expect": {"status": 200}}]
        return contract_from_mapping(name, {"port": options.port, "request": requests}, "the command line")
    for place in CONTRACT_PLACES:
        path = options.context / place
        if path.is_file():
            return load_contract(path.parent)
    return None


def detect_stack(context: Path) -> str | None:
    if (context / "package.json").is_file():
        return "node"
    if (context / "requirements.txt").is_file() or (context / "pyproject.toml").is_file():
        return "python"
    return None


def naive_dockerfile(stack: str, context: Path) -> str:
    """The article's "before" for this stack: the full base image, every file copied, dependencies installed."""
    if stack == "node":
        install = "npm ci" if (context / "package-lock.json").is_file() else "npm install"
        return (f"# naive baseline written by the workshop for a Node project\nFROM node:20\nWORKDIR /app\n"
                f"COPY . .\nRUN {install}\nCMD [\"npm\", \"start\"]\n")
    install = "pip install -r requirements.txt" if (context / "requirements.txt").is_file() else "pip install ."
    return (f"# naive baseline written by the workshop for a Python project\nFROM python:3.11\nWORKDIR /app\n"
            f"COPY . .\nRUN {install}\nCMD [\"python\", \"-m\", \"http.server\"]\n")


def resolve_baseline(options: ProjectOptions, name: str, dockerfile: Path) -> tuple[Path | None, str, str | None]:
    """(baseline Dockerfile, how it was chosen, stack). Remembers the learner's first Dockerfile either way."""
    folder = PROJECTS_DIR / name
    first = folder / "first.Dockerfile"
    if not first.is_file() and dockerfile.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        first.write_text(dockerfile.read_text(encoding="utf-8", errors="replace"), encoding="utf-8")
    stack = detect_stack(options.context)
    if options.baseline_dockerfile is not None:
        return options.baseline_dockerfile, f"your file {options.baseline_dockerfile}", stack
    if options.baseline == "first" or (options.baseline == "auto" and stack is None):
        return (first if first.is_file() else None), "your first graded Dockerfile", stack
    if stack is None:
        raise GradeError(f"No package.json, requirements.txt or pyproject.toml in {options.context}: the workshop "
                         "cannot write a naive baseline. Use --baseline first or --baseline-dockerfile FILE.")
    naive = folder / f"naive-{stack}.Dockerfile"
    folder.mkdir(parents=True, exist_ok=True)
    naive.write_text(naive_dockerfile(stack, options.context), encoding="utf-8")
    return naive, f"a naive {stack} Dockerfile (FROM {_NAIVE_BASE[stack]}, every file copied)", stack


def project_settings(context: Path, name: str, baseline: BaselineFacts | None) -> ExerciseSettings:
    """DIR/workshop.toml over the defaults; without a [size] table the budget is relative to the baseline: full
    points at `reduction.min_percent` smaller than it, none at its size."""
    data: dict[str, Any] = {}
    for place in SETTINGS_FILES:
        path = context / place
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise GradeError(f"{path} is not valid TOML ({exc}). Fix it (same format as grading.toml).") from exc
            break
    settings = settings_from_mapping(name, data)
    if "beats-article" not in settings.points:  # no article wrote about this project: advisory, not a bonus
        settings = replace(settings, points={**settings.points, "beats-article": 0.0})
    if baseline is not None and "size" not in data:
        threshold = int(baseline.size_bytes * (100 - settings.reduction_min_percent) / 100)
        settings = replace(settings, size_threshold_bytes=threshold,
                           size_band_bytes=max(baseline.size_bytes, threshold + 1))
    after = settings.size_threshold_bytes
    return replace(settings, article=ArticleNumbers(before_bytes=baseline.size_bytes if baseline else after * 2,
                                                    after_bytes=after))


def _failed(name: str, message: str) -> Report:
    return Report(exercise=name, checks=(), error=GradeError(message))


def _build_baseline(name: str, context: Path, baseline_file: Path | None, config: GradeConfig,
                    progress: ProgressCallback | None) -> BaselineFacts | None:
    """The "before" image, built once and cached; one that does not build only skips `reduction`."""
    if baseline_file is None or not config.baseline:
        return None
    api = connect_engine()
    try:
        return ensure_baseline(api, name, choose_builder(api, config.backend), progress=progress,
                               dockerfile=baseline_file, app_dir=context)
    except GradeError:
        return None


def grade_project(options: ProjectOptions, config: GradeConfig | None = None,
                  progress: ProgressCallback | None = None) -> Report:
    """Grade DIR's Dockerfile against DIR, with DIR's contract, budgets and baseline (see the module docstring)."""
    config = config or GradeConfig()
    context = options.context
    name = project_name(context) if context.is_dir() else "project"
    if not context.is_dir():
        return _failed(name, f"--context {context}: no such folder. Give the folder your Dockerfile builds.")
    dockerfile = options.dockerfile or context / "Dockerfile"
    try:
        contract = project_contract(options, name)
        baseline_file, source, stack = resolve_baseline(options, name, dockerfile)
        baseline = _build_baseline(name, context, baseline_file, config, progress)
        settings = project_settings(context, name, baseline)
    except GradeError as error:
        return Report(exercise=name, checks=(), error=error)
    except ENGINE_ERRORS as exc:
        return _failed(name, f"The Docker engine failed while building the baseline ({type(exc).__name__}).")
    config = replace(config, app_dir=context, settings=settings, contract=contract,
                     baseline_dockerfile=baseline_file, baseline=config.baseline and baseline_file is not None)
    report = grade(name, dockerfile, options.dockerignore, config=config, progress=progress)
    return replace(report, project=ProjectFacts(context=str(context), baseline_source=source, stack=stack))
