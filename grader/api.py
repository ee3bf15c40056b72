"""`grade()`: the one entry point that the CLI, notebooks, nbgrader cells and CI all call.

    Dockerfile + app -> build -> inspect once -> ImageFacts -> checks (pure) -> Report -> reporters

Only the build, inspect and run steps talk to Docker. Every "could not grade" case comes back as a Report with
`error` set (exit code 2), never as a traceback.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import docker
import requests
from docker.utils import parse_repository_tag

from grader.app_contract import AppContract, load_contract
from grader.apps import read_app_facts
from grader.cache_keys import RUN_CONTEXT, grader_version, inputs_digest, run_key, run_relevant_text, settings_digest
from grader.context import BuildContext, assemble_context
from grader.dockerfile import DockerfileInfo, parse_dockerfile
from grader.engine.baseline import cached_baseline, context_fingerprint, ensure_baseline
from grader.engine.build import Builder, BuildRequest, choose_builder
from grader.engine.cache_files import load_json, load_sealed, store_json, store_sealed
from grader.engine.inspect import compressed_estimate, inspect_image
from grader.engine.run import RunLimits, run_image
from grader.errors import DockerfileError, GradeError, NoEngine
from grader.image_policy import EngineImage, LabelLookup, check_allowed, check_not_grader_made, external_images
from grader.lint import lint_dockerfile
from grader.model import (
    BaselineFacts,
    BuildFacts,
    CheckResult,
    Comparison,
    ImageFacts,
    ProgressCallback,
    Report,
    RunFacts,
)
from grader.paths import APPS_DIR, EXERCISES_DIR, PROJECT_LABEL, STATE_DIR
from grader.registry import Evidence, evaluate
from grader.settings import EXERCISE_BASES, ExerciseSettings, load_settings
from grader.submission_files import present, read_optional_text, read_text

__all__ = [
    "BUILD_TIMES",
    "ENGINE_ERRORS",
    "RUN_CACHE_DIR",
    "GradeConfig",
    "clear_run_cache",
    "connect_engine",
    "exercise_fingerprints",
    "grade",
    "graded_tag",
    "prepare_baselines",
    "remove_graded_images",
]

RUN_CACHE_DIR = STATE_DIR / "runs"
T = TypeVar("T")
#: The engine failed under us (restarted, socket closed mid-stream): "could not grade", never the learner's fault.
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, ConnectionError)


@dataclass(frozen=True)
class GradeConfig:
    """How to grade; the CLI takes its defaults from here (one place)."""

    backend: str = "auto"  # "auto" (buildx when available), "classic" or "buildx"
    build_timeout_s: float = 600.0
    no_cache: bool = False  # rebuild every step, and re-run the container
    baseline: bool = True  # build the naive image once for `reduction` (minutes, the first time)
    lint: bool = True
    tag: str | None = None  # default docker-diet-workshop/<exercise>:graded
    settings: ExerciseSettings | None = None  # default: exercises/<app>/grading.toml
    app_dir: Path | None = None  # default: apps/<exercise>
    baseline_dockerfile: Path | None = None  # default: the exercise's starting Dockerfile (from git)
    class_mode: bool = False  # grade-class, autograde, CI: bases limited to grading.toml's allow list
    rerun: bool = False  # run the container again instead of reusing a remembered run (--fresh)
    contract: AppContract | None = None  # default: <app_dir>/probe.toml (grade --context builds one from flags)


def graded_tag(exercise: str) -> str:
    return f"docker-diet-workshop/{exercise}:graded"


def _connect() -> docker.APIClient:
    from grader.engine.daemon import EngineUnavailable, connect

    try:
        client = connect()
    except EngineUnavailable as exc:
        raise NoEngine(str(exc)) from exc
    return client.api


def _read_dockerfile(exercise: str, dockerfile: str | Path | None) -> tuple[Path, str]:
    """The learner's Dockerfile, read without following links (grader.submission_files)."""
    path = Path(dockerfile) if dockerfile else EXERCISES_DIR / exercise / "Dockerfile"
    if not present(path):
        raise DockerfileError(f"No Dockerfile at {path}. Check the path, or restore the exercise with "
                              f"`workshop reset {exercise}`.")
    return path, read_text(path)


def _read_dockerignore(dockerfile: Path, dockerignore: str | Path | None) -> str | None:
    """The explicit file, else `<Dockerfile>.dockerignore` (BuildKit's per-Dockerfile ignore file), else the
    .dockerignore beside the Dockerfile, else none."""
    if dockerignore:
        if not present(Path(dockerignore)):
            raise DockerfileError(f"No .dockerignore at {dockerignore}.")
        return read_text(Path(dockerignore))
    specific = dockerfile.parent / f"{dockerfile.name}.dockerignore"
    return read_optional_text(specific if present(specific) else dockerfile.parent / ".dockerignore")


