"""The frozen data that flows through the grader: facts in, results out.

Only build.py, inspect.py and run.py talk to Docker; they produce the facts below. Checks read facts and
return an Outcome; the registry turns outcomes into CheckResults; a Report holds them. Nothing here is
mutated after it is made, and nothing here knows about HTML or terminals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple, TypeAlias

from grader.app_contract import AppContract
from grader.errors import GradeError, UnknownCheck

__all__ = [
    "EXIT_CANNOT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "AppFacts",
    "AppProbeFacts",
    "ArticleNumbers",
    "BaselineFacts",
    "BuildEvent",
    "BuildFacts",
    "CheckResult",
    "Comparison",
    "Exchange",
    "FileEntry",
    "Healthcheck",
    "ImageFacts",
    "ImageRead",
    "JsonValue",
    "LayerFacts",
    "MergedEntry",
    "ProbeFacts",
    "ProbeWay",
    "ProcessSeen",
    "ProgressCallback",
    "ProjectFacts",
    "Report",
    "RunFacts",
    "Status",
]

#: What every `workshop` command exits with (Report.exit_code for a grade): defined here once.
EXIT_OK = 0  # done; every scored check passed
EXIT_FAILED = 1  # graded, and some scored check failed
EXIT_CANNOT = 2  # could not grade or could not run (no engine, bad input, build failed)
EXIT_INTERRUPTED = 130  # Ctrl-C (grade-class resumes where it stopped)

#: What a check measured or asked for: anything JSON can hold ("1.13 GB", 1000, ["/usr/bin/gcc"], {...}).
JsonValue: TypeAlias = Any


class Status(str, Enum):
    """What happened to one check; `passed` is derived from it, never stored beside it."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class FileEntry(NamedTuple):
    """One path in a layer: a NamedTuple, because a base image holds ~50,000 of them."""

    size: int
    kind: str  # "file" | "dir" | "symlink" | "other"


class MergedEntry(NamedTuple):
    """One path of the final file system, with the index of the layer that provides it."""

    size: int
    kind: str
    layer: int


@dataclass(frozen=True)
class LayerFacts:
    """One layer: what it adds, what it deletes (whiteouts), and which instruction made it."""

    digest: str
    size_bytes: int
    instruction: str
    from_base: bool
    files: Mapping[str, FileEntry]
    deleted: frozenset[str]
    opaque_dirs: frozenset[str]
    private_keys: frozenset[str] = frozenset()
    compression_ratio: float | None = None


@dataclass(frozen=True)
class Healthcheck:
    """The image's HEALTHCHECK as Docker stores it (durations in seconds)."""

    test: tuple[str, ...]
    interval_s: float = 30.0
    timeout_s: float = 30.0
    start_period_s: float = 0.0
    retries: int = 3

    @property
    def disabled(self) -> bool:
        """`HEALTHCHECK NONE` is stored as test ["NONE"]."""
        return not self.test or self.test[0] == "NONE"


@dataclass(frozen=True)
class ImageRead:
    """How the grader read the image, as the report says it: `source` overlay2 (the engine's layer folders) or save
    (one streamed `docker save`), `reason` why; the engine's `image_store` (classic or containerd) and `transport`
    (unix, npipe, tcp, ssh); `content_bytes`, the compressed size the containerd store reports (None elsewhere)."""

    source: str = "overlay2"
    reason: str = ""
    image_store: str = "classic"
    transport: str = "unix"
    content_bytes: int | None = None


