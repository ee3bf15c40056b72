"""The `course` and `grade-class` subcommands. Thin: they call grader.course.autograde and grader.course.classroom.

grader/cli/workshop.py calls `register(subparsers)`; each handler returns an exit code: 0 done, 2 could not run
(bad folder, no engine, missing extra), 130 interrupted (`grade-class` resumes where it stopped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from grader.api import GradeConfig
from grader.model import EXIT_CANNOT, EXIT_INTERRUPTED, EXIT_OK
from grader.paths import EXERCISES

if TYPE_CHECKING:
    from grader.queue.submit import QueueRun

__all__ = [
    "cmd_classroom_results",
    "cmd_course_init",
    "cmd_grade_class",
    "register",
]

_DEFAULTS = GradeConfig()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `course init DIR` and `grade-class SUBMISSIONS_DIR` to the `workshop` command."""
    from grader.course.classroom import default_jobs

    course = subparsers.add_parser("course", help="Write an nbgrader course for the three exercises.")
    actions = course.add_subparsers(dest="course_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="Write nbgrader_config.py and source/<exercise>/ into DIR.")
    init.add_argument("directory", type=Path, metavar="DIR", help="The course folder (created if missing).")
    init.add_argument("--exercise", action="append", choices=EXERCISES, dest="exercises",
                      help="Only this exercise (repeat for several; default: all three).")
    init.add_argument("--course-id", default="docker-diet-workshop", help="nbgrader's course id.")
    init.add_argument("--force", action="store_true", help="Rewrite existing assignments (gradebook is kept).")
    init.set_defaults(func=cmd_course_init)

    p = subparsers.add_parser("grade-class", help="Grade every student's folder; resumes after an interruption.")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                   help="One folder per student, each holding <exercise>/Dockerfile (and .dockerignore).")
    p.add_argument("--output", type=Path, help="Where grades go (default: SUBMISSIONS_DIR-grades beside it).")
    p.add_argument("--jobs", "-j", type=int, default=default_jobs(),
                   help=f"Builds at once on the one engine (default here: {default_jobs()}, from the cores).")
    p.add_argument("--exercise", action="append", choices=EXERCISES, dest="exercises",
                   help="Only this exercise (repeat for several; default: all three).")
    p.add_argument("--fresh", action="store_true",
                   help="Forget the state file and the remembered container runs; grade everything again.")
    p.add_argument("--no-cache", action="store_true",
                   help="Rebuild every step of every submission (slow) and forget the remembered runs.")
    p.add_argument("--retry-errors", action="store_true",
                   help="Grade again the submissions that could not be graded (after fixing the machine).")
    p.add_argument("--keep-images", action="store_true", help="Keep each submission's image after the run.")
    p.add_argument("--build-timeout", type=float, default=_DEFAULTS.build_timeout_s, metavar="SECONDS",
                   help=f"Stop one build after this long (default: {_DEFAULTS.build_timeout_s:.0f}).")
    p.add_argument("--backend", choices=("auto", "classic", "buildx"), default=_DEFAULTS.backend,
                   help="Build back end (default: buildx when the plugin works, else classic).")
    p.add_argument("--queue", metavar="redis://HOST:PORT/N",
                   help="Grade on the `workshop worker`s of this Redis broker, not this engine (docs/queue.md).")
    p.set_defaults(func=cmd_grade_class)

    p = subparsers.add_parser("classroom-results",
                              help="Turn `workshop grade --all --format json` output into GitHub Classroom's format.")
    p.add_argument("report", type=Path, metavar="REPORT_JSON", help="The JSON report (one exercise or a list).")
    p.add_argument("--format", choices=("base64", "json", "markdown"), default="base64",
                   help="base64 for the autograding reporter's <RUNNER>_RESULTS variable (default), json to read, "
                        "markdown for $GITHUB_STEP_SUMMARY.")
    p.set_defaults(func=cmd_classroom_results)