def clear_run_cache() -> int:
    """Forget every remembered container run (`--fresh`, `--no-cache`); returns how many were removed."""
    removed = 0
    for path in RUN_CACHE_DIR.glob("*.pickle") if RUN_CACHE_DIR.is_dir() else ():
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _cached_run(api: docker.APIClient, facts: ImageFacts, limits: RunLimits, fresh: bool,
                inputs: str = "", contract: AppContract | None = None) -> RunFacts:
    """Run an image once per content and inputs: an unchanged image behaves the same, so a regrade reuses it."""
    # Keyed by content, not image id (BuildKit's --load gives an unchanged image a new id); `inputs` is everything
    # else that decides the result; `contract` the app probe's requests (probe.toml), so editing the probe runs the
    # container again (grader.cache_keys.run_key).
    path = RUN_CACHE_DIR / f"{run_key(facts, limits, inputs, contract)}.pickle"
    cached = None if fresh else load_sealed(path, RunFacts)  # a cut-short or foreign file is a miss
    if cached is not None:
        return cached
    result = run_image(api, facts, limits, contract)
    # Written whole or not at all (grader/engine/cache_files.py). A run without its database is not remembered:
    # once `workshop bases` makes the image, a regrade uses it.
    if result.started and not (result.app_probe and result.app_probe.database_note):
        store_sealed(path, result)
    return result


def _baseline(api: docker.APIClient, exercise: str, builder: Builder, config: GradeConfig,
              progress: ProgressCallback | None) -> BaselineFacts | None:
    """The naive baseline; if it cannot be built, `reduction` is skipped rather than the whole grade lost."""
    if not config.baseline:
        return cached_baseline(api, exercise, app_dir=config.app_dir)
    try:
        return ensure_baseline(api, exercise, builder, progress=progress, dockerfile=config.baseline_dockerfile,
                               app_dir=config.app_dir)
    except GradeError:
        return None


BUILD_TIMES = STATE_DIR / "build-times.json"


def _cold_and_warm(exercise: str, dockerfile_text: str, build: BuildFacts) -> tuple[float | None, float | None]:
    """A build that reused no cached step is this Dockerfile's cold time (remembered on disk); one that reused
    some is a warm time. Cold stays unknown until such a build happens (`--no-cache` makes one)."""
    key = f"{exercise}:{hashlib.sha256(dockerfile_text.encode()).hexdigest()[:16]}"
    times = {name: value for name, value in (load_json(BUILD_TIMES) or {}).items()
             if isinstance(value, (int, float)) and not isinstance(value, bool)}
    if build.cached_steps == 0:
        times[key] = build.seconds
        store_json(BUILD_TIMES, times)
        return build.seconds, None
    return (float(times[key]) if key in times else None), build.seconds


def _comparison(settings: ExerciseSettings, facts: ImageFacts | None, baseline: BaselineFacts | None,
                cold_warm: tuple[float | None, float | None]) -> Comparison:
    compressed = compressed_estimate(facts) if facts else None
    current = facts.size_bytes if facts else None
    reduction = (100.0 * (baseline.size_bytes - current) / baseline.size_bytes
                 if baseline and current is not None and baseline.size_bytes else None)
    cold, warm = cold_warm
    return Comparison(
        article=settings.article, naive_bytes=baseline.size_bytes if baseline else None, current_bytes=current,
        reduction_percent=round(reduction, 1) if reduction is not None else None,
        cold_build_s=cold, warm_build_s=warm, compressed_bytes_estimate=compressed,
        pull_seconds_estimate=round(compressed * 8 / (settings.bandwidth_mbps * 1e6), 1) if compressed else None,
        bandwidth_mbps=settings.bandwidth_mbps,
    )


def _gate_only(
    settings: ExerciseSettings | None, info: DockerfileInfo | None, error: GradeError
) -> tuple[CheckResult, ...]:
    """The checks of a report that could not be graded: `builds` failed with the reason, the rest skipped."""
    if settings is None or info is None:
        return ()
    return evaluate(Evidence(settings=settings, dockerfile=info, build_error=error.message))


def _image_labels(api: docker.APIClient) -> LabelLookup:
    """A lookup for grader.image_policy: id, labels and ONBUILD of a local image, or None when the engine has none."""
    def labels_of(name: str) -> EngineImage | None:
        try:
            data = api.inspect_image(name)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            if exc.status_code in (400, 404):
                return None
            raise
        config = data.get("Config") or {}
        return EngineImage(str(data["Id"]), dict(config.get("Labels") or {}),
                           tuple(str(t) for t in config.get("OnBuild") or ()))

    return labels_of


