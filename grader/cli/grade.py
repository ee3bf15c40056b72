"""The `grade`, `checks` and `explain` subcommands. Thin: they call grader.api.grade and the registry.

grader/cli/workshop.py calls `register(subparsers)`; each handler returns the exit code (0 all scored checks passed,
1 some check failed, 2 could not grade). Defaults come from GradeConfig, so the CLI and notebooks agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from grader.api import GradeConfig, grade
from grader.model import EXIT_CANNOT, EXIT_OK, BuildEvent, ProgressCallback, Report
from grader.paths import EXERCISES
from grader.project import ProjectOptions, grade_project
from grader.registry import REGISTRY, all_checks
from grader.reporters import REPORTERS, render_many

__all__ = [
    "checks_markdown",
    "cmd_checks",
    "cmd_explain",
    "cmd_grade",
    "add_project_arguments",
    "project_options",
    "register",
]

_DEFAULTS = GradeConfig()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `grade`, `checks` and `explain` to the `workshop` command."""
    p = subparsers.add_parser("grade", help="Build your Dockerfile, run the checks and score it.")
    p.add_argument("exercise", nargs="?", help=f"One of {', '.join(EXERCISES)}.")
    p.add_argument("--all", action="store_true", help="Grade every exercise.")
    p.add_argument("--dockerfile", type=Path, help="Grade this Dockerfile against the app (default: the exercise's).")
    p.add_argument("--dockerignore", type=Path, help="Use this ignore file (default: Dockerfile.dockerignore beside "
                   "the Dockerfile, the file BuildKit reads, else a .dockerignore there).")
    p.add_argument("--format", choices=sorted(REPORTERS), default="table", help="Output format (default: table).")
    p.add_argument("--output", type=Path, help="Write the report to FILE instead of stdout.")
    p.add_argument("--build-timeout", type=float, default=_DEFAULTS.build_timeout_s, metavar="SECONDS",
                   help=f"Stop a build after this long (default: {_DEFAULTS.build_timeout_s:.0f}).")
    p.add_argument("--no-cache", action="store_true", help="Rebuild every step and run the container again.")
    p.add_argument("--backend", choices=("auto", "classic", "buildx"), default=_DEFAULTS.backend,
                   help="Build back end (default: buildx when the plugin works, else classic).")
    p.add_argument("--class-mode", action=argparse.BooleanOptionalAction, default=None,
                   help="Grade as a class does: FROM / COPY --from / --mount from= may name only the exercise's "
                        "bases and grading.toml's [bases] allow (default: on when $CI or $GITHUB_ACTIONS is set, "
                        "except with --context).")
    p.add_argument("--no-baseline", action="store_true",
                   help="Do not build the naive image for `reduction` (it is skipped unless already cached).")
    add_project_arguments(p)
    p.set_defaults(func=cmd_grade)

    p = subparsers.add_parser("checks", help="List the checks: ids, titles, points and lessons.")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                   help="markdown prints the table the README embeds (generated, never hand-written).")
    p.set_defaults(func=cmd_checks)

    p = subparsers.add_parser("explain", help="Explain one check: what it measures and where the lesson is.")
    p.add_argument("check_id", metavar="CHECK_ID")
    p.set_defaults(func=cmd_explain)


def add_project_arguments(p: argparse.ArgumentParser) -> None:
    """`--context DIR` and the flags that describe a learner's own project (grader/project.py)."""
    g = p.add_argument_group("your own project (--context DIR)")
    g.add_argument("--context", type=Path, metavar="DIR", help="Grade your own project: DIR/Dockerfile (or "
                   "--dockerfile) built with DIR as the context, its contract from DIR/probe.toml or the flags below.")
    g.add_argument("--port", type=int, help="The port your app listens on inside the image (replaces probe.toml).")
    g.add_argument("--health-path", help="A path that answers 200 when the app is up, e.g. /health.")
    g.add_argument("--expect", action="append", default=[], metavar="'METHOD /path STATUS [contains TEXT]'",
                   help="A request that proves the app works, e.g. 'GET /api 200 contains ok' (repeat).")
    g.add_argument("--baseline", choices=("auto", "naive", "first"), default="auto",
                   help="The 'before': naive (written for your stack), first (your first graded Dockerfile), auto "
                        "(naive when package.json, requirements.txt or pyproject.toml says the stack, else first).")
    g.add_argument("--baseline-dockerfile", type=Path, metavar="FILE", help="Use FILE as the 'before'.")


def project_options(args: argparse.Namespace) -> ProjectOptions:
    return ProjectOptions(context=args.context, dockerfile=args.dockerfile, dockerignore=args.dockerignore,
                          port=args.port, health_path=args.health_path, expects=tuple(args.expect),
                          baseline_dockerfile=args.baseline_dockerfile, baseline=args.baseline)


