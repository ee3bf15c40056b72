"""The instructor guide names commands that exist, and covers what an instructor needs on the day."""

from __future__ import annotations

import re
from pathlib import Path

from grader.cli.workshop import build_parser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "instructor-guide.md"


def test_every_workshop_command_in_the_guide_exists() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = set(re.findall(r"`workshop ([a-z-]+)", GUIDE.read_text()))
    named |= set(re.findall(r"^\s*(?:DOCKER_HOST=\S+ )?workshop ([a-z-]+)", GUIDE.read_text(), re.MULTILINE))
    assert named and named <= commands, named - commands


def test_the_guide_covers_the_day_the_wifi_the_course_the_class_and_scaling() -> None:
    text = GUIDE.read_text()
    for needed in ("workshop bases", "workshop bundle save", "workshop bundle load", "workshop course init",
                   "nbgrader autograde", "nbgrader generate_feedback", "nbgrader export", "workshop grade-class",
                   "DOCKER_HOST", ".github/workflows/grade.yml", "workshop classroom-results"):
        assert needed in text, needed