@dataclass(frozen=True)
class _Inputs:
    """A submission read and checked before anything is built."""

    settings: ExerciseSettings
    text: str
    ignore_text: str | None
    info: DockerfileInfo


def _read_inputs(exercise: str, dockerfile: str | Path | None, dockerignore: str | Path | None,
                 config: GradeConfig) -> _Inputs:
    settings = config.settings or load_settings(exercise)
    path, text = _read_dockerfile(exercise, dockerfile)
    ignore_text = _read_dockerignore(path, dockerignore)
    info = parse_dockerfile(text)
    if config.class_mode:
        check_allowed(info, settings.allowed_bases)
    return _Inputs(settings, text, ignore_text, info)


#: Every base the exercises use: what `workshop bases` keeps on the machine, registry or not.
LOCAL_BASES = tuple(sorted({base for bases in EXERCISE_BASES.values() for base in bases}))


def _pull_missing_bases(api: docker.APIClient, info: DockerfileInfo, labels_of: LabelLookup) -> None:
    """Pull a base the engine lacks, as `docker build` would; when no registry answers, say which base is missing
    and what is on this machine, rather than the engine's network error."""
    for use in external_images(info):
        if use.where.startswith("ONBUILD") or labels_of(use.name) is not None:
            continue  # a trigger's image is the builder's to fetch, and only if a later stage runs the trigger
        repository, tag = parse_repository_tag(use.name)
        try:
            api.pull(repository, tag=tag or "latest")
        except (docker.errors.APIError, *ENGINE_ERRORS):
            raise DockerfileError(
                f"Line {use.line}: {use.where} `{use.name[:80]}` is not on this machine, and pulling it failed "
                "(no registry answers, or it has no such image). Offline, build on the local bases that "
                f"`workshop bases` makes ({', '.join(LOCAL_BASES)}), or pull `{use.name[:80]}` once where a "
                "registry answers.", line=use.line, step=use.where) from None


def _build(api: docker.APIClient, exercise: str, inputs: _Inputs, config: GradeConfig,
           progress: ProgressCallback | None) -> tuple[Builder, BuildContext, BuildFacts, str]:
    """Refuse grader-made bases, assemble the context and build; returns the inputs digest too."""
    labels_of = _image_labels(api)
    _pull_missing_bases(api, inputs.info, labels_of)
    allowed = inputs.settings.allowed_bases if config.class_mode else None  # and what bases' ONBUILD reads
    base_ids = check_not_grader_made(inputs.info, labels_of, allowed)  # pulled ones too: labels are not trusted
    builder = choose_builder(api, config.backend)
    context = assemble_context(config.app_dir or APPS_DIR / exercise, inputs.text, inputs.ignore_text)
    digest = inputs_digest(dockerfile=run_relevant_text(inputs.info), dockerignore=inputs.ignore_text,
                           context_sha256=RUN_CONTEXT, settings=inputs.settings, base_ids=base_ids)
    labels = {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "graded", f"{PROJECT_LABEL}.exercise": exercise}
    build = builder.build(BuildRequest(context, inputs.info, config.tag or graded_tag(exercise), labels,
                                       nocache=config.no_cache, timeout_s=config.build_timeout_s, progress=progress,
                                       limits=inputs.settings.limits))
    return builder, context, replace(build, context_paths=context.paths), digest


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    """Run one named step of grade() and record its seconds in `timings` (the report's "timings")."""
    mark = time.monotonic()
    try:
        return step()
    finally:
        timings[name] = round(time.monotonic() - mark, 3)


def _engine_error(exc: BaseException) -> GradeError:
    return GradeError(f"The Docker engine failed while grading ({type(exc).__name__}: {str(exc)[:300]}). This is "
                      "not a problem with the submission: run the command again; if it repeats, `workshop doctor` "
                      "checks the engine.")


# ------------------------------------------------------------------ for runs of many grades (grade-class)

def connect_engine() -> docker.APIClient:
    """The engine's low-level client for a run of many grades, or NoEngine with the advice on getting one."""
    return _connect()


def remove_graded_images(api: docker.APIClient, tags: Iterable[str]) -> None:
    """Remove images the grader tagged for a class run, once it is done (they are its build cache meanwhile)."""
    for tag in tags:
        try:
            api.remove_image(tag, force=True)
        except docker.errors.APIError:
            pass  # never built (could not grade) or already gone
        except ENGINE_ERRORS:
            return  # the engine went away: the labelled images go with the next run


