"""Checks about who runs and what could compile: non-root, no-compilers.

non-root judges every process the engine saw in the running container by its effective uid (a setuid-root
program started later counts), and fails on setuid/setgid-root files the learner's layers add: such a file is a
ready way back to root for any process of the app, which is what USER is there to prevent. The base image's own
(su, passwd, mount) are left alone: the learner did not add them.
"""

from __future__ import annotations

import re

from grader.checks.lessons import lesson
from grader.checks.unread import PACKAGE_DATABASES, unindexed_outcome
from grader.model import ImageFacts, RunFacts
from grader.registry import Evidence, Outcome, check

__all__ = [
    "BIN_DIRS",
    "COMPILER_NAME",
    "COMPILER_PACKAGE",
    "COMPILER_PARTS",
    "find_compilers",
    "learner_setid_files",
    "no_compilers",
    "non_root",
    "resolve_uid",
    "root_processes",
]

BIN_DIRS = ("bin/", "sbin/", "usr/bin/", "usr/sbin/", "usr/local/bin/", "usr/local/sbin/")
_TOOL = r"(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|cpp|make|gmake|cc1|cc1plus|collect2|ld|ld\.bfd|ld\.gold|as)"
#: gcc, gcc-12, x86_64-linux-gnu-gcc-12, aarch64-alpine-linux-musl-g++ ...
COMPILER_NAME = re.compile(rf"^(?:[a-z0-9_]+(?:-[a-z0-9_]+)*-linux-(?:gnu|musl)[a-z]*-)?{_TOOL}(?:-\d+(?:\.\d+)*)?$")
#: Found anywhere (gcc keeps them under /usr/lib/gcc or /usr/libexec/gcc, not in PATH).
COMPILER_PARTS = frozenset({"cc1", "cc1plus", "collect2"})
COMPILER_PACKAGE = re.compile(
    r"^(?:build-essential|build-base|gcc|g\+\+|make|clang|(?:gcc|g\+\+|cpp|clang)-\d+(?:\.\d+)*|python3-dev|"
    r"python\d(?:\.\d+)?-dev)$"
)


def resolve_uid(user: str, image: ImageFacts) -> int | None:
    """Map a USER value to a uid: '', 'root', '0', 'node', '1000', 'node:node', '1000:1000'. None = unknown name."""
    name = user.split(":", 1)[0].strip()
    if name == "":
        return 0
    if name.isdigit():
        return int(name)
    return image.users.get(name)


def root_processes(run: RunFacts | None) -> list[str]:
    """Command names of the processes seen with effective uid 0 during the run."""
    return sorted({p.command for p in run.processes if p.euid == 0}) if run is not None else []


def learner_setid_files(image: ImageFacts, run: RunFacts | None) -> list[str]:
    """Setuid/setgid-root files that a learner's layer provides (the base image's own are not counted)."""
    if run is None or not run.setid_root:
        return []
    found = []
    for path in run.setid_root:
        entry = image.merged.get(path)
        layer = image.layers[entry.layer] if entry is not None and entry.layer < len(image.layers) else None
        if layer is None or not layer.from_base:
            found.append("/" + path)
    return sorted(found)


def _shown(items: list[str], count: int = 5) -> str:
    return ", ".join(items[:count]) + (f" and {len(items) - count} more" if len(items) > count else "")


def _every_process(ev: Evidence, user: str, measured: str) -> Outcome:
    """After USER and PID 1 passed: no process ran as euid 0, and no setuid-root file was added."""
    assert ev.image is not None and ev.run is not None
    if not ev.run.processes:
        return Outcome(False, measured, "every process euid != 0",
                       "PID 1's uid was seen, but the engine listed no process with its effective uid "
                       "(`docker top CONTAINER -o pid,euid,comm`), so the other processes could not be judged.",
                       hint="Check that the engine's host has procps `ps` (`workshop doctor`), then regrade.")
    roots = root_processes(ev.run)
    if roots:
        return Outcome(False, measured, "every process euid != 0",
                       f"A process ran with effective uid 0 although USER is {user}: {_shown(roots)} (a setuid-root "
                       "program, or a switch back to root).",
                       hint="Start only the app; remove the setuid bit (`chmod u-s FILE`) from anything you copied "
                            "or installed, and do not use su/sudo/gosu to root.")
    setid = learner_setid_files(ev.image, ev.run)
    if setid:
        return Outcome(False, measured, "every process euid != 0",
                       f"Your layers add setuid/setgid-root files: {_shown(setid)}. Any process of the app could "
                       "use them to become root again.",
                       hint="Drop the setuid/setgid bits (`chmod u-s,g-s FILE`) or do not copy these files into "
                            "the final stage.")
    seen = len(ev.run.processes)
    return Outcome(True, measured, "every process euid != 0",
                   f"Runs as uid {ev.run.uid} (USER {user}); none of the {seen} process(es) seen ran as root.")