@dataclass(frozen=True)
class ImageFacts:
    """Everything the checks may ask about an image, gathered by one inspection."""

    image_id: str
    size_bytes: int
    user: str
    healthcheck: Healthcheck | None
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    cmd: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    workdir: str
    layers: tuple[LayerFacts, ...]
    merged: Mapping[str, MergedEntry]
    users: Mapping[str, int] = field(default_factory=dict)
    groups: Mapping[str, int] = field(default_factory=dict)
    dpkg_packages: frozenset[str] = frozenset()
    apk_packages: frozenset[str] = frozenset()
    base_image: str | None = None
    inspect_source: str = "overlay2"
    history: tuple[str, ...] = ()  # every instruction, empty layers (ENV, CMD, ...) included, oldest first
    #: Why the listing of the image's paths is incomplete (a bound of grader/engine/layer_index.py), or None.
    unindexed: str | None = None
    #: Files a check reads (passwd, dpkg status, ...) that were read only in part, with the reason.
    truncated_files: tuple[str, ...] = ()
    read: ImageRead = field(default_factory=ImageRead)

    @property
    def base_layer_count(self) -> int:
        """How many bottom layers came from the base image (the learner cannot change those)."""
        return sum(1 for layer in self.layers if layer.from_base)


@dataclass(frozen=True)
class ProbeWay:
    """One way of taking the app away, and what the image's healthcheck said while it was gone."""

    way: str  # "never-started" | "app-killed"
    status: str  # "failed-as-expected" | "passed-without-app" | "not-judged"
    detail: str
    runs: int = 0  # healthcheck results seen while the app was down
    passes: int = 0  # how many of them passed (any pass is a failure of the probe)


@dataclass(frozen=True)
class ProbeFacts:
    """Result of running the image's healthcheck in containers whose app is not running (one per way)."""

    status: str  # "failed-as-expected" | "passed-without-app" | "skipped" (no verdict: no healthcheck, or could not)
    detail: str
    waiter: tuple[str, ...] = ()
    ways: tuple[ProbeWay, ...] = ()


class ProcessSeen(NamedTuple):
    """A process seen in the running container: its effective uid and its command name (cut, printable)."""

    euid: int
    command: str


@dataclass(frozen=True)
class Exchange:
    """One request the grader's app probe sent, and what came back: untrusted, bounded data (never obeyed)."""

    name: str
    method: str
    path: str
    status: int | None
    content_type: str
    body: str  # the first few KB, decoded
    error: str | None = None  # no answer: refused, timed out, not sent
    kind: str = "request"  # "request" | "script" | "stylesheet"
    assets: tuple[Exchange, ...] = ()  # the page's scripts and stylesheets, fetched after it


@dataclass(frozen=True)
class AppProbeFacts:
    """The app probe: the contract's requests sent to the running app from the grader's own container."""

    status: str  # "probed" | "not-run" (never healthy, probe failed) | "no-contract" (the app has no probe.toml)
    detail: str
    contract: AppContract | None = None
    exchanges: tuple[Exchange, ...] = ()
    values: tuple[tuple[str, JsonValue], ...] = ()  # the run's fresh values and those saved from answers
    database_note: str | None = None  # "database not available: ..." when the grader could not start it
    seconds: float = 0.0


@dataclass(frozen=True)
class RunFacts:
    """One run of the image: did it start, turn healthy, as whom PID 1 ran and which (euid, command) ran."""

    started: bool
    start_error: str | None
    health_status: str | None  # "healthy" | "unhealthy" | "starting" | None (no healthcheck)
    health_seconds: float | None
    exit_code: int | None
    uid: int | None
    logs_tail: tuple[str, ...]
    health_log: tuple[str, ...]
    probe: ProbeFacts | None
    seconds: float
    processes: tuple[ProcessSeen, ...] = ()  # every distinct (euid, command) sampled from start to removal
    setid_root: tuple[str, ...] | None = None  # setuid/setgid-root files in the image (None: could not look)
    app_probe: AppProbeFacts | None = None


@dataclass(frozen=True)
class BuildEvent:
    """One build progress line: the step number when known, and the text the engine printed."""

    text: str
    step: int | None = None
    total: int | None = None


#: Where a build sends its progress (a terminal bar, a notebook's step lines); edges import it from here.
ProgressCallback: TypeAlias = Callable[[BuildEvent], None]


@dataclass(frozen=True)
class BuildFacts:
    """One build: which image it made, how long it took, how big the context was."""

    image_id: str
    tag: str
    backend: str
    seconds: float
    context_bytes: int
    cached_steps: int
    total_steps: int
    context_paths: tuple[str, ...] = ()  # what the context sent (grader.context), for `context-size`


