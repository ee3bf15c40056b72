"""What a class run leaves on the engine, and pruning exactly that.

Removing the graded images is not enough. A stage that the final image does not copy from stays behind: under
BuildKit as build-cache records (a 30 MB `dd` in an unused stage was still 31.46 MB of reclaimable cache after its
image was removed), under the classic builder as untagged intermediate images (which carry the base's labels, not
the grader's). A submission built to fill the disk would so survive as cache, and `grade-class` would pause before
every later job for good.

What is pruned is only what the run made, told apart by three filters together:

- it is new: not on the engine when the run began (`mark_engine`), and created after that moment;
- it is untagged and unused (a build-cache record in use, an image with a tag or a child with one, stay);
- it is the grader's: an image that carries the project label, or a step that ran one of the `RUN` commands of the
  Dockerfiles this run built (a cache record's description, an intermediate image's command, or an ancestor's).

A base image is never new, never untagged and never runs a learner's command, so it is never touched. BuildKit's
cache records carry no labels: another user's build that ran the very same command on the same engine during the
run shares the record (BuildKit de-duplicates identical steps), and pruning it costs them a cache miss, never data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docker

from grader.dockerfile import parse_dockerfile
from grader.errors import GradeError
from grader.paths import PROJECT_LABEL

__all__ = [
    "EngineMark",
    "Leftovers",
    "find_leftovers",
    "mark_engine",
    "prune_leftovers",
    "run_commands",
]

#: Clock skew allowed between this machine and the engine when telling new from old.
_SLACK_S = 5.0


@dataclass(frozen=True)
class EngineMark:
    """The engine before a run: every image id (intermediate ones too) and build-cache record, and the time."""

    images: frozenset[str]
    cache: frozenset[str]
    started: float  # unix time


@dataclass(frozen=True)
class Leftovers:
    """Untagged images and build-cache records a run made, as (id, bytes)."""

    images: tuple[tuple[str, int], ...] = ()
    cache: tuple[tuple[str, int], ...] = ()

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.images) + sum(size for _, size in self.cache)


def _words(text: str) -> str:
    return " ".join(text.split())


def run_commands(dockerfiles: Iterable[str]) -> frozenset[str]:
    """The `RUN` commands of these Dockerfile texts, whitespace folded (as both back ends name a step by them)."""
    found: set[str] = set()
    for text in dockerfiles:
        try:
            info = parse_dockerfile(text)
        except GradeError:
            continue  # it never built, so it left nothing
        found.update(_words(i.args) for i in info.all_instructions() if i.keyword == "RUN" and i.args.strip())
    return frozenset(found)


#: How long to wait for the engine's disk-usage lock (it answers 500 "a disk usage operation is already
#: running" while another client's `docker system df` runs).
_DF_WAIT_S = 120.0


def _cache_records(api: docker.APIClient) -> list[dict[str, Any]]:
    deadline = time.monotonic() + _DF_WAIT_S
    while True:
        try:
            return list(api.df().get("BuildCache") or [])
        except docker.errors.APIError as exc:
            if "already running" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def mark_engine(api: docker.APIClient) -> EngineMark:
    """What is on the engine now; take it before the run's first build."""
    images = frozenset(str(image["Id"]) for image in api.images(all=True))
    return EngineMark(images, frozenset(str(r["ID"]) for r in _cache_records(api)), time.time())


def _epoch(stamp: str) -> float:
    """An engine time stamp ("2026-12-04T15:31:33.349334181Z") as unix time; nanoseconds are cut to micro."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]}+00:00").timestamp()


def _runs_one_of(command: str, commands: frozenset[str]) -> bool:
    """Whether a step's command line (BuildKit: "mount / from exec /bin/sh -c CMD"; classic: "/bin/sh -c CMD")
    ends with one of the commands, after the shell's `-c` or the exec form's `exec`."""
    folded = _words(command)
    return any(folded.endswith((f"-c {known}", f"exec {known}")) for known in commands)


def _new_cache(api: docker.APIClient, mark: EngineMark, commands: frozenset[str]) -> tuple[tuple[str, int], ...]:
    found = []
    for record in _cache_records(api):
        new = str(record["ID"]) not in mark.cache and _epoch(str(record["CreatedAt"])) >= mark.started - _SLACK_S
        if new and not record.get("InUse") and _runs_one_of(str(record.get("Description", "")), commands):
            found.append((str(record["ID"]), int(record.get("Size") or 0)))
    return tuple(found)


def _image_command(api: docker.APIClient, image_id: str) -> tuple[str, dict[str, str]]:
    try:
        attrs = api.inspect_image(image_id)  # type: ignore[no-untyped-call]
    except docker.errors.APIError:
        return "", {}
    config = attrs.get("ContainerConfig") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return " ".join(config.get("Cmd") or []), dict(labels)


def _new_images(api: docker.APIClient, mark: EngineMark, commands: frozenset[str]) -> tuple[tuple[str, int], ...]:
    """Leaves of the run's new untagged images that are the grader's, with the bytes their removal frees (each
    new untagged layer below them once): removing a leaf removes its untagged parents, as `docker rmi` does."""
    listed = api.images(all=True)
    parents = {str(i["Id"]): str(i.get("ParentId") or "") for i in listed}
    sizes = {str(i["Id"]): int(i.get("Size") or 0) for i in listed}
    has_child = set(parents.values())
    new = {str(i["Id"]) for i in listed if str(i["Id"]) not in mark.images
           and int(i.get("Created") or 0) >= mark.started - _SLACK_S
           and not [t for t in i.get("RepoTags") or [] if t != "<none>:<none>"]}
    found, claimed = [], set()
    for image_id in sorted(new - has_child):
        chain, ours, members = image_id, False, []
        while chain in new:
            command, labels = _image_command(api, chain)
            ours = ours or PROJECT_LABEL in labels or _runs_one_of(command, commands)
            members.append(chain)
            chain = parents.get(chain, "")
        if ours:  # each layer counted once, by the first leaf above it
            freed = sum(sizes[m] - sizes.get(parents[m], 0) for m in members if m not in claimed)
            claimed.update(members)
            found.append((image_id, freed))
    return tuple(found)


def find_leftovers(api: docker.APIClient, mark: EngineMark, commands: frozenset[str]) -> Leftovers:
    """What the run made and left: new untagged images and unused build-cache records that are the grader's."""
    return Leftovers(_new_images(api, mark, commands), _new_cache(api, mark, commands))


def prune_leftovers(api: docker.APIClient, leftovers: Leftovers) -> Leftovers:
    """Remove them (never with force: an image something still uses stays); returns what was removed."""
    removed_images = []
    for image_id, size in leftovers.images:
        try:
            api.remove_image(image_id)  # its untagged parents go with it
            removed_images.append((image_id, size))
        except docker.errors.APIError:
            continue
    removed_cache = []
    for record, size in leftovers.cache:  # the engine takes one value per filter: one record per call
        try:
            api.prune_builds(filters={"id": f"^{record}$"})  # type: ignore[arg-type]  # the engine matches ids as a regex
            removed_cache.append((record, size))
        except docker.errors.APIError:
            continue
    return Leftovers(tuple(removed_images), tuple(removed_cache))