def prepare_baselines(api: docker.APIClient, exercises: Iterable[str], config: GradeConfig) -> None:
    """Build each exercise's naive baseline once, before the parallel builds could race to build it together."""
    if not config.baseline:
        return
    builder = choose_builder(api, config.backend)
    for exercise in sorted(set(exercises)):
        try:
            ensure_baseline(api, exercise, builder, dockerfile=config.baseline_dockerfile, app_dir=config.app_dir)
        except (GradeError, *ENGINE_ERRORS):
            pass  # grade() skips `reduction` with the reason; the class still runs


def exercise_fingerprints(api: docker.APIClient, exercises: Iterable[str], config: GradeConfig) -> dict[str, str]:
    """Per exercise, everything besides the learner's files that decides a grade (grader.cache_keys): the
    settings, the app's files, the allowed bases' image ids, the grader's version and how it grades."""
    prints = {}
    for exercise in exercises:
        settings = config.settings or load_settings(exercise)
        bases = []
        for name in settings.allowed_bases:
            try:
                bases.append((name, str(api.inspect_image(name)["Id"])))  # type: ignore[no-untyped-call]
            except (*ENGINE_ERRORS, ValueError):
                bases.append((name, "<missing>"))
        how = replace(config, tag=None, settings=None)
        parts = (settings_digest(settings), context_fingerprint(config.app_dir or APPS_DIR / exercise),
                 repr(sorted(bases)), grader_version(), repr(how))
        prints[exercise] = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return prints


def grade(
    exercise: str,
    dockerfile: str | Path | None = None,
    dockerignore: str | Path | None = None,
    *,
    config: GradeConfig | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Build the Dockerfile against apps/<exercise>, inspect and run the image once, run every check.

    `dockerfile` defaults to exercises/<exercise>/Dockerfile; `dockerignore` to `<Dockerfile>.dockerignore` beside it
    (the file BuildKit reads with `docker build -f`), else a `.dockerignore` there.
    """
    config = config or GradeConfig()
    timings: dict[str, float] = {}
    inputs: _Inputs | None = None
    build: BuildFacts | None = None
    started = time.monotonic()
    try:
        inputs = _read_inputs(exercise, dockerfile, dockerignore, config)
        api = _connect()
        builder, _context, build, digest = _build(api, exercise, inputs, config, progress)
        timings["build"] = build.seconds
        image_id, final_base = build.image_id, inputs.info.final_base
        facts = _timed(timings, "inspect", lambda: inspect_image(api, image_id, base_image=final_base))
        limits = RunLimits.from_settings(inputs.settings)
        contract = config.contract or load_contract(config.app_dir or APPS_DIR / exercise)
        run = _timed(timings, "run", lambda: _cached_run(api, facts, limits, fresh=config.no_cache or config.rerun,
                                                           inputs=digest, contract=contract))
        baseline = _timed(timings, "baseline", lambda: _baseline(api, exercise, builder, config, progress))
    except ENGINE_ERRORS as exc:  # the engine failed under us (restarted, image removed, socket closed, ...)
        error = _engine_error(exc)
        return Report(exercise=exercise, checks=_gate_only(*_settings_info(inputs), error), error=error,
                      timings=timings, build=build)
    except GradeError as error:
        return Report(exercise=exercise, checks=_gate_only(*_settings_info(inputs), error), error=error,
                      timings=timings)
    return _graded_report(exercise, inputs, config, build, facts, run, baseline, timings, started)


def _settings_info(inputs: _Inputs | None) -> tuple[ExerciseSettings | None, DockerfileInfo | None]:
    return (inputs.settings, inputs.info) if inputs else (None, None)


def _graded_report(exercise: str, inputs: _Inputs, config: GradeConfig, build: BuildFacts, facts: ImageFacts,
                   run: RunFacts, baseline: BaselineFacts | None, timings: dict[str, float],
                   started: float) -> Report:
    """The checks over the one inspection, and the Report the reporters read."""
    info, settings = inputs.info, inputs.settings

    def check_all() -> tuple[CheckResult, ...]:
        lint = lint_dockerfile(info) if config.lint else None
        app_dir = config.app_dir or APPS_DIR / exercise
        return evaluate(Evidence(settings=settings, dockerfile=info, build=build, image=facts, run=run,
                                 app=read_app_facts(app_dir), baseline=baseline, lint_findings=lint,
                                 lint_enabled=config.lint))

    checks = _timed(timings, "checks", check_all)
    timings["beyond_build"] = round(time.monotonic() - started - build.seconds, 3)
    return Report(
        exercise=exercise, checks=checks, build=build, image_size_bytes=facts.size_bytes,
        compressed_bytes_estimate=compressed_estimate(facts), base_image=info.final_base,
        comparison=_comparison(settings, facts, baseline, _cold_and_warm(exercise, info.text, build)),
        baseline=baseline, run=run, timings=timings, image_read=facts.read,
    )