@dataclass(frozen=True)
class AppFacts:
    """What the app's source says (package.json files), read from the build context, not the image."""

    dev_dependencies: frozenset[str]
    prod_dependencies: frozenset[str]


@dataclass(frozen=True)
class BaselineFacts:
    """The naive starting image, built once and cached, that `reduction` compares against."""

    image_id: str
    size_bytes: int
    build_seconds: float


@dataclass(frozen=True)
class ProjectFacts:
    """A learner's own project (`workshop grade --context DIR`): its before/after replaces the article's."""

    context: str  # the project folder, as given
    baseline_source: str  # which "before" was built: "your first Dockerfile", "naive (node)", a file, ...
    stack: str | None = None  # "node", "python" or None (detected from package.json, requirements.txt, ...)


@dataclass(frozen=True)
class ArticleNumbers:
    """The article's before/after numbers for one app (sizes in bytes, times in seconds)."""

    before_bytes: int
    after_bytes: int
    build_before_s: float | None = None
    build_after_s: float | None = None
    pull_before_s: float | None = None
    pull_after_s: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, with what was measured, what was asked and the next step."""

    id: str
    title: str
    status: Status
    points: float
    max_points: float
    measured: JsonValue
    threshold: JsonValue
    message: str
    hint: str | None
    lesson: str
    bonus: bool = False

    @property
    def passed(self) -> bool:
        """Derived from status so it can never disagree with it."""
        return self.status is Status.PASS

    @property
    def scored(self) -> bool:
        """Counts for the exit code: worth points and not a bonus."""
        return self.max_points > 0 and not self.bonus


@dataclass(frozen=True)
class Comparison:
    """The learner's numbers beside the article's, for the report's last table."""

    article: ArticleNumbers
    naive_bytes: int | None
    current_bytes: int | None
    reduction_percent: float | None
    cold_build_s: float | None
    warm_build_s: float | None
    compressed_bytes_estimate: int | None
    pull_seconds_estimate: float | None
    bandwidth_mbps: float


@dataclass(frozen=True)
class Report:
    """The whole grade; reporters only read this. `error` is set when the image could not be graded."""

    exercise: str
    checks: tuple[CheckResult, ...]
    error: GradeError | None = None
    build: BuildFacts | None = None
    image_size_bytes: int | None = None
    compressed_bytes_estimate: int | None = None
    base_image: str | None = None
    comparison: Comparison | None = None
    baseline: BaselineFacts | None = None
    run: RunFacts | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    project: ProjectFacts | None = None  # set for `grade --context`: the learner's before/after, not the article's
    image_read: ImageRead | None = None

    def check(self, check_id: str) -> CheckResult:
        """The result of one check; UnknownCheck (a KeyError) names the ids the report holds."""
        for result in self.checks:
            if result.id == check_id:
                return result
        held = f"Its checks: {', '.join(c.id for c in self.checks)}." if self.checks else "It holds no checks."
        raise UnknownCheck(f"The {self.exercise} report has no check {check_id!r}. {held} "
                           "`workshop checks` lists every id.")

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 2)

    @property
    def max_score(self) -> float:
        """Bonus points are not part of the possible score (they can only add), nor are skipped checks."""
        return round(sum(c.max_points for c in self.checks if c.scored and c.status is not Status.SKIPPED), 2)

    @property
    def percent(self) -> float:
        """Capped at 100: a bonus shows in the score, not as more than full marks."""
        return min(100.0, round(100.0 * self.score / self.max_score, 1)) if self.max_score else 0.0

    @property
    def graded(self) -> bool:
        return self.error is None

    @property
    def passed(self) -> bool:
        """Every scored check passed (the exit code 0 case)."""
        return self.graded and all(c.passed for c in self.checks if c.scored and c.status is not Status.SKIPPED)

    @property
    def exit_code(self) -> int:
        """0 every scored check passed, 1 some check failed, 2 could not grade."""
        if not self.graded:
            return EXIT_CANNOT
        return EXIT_OK if self.passed else EXIT_FAILED
