"""The one list of images `workshop bases` makes, and how to tell what the engine holds under each tag.

Two groups: the exercise bases, which learners build FROM (their class-mode allow lists live in settings.py), and
the service images the grader itself starts beside a learner's container (postgres:15, the fastapi app's database
for the app probe). `workshop bases`, `workshop doctor` and `workshop bundle` all read this list; nothing keeps
another copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import docker
from docker.errors import ImageNotFound

from grader.bases import recipes

__all__ = [
    "BASES",
    "BASES_BY_TAG",
    "EXERCISE_IMAGES",
    "POSTGRES_IMAGE",
    "REQUIRED_BASES",
    "SERVICE_IMAGES",
    "BaseGroup",
    "BaseSpec",
    "BaseState",
    "BaseStatus",
    "base_status",
]


class BaseGroup(Enum):
    """Why an image is made: learners build FROM it, or the grader runs it beside a learner's container."""

    EXERCISE = "exercise bases"
    SERVICE = "service images"


@dataclass(frozen=True)
class BaseSpec:
    """One image the workshop needs, and how to make its stand-in."""

    tag: str
    parent: str | None
    official_mb: int
    #: False for buildpack-deps, which only exists to share one big layer between node:20 and python:3.11.
    required: bool = True
    group: BaseGroup = BaseGroup.EXERCISE


#: The database the fastapi app's probe starts: the official image's interface (POSTGRES_USER/PASSWORD/DB,
#: docker-entrypoint.sh, CMD postgres, port 5432), official or our stand-in (recipes.postgres).
POSTGRES_IMAGE = "postgres:15"

BASES: tuple[BaseSpec, ...] = (
    BaseSpec("debian:bookworm-slim", None, 75),
    BaseSpec("buildpack-deps:bookworm", "debian:bookworm-slim", 1000, required=False),
    BaseSpec("node:20-slim", "debian:bookworm-slim", 200),
    # python:3.11-slim has measured 125-150 MB across 3.11 patch releases: the middle of that range
    BaseSpec("python:3.11-slim", "debian:bookworm-slim", 140),
    BaseSpec("node:20", "buildpack-deps:bookworm", 1100),
    BaseSpec("python:3.11", "buildpack-deps:bookworm", 1010),
    # the official postgres:15 (Debian 12) is about 420 MB; its size is part of no lesson
    BaseSpec(POSTGRES_IMAGE, "debian:bookworm-slim", 420, group=BaseGroup.SERVICE),
)
BASES_BY_TAG = {spec.tag: spec for spec in BASES}
#: Every tag `workshop bases` makes and a bundle carries, exercise bases first.
REQUIRED_BASES = tuple(spec.tag for spec in BASES if spec.required)
EXERCISE_IMAGES = tuple(tag for tag in REQUIRED_BASES if BASES_BY_TAG[tag].group is BaseGroup.EXERCISE)
SERVICE_IMAGES = tuple(tag for tag in REQUIRED_BASES if BASES_BY_TAG[tag].group is BaseGroup.SERVICE)


class BaseState(Enum):
    OFFICIAL = "official"
    STAND_IN = "local stand-in"
    STALE_STAND_IN = "stand-in from an older recipe"
    ABSENT = "absent"


@dataclass(frozen=True)
class BaseStatus:
    """What the engine holds under one base tag."""

    tag: str
    state: BaseState
    size_bytes: int = 0
    image_id: str = ""

    @property
    def present(self) -> bool:
        return self.state in (BaseState.OFFICIAL, BaseState.STAND_IN, BaseState.STALE_STAND_IN)


def base_status(client: docker.DockerClient, tag: str) -> BaseStatus:
    """Official, stand-in (current or stale) or absent, from the image's labels."""
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return BaseStatus(tag, BaseState.ABSENT)
    labels = image.labels or {}
    if labels.get(recipes.LABEL_STAND_IN) != tag:
        state = BaseState.OFFICIAL
    elif labels.get(recipes.LABEL_RECIPE) == recipes.RECIPE_VERSION:
        state = BaseState.STAND_IN
    else:
        state = BaseState.STALE_STAND_IN
    return BaseStatus(tag, state, int(image.attrs.get("Size", 0)), str(image.id or ""))
