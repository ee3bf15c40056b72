"""`workshop`: the command line. Thin on purpose: every subcommand calls the same functions notebooks call."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from grader.model import EXIT_CANNOT, EXIT_INTERRUPTED, EXIT_OK
from grader.paths import EXERCISES, put_programs_on_path

__all__ = [
    "COMMAND_MODULES",
    "build_parser",
    "main",
]

#: Modules that add their own subcommands with `register(subparsers)`: grading, the course and classroom, the queue,
#: the live view, and watch (regrade on save).
COMMAND_MODULES = ("grader.cli.grade", "grader.cli.course", "grader.cli.queue", "grader.cli.serve", "grader.cli.watch")


def _cmd_engine_start(args: argparse.Namespace) -> int:
    from grader.engine.daemon import EngineUnavailable, start_engine

    try:
        print(start_engine(wait_seconds=args.wait))
    except EngineUnavailable as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    return EXIT_OK


def _cmd_engine_stop(args: argparse.Namespace) -> int:
    from grader.engine.daemon import stop_engine

    print(stop_engine())
    return EXIT_OK


def _cmd_engine_buildx(args: argparse.Namespace) -> int:
    from grader.bases.buildx import BuildxInstallError, install_buildx

    try:
        print(install_buildx())
    except BuildxInstallError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    return EXIT_OK


def _cmd_bases(args: argparse.Namespace) -> int:
    from grader.bases.stand_ins import BASES_BY_TAG, BaseBuildError, ensure_bases
    from grader.engine.daemon import EngineUnavailable, connect

    started = time.monotonic()
    try:
        client = connect()
        outcomes = ensure_bases(client, force=args.force, pull=not args.offline)
    except (EngineUnavailable, BaseBuildError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    group = None
    for outcome in outcomes:
        if BASES_BY_TAG[outcome.tag].group is not group:
            group = BASES_BY_TAG[outcome.tag].group
            print(f"{group.value}:")
        size = f"{outcome.status.size_bytes / 1e6:7.0f} MB"
        print(f"  {outcome.tag:22} {outcome.status.state.value:30} {size}  ({outcome.action})")
    missing = [outcome for outcome in outcomes if not outcome.status.present]
    for outcome in missing:  # only a service image can be missing here: an exercise base's failure raised above
        print(f"{outcome.tag} could not be made. The exercises do not need it; until it is made, the app probe "
              f"notes that the database is not available.\n{outcome.note}", file=sys.stderr)
    print(f"{len(outcomes) - len(missing)} of {len(outcomes)} images present ({time.monotonic() - started:.1f} s).")
    return EXIT_OK


def _cmd_bundle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grader.bases.bundle import BundleError, load_bundle, save_bundle
    from grader.engine.daemon import EngineUnavailable, connect

    started = time.monotonic()
    try:
        client = connect()
        if args.bundle_command == "save":
            manifest = save_bundle(client, Path(args.file))
            verb = "Saved"
        else:
            manifest = load_bundle(client, Path(args.file))
            verb = "Loaded"
    except (EngineUnavailable, BundleError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT
    for image in manifest.images:
        print(f"{image.tag:22} {image.state:16} {image.size_bytes / 1e6:7.0f} MB  {image.image_id[7:19]}")
    print(f"{verb} {len(manifest.images)} base images ({manifest.images_bytes / 1e6:.0f} MB of layers) "
          f"{'to' if verb == 'Saved' else 'from'} {args.file} in {time.monotonic() - started:.0f} s.")
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from grader.bases.doctor import run_doctor

    return run_doctor()


def _cmd_reset(args: argparse.Namespace) -> int:
    from grader.exercises import reset_exercise

    for line in reset_exercise(args.app, keep_backup=not args.no_backup):
        print(line)
    return EXIT_OK


def _cmd_lab(args: argparse.Namespace) -> int:
    from grader.cli.lab import launch_lab

    return launch_lab(port=args.port, open_browser=not args.no_browser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workshop",
        description="Docker Diet Workshop: shrink real Docker images, graded by a real engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    engine = commands.add_parser("engine", help="start (or explain how to get) a Docker engine")
    engine_commands = engine.add_subparsers(dest="engine_command", required=True, metavar="ACTION")
    start = engine_commands.add_parser("start", help="start dockerd in the background if none answers (root)")
    start.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the socket (default 60)")
    start.set_defaults(func=_cmd_engine_start)
    engine_commands.add_parser("stop", help="stop dockerd, only if the workshop started it").set_defaults(
        func=_cmd_engine_stop
    )
    engine_commands.add_parser(
        "install-buildx", help="install the BuildKit CLI plugin from Debian packages (root)"
    ).set_defaults(func=_cmd_engine_buildx)

    bases = commands.add_parser("bases", help="make every base image present: pull, or build a local stand-in")
    bases.add_argument("--force", action="store_true", help="rebuild stand-ins even over official images")
    bases.add_argument("--offline", action="store_true", help="do not try to pull; build stand-ins directly")
    bases.set_defaults(func=_cmd_bases)

    bundle = commands.add_parser("bundle", help="save or load every base image as one archive (offline classroom)")
    bundle_commands = bundle.add_subparsers(dest="bundle_command", required=True, metavar="ACTION")
    for action, text in (("save", "write the base images, a manifest and checksums to FILE"),
                         ("load", "check FILE whole, then load every base image from it")):
        sub = bundle_commands.add_parser(action, help=text)
        sub.add_argument("file", metavar="FILE")
        sub.set_defaults(func=_cmd_bundle)

    commands.add_parser("doctor", help="check the engine, base images, registry and Python packages").set_defaults(
        func=_cmd_doctor
    )

    reset = commands.add_parser("reset", help="restore an exercise's starting Dockerfile")
    reset.add_argument("app", choices=EXERCISES, help="the exercise to restore")
    reset.add_argument("--no-backup", action="store_true", help="do not keep the edited files as *.bak")
    reset.set_defaults(func=_cmd_reset)

    lab = commands.add_parser("lab", help="open the lessons in JupyterLab")
    lab.add_argument("--port", type=int, default=8888, help="port to listen on (default 8888)")
    lab.add_argument("--no-browser", action="store_true", help="do not try to open a browser")
    lab.set_defaults(func=_cmd_lab)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    put_programs_on_path()  # `.venv/bin/workshop` without activation still finds nbgrader's alembic, hadolint...
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