@check("non-root", title="Runs as a non-root user", points=10, lesson=lesson("principles", "Non-root user"),
       needs=("image",))
def non_root(ev: Evidence) -> Outcome:
    """The final stage's USER resolves to a non-zero uid, and no process in the running container has effective
    uid 0, from the start until the container is removed (PID 1 and every process started later, setuid
    programs included), and the learner's layers add no setuid/setgid-root file.

    Only the final stage counts in a multi-stage file; the image config holds exactly that (and any USER
    inherited from the base image). Uids are read from the engine (`docker top`, sampled through the run) and
    setuid files by the grader's own `find`, so the image needs no shell or `id`.
    """
    assert ev.image is not None
    user = ev.image.user or ""
    uid = resolve_uid(user, ev.image)
    shown = user or "(none: root)"
    running = ev.run.uid if ev.run is not None else None
    shown_uid = uid if uid is not None else "?"
    measured = f"USER {shown} -> uid {shown_uid}; running uid {running if running is not None else '?'}"
    if ev.run is not None and ev.run.processes:
        measured += f"; root processes: {', '.join(root_processes(ev.run)) or 'none'}"
    hint = "Add `USER node` (node images) or create a user (`useradd -r -u 10001 app`) and set USER in the final stage."
    if uid is None:
        cut = next((f" as far as the grader read it: {name}" for name in ev.image.truncated_files
                    if name.startswith("/etc/passwd")), "")
        return Outcome(False, measured, "uid != 0",
                       f"USER {user} is not in the image's /etc/passwd{cut}, so it cannot start as that user.",
                       hint="Create the user in the final stage (`useradd`/`adduser`) or use a numeric uid.")
    if uid == 0:
        return Outcome(False, measured, "uid != 0", f"The final stage runs as root (USER {shown}).", hint=hint)
    if running is None:
        return Outcome(False, measured, "uid != 0",
                       f"USER {user} is uid {uid}, but no running process could be seen to confirm it "
                       f"({ev.run.start_error if ev.run and ev.run.start_error else 'the container did not run'}).",
                       hint="Make the container start (see the healthcheck check) so its uid can be confirmed.")
    if running == 0:
        return Outcome(False, measured, "uid != 0", "The running process is root even though USER is set.",
                       hint="Do not switch back to root in the entrypoint (no `su`/`gosu` to root).")
    return _every_process(ev, user, measured)


def find_compilers(image: ImageFacts) -> tuple[list[str], list[str]]:
    """Compiler paths in the final file system and compiler packages in the dpkg/apk databases."""
    paths: list[str] = []
    for path, entry in image.merged.items():
        if entry.kind == "dir":
            continue
        base = path.rsplit("/", 1)[-1]
        if base in COMPILER_PARTS and "node_modules/" not in path:
            paths.append("/" + path)
        elif path[: len(path) - len(base)] in BIN_DIRS and COMPILER_NAME.match(base):
            paths.append("/" + path)
    packages = sorted(p for p in image.dpkg_packages | image.apk_packages if COMPILER_PACKAGE.match(p))
    return sorted(paths), packages


@check("no-compilers", title="No compilers or build tools", points=10,
       lesson=lesson("mistakes", "Build tools in the production stage"), needs=("image",))
def no_compilers(ev: Evidence) -> Outcome:
    """No gcc, g++, cc, c++, clang, cpp, make, cc1, cc1plus, collect2, ld or as in the final file system, and no
    build-essential, gcc, g++, make or python3-dev/pythonX.Y-dev package installed (dpkg or apk database).

    Versioned and target-prefixed names count (gcc-12, x86_64-linux-gnu-gcc-12, a lone cc1). Python.h alone is
    not a compiler: the official python images ship it. Works on images without a shell: it reads the files.
    """
    assert ev.image is not None
    if (unread := unindexed_outcome(ev.image, "the image is free of compilers", PACKAGE_DATABASES)) is not None:
        return unread
    paths, packages = find_compilers(ev.image)
    found = paths + [f"package {p}" for p in packages]
    if not found:
        return Outcome(True, [], "none", "No compiler, linker or make in the final image.")
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    return Outcome(False, found, "none", f"Found {shown}.",
                   hint="Install build tools only in a builder stage and COPY --from it just the compiled output; "
                        "start the final stage from a -slim base, which has none.")