def cmd_course_init(args: argparse.Namespace) -> int:
    from grader.course.autograde import CourseError, init_course

    try:
        folders = init_course(args.directory, tuple(args.exercises or EXERCISES), course_id=args.course_id,
                              force=args.force)
    except CourseError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    for folder in folders:
        print(f"Wrote {folder}")
    from grader.paths import find_program

    nbgrader = find_program("nbgrader") or "nbgrader"  # the venv's, so it works without activating the venv
    print(f"Next, in {args.directory}:")
    for folder in folders:
        print(f"  {nbgrader} generate_assignment {folder.name}")
    return EXIT_OK


def cmd_grade_class(args: argparse.Namespace) -> int:
    from grader.course.classroom import ClassResult, Outcome, grade_class
    from grader.errors import NoEngine
    from grader.reporters.sanitize import shown_name

    if args.jobs < 1:
        print("--jobs must be at least 1.", file=sys.stderr)
        return EXIT_CANNOT
    submissions: Path = args.submissions
    output = args.output or submissions.resolve().parent / f"{submissions.resolve().name}-grades"

    def progress(done: int, total: int, outcome: Outcome) -> None:
        print(f"[{done}/{total}] {shown_name(outcome.job.key)}: {outcome.summary} ({outcome.seconds:.0f} s)",
              file=sys.stderr, flush=True)

    config = GradeConfig(backend=args.backend, build_timeout_s=args.build_timeout, no_cache=args.no_cache,
                         class_mode=True)
    queue = _queue_run(args.queue) if args.queue else None
    if isinstance(queue, int):
        return queue
    try:
        result: ClassResult = grade_class(submissions, output, jobs=args.jobs, config=config,
                                          exercises=tuple(args.exercises or EXERCISES),
                                          fresh=args.fresh or args.no_cache,
                                          retry_errors=args.retry_errors, keep_images=args.keep_images,
                                          progress=progress, queue=queue)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    except NoEngine as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_CANNOT
    except KeyboardInterrupt:
        print(f"Interrupted. Finished submissions are saved in {output}; run the same command again to grade "
              f"only the rest.", file=sys.stderr)
        return EXIT_INTERRUPTED
    could_not = sum(1 for o in result.graded if o.report.get("error"))
    print(f"Graded {len(result.graded)} submissions in {result.seconds:.0f} s ({result.resumed} already graded, "
          f"{could_not} could not be graded). Wrote {output / 'grades.csv'}, {output / 'grades.json'} and "
          f"{output / 'students'}/<student>.html.")
    for entry in result.skipped:  # no learner is dropped in silence
        print(f"Skipped {shown_name(entry.name)}: {entry.reason}.")
    if result.pruned.bytes:
        print(f"Removed the run's leftovers: {len(result.pruned.images)} intermediate images and "
              f"{len(result.pruned.cache)} build-cache records, {result.pruned.bytes / 1e6:,.1f} MB.")
    return EXIT_OK


def _queue_run(url: str) -> QueueRun | int:
    """The queue to grade on, printing each job's state as workers report it; an exit code if it cannot be used."""
    from grader.cli.queue import MISSING_EXTRA, check_queue_url

    problem = check_queue_url(url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_CANNOT
    try:
        from grader.queue.store import Event
        from grader.queue.submit import QueueRun
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        return EXIT_CANNOT

    def show(key: str, event: Event, place: int | None) -> None:
        where = f" (#{place} in line)" if place else ""
        by = f" on {event.worker}" if event.worker else ""
        print(f"  {key}: {event.state}{where}{by}{': ' + event.message if event.message else ''}", file=sys.stderr,
              flush=True)

    return QueueRun(url, on_event=show)


def cmd_classroom_results(args: argparse.Namespace) -> int:
    import base64
    import json

    from grader.course.classroom import classroom_results, markdown_summary

    try:
        data = json.loads(args.report.read_text())
    except (OSError, ValueError) as exc:
        print(f"Cannot read {args.report} ({exc}). Write it with `workshop grade --all --format json --output "
              f"{args.report}`.", file=sys.stderr)
        return EXIT_CANNOT
    results = classroom_results(data if isinstance(data, list) else [data])
    if args.format == "markdown":
        print(markdown_summary(results), end="")
    elif args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        print(base64.b64encode(json.dumps(results).encode()).decode())
    return EXIT_OK