def _class_mode(args: argparse.Namespace) -> bool:
    """As asked; by default on under CI for the exercises, never for a learner's own project (--context)."""
    return bool(args.class_mode) if args.class_mode is not None else _in_ci() and args.context is None


def _in_ci() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("CI", "GITHUB_ACTIONS"))


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich status line on a terminal (stderr, so stdout stays clean for JSON); nothing elsewhere."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), BarColumn(bar_width=20), TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Building ...", total=None)

        def update(event: BuildEvent) -> None:
            """Classic builds know their step count (a bar); BuildKit's lines only move the spinner."""
            if event.step and event.total:
                bar.update(task, total=event.total, completed=event.step - 1)
            bar.update(task, description=escape(event.text[:100]))

        yield update


def _emit(reports: Sequence[Report], fmt: str, output: Path | None) -> None:
    """The reports in `fmt`, through the reporters' table; a table for a terminal is printed live, with colour."""
    if fmt == "table" and output is None:
        from grader.reporters.terminal import print_report

        for report in reports:
            print_report(report)
        return
    text = render_many(reports, fmt)
    if output is not None:
        output.write_text(text)
        print(f"Wrote {output}.", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_grade(args: argparse.Namespace) -> int:
    if args.context is not None and (args.all or args.exercise):
        print("--context grades your own project; leave out the exercise name and --all.", file=sys.stderr)
        return EXIT_CANNOT
    if args.context is None and args.all == bool(args.exercise):
        print(f"Name one exercise ({', '.join(EXERCISES)}), use --all, or --context DIR.", file=sys.stderr)
        return EXIT_CANNOT
    if args.all and args.dockerfile:
        print("--dockerfile grades one exercise; leave out --all.", file=sys.stderr)
        return EXIT_CANNOT
    config = GradeConfig(backend=args.backend, build_timeout_s=args.build_timeout, no_cache=args.no_cache,
                         baseline=not args.no_baseline, class_mode=_class_mode(args))
    if args.no_cache:
        from grader.api import clear_run_cache

        clear_run_cache()
    reports = []
    if args.context is not None:
        with _progress(args.format == "table") as progress:
            reports.append(grade_project(project_options(args), config, progress))
    for exercise in () if args.context is not None else EXERCISES if args.all else (args.exercise,):
        with _progress(args.format == "table") as progress:
            reports.append(grade(exercise, args.dockerfile, args.dockerignore, config=config, progress=progress))
    _emit(reports, args.format, args.output)
    for report in reports:
        if report.error is not None and args.format != "table":
            print(f"Could not grade {report.exercise} ({report.error.kind}): {report.error.message}", file=sys.stderr)
    return max(report.exit_code for report in reports)


def cmd_checks(args: argparse.Namespace) -> int:
    specs = all_checks()
    if args.format == "json":
        print(json.dumps([{"id": s.id, "title": s.title, "points": s.points, "bonus": s.bonus, "lesson": s.lesson}
                          for s in specs], indent=2))
        return EXIT_OK
    if args.format == "markdown":
        print(checks_markdown())
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Checks (points are defaults; exercises/<app>/grading.toml may change them)")
    for column in ("id", "title", "points", "lesson"):
        table.add_column(column)
    for spec in specs:
        points = f"+{spec.points:g} bonus" if spec.bonus else (f"{spec.points:g}" if spec.points else "advisory")
        table.add_row(spec.id, spec.title, points, spec.lesson)
    Console().print(table)
    return EXIT_OK


def checks_markdown() -> str:
    """The checks table for the README, generated from the registry."""
    lines = ["| id | what it checks | points | lesson |", "| --- | --- | --- | --- |"]
    for spec in all_checks():
        points = f"+{spec.points:g} bonus" if spec.bonus else (f"{spec.points:g}" if spec.points else "advisory")
        notebook, _, heading = spec.lesson.partition("#")
        lines.append(f"| `{spec.id}` | {spec.title} | {points} | `{notebook}`, \"{heading}\" |")
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace) -> int:
    all_checks()
    spec = REGISTRY.get(args.check_id)
    if spec is None:
        print(f"Unknown check {args.check_id!r}. Known checks: {', '.join(REGISTRY)}.", file=sys.stderr)
        return EXIT_CANNOT
    points = f"+{spec.points:g} bonus points" if spec.bonus else f"{spec.points:g} points by default"
    print(f"{spec.id}: {spec.title} ({points})\n\n{spec.explanation}\n\nLesson: {spec.lesson}")
    if spec.details is not None:
        print(f"\n{spec.details()}")
    return EXIT_OK
