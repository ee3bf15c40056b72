"""`workshop serve` (the live view), `workshop serve tokens add NAME`, and `workshop submit APP --to URL`.

Thin over grader.serve; exit codes: 0 done (for `submit`: graded and every scored check passed), 1 graded with a
failed check, 2 could not run (the extras missing, a bad URL or token, the server refused).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.model import EXIT_CANNOT, EXIT_FAILED, EXIT_OK
from grader.paths import EXERCISES

__all__ = ["MISSING_EXTRAS", "cmd_serve", "cmd_submit", "cmd_tokens_add", "register"]

MISSING_EXTRAS = ("The live view needs FastAPI, uvicorn, SQLAlchemy, Alembic, Celery and redis-py: "
                  "`.venv/bin/pip install -e '.[serve,queue]'` (the README's test command installs them).")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("serve", help="The live view: learners submit, the instructor watches the room.")
    p.add_argument("--queue", metavar="redis://HOST:PORT/N", help="The broker the workers serve (required to serve).")
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1; put a reverse "
                                                       "proxy with TLS in front for a room).")
    p.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    p.add_argument("--db", help="SQLAlchemy URL of the results (default: SQLite under ~/.cache/docker-diet-workshop; "
                                "postgresql://... for a course).")
    p.add_argument("--max-upload-kb", type=int, default=256, help="Largest upload, all files together (KB).")
    p.add_argument("--no-baseline", action="store_true", help="Workers skip the naive image (no `reduction`).")
    p.set_defaults(func=cmd_serve)
    actions = p.add_subparsers(dest="serve_command", metavar="tokens")
    tokens = actions.add_parser("tokens", help="Issue tokens: `workshop serve tokens add NAME [--instructor]`.")
    token_actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="add")
    add = token_actions.add_parser("add", help="Issue (or replace) NAME's token and print it once.")
    add.add_argument("name", help="The learner's name as the room shows it (at most 64 characters).")
    add.add_argument("--instructor", action="store_true", help="The instructor's token (sees the whole room).")
    add.add_argument("--db", help="The same --db as `workshop serve`.")
    add.set_defaults(func=cmd_tokens_add)

    p = subparsers.add_parser("submit", help="Send your Dockerfile to the workshop's live view and follow the grade.")
    p.add_argument("exercise", choices=EXERCISES, metavar="APP", help=f"One of {', '.join(EXERCISES)}.")
    p.add_argument("--to", required=True, metavar="URL", help="The live view's address, from your instructor.")
    p.add_argument("--token", default=os.environ.get("WORKSHOP_TOKEN"),
                   help="Your token (default: $WORKSHOP_TOKEN).")
    p.add_argument("--dockerfile", type=Path, help="Submit this Dockerfile (default: exercises/APP/Dockerfile).")
    p.add_argument("--dockerignore", type=Path, help="Submit this ignore file (default: the one beside it).")
    p.add_argument("--no-wait", action="store_true", help="Queue it and return at once.")
    p.add_argument("--timeout", type=float, default=1800.0, help="Stop following after this long (seconds).")
    p.set_defaults(func=cmd_submit)


def cmd_tokens_add(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        print("A name is 1 to 64 printable characters.", file=sys.stderr)
        return EXIT_CANNOT
    try:
        from grader.serve.records import add_person, open_database
    except ImportError:
        print(MISSING_EXTRAS, file=sys.stderr)
        return EXIT_CANNOT
    from grader.serve.records import DEFAULT_DATABASE

    token = add_person(open_database(args.db or DEFAULT_DATABASE), name, "instructor" if args.instructor else "learner")
    print(token)
    print(f"Token for {name!r} (shown once; issuing again replaces it).", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from grader.cli.queue import check_queue_url

    if args.queue is None or check_queue_url(args.queue) is not None:
        print(check_queue_url(args.queue or "") or "", "`workshop serve` queues every upload: pass --queue "
              "redis://HOST:PORT/N, the broker your workers serve.", file=sys.stderr)
        return EXIT_CANNOT
    try:
        import uvicorn

        from grader.serve.dispatch import QueueDispatcher
        from grader.serve.records import DEFAULT_DATABASE
        from grader.serve.web import ServeConfig, create_app
    except ImportError:
        print(MISSING_EXTRAS, file=sys.stderr)
        return EXIT_CANNOT
    config = ServeConfig(database_url=args.db or DEFAULT_DATABASE, max_upload_bytes=args.max_upload_kb * 1024)
    config = replace(config, grade=replace(config.grade, baseline=not args.no_baseline))
    app = create_app(config, QueueDispatcher(args.queue, config.grade))
    print(f"Live view on http://{args.host}:{args.port}/ (results in {config.database_url}); Ctrl-C stops it.",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _show(row: dict[str, Any]) -> None:
    where = f", number {row['position']} in line" if row.get("position") else ""
    message = f": {row['message']}" if row.get("message") else ""
    print(f"  {row['state']}{where}{message}", flush=True)


def cmd_submit(args: argparse.Namespace) -> int:
    from grader.serve.client import SubmitError, follow, learner_files, submit_files

    if not args.token:
        print("No token: pass --token or set WORKSHOP_TOKEN (your instructor issues it).", file=sys.stderr)
        return EXIT_CANNOT
    try:
        row = submit_files(args.to, args.token, args.exercise,
                           learner_files(args.exercise, args.dockerfile, args.dockerignore))
        print(f"Submitted {args.exercise} (submission {row['id']}).")
        if args.no_wait:
            return EXIT_OK
        row = follow(args.to, args.token, int(row["id"]), timeout_s=args.timeout, on_change=_show)
    except SubmitError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    report = row.get("report") or {}
    if row["state"] != "graded" or report.get("error"):
        print(row.get("message") or f"Not graded: {row['state']}.", file=sys.stderr)
        return EXIT_CANNOT
    print(f"Score: {report.get('score')} / {report.get('max_score')}; failed: "
          f"{', '.join(row['failed_checks']) or 'nothing'}. Your page: {args.to.rstrip('/')}/me")
    return EXIT_OK if report.get("passed") else EXIT_FAILED
