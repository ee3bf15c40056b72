"""Why an image could not be graded, kept apart from "failed a check".

    GradeError                 could not grade: exit code 2, `Report.error` set, no score
    ├── NoEngine               no Docker engine answers
    ├── UnknownExercise        not node-api, fastapi or combined
    ├── DockerfileError        missing, empty or unparsable Dockerfile
    │   ├── BuildKitOnlySyntax RUN --mount, COPY --chmod, ... under the classic builder
    │   ├── UnsafeFile         a submitted file that is a link, a FIFO, a device, too big, unreadable, not UTF-8
    │   └── DisallowedImage    FROM / COPY --from / --mount from= names an image the class does not allow
    ├── BuildFailed            a step failed: its instruction, line and the last log lines
    └── BuildTimeout           the build ran past --build-timeout and was stopped

A learner's mistake never surfaces as a traceback: the CLI prints `message`, which says what to do next.
"""

from __future__ import annotations


class GradeError(Exception):
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
        self.message = message
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
