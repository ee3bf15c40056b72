"""Every error a user of the workshop can see, in one tree; each has a stable `kind`.

    WorkshopError                  base of them all: `kind` is stable, the message names the fix
    ├── GradeError                 could not grade: exit code 2, `Report.error` set, no score
    │   ├── NoEngine               no Docker engine answers
    │   ├── UnknownExercise        not node-api, fastapi or combined
    │   ├── DockerfileError        missing, empty or unparsable Dockerfile
    │   │   ├── BuildKitOnlySyntax RUN --mount, COPY --chmod, ... under the classic builder
    │   │   ├── UnsafeFile         a submitted file that is a link, a FIFO, a device, too big, unreadable, not UTF-8
    │   │   └── DisallowedImage    FROM / COPY --from / --mount from= names an image the class does not allow
    │   ├── BuildFailed            a step failed: its instruction, line and the last log lines
    │   ├── BuildTimeout           the build ran past --build-timeout and was stopped
    │   └── InternalError          a bug in the grader met on one submission (grade-class records it, goes on)
    ├── SetupError                 the machine is not ready to grade (also a RuntimeError); its command exits 2
    │   ├── EngineUnavailable      no engine answers and none could be started (grader.engine.daemon)
    │   ├── BaseBuildError         a base image stand-in could not be built (grader.bases.stand_ins)
    │   ├── BundleError            a base-image bundle cannot be written or is refused (grader.bases.bundle)
    │   ├── BuildxInstallError     the buildx plugin could not be installed (grader.bases.buildx)
    │   └── NoDebianMirror         no Debian archive in apt's sources nor WORKSHOP_DEBIAN_MIRROR (grader.bases.mirror)
    ├── CourseError                an nbgrader course folder cannot be written as asked (grader.course.autograde)
    ├── NoSubmissions              grade-class was given no folder of submissions (also a FileNotFoundError)
    ├── CheckNotPassed             an autograded test cell's check earned nothing (also an AssertionError)
    ├── UnknownCheck               `Report.check(id)` for an id the report does not hold (also a KeyError)
    └── UnknownFormat              a report format that is not in grader.reporters.REPORTERS (also a ValueError)

A learner's mistake never surfaces as a traceback: the CLI prints `message`, which says what to do next. The
modules named above import their error from here, so `from grader.engine.daemon import EngineUnavailable` still works.
"""

from __future__ import annotations

__all__ = [
    "BaseBuildError",
    "BuildFailed",
    "BuildKitOnlySyntax",
    "BuildTimeout",
    "BuildxInstallError",
    "BundleError",
    "CheckNotPassed",
    "CourseError",
    "DisallowedImage",
    "DockerfileError",
    "EngineUnavailable",
    "GradeError",
    "InternalError",
    "NoDebianMirror",
    "NoEngine",
    "NoSubmissions",
    "SetupError",
    "UnknownCheck",
    "UnknownExercise",
    "UnknownFormat",
    "UnsafeFile",
    "WorkshopError",
]


class WorkshopError(Exception):
    """Base of every error the workshop shows a user. `kind` is stable (JSON reports and scripts match on it)."""

    kind = "workshop"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message  # what went wrong and what to do next


class GradeError(WorkshopError):
    """Base of everything that stops grading. `kind` is stable and appears in the JSON report."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        line: int | None = None,
        log_tail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.step = step
        self.line = line
        self.log_tail = log_tail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class NoEngine(GradeError):
    """No Docker engine answered."""

    kind = "no-engine"


class UnknownExercise(GradeError):
    """The exercise name is not one of grader.paths.EXERCISES."""

    kind = "unknown-exercise"


class DockerfileError(GradeError):
    """The Dockerfile is missing, empty or cannot be parsed."""

    kind = "dockerfile"


class BuildKitOnlySyntax(DockerfileError):
    """The Dockerfile needs BuildKit but only the classic builder is available."""

    kind = "buildkit-only-syntax"


class UnsafeFile(DockerfileError):
    """A learner's Dockerfile or .dockerignore that is not a small regular UTF-8 file inside the submission."""


class DisallowedImage(DockerfileError):
    """An image reference outside the allow list (class modes) or an image the grader itself made (always)."""


class BuildFailed(GradeError):
    """The engine reported an error during the build."""

    kind = "build-failed"


class BuildTimeout(GradeError):
    """The build was stopped after the timeout."""

    kind = "build-timeout"


class InternalError(GradeError):
    """A bug in the grader met on one submission: recorded as could-not-grade, and the class goes on."""

    kind = "internal"


class SetupError(WorkshopError, RuntimeError):
    """The machine is not ready to grade (engine, base images, plugins); the message says how to fix it."""

    kind = "setup"


class EngineUnavailable(SetupError):
    """No engine answers and none could be started; the message says how to get one."""

    kind = "engine-unavailable"


class BaseBuildError(SetupError):
    """A stand-in could not be built; the message names the image, the step and where the full log is."""

    kind = "base-build"


class BundleError(SetupError):
    """The bundle cannot be written or is refused; the message names the file and what to do."""

    kind = "bundle"


class BuildxInstallError(SetupError):
    """The plugin could not be installed; the message says why and what to do instead."""

    kind = "buildx-install"


class NoDebianMirror(SetupError):
    """The machine's apt sources name no Debian archive and WORKSHOP_DEBIAN_MIRROR is unset."""

    kind = "no-debian-mirror"


class CourseError(WorkshopError):
    """The course folder cannot be written as asked; the message says what to do instead."""

    kind = "course"


class NoSubmissions(WorkshopError, FileNotFoundError):
    """The submissions folder of `workshop grade-class` is missing; the message says what to give instead."""

    kind = "no-submissions"


class CheckNotPassed(WorkshopError, AssertionError):
    """A test cell's check earned no points; the message is the grader's measurement and next step.

    An AssertionError too, so nbgrader and pytest read it as a failed test."""

    kind = "check-not-passed"


class UnknownCheck(WorkshopError, KeyError):
    """A check id the report does not hold; a KeyError too, so `except KeyError` keeps working."""

    kind = "unknown-check"

    def __str__(self) -> str:  # KeyError's own __str__ would show the message in quotes
        return self.message


class UnknownFormat(WorkshopError, ValueError):
    """A report format no reporter renders; the message lists the valid ones."""

    kind = "unknown-format"
