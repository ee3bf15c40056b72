"""`workshop watch APP` and `workshop watch --context DIR`: regrade on every save, show only what changed.

A learner edits in one window and watches the verdict in another. Polling (a few stat calls and small reads every
0.2 s) works on every filesystem, bind mount and editor, with no new dependency; a save is noticed by its content,
so an editor that rewrites a file unchanged does not regrade. After the first full table, each grade prints one
line (score, size delta, the seconds from the save to the printed line) and the checks whose status or points
changed. Ctrl-C stops it cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from grader.api import GradeConfig, grade
from grader.cli.grade import add_project_arguments, project_options
from grader.model import EXIT_CANNOT, EXIT_OK, Report
from grader.paths import EXERCISES, EXERCISES_DIR
from grader.project import grade_project
from grader.units import human_bytes
from grader.watching import changes, snapshot, watched_files

__all__ = ["cmd_watch", "register", "watch_loop"]

def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("watch", help="Regrade on every save of the Dockerfile or ignore file; show changes.")
    p.add_argument("exercise", nargs="?", help=f"One of {', '.join(EXERCISES)} (or --context DIR).")
    p.add_argument("--dockerfile", type=Path, help="Watch and grade this Dockerfile (default: the exercise's).")
    p.add_argument("--dockerignore", type=Path, help="Watch and use this ignore file.")
    p.add_argument("--backend", choices=("auto", "classic", "buildx"), default="auto")
    p.add_argument("--no-baseline", action="store_true", help="Do not build the naive image (faster first grade).")
    p.add_argument("--interval", type=float, default=0.2, metavar="SECONDS", help="How often to look (default 0.2).")
    add_project_arguments(p)
    p.set_defaults(func=cmd_watch)


def _summary(before: Report, after: Report, seconds: float) -> list[str]:
    """The lines printed after a regrade: score, size delta and the changed checks."""
    if after.error is not None:
        return [f"could not grade ({after.error.kind}): {after.error.message}  [{seconds:.1f} s after the save]"]
    score = f"score {after.score:g}/{after.max_score:g} ({after.score - before.score:+g})"
    size = ""
    if after.image_size_bytes is not None:
        delta = after.image_size_bytes - (before.image_size_bytes or after.image_size_bytes)
        size = f", size {human_bytes(after.image_size_bytes)} ({'+' if delta >= 0 else '-'}{human_bytes(abs(delta))})"
    lines = [f"{score}{size}  [{seconds:.1f} s after the save]"]
    found = changes(before, after)
    lines += [f"  {c.check_id}: {c.before} -> {c.after}" for c in found] or ["  no check changed"]
    return lines


def watch_loop(grade_once: Callable[[], Report], paths: Sequence[Path], *, interval: float = 0.2,
               out: TextIO = sys.stdout, max_grades: int | None = None,
               show_first: Callable[[Report], None] | None = None) -> int:
    """Grade once, then regrade whenever a watched file's content changes; returns when Ctrl-C is pressed."""
    try:
        last = grade_once()
        (show_first or (lambda report: print(_summary(report, report, 0.0)[0], file=out)))(last)
        state, grades = snapshot(paths), 1
        print(f"Watching {', '.join(p.name for p in paths if p.exists())} (Ctrl-C stops).", file=out, flush=True)
        while max_grades is None or grades < max_grades:
            time.sleep(interval)
            current = snapshot(paths)
            if current == state:
                continue
            saved, state = time.time(), current
            print(f"{time.strftime('%H:%M:%S')} changed, regrading ...", file=out, flush=True)
            report = grade_once()
            print("\n".join(_summary(last, report, time.time() - saved)), file=out, flush=True)
            last, grades = report, grades + 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while closing is not a traceback
        print("\nStopped watching.", file=out, flush=True)
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    if (args.context is None) == (args.exercise is None):
        print(f"Name one exercise ({', '.join(EXERCISES)}) or give --context DIR.", file=sys.stderr)
        return EXIT_CANNOT
    config = GradeConfig(backend=args.backend, baseline=not args.no_baseline)
    if args.context is not None:
        options = project_options(args)
        dockerfile = args.dockerfile or args.context / "Dockerfile"

        def grade_once() -> Report:
            return grade_project(options, config)
    else:
        dockerfile = args.dockerfile or EXERCISES_DIR / args.exercise / "Dockerfile"

        def grade_once() -> Report:
            return grade(args.exercise, args.dockerfile, args.dockerignore, config=config)
    from grader.reporters.terminal import print_report

    paths = watched_files(dockerfile, args.dockerignore, args.context)
    return watch_loop(grade_once, paths, interval=args.interval, show_first=print_report)
